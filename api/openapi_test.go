package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/allot-dev/allot/api"
)

// openAPIDoc reads the checked-in document (the one the server embeds).
func openAPIDoc(t *testing.T) (raw []byte, doc map[string]any) {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return raw, doc
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPICoversRoutes fails when a /allot/v1 route of the route table
// is missing from api/openapi.json, or the document has an operation that
// no route serves. A new route gets its entry under "paths" (and its
// schemas under "components/schemas").
func TestOpenAPICoversRoutes(t *testing.T) {
	_, doc := openAPIDoc(t)
	paths, _ := doc["paths"].(map[string]any)
	routes := map[string]bool{}
	for _, p := range api.RoutePatterns() {
		method, path, _ := strings.Cut(p, " ")
		if !strings.HasPrefix(path, "/allot/v1/") {
			continue
		}
		routes[strings.ToLower(method)+" "+path] = true
		item, _ := paths[path].(map[string]any)
		if item[strings.ToLower(method)] == nil {
			t.Errorf("route %q has no operation in api/openapi.json: add paths[%q].%s", p, path, strings.ToLower(method))
		}
	}
	for path, v := range paths {
		for m := range v.(map[string]any) {
			if slices.Contains(httpMethods, m) && !routes[m+" "+path] {
				t.Errorf("api/openapi.json has %s %s, which no route serves", strings.ToUpper(m), path)
			}
		}
	}
	if len(routes) < 15 {
		t.Fatalf("only %d /allot/v1 routes found: is RoutePatterns broken?", len(routes))
	}
}

// TestOpenAPIWellFormed checks the document's structure: OpenAPI 3.x with
// info, the bearer scheme, an operationId per operation (unique), the
// declared path parameters matching the template, responses for each
// operation, and every $ref resolving.
func TestOpenAPIWellFormed(t *testing.T) {
	_, doc := openAPIDoc(t)
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.[01]\.\d+$`).MatchString(v) {
		t.Errorf("openapi %q, want 3.0.x or 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info needs title and version: %v", info)
	}
	comps, _ := doc["components"].(map[string]any)
	schemes, _ := comps["securitySchemes"].(map[string]any)
	bearer, _ := schemes["bearer"].(map[string]any)
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("securitySchemes.bearer %v, want http bearer", bearer)
	}
	ids := map[string]string{}
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("no paths")
	}
	tmpl := regexp.MustCompile(`\{([^}]+)\}`)
	for path, v := range paths {
		item, ok := v.(map[string]any)
		if !ok || !strings.HasPrefix(path, "/") {
			t.Errorf("path %q is not an object starting with /", path)
			continue
		}
		var want []string
		for _, m := range tmpl.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		sort.Strings(want)
		for m, o := range item {
			if !slices.Contains(httpMethods, m) {
				t.Errorf("%s: %q is not an HTTP method", path, m)
				continue
			}
			op, _ := o.(map[string]any)
			name := strings.ToUpper(m) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", name)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("%s: operationId %q already used by %s", name, id, prev)
			}
			ids[id] = name
			resps, _ := op["responses"].(map[string]any)
			if len(resps) == 0 {
				t.Errorf("%s: no responses", name)
			}
			for code := range resps {
				if !regexp.MustCompile(`^[1-5]\d\d$`).MatchString(code) {
					t.Errorf("%s: response %q is not a status code", name, code)
				}
			}
			var got []string
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				pm, _ := p.(map[string]any)
				if pm["in"] == "path" {
					if pm["required"] != true {
						t.Errorf("%s: path parameter %v must be required", name, pm["name"])
					}
					got = append(got, fmt.Sprint(pm["name"]))
				}
				if pm["schema"] == nil {
					t.Errorf("%s: parameter %v has no schema", name, pm["name"])
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: path parameters %v, template has %v", name, got, want)
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				content, _ := rb["content"].(map[string]any)
				if len(content) == 0 {
					t.Errorf("%s: request body without a media type", name)
				}
			}
		}
	}
	walkRefs(doc, func(ref string) {
		if _, err := resolve(doc, ref); err != nil {
			t.Errorf("$ref %s: %v", ref, err)
		}
	})
}

// TestOpenAPIServed: the server answers GET /allot/v1/openapi.json without
// a token, with the checked-in document byte for byte.
func TestOpenAPIServed(t *testing.T) {
	raw, _ := openAPIDoc(t)
	w := newWorld(t)
	r := w.do("GET", "/allot/v1/openapi.json", "", nil)
	r.expect(http.StatusOK, "")
	if !bytes.Equal(r.Body.Bytes(), raw) {
		t.Fatal("the served document differs from api/openapi.json")
	}
	w.do("GET", "/allot/v1/openapi.json?$top=1", "", nil).expect(http.StatusBadRequest, "Request_UnsupportedQuery")
}

// TestOpenAPIDescribesResponses makes real requests and validates each
// answer against the document's schema for its path, method and status:
// types, required properties, no undeclared ones where the schema closes
// them, enums, and the items of arrays.
func TestOpenAPIDescribesResponses(t *testing.T) {
	_, doc := openAPIDoc(t)
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE1, "seats": 1}).expect(http.StatusCreated, "")
	g := w.createGroup(w.ga, "Sales")
	a, b := w.createUser(w.ga, "a@contoso.example", "US"), w.createUser(w.ga, "b@contoso.example", "US")
	w.addMember(w.ga, g, a)
	w.addMember(w.ga, g, b)
	w.do("POST", "/allot/v1/groups/assignLicense", w.ga, map[string]any{"groupIds": []string{g}, "skuId": skuE1}).expect(http.StatusAccepted, "")

	check := func(method, path, target, token string, body any, status int) map[string]any {
		t.Helper()
		r := w.do(method, target, token, body)
		if r.Code != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, target, r.Code, status, r.Body.String())
		}
		item, _ := doc["paths"].(map[string]any)[path].(map[string]any)
		op, _ := item[strings.ToLower(method)].(map[string]any)
		resp, _ := op["responses"].(map[string]any)[fmt.Sprint(status)].(map[string]any)
		if resp == nil {
			t.Fatalf("%s %s: the document has no %d response", method, path, status)
		}
		if ref, ok := resp["$ref"].(string); ok {
			x, err := resolve(doc, ref)
			if err != nil {
				t.Fatal(err)
			}
			resp = x
		}
		content, _ := resp["content"].(map[string]any)
		media, _ := content["application/json"].(map[string]any)
		if media == nil {
			if r.Body.Len() != 0 {
				t.Fatalf("%s %s: body for a response the document gives none", method, path)
			}
			return nil
		}
		var v any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		for _, e := range validate(doc, media["schema"], v, "$") {
			t.Errorf("%s %s %d: %s", method, path, status, e)
		}
		m, _ := v.(map[string]any)
		return m
	}
	check("GET", "/allot/v1/status", "/allot/v1/status", w.ga, nil, 200)
	w.drain()
	check("GET", "/allot/v1/tenant", "/allot/v1/tenant", w.ga, nil, 200)
	check("GET", "/allot/v1/subscriptions", "/allot/v1/subscriptions", w.ga, nil, 200)
	check("GET", "/allot/v1/status", "/allot/v1/status", w.ga, nil, 200)
	check("GET", "/allot/v1/users/{id}/licenseStates", "/allot/v1/users/"+b+"/licenseStates", w.ga, nil, 200)
	check("GET", "/allot/v1/users/{id}/licenseStates", "/allot/v1/users/"+a+"/licenseStates", w.ga, nil, 200)
	check("GET", "/allot/v1/audit", "/allot/v1/audit?$top=2", w.ga, nil, 200)
	check("GET", "/allot/v1/catalog", "/allot/v1/catalog", w.ga, nil, 200)
	tok := check("POST", "/allot/v1/tokens", "/allot/v1/tokens", w.ga, map[string]any{"name": "bot", "role": "GlobalReader", "expiresInDays": 30}, 201)
	check("GET", "/allot/v1/tokens", "/allot/v1/tokens", w.ga, nil, 200)
	check("DELETE", "/allot/v1/tokens/{id}", "/allot/v1/tokens/"+fmt.Sprint(tok["id"]), w.ga, nil, 204)
	check("POST", "/allot/v1/tenants", "/allot/v1/tenants", opSecret, map[string]any{"displayName": "Fabrikam"}, 201)
	check("POST", "/allot/v1/subscriptions/{skuId}/purchase", "/allot/v1/subscriptions/"+skuE1+"/purchase", w.ga, map[string]any{"quantity": 1, "userIds": []string{b}}, 200)
	check("POST", "/allot/v1/users/reprocess", "/allot/v1/users/reprocess", w.ga, map[string]any{"userIds": []string{a}}, 202)
	// Commercial subscriptions and their lifecycle.
	cs := "/allot/v1/companySubscriptions/" + fmt.Sprint(check("POST", "/allot/v1/companySubscriptions", "/allot/v1/companySubscriptions", w.ga,
		map[string]any{"skuId": skuE3, "quantity": 2, "isTrial": true}, 201)["id"])
	check("GET", "/allot/v1/companySubscriptions", "/allot/v1/companySubscriptions", w.ga, nil, 200)
	check("GET", "/allot/v1/companySubscriptions/{id}", cs, w.ga, nil, 200)
	check("PATCH", "/allot/v1/companySubscriptions/{id}", cs, w.ga, map[string]any{"quantity": 3}, 200)
	check("POST", "/allot/v1/companySubscriptions/{id}/renew", cs+"/renew", w.ga, nil, 200)
	check("POST", "/allot/v1/companySubscriptions/{id}/convertTrial", cs+"/convertTrial", w.ga, nil, 200)
	check("POST", "/allot/v1/companySubscriptions/{id}/cancel", cs+"/cancel", w.ga, nil, 200)
	check("POST", "/allot/v1/companySubscriptions/{id}/reactivate", cs+"/reactivate", w.ga, nil, 400)
	check("GET", "/allot/v1/lifecycleSettings", "/allot/v1/lifecycleSettings", w.ga, nil, 200)
	check("PATCH", "/allot/v1/lifecycleSettings", "/allot/v1/lifecycleSettings", w.ga, map[string]any{"graceDays": 20}, 200)
	// Errors in Graph's envelope.
	check("GET", "/allot/v1/users/{id}/licenseStates", "/allot/v1/users/"+newTestGUID()+"/licenseStates", w.ga, nil, 404)
	check("POST", "/allot/v1/tokens", "/allot/v1/tokens", w.ga, map[string]any{"name": "bot"}, 400)
	check("GET", "/allot/v1/status", "/allot/v1/status", "", nil, 401)
	check("POST", "/allot/v1/tenants", "/allot/v1/tenants", w.ga, map[string]any{"displayName": "X"}, 403)
}

// TestOpenAPIValidatorCatchesMismatch shows that the validator above can
// fail: a response missing a required property, of a wrong type, with an
// undeclared property or a value outside an enum.
func TestOpenAPIValidatorCatchesMismatch(t *testing.T) {
	_, doc := openAPIDoc(t)
	sub := map[string]any{"$ref": "#/components/schemas/Subscription"}
	good := map[string]any{"skuId": skuE1, "skuPartNumber": "STANDARDPACK", "displayName": "E1", "seats": json.Number("1"),
		"consumed": json.Number("0"), "available": json.Number("1"), "overAllocated": false, "capabilityStatus": "Enabled"}
	if errs := validate(doc, sub, good, "$"); len(errs) != 0 {
		t.Fatalf("a valid subscription fails: %v", errs)
	}
	for name, mutate := range map[string]func(m map[string]any){
		"missing":    func(m map[string]any) { delete(m, "consumed") },
		"type":       func(m map[string]any) { m["seats"] = "1" },
		"undeclared": func(m map[string]any) { m["extra"] = true },
		"enum":       func(m map[string]any) { m["capabilityStatus"] = "Sleeping" },
	} {
		bad := map[string]any{}
		for k, v := range good {
			bad[k] = v
		}
		mutate(bad)
		if errs := validate(doc, sub, bad, "$"); len(errs) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}

// walkRefs calls fn with every "$ref" in v.
func walkRefs(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			if s, ok := y.(string); ok && k == "$ref" {
				fn(s)
			} else {
				walkRefs(y, fn)
			}
		}
	case []any:
		for _, y := range x {
			walkRefs(y, fn)
		}
	}
}

// resolve follows a local JSON pointer such as "#/components/schemas/X".
func resolve(doc map[string]any, ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("only local references are used, got %q", ref)
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not inside an object", ref, part)
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("%q: no %q", ref, part)
		}
	}
	out, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%q is not an object", ref)
	}
	return out, nil
}

// validate checks v against the subset of JSON Schema the document uses:
// $ref, type (a name or a list of names), required, properties,
// additionalProperties: false, items and enum.
func validate(doc map[string]any, schema any, v any, at string) []string {
	s, _ := schema.(map[string]any)
	if s == nil {
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		target, err := resolve(doc, ref)
		if err != nil {
			return []string{at + ": " + err.Error()}
		}
		return validate(doc, target, v, at)
	}
	var errs []string
	if types := schemaTypes(s["type"]); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		return []string{fmt.Sprintf("%s: %s, want %v", at, jsonType(v), types)}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required property %q is missing", at, r))
			}
		}
		for k, y := range x {
			if p, ok := props[k]; ok {
				errs = append(errs, validate(doc, p, y, at+"."+k)...)
			} else if s["additionalProperties"] == false {
				errs = append(errs, fmt.Sprintf("%s: property %q is not in the schema", at, k))
			}
		}
	case []any:
		for i, y := range x {
			errs = append(errs, validate(doc, s["items"], y, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return errs
}

func schemaTypes(t any) []string {
	switch x := t.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, y := range x {
			out = append(out, fmt.Sprint(y))
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
