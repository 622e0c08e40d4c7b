package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/scim"
	"github.com/allot-dev/allot/store"
)

// Fixed ids of the fuzz targets' objects, so that seeds can name them.
const (
	fzUser     = "f0000000-0000-4000-8000-000000000001"
	fzUser2    = "f0000000-0000-4000-8000-000000000002"
	fzGroup    = "f0000000-0000-4000-8000-000000000011"
	fzLicGroup = "f0000000-0000-4000-8000-000000000012"
	fzSku      = azSubscribed
	fzSku2     = azAssign
	fzOperator = "fuzz-operator-secret"
	fzWebhook  = "f0000000-0000-4000-8000-000000000021" // no such webhook: its routes decode, then answer 404
)

// fzRoute is a route that reads a request body, with a target on the
// fuzz world's objects and the caller that may use it.
type fzRoute struct {
	pattern  string
	target   string
	operator bool
}

func (r fzRoute) method() string { m, _, _ := strings.Cut(r.pattern, " "); return m }

// fzRoutes is every route whose method carries a body (POST, PATCH, PUT);
// TestFuzzCoversEveryBodyRoute keeps it complete.
var fzRoutes = []fzRoute{
	{pattern: "POST /v1.0/$batch", target: "/v1.0/$batch"},
	{pattern: "POST /v1.0/users", target: "/v1.0/users"},
	{pattern: "PATCH /v1.0/users/{id}", target: "/v1.0/users/" + fzUser},
	{pattern: "POST /v1.0/users/{id}/assignLicense", target: "/v1.0/users/" + fzUser + "/assignLicense"},
	{pattern: "POST /v1.0/users/{id}/reprocessLicenseAssignment", target: "/v1.0/users/" + fzUser + "/reprocessLicenseAssignment"},
	{pattern: "POST /v1.0/groups", target: "/v1.0/groups"},
	{pattern: "PATCH /v1.0/groups/{id}", target: "/v1.0/groups/" + fzGroup},
	{pattern: "POST /v1.0/groups/{id}/members/$ref", target: "/v1.0/groups/" + fzGroup + "/members/$ref"},
	{pattern: "POST /v1.0/groups/{id}/assignLicense", target: "/v1.0/groups/" + fzLicGroup + "/assignLicense"},
	// Restore takes no body; one sent is ignored. The id names nothing.
	{pattern: "POST /v1.0/directory/deletedItems/{id}/restore", target: "/v1.0/directory/deletedItems/f0000000-0000-4000-8000-0000000000de/restore"},
	{pattern: "POST /allot/v1/tenants", target: "/allot/v1/tenants", operator: true},
	{pattern: "PATCH /allot/v1/tenant", target: "/allot/v1/tenant"},
	{pattern: "POST /allot/v1/tokens", target: "/allot/v1/tokens"},
	{pattern: "PUT /allot/v1/catalog", target: "/allot/v1/catalog", operator: true},
	{pattern: "POST /allot/v1/subscriptions", target: "/allot/v1/subscriptions"},
	{pattern: "PATCH /allot/v1/subscriptions/{skuId}", target: "/allot/v1/subscriptions/" + fzSku},
	{pattern: "POST /allot/v1/subscriptions/{skuId}/purchase", target: "/allot/v1/subscriptions/" + fzSku + "/purchase"},
	{pattern: "POST /allot/v1/groups/assignLicense", target: "/allot/v1/groups/assignLicense"},
	// Commercial subscriptions: the id names nothing, so a body that gets
	// past decoding meets a 404 rather than changing the tenant's pools.
	{pattern: "POST /allot/v1/companySubscriptions", target: "/allot/v1/companySubscriptions"},
	{pattern: "PATCH /allot/v1/companySubscriptions/{id}", target: "/allot/v1/companySubscriptions/f0000000-0000-4000-8000-0000000000c5"},
	{pattern: "POST /allot/v1/companySubscriptions/{id}/renew", target: "/allot/v1/companySubscriptions/f0000000-0000-4000-8000-0000000000c5/renew"},
	{pattern: "POST /allot/v1/companySubscriptions/{id}/cancel", target: "/allot/v1/companySubscriptions/f0000000-0000-4000-8000-0000000000c5/cancel"},
	{pattern: "POST /allot/v1/companySubscriptions/{id}/reactivate", target: "/allot/v1/companySubscriptions/f0000000-0000-4000-8000-0000000000c5/reactivate"},
	{pattern: "POST /allot/v1/companySubscriptions/{id}/convertTrial", target: "/allot/v1/companySubscriptions/f0000000-0000-4000-8000-0000000000c5/convertTrial"},
	{pattern: "PATCH /allot/v1/lifecycleSettings", target: "/allot/v1/lifecycleSettings"},
	{pattern: "POST /allot/v1/groups/validateRule", target: "/allot/v1/groups/validateRule"},
	{pattern: "POST /v1.0/groups/evaluateDynamicMembership", target: "/v1.0/groups/evaluateDynamicMembership"},
	{pattern: "POST /v1.0/groups/{id}/evaluateDynamicMembership", target: "/v1.0/groups/" + fzGroup + "/evaluateDynamicMembership"},
	{pattern: "POST /allot/v1/groups/{id}/reprocess", target: "/allot/v1/groups/" + fzLicGroup + "/reprocess"},
	{pattern: "POST /allot/v1/users/reprocess", target: "/allot/v1/users/reprocess"},
	{pattern: "POST /allot/v1/alerts/webhooks", target: "/allot/v1/alerts/webhooks"},
	{pattern: "PATCH /allot/v1/alerts/webhooks/{id}", target: "/allot/v1/alerts/webhooks/" + fzWebhook},
	{pattern: "POST /allot/v1/alerts/webhooks/{id}/test", target: "/allot/v1/alerts/webhooks/" + fzWebhook + "/test"},
	{pattern: "PUT /allot/v1/subscriptions/{skuId}/price", target: "/allot/v1/subscriptions/" + fzSku + "/price"},
	{pattern: "PATCH /allot/v1/policy", target: "/allot/v1/policy"},
	{pattern: "POST /allot/v1/import", target: "/allot/v1/import?file=users"},
	{pattern: "POST /allot/v1/preview", target: "/allot/v1/preview"},
	{pattern: "POST /scim/v2/{path...}", target: "/scim/v2/Groups"},
	{pattern: "PUT /scim/v2/{path...}", target: "/scim/v2/Users/" + fzUser2},
	{pattern: "PATCH /scim/v2/{path...}", target: "/scim/v2/Users/" + fzUser},
}

// TestFuzzCoversEveryBodyRoute fails when a route that takes a body is
// added without a place in FuzzRequestBody.
func TestFuzzCoversEveryBodyRoute(t *testing.T) {
	have := map[string]bool{}
	for _, r := range fzRoutes {
		have[r.pattern] = true
	}
	for _, p := range api.RoutePatterns() {
		m, _, _ := strings.Cut(p, " ")
		if (m == "POST" || m == "PATCH" || m == "PUT") && !have[p] {
			t.Errorf("route %q takes a body but FuzzRequestBody does not send it any: add it to fzRoutes", p)
		}
	}
}

// fzWorld is a real store (in memory, or a PostgreSQL schema) behind the
// real handler, with one tenant and a few objects.
type fzWorld struct {
	h      http.Handler
	db     *store.DB
	ga     string
	admin  context.Context // the tenant's Global Administrator, for reading the store directly
	remote atomic.Uint32   // varies the client address so that no rate limit interferes
}

func newFzWorld(tb testing.TB) *fzWorld {
	tb.Helper()
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(tb, true), Catalog: catalog.Demo()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	w := &fzWorld{db: db, h: api.New(configWith(db, api.Config{OperatorToken: fzOperator, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return fixedNow }, MaxBodyBytes: 64 << 10,
		SCIM: scim.New(scim.Config{Services: db.Services(), Store: db, Logger: slog.New(slog.DiscardHandler)})}))}
	must := func(method, target, token, body string, want int) map[string]any {
		rec := w.send(method, target, token, []byte(body))
		if rec.Code != want {
			tb.Fatalf("%s %s: %d, want %d: %s", method, target, rec.Code, want, rec.Body.String())
		}
		var m map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &m)
		return m
	}
	out := must("POST", "/allot/v1/tenants", fzOperator, `{"displayName":"Fuzz","defaultUsageLocation":"US"}`, 201)
	w.ga = out["token"].(map[string]any)["secret"].(string)
	a, err := db.Authenticate(context.Background(), w.ga)
	if err != nil {
		tb.Fatal(err)
	}
	w.admin = allot.NewContextWithActor(context.Background(), a)
	must("POST", "/allot/v1/subscriptions", w.ga, `{"skuId":"`+fzSku+`","seats":1000}`, 201)
	must("POST", "/allot/v1/subscriptions", w.ga, `{"skuId":"`+fzSku2+`","seats":1000}`, 201)
	for _, u := range []string{fzUser, fzUser2} {
		must("POST", "/v1.0/users", w.ga, `{"id":"`+u+`","displayName":"U","userPrincipalName":"`+u[:8]+u[34:]+`@fuzz.example","usageLocation":"US"}`, 201)
	}
	for _, g := range []string{fzGroup, fzLicGroup} {
		must("POST", "/v1.0/groups", w.ga, `{"id":"`+g+`","displayName":"G","mailNickname":"g`+g[34:]+`","mailEnabled":false,"securityEnabled":true}`, 201)
		must("POST", "/v1.0/groups/"+g+"/members/$ref", w.ga, `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/`+fzUser+`"}`, 204)
	}
	must("POST", "/v1.0/groups/"+fzLicGroup+"/assignLicense", w.ga, `{"addLicenses":[{"skuId":"`+fzSku+`"}],"removeLicenses":[]}`, 202)
	return w
}

func (w *fzWorld) send(method, target, token string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	n := w.remote.Add(1)
	req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1234", n>>16&0xff, n>>8&0xff, n&0xff)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	return rec
}

// fingerprint sums up what a refused request must not change: the
// tenant's newest audit entry (every change writes one) and the catalog
// (replaced whole, never edited). It reads the store directly, since the
// fuzzer calls it twice per input.
func (w *fzWorld) fingerprint(t *testing.T) string {
	t.Helper()
	page, err := w.db.Audit(w.admin, allot.AuditFilter{Top: 1})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("audit: %v", err)
	}
	return fmt.Sprintf("audit %d, catalog %p", page.Items[0].ID, w.db.Catalog())
}

// checkSCIMError requires SCIM's error schema (RFC 7644 §3.12), which the
// SCIM routes answer in, with a status a body can cause.
func checkSCIMError(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("%d with a SCIM error that is not JSON: %q", rec.Code, rec.Body.String())
	}
	schemas, _ := e["schemas"].([]any)
	detail, _ := e["detail"].(string)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || e["status"] != fmt.Sprint(rec.Code) ||
		!utf8.ValidString(detail) || strings.ContainsAny(detail, "\x00") {
		t.Fatalf("%d without SCIM's error schema: %q", rec.Code, rec.Body.String())
	}
	if rec.Code != 400 && rec.Code != 404 && rec.Code != 409 && rec.Code != 413 {
		t.Fatalf("status %d for a body: %q", rec.Code, rec.Body.String())
	}
}

// checkEnvelope requires Graph's error envelope and nothing else (SCIM's
// error schema on the SCIM routes).
func checkEnvelope(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Header().Get("Content-Type") == "application/scim+json" {
		checkSCIMError(t, rec)
		return
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%d with Content-Type %q: %q", rec.Code, ct, rec.Body.String())
	}
	var env map[string]map[string]any
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || len(env) != 1 || env["error"] == nil {
		t.Fatalf("%d without the error envelope (%v): %q", rec.Code, err, rec.Body.String())
	}
	e := env["error"]
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	inner, _ := e["innerError"].(map[string]any)
	if code == "" || msg == "" || inner == nil || inner["request-id"] == "" || inner["date"] == "" || len(e) != 3 {
		t.Fatalf("%d with an incomplete envelope: %q", rec.Code, rec.Body.String())
	}
	if !utf8.ValidString(msg) || strings.ContainsAny(msg, "\x00") {
		t.Fatalf("message is not clean text: %q", msg)
	}
	want := map[int][]string{
		400: {"Request_BadRequest", "Request_UnsupportedQuery"},
		404: {"Request_ResourceNotFound"},
		413: {"Request_EntityTooLarge"},
	}[rec.Code]
	if want == nil {
		t.Fatalf("status %d for a body: %q", rec.Code, rec.Body.String())
	}
	if !strings.Contains(strings.Join(want, " "), code) {
		t.Fatalf("status %d with code %q, want one of %v", rec.Code, code, want)
	}
}

// badBodies are sent to every route as seeds.
var badBodies = []string{
	``, ` `, `null`, `[]`, `""`, `0`, `true`, `{`, `{"a":`, `{}`, `{} {}`, `{}x`, `{"@odata.type":"#microsoft.graph.user"}`,
	`{"unknown":1}`, "{\"displayName\":\"\x00\"}", "\xef\xbb\xbf{}", `{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
	`{"seats":1e400,"quantity":-1,"expiresInDays":99999999999999999999}`, `{"userIds":[null],"groupIds":null,"skuId":1}`,
	`{"addLicenses":[null],"removeLicenses":[null]}`, `{"addLicenses":{},"removeLicenses":""}`, `{"displayName":"` + strings.Repeat("é", 300) + `"}`,
	`{"proxyAddresses":[null,"","smtp:","SMTP:a@b","smtp:A@B"]}`, `{"@odata.id":"http://[::1"}`, `{"@odata.id":"/directoryObjects/../users/x"}`,
	`{"displayName":"a","displayName":1}`, "\xff\xfe", `{"displayName":"\ud800"}`,
}

// validBodies are bodies a route accepts (or refuses for a rule, not for
// its shape), so that the fuzzer starts from the deep end of each handler.
var validBodies = map[string][]string{
	"POST /v1.0/users": {`{"displayName":"A","userPrincipalName":"a@fuzz.example","mailNickname":"a","accountEnabled":true,"usageLocation":"us",
		"passwordProfile":{"password":"x"},"proxyAddresses":["SMTP:a@fuzz.example"],"mail":"a@fuzz.example","id":"f0000000-0000-4000-8000-0000000000aa"}`},
	"PATCH /v1.0/users/{id}": {`{"usageLocation":"GB"}`, `{"usageLocation":null,"mail":null,"proxyAddresses":null}`,
		`{"displayName":"B","accountEnabled":false,"userPrincipalName":"b@fuzz.example","proxyAddresses":["smtp:x@fuzz.example"]}`},
	"POST /v1.0/users/{id}/assignLicense": {`{"addLicenses":[{"skuId":"` + fzSku2 + `","disabledPlans":[]}],"removeLicenses":[]}`,
		`{"addLicenses":[],"removeLicenses":["` + fzSku2 + `"]}`, `{"addLicenses":[{"skuId":"` + fzSku + `","disabledPlans":["` + fzSku + `"]}],"removeLicenses":[]}`},
	"POST /v1.0/users/{id}/reprocessLicenseAssignment": {``, `{}`},
	"POST /v1.0/$batch": {`{"requests":[{"id":"1","method":"PATCH","url":"/users/` + fzUser + `","body":{"usageLocation":"GB"}},` +
		`{"id":"2","method":"GET","url":"/users/` + fzUser + `?$select=id","dependsOn":["1"]},{"id":"3","method":"POST","url":"users","body":{"x":1}}]}`},
	"POST /v1.0/groups": {`{"displayName":"G","mailNickname":"gg","mailEnabled":true,"securityEnabled":false,"groupTypes":["Unified"],"proxyAddresses":["SMTP:g@fuzz.example"]}`,
		`{"displayName":"D","mailNickname":"dd","mailEnabled":false,"securityEnabled":true,"groupTypes":["DynamicMembership"],"membershipRule":"user.department -eq \"Sales\"","membershipRuleProcessingState":"On"}`},
	"PATCH /v1.0/groups/{id}": {`{"description":"d","proxyAddresses":["SMTP:shared@fuzz.example"]}`, `{"groupTypes":[]}`, `{"mailNickname":null}`,
		`{"groupTypes":["DynamicMembership"],"membershipRule":"user.city -startsWith \"Par\""}`, `{"membershipRuleProcessingState":"Paused"}`},
	"POST /v1.0/groups/{id}/members/$ref": {`{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + fzUser2 + `"}`,
		`{"@odata.id":"https://graph.microsoft.com/v1.0/groups/` + fzLicGroup + `"}`, `{"@odata.id":"https://graph.microsoft.com/v1.0/users/` + fzGroup + `"}`},
	"POST /v1.0/groups/{id}/assignLicense": {`{"addLicenses":[{"skuId":"` + fzSku2 + `"}],"removeLicenses":["` + fzSku + `"]}`,
		`{"addLicenses":[{"skuId":"` + fzSku + `"}],"removeLicenses":[]}`},
	"POST /allot/v1/tenants":                        {`{"displayName":"T","defaultUsageLocation":"de"}`},
	"PATCH /allot/v1/tenant":                        {`{"defaultUsageLocation":"fr"}`, `{"displayName":null}`, `{"defaultUsageLocation":""}`},
	"POST /allot/v1/tokens":                         {`{"name":"n","role":"GlobalReader","expiresInDays":1}`, `{"name":"n","role":"Emperor"}`},
	"PUT /allot/v1/catalog":                         {`{"plans":[],"skus":[]}`, `{"plans":[{"id":"x"}]}`},
	"POST /allot/v1/subscriptions":                  {`{"skuId":"06ebc4ee-1bb5-47dd-8120-11324bc54e06","seats":3}`, `{"skuId":"` + fzSku + `","seats":3}`},
	"PATCH /allot/v1/subscriptions/{skuId}":         {`{"seats":0}`, `{"seats":1000}`, `{"seats":1000001}`},
	"POST /allot/v1/subscriptions/{skuId}/purchase": {`{"quantity":2,"userIds":["` + fzUser + `","` + fzUser2 + `"]}`, `{"quantity":1,"userIds":["` + fzGroup + `"]}`},
	"POST /allot/v1/groups/assignLicense":           {`{"groupIds":["` + fzGroup + `","` + fzLicGroup + `"],"skuId":"` + fzSku2 + `","disabledPlans":[]}`},
	"POST /allot/v1/groups/{id}/reprocess":          {``, `garbage`},
	"POST /allot/v1/groups/validateRule": {`{"membershipRule":"(user.department -eq \"Sales\") -and (user.usageLocation -in [\"US\",\"GB\"])","userIds":["` + fzUser + `"]}`,
		`{"membershipRule":"user.assignedPlans -any (assignedPlan.capabilityStatus -eq \"Enabled\")"}`, `{"membershipRule":"(((("}`},
	"POST /v1.0/groups/evaluateDynamicMembership":      {`{"memberId":"` + fzUser + `","membershipRule":"user.proxyAddresses -any (_ -contains \"x\")"}`},
	"POST /v1.0/groups/{id}/evaluateDynamicMembership": {`{"memberId":"` + fzUser2 + `"}`, `{"memberId":"` + fzUser + `","membershipRule":"user.accountEnabled -eq true"}`},
	"POST /allot/v1/users/reprocess":                   {`{"userIds":["` + fzUser + `","` + strings.ToUpper(fzUser2) + `"]}`},
	"POST /allot/v1/preview": {`{"changes":[{"op":"assignLicense","groupId":"` + fzLicGroup + `","addLicenses":[{"skuId":"` + fzSku + `","disabledPlans":[]}],"removeLicenses":[]},{"op":"setSeats","skuId":"` + fzSku + `","seats":3}]}`,
		`{"changes":[{"op":"addMember","groupId":"` + fzGroup + `","memberId":"` + fzUser2 + `"},{"op":"updateUser","userId":"` + fzUser + `","usageLocation":"fr"}]}`},
	"POST /allot/v1/alerts/webhooks":            {`{"url":"https://example.com/h","events":["group.errors"],"secret":"0123456789abcdef"}`, `{"url":"ftp://x"}`, `{"url":"http://h","events":["nope"]}`},
	"PATCH /allot/v1/alerts/webhooks/{id}":      {`{"enabled":false}`, `{"rotateSecret":true,"secret":"0123456789abcdef"}`, `{"events":null}`},
	"POST /allot/v1/alerts/webhooks/{id}/test":  {``, `{}`, `garbage`},
	"PUT /allot/v1/subscriptions/{skuId}/price": {`{"pricePerSeat":"8.00","currency":"EUR"}`, `{"pricePerSeat":8.5,"currency":"usd"}`, `{"pricePerSeat":"1e3","currency":"EUR"}`},
	"PATCH /allot/v1/policy":                    {`{"blockedDirectAssignmentSkuIds":["` + fzSku2 + `"]}`, `{"blockedDirectAssignmentSkuIds":[]}`, `{"blockedDirectAssignmentSkuIds":null}`},
	"POST /allot/v1/import": {"userPrincipalName,displayName,usageLocation,proxyAddresses,accountEnabled\nfz@fuzz.example,F,us,SMTP:fz@fuzz.example;smtp:g@fuzz.example,no\n",
		"\xef\xbb\xbfuserPrincipalName,displayName,mail\n" + fzUser[:8] + fzUser[34:] + "@fuzz.example,\"Re,named\",'=x\n"},
	"POST /scim/v2/{path...}": {`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"S","externalId":"x","members":[{"value":"` + fzUser + `"},{"value":"` + fzUser2 + `"}]}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"S","members":[{"value":"` + fzUser + `"},{"value":"f0000000-0000-4000-8000-0000000000ff"}]}`},
	"PUT /scim/v2/{path...}": {`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"p@fuzz.example","active":false,"emails":[{"value":"p@fuzz.example","primary":true},{"value":"q@fuzz.example"}],"addresses":[{"country":"de"}]}`},
	"PATCH /scim/v2/{path...}": {`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","value":{"active":"False","name.givenName":"G"}},{"op":"add","path":"emails[type eq \"work\"].value","value":"w@fuzz.example"},{"op":"remove","path":"addresses[type eq \"work\"]"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"addresses[type eq \"work\"].country","value":"usa"}]}`},
}

// FuzzRequestBody sends arbitrary bytes as the body of every route that
// takes one, to the real handler on the real store. Whatever the bytes:
// never a 5xx (a panic would be one), a 4xx always in Graph's envelope with
// a code that fits its status, and a refused request changes nothing.
//
//	go test -run='^$' -fuzz=FuzzRequestBody -fuzztime=30s ./api/
func FuzzRequestBody(f *testing.F) {
	for _, r := range fzRoutes {
		for _, b := range append(validBodies[r.pattern], badBodies...) {
			f.Add(r.pattern, []byte(b))
		}
	}
	w := newFzWorld(f)
	f.Fuzz(func(t *testing.T, pattern string, body []byte) {
		r := fzPick(pattern)
		token := w.ga
		if r.operator {
			token = fzOperator
		}
		before := w.fingerprint(t)
		rec := w.send(r.method(), r.target, token, body)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s with body %q: %d %s", r.pattern, body, rec.Code, rec.Body.String())
		case rec.Code >= 400:
			checkEnvelope(t, rec)
			if after := w.fingerprint(t); after != before {
				t.Fatalf("%s answered %d but changed something (%s → %s): body %q", r.pattern, rec.Code, before, after, body)
			}
		case rec.Code < 200 || rec.Code > 299:
			t.Fatalf("%s: status %d", r.pattern, rec.Code)
		case rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()):
			t.Fatalf("%s: %d with a body that is not JSON: %q", r.pattern, rec.Code, rec.Body.String())
		}
	})
}

// fzPick maps the fuzzer's route string to a route: itself when it names
// one, else one chosen by its hash, so every mutation still hits a route.
func fzPick(pattern string) fzRoute {
	for _, r := range fzRoutes {
		if r.pattern == pattern {
			return r
		}
	}
	h := fnv.New32a()
	h.Write([]byte(pattern))
	return fzRoutes[h.Sum32()%uint32(len(fzRoutes))]
}

// FuzzAuthorization sends arbitrary Authorization and client-request-id
// headers. Never a 5xx; every refusal is a Graph envelope (401 with
// WWW-Authenticate, 429 with Retry-After); a request is served only when
// the header holds a real secret (the tenant's token or the operator's);
// the echoed client-request-id is always printable and short.
//
//	go test -run='^$' -fuzz=FuzzAuthorization -fuzztime=30s ./api/
func FuzzAuthorization(f *testing.F) {
	w := newFzWorld(f)
	for _, s := range []string{
		"", "Bearer", "Bearer ", "Bearer  ", "bearer x", "Basic dXNlcjpwYXNz", "Bearer allot_", "Bearer allot_" + strings.Repeat("A", 43),
		"Bearer " + fzOperator, "BEARER " + fzOperator, "Bearer " + fzOperator + " ", "Bearer\t" + fzOperator, "Bearer " + fzOperator + "\x00",
		"Bearer " + strings.Repeat("x", 5000), "Bearer allot_\u00e9\u00e9", "Token abc", " Bearer abc", "Bearer a b c", "Negotiate YII=",
	} {
		f.Add(s, "", false)
		f.Add(s, "abc-123", true)
	}
	f.Add("Bearer GA", "\x7f\x00\r\n", false) // "GA" stands for the tenant's real token
	f.Add("bearer   GA  ", strings.Repeat("r", 129), true)
	f.Add("Bearer GAx", "ok", false)
	f.Add("Bearer xGA", "ok", false)
	f.Fuzz(func(t *testing.T, auth, clientRequestID string, write bool) {
		// "GA" in the input stands for the tenant's token, which the seeds
		// cannot know, so that the fuzzer mutates around a real secret.
		auth = strings.ReplaceAll(auth, "GA", w.ga)
		method, target, body := "GET", "/allot/v1/tenant", ""
		if write {
			method, target, body = "POST", "/allot/v1/tenants", `{"displayName":"F"}`
		}
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		n := w.remote.Add(1)
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1234", n>>16&0xff, n>>8&0xff, n&0xff)
		req.Header["Authorization"] = []string{auth}
		req.Header["Client-Request-Id"] = []string{clientRequestID}
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, req)

		switch rec.Code {
		case 200, 201:
			if !strings.Contains(auth, w.ga) && !strings.Contains(auth, fzOperator) {
				t.Fatalf("served %d for Authorization %q, which holds no secret", rec.Code, auth)
			}
		case 401:
			checkAuthEnvelope(t, rec, "InvalidAuthenticationToken")
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		case 403:
			checkAuthEnvelope(t, rec, "Authorization_RequestDenied")
			if !strings.Contains(auth, w.ga) && !strings.Contains(auth, fzOperator) {
				t.Fatalf("403 for Authorization %q, which holds no secret: authenticated as someone", auth)
			}
		case 429:
			checkAuthEnvelope(t, rec, "TooManyRequests")
			if rec.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("Authorization %q: status %d: %s", auth, rec.Code, rec.Body.String())
		}
		echo := rec.Header().Get("client-request-id")
		if echo == "" || len(echo) > 128 {
			t.Fatalf("client-request-id echoed as %q", echo)
		}
		for i := 0; i < len(echo); i++ {
			if echo[i] < 0x21 || echo[i] > 0x7e {
				t.Fatalf("client-request-id echoed with byte %#x: %q", echo[i], echo)
			}
		}
	})
}

func checkAuthEnvelope(t *testing.T, rec *httptest.ResponseRecorder, code string) {
	t.Helper()
	var env struct {
		Error struct {
			Code, Message string
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error.Code != code || env.Error.Message == "" {
		t.Fatalf("%d: want a %s envelope: %v %q", rec.Code, code, err, rec.Body.String())
	}
}
