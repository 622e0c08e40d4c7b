package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/scim2/filter-parser/v2"
)

// What identity providers send that the library would refuse, rewritten
// before it sees the request.

// filterKey holds the request's parsed filter in its context.
type filterKey struct{}

// takeFilter parses a list's filter and keeps it from the library, whose
// check of a filter against the schemas accepts only one schema per
// filter: Entra ID checks a user's manager with
// `id eq "…" and manager eq "…"`, core and enterprise attributes in one
// filter. translate (filter.go) is the check instead: it refuses every
// attribute and operator it does not map. The filter's size was checked
// before (checkFilters), so that parsing it is safe.
func takeFilter(r *http.Request) (*http.Request, error) {
	// /Schemas and /ResourceTypes filter their documents in the library.
	if rest := strings.TrimPrefix(r.URL.Path, Prefix); r.Method != http.MethodGet || (rest != "Users" && rest != "Groups") {
		return r, nil
	}
	q := r.URL.Query()
	f := strings.TrimSpace(q.Get("filter"))
	if f == "" {
		return r, nil
	}
	e, err := filter.ParseFilter([]byte(f))
	if err != nil {
		return nil, badFilter("The filter is not valid: %s", err)
	}
	// A clone, since the API's middleware logs the URL it has.
	r = r.Clone(context.WithValue(r.Context(), filterKey{}, e))
	q.Del("filter")
	r.URL.RawQuery = q.Encode()
	return r, nil
}

// normalizeManager rewrites the enterprise extension's manager of a
// request on /Users into the schema's form, {"value": "…"}. Entra ID's
// tutorial sends a string in a user and a list of one object in a PATCH
// (with the path "manager", which the core schema lacks), RFC 7643 §4.3 an
// object; the library accepts only the object. Allot keeps no manager, so
// the rewrite only lets the request through. A body that is not a JSON
// object comes back unchanged, for the library to refuse.
func normalizeManager(r *http.Request, body []byte) []byte {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok || (rest != "Users" && !strings.HasPrefix(rest, "Users/")) {
		return body
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return body
	}
	changed := false
	switch r.Method {
	case http.MethodPost, http.MethodPut:
		changed = managerInExtension(m)
	case http.MethodPatch:
		for k, v := range m {
			if !strings.EqualFold(k, "operations") {
				continue
			}
			ops, _ := v.([]any)
			for _, o := range ops {
				if op, ok := o.(map[string]any); ok && managerInOperation(op) {
					changed = true
				}
			}
		}
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// managerInExtension rewrites the manager of the enterprise extension's
// object in m, and spells the extension's key as the library looks it up.
func managerInExtension(m map[string]any) bool {
	changed := false
	for _, k := range keysFold(m, enterpriseSchemaID) {
		ext, ok := m[k].(map[string]any)
		if !ok {
			continue
		}
		if _, taken := m[enterpriseSchemaID]; !taken {
			delete(m, k)
			m[enterpriseSchemaID] = ext
			changed = true
		}
		for _, a := range keysFold(ext, "manager") {
			var c bool
			ext[a], c = managerValue(ext[a])
			changed = changed || c
		}
	}
	return changed
}

// managerInOperation rewrites a PATCH operation that sets the manager:
// by path ("manager" or the extension's), or in a value without a path
// (the extension's object, its "…:manager" key, or a bare "manager").
func managerInOperation(op map[string]any) bool {
	changed := false
	valueKeys := keysFold(op, "value")
	if paths := keysFold(op, "path"); len(paths) > 0 {
		p, _ := op[paths[0]].(string)
		lp := strings.ToLower(strings.TrimSpace(p))
		if lp == "manager" || strings.HasPrefix(lp, "manager.") {
			// The core schema has no manager: it is the extension's.
			op[paths[0]], lp, changed = enterpriseSchemaID+":"+strings.TrimSpace(p), entKey+":"+lp, true
		}
		if lp == entKey+":manager" && len(valueKeys) > 0 {
			var c bool
			op[valueKeys[0]], c = managerValue(op[valueKeys[0]])
			changed = changed || c
		}
		return changed
	}
	if len(valueKeys) == 0 {
		return false
	}
	value, _ := op[valueKeys[0]].(map[string]any)
	changed = managerInExtension(value)
	for _, k := range append(keysFold(value, "manager"), keysFold(value, enterpriseSchemaID+":manager")...) {
		x := value[k]
		delete(value, k)
		value[enterpriseSchemaID+":manager"], _ = managerValue(x)
		changed = true
	}
	return changed
}

// keysFold are the keys of m equal to key but for case, so that m can be
// changed while they are visited.
func keysFold(m map[string]any, key string) []string {
	var out []string
	for k := range m {
		if strings.EqualFold(k, key) {
			out = append(out, k)
		}
	}
	return out
}

// managerValue is a manager in the schema's form: a string is the
// manager's id, and of a list the first element counts. Anything else is
// left for the library to judge.
func managerValue(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		return map[string]any{"value": x}, true
	case []any:
		if len(x) == 0 {
			return map[string]any{}, true
		}
		if s, ok := x[0].(string); ok {
			return map[string]any{"value": s}, true
		}
		if m, ok := x[0].(map[string]any); ok {
			return m, true
		}
	}
	return v, false
}
