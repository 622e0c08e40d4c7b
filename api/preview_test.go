package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestPreviewEndToEnd previews a group assignment through the API on the
// real store: the answer matches the OpenAPI document, says who gains a
// license and who goes into CountViolation, changes nothing, and is what
// the assignment then does.
func TestPreviewEndToEnd(t *testing.T) {
	_, doc := openAPIDoc(t)
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE1, "seats": 1}).expect(http.StatusCreated, "")
	g := w.createGroup(w.ga, "Sales")
	a, b := w.createUser(w.ga, "a@contoso.example", "US"), w.createUser(w.ga, "b@contoso.example", "US")
	w.addMember(w.ga, g, a)
	w.addMember(w.ga, g, b)
	w.drain()
	lastAudit := func() any {
		return w.do("GET", "/allot/v1/audit?$top=1", w.ga, nil).expect(http.StatusOK, "")["value"].([]any)[0].(map[string]any)["id"]
	}
	before := lastAudit()

	body := `{"changes":[{"op":"assignLicense","groupId":"` + g + `","addLicenses":[{"skuId":"` + skuE1 + `","disabledPlans":[]}],"removeLicenses":[]}]}`
	r := w.do("POST", "/allot/v1/preview", w.ga, body)
	if r.Code != http.StatusOK {
		t.Fatalf("%d %s", r.Code, r.Body.String())
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(r.Body.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	schema := doc["paths"].(map[string]any)["/allot/v1/preview"].(map[string]any)["post"].(map[string]any)["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
	for _, e := range validate(doc, schema, v, "$") {
		t.Errorf("response against api/openapi.json: %s", e)
	}
	m := r.json()
	seats := m["seats"].([]any)
	if len(seats) != 1 || fmt.Sprint(seats[0].(map[string]any)["delta"]) != "1" || seats[0].(map[string]any)["skuPartNumber"] != "STANDARDPACK" {
		t.Fatalf("seats %v", seats)
	}
	if tot := m["totals"].(map[string]any); fmt.Sprint(tot["users"], tot["gained"], tot["intoError"]) != "2 1 1" {
		t.Fatalf("totals %v", tot)
	}
	// a joined first and takes the seat; b waits.
	users := m["users"].([]any)
	ua, ub := users[0].(map[string]any), users[1].(map[string]any)
	if ua["id"] != a || fmt.Sprint(ua["gained"]) != "["+skuE1+"]" || ub["id"] != b ||
		ub["intoError"].([]any)[0].(map[string]any)["error"] != "CountViolation" || ub["intoError"].([]any)[0].(map[string]any)["assignedByGroup"] != g {
		t.Fatalf("users %v", users)
	}

	// Nothing changed.
	if after := lastAudit(); after != before {
		t.Fatalf("the preview wrote audit entry %v", after)
	}
	if st := licenseStates(w, a); len(st) != 0 {
		t.Fatalf("a has states after a preview: %v", st)
	}

	// The assignment does what was previewed.
	w.do("POST", "/v1.0/groups/"+g+"/assignLicense", w.ga, `{"addLicenses":[{"skuId":"`+skuE1+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusAccepted, "")
	w.drain()
	sa, sb := licenseStates(w, a), licenseStates(w, b)
	if len(sa) != 1 || sa[0]["state"] != "Active" || len(sb) != 1 || sb[0]["error"] != "CountViolation" {
		t.Fatalf("after assigning: a %v, b %v", sa, sb)
	}
}

// TestPreviewPermissionsAndValidation: the caller needs every permission
// its changes need; a bad change is a 400 naming it, a missing object a
// 404 naming it.
func TestPreviewPermissionsAndValidation(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE1, "seats": 1}).expect(http.StatusCreated, "")
	g := w.createGroup(w.ga, "Sales")
	u := w.createUser(w.ga, "a@contoso.example", "US")
	token := func(role string) string {
		return w.do("POST", "/allot/v1/tokens", w.ga, map[string]any{"name": role, "role": role}).expect(http.StatusCreated, "")["secret"].(string)
	}
	billing, licensing := token("BillingAdministrator"), token("LicenseAdministrator")
	seats := `{"op":"setSeats","skuId":"` + skuE1 + `","seats":4}`
	assign := `{"op":"assignLicense","userId":"` + u + `","addLicenses":[{"skuId":"` + skuE1 + `"}],"removeLicenses":[]}`
	member := `{"op":"addMember","groupId":"` + g + `","memberId":"` + u + `"}`
	changes := func(cs ...string) string { return `{"changes":[` + strings.Join(cs, ",") + `]}` }

	w.do("POST", "/allot/v1/preview", billing, changes(seats)).expect(http.StatusOK, "")
	w.do("POST", "/allot/v1/preview", billing, changes(assign)).expect(http.StatusForbidden, "Authorization_RequestDenied")
	w.do("POST", "/allot/v1/preview", licensing, changes(assign)).expect(http.StatusOK, "")
	w.do("POST", "/allot/v1/preview", licensing, changes(assign, seats)).expect(http.StatusForbidden, "Authorization_RequestDenied")
	w.do("POST", "/allot/v1/preview", licensing, changes(member)).expect(http.StatusForbidden, "Authorization_RequestDenied")
	w.do("POST", "/allot/v1/preview", w.ga, changes(assign, seats, member)).expect(http.StatusOK, "")

	for _, tc := range []struct{ body, want string }{
		{`{}`, "'changes'"},
		{`{"changes":[]}`, "between 1 and 20"},
		{changes(`{"op":"explode"}`), "Change 1 (explode): Unknown op"},
		{changes(seats, `{"op":"addMember","groupId":"`+g+`","memberId":"`+u+`","seats":3}`), "Change 2 (addMember): Property 'seats' does not apply"},
		{changes(`{"op":"assignLicense","userId":"` + u + `","groupId":"` + g + `","addLicenses":[],"removeLicenses":[]}`), "exactly one of: userId, groupId"},
		{changes(`{"op":"assignLicense","userId":"` + u + `","addLicenses":[],"removeLicenses":[]}`), "at least one license"},
		{changes(`{"op":"assignLicense","userId":"` + u + `","addLicenses":[{"skuId":"` + skuE1 + `","includeNestedGroups":true}],"removeLicenses":[]}`), "group's licenses only"},
		{changes(`{"op":"setSeats","skuId":"nope","seats":1}`), "Change 1 (setSeats): Invalid value for property 'skuId'"},
		{changes(`{"op":"setSeats","skuId":"` + skuE1 + `","seats":-1}`), "Change 1 (setSeats): Property 'seats' must be from 0"},
		{changes(`{"op":"updateUser","userId":"` + u + `","usageLocation":"ZZ"}`), "Change 1 (updateUser): Invalid value specified for property 'usageLocation'"},
		{changes(`{"op":"setSeats","skuId":"` + skuE1 + `","seats":1,"extra":1}`), "extra"},
		{changes(member, member), "Change 2 (addMember): One or more added object references already exist"},
		{changes(`{"op":"assignLicense","userId":"` + u + `","addLicenses":[{"skuId":"` + skuE3 + `"}],"removeLicenses":[]}`), "Change 1 (assignLicense): "},
	} {
		m := w.do("POST", "/allot/v1/preview", w.ga, tc.body).expect(http.StatusBadRequest, "Request_BadRequest")
		if msg := fmt.Sprint(m["error"].(map[string]any)["message"]); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, want %q", tc.body, msg, tc.want)
		}
	}
	m := w.do("POST", "/allot/v1/preview", w.ga, changes(seats, `{"op":"removeMember","groupId":"`+g+`","memberId":"`+u+`"}`)).expect(http.StatusNotFound, "Request_ResourceNotFound")
	if msg := fmt.Sprint(m["error"].(map[string]any)["message"]); !strings.HasPrefix(msg, "Change 2 (removeMember): ") {
		t.Errorf("404 message %q", msg)
	}
	// None of these changed anything.
	if st := licenseStates(w, u); len(st) != 0 {
		t.Fatalf("states after previews: %v", st)
	}
	subs := w.do("GET", "/allot/v1/subscriptions", w.ga, nil).expect(http.StatusOK, "")["value"].([]any)
	if s := subs[0].(map[string]any); fmt.Sprint(s["seats"], s["consumed"]) != "1 0" {
		t.Fatalf("subscription after previews: %v", s)
	}
}

func licenseStates(w *world, user string) []map[string]any {
	w.t.Helper()
	var out []map[string]any
	for _, s := range w.do("GET", "/allot/v1/users/"+user+"/licenseStates", w.ga, nil).expect(http.StatusOK, "")["value"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}
