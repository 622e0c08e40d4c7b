package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testdb"
)

// server is a real `allot serve` on a free port with a temporary database.
type server struct {
	t      *testing.T
	url    string
	db     string
	cancel context.CancelFunc
	done   chan error
	log    lockedBuffer // the server's log, shown when the test fails
}

func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	db := testdb.DSN(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{t: t, db: db, cancel: cancel, done: make(chan error, 1)}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--operator-token", "op-secret"}, extra...)
	go func() {
		err := run(ctx, args, pw, &s.log)
		pw.CloseWithError(fmt.Errorf("server stopped: %v", err))
		s.done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	go io.Copy(io.Discard, pr)
	f := strings.Fields(line)
	for _, w := range f {
		if strings.HasPrefix(w, "http://") {
			s.url = w
		}
	}
	if s.url == "" {
		t.Fatalf("no URL in %q", line)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("the server's log:\n%s", s.log.String())
		}
	})
	return s
}

func (s *server) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	if err := <-s.done; err != nil {
		s.t.Errorf("server: %v", err)
	}
	s.cancel = nil
}

// client is a bearer-token HTTP client that decodes JSON answers.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

// ok performs a request that must answer want, and returns the body.
func (c *client) ok(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	code, out := c.do(method, path, body)
	if code != want {
		c.t.Fatalf("%s %s: status %d, want %d: %v", method, path, code, want, out)
	}
	return out
}

func (c *client) waitIdle() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st := c.ok(200, "GET", "/allot/v1/status", nil); st["idle"] == true {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("processing did not become idle")
}

func errorCodeFrom(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// statesFrom returns a user's licenseAssignmentStates from one source
// (group id, or "" for direct), keyed by skuId.
func (c *client) statesFrom(userID, source string) map[string]map[string]any {
	c.t.Helper()
	u := c.ok(200, "GET", "/v1.0/users/"+userID+"?$select=id,licenseAssignmentStates", nil)
	out := map[string]map[string]any{}
	for _, x := range u["licenseAssignmentStates"].([]any) {
		s := x.(map[string]any)
		by, _ := s["assignedByGroup"].(string)
		if by == source {
			out[s["skuId"].(string)] = s
		}
	}
	return out
}

func lic(sku string, disabled ...string) map[string]any {
	if disabled == nil {
		disabled = []string{}
	}
	return map[string]any{"addLicenses": []any{map[string]any{"skuId": sku, "disabledPlans": disabled}}, "removeLicenses": []string{}}
}

func unlic(sku string) map[string]any {
	return map[string]any{"addLicenses": []any{}, "removeLicenses": []string{sku}}
}

// TestReferenceFlow walks Microsoft's "Assign or unassign licenses to a group" article over
// HTTP against the real server: assign a product to a group, watch its
// status, find each error kind, resolve each the way the article says, and
// unassign the group.
func TestReferenceFlow(t *testing.T) {
	srv := startServer(t, "--batch-size", "2", "--batch-pause", "150ms")
	op := &client{t: t, base: srv.url, token: "op-secret"}
	created := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Fabrikam"})
	tok := created["token"].(map[string]any)["secret"].(string)
	c := &client{t: t, base: srv.url, token: tok}

	for sku, seats := range map[string]int{demoE1: 3, demoE3: 5, demoKiosk: 5, demoExoP1: 5, demoAudio: 5, demoCalling: 5} {
		c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": sku, "seats": seats})
	}
	user := func(name, loc string, proxy ...string) string {
		body := map[string]any{"displayName": name, "userPrincipalName": name + "@fabrikam.example", "accountEnabled": true,
			"mailNickname": name, "usageLocation": loc, "proxyAddresses": append([]string{"SMTP:" + name + "@fabrikam.example"}, proxy...)}
		return c.ok(201, "POST", "/v1.0/users", body)["id"].(string)
	}
	group := func(name string) string {
		return c.ok(201, "POST", "/v1.0/groups", map[string]any{"displayName": name, "mailNickname": name, "mailEnabled": false, "securityEnabled": true})["id"].(string)
	}
	addMember := func(g, u string) {
		c.ok(204, "POST", "/v1.0/groups/"+g+"/members/$ref", map[string]any{"@odata.id": srv.url + "/v1.0/directoryObjects/" + u})
	}

	ivan := user("ivan", "US")
	c.ok(200, "POST", "/v1.0/users/"+ivan+"/assignLicense", lic(demoE1)) // holds one of the 3 E1 seats
	erin := user("erin", "US", "smtp:shared@fabrikam.example")
	c.ok(200, "POST", "/v1.0/users/"+erin+"/assignLicense", lic(demoExoP1)) // owns the shared address
	carol := user("carol", "US")
	c.ok(200, "POST", "/v1.0/users/"+carol+"/assignLicense", lic(demoKiosk)) // Kiosk conflicts with E1's Exchange
	// Direct assignment is synchronous and refuses a broken rule.
	nobody := user("nobody", "")
	if code, body := c.do("POST", "/v1.0/users/"+nobody+"/assignLicense", lic(demoE3)); code != 400 || errorCodeFrom(body) != "Request_BadRequest" {
		t.Fatalf("direct assignment without location: %d %v", code, body)
	}

	marketing := group("Marketing")
	alice, bob := user("alice", "US"), user("bob", "")
	dave := user("dave", "US", "smtp:Shared@fabrikam.example")
	frank, gina := user("frank", "GB"), user("gina", "DE")
	for _, u := range []string{alice, bob, carol, dave, frank, gina} {
		addMember(marketing, u)
	}

	// Assign licenses to a group: 202, processed asynchronously.
	code, g := c.do("POST", "/v1.0/groups/"+marketing+"/assignLicense", lic(demoE1))
	if code != 202 || g["id"] != marketing {
		t.Fatalf("group assignLicense: %d %v", code, g)
	}
	// Verify the assignment: the status goes through In progress to complete.
	seen := map[string]bool{}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		g := c.ok(200, "GET", "/v1.0/groups/"+marketing+"?$select=id,licenseProcessingState", nil)
		state := g["licenseProcessingState"].(map[string]any)["state"].(string)
		seen[state] = true
		if state == "ProcessingComplete" {
			break
		}
	}
	if !seen["ProcessingInProgress"] || !seen["ProcessingComplete"] {
		t.Fatalf("processing states seen: %v", seen)
	}
	c.waitIdle()
	// Errors & issues: the group is found by hasMembersWithLicenseErrors.
	withErrors := c.ok(200, "GET", "/v1.0/groups?$filter=hasMembersWithLicenseErrors%20eq%20true", nil)
	if !containsID(withErrors, marketing) {
		t.Fatalf("Marketing not in groups with errors: %v", withErrors)
	}
	// Find users with license errors in the group, each with its error.
	want := map[string]string{
		bob:   "ProhibitedInUsageLocationViolation",
		carol: "MutuallyExclusiveViolation",
		dave:  "UniquenessViolation",
		gina:  "CountViolation",
	}
	errs := c.ok(200, "GET", "/v1.0/groups/"+marketing+"/membersWithLicenseErrors", nil)
	if n := len(errs["value"].([]any)); n != len(want) {
		t.Fatalf("membersWithLicenseErrors has %d users, want %d: %v", n, len(want), errs)
	}
	for uid, code := range want {
		if !containsID(errs, uid) {
			t.Errorf("user %s missing from membersWithLicenseErrors", uid)
		}
		if s := c.statesFrom(uid, marketing)[demoE1]; s["state"] != "Error" || s["error"] != code {
			t.Errorf("user %s: %v, want %s", uid, s, code)
		}
	}
	for _, uid := range []string{alice, frank} {
		if s := c.statesFrom(uid, marketing)[demoE1]; s["state"] != "Active" {
			t.Errorf("user %s: %v, want Active", uid, s)
		}
	}

	// A missing dependent plan, and Other on the group's second product.
	conferencing := group("Conferencing")
	henry := user("henry", "US")
	addMember(conferencing, henry)
	c.ok(202, "POST", "/v1.0/groups/"+conferencing+"/assignLicense", map[string]any{"addLicenses": []any{
		map[string]any{"skuId": demoAudio, "disabledPlans": []string{}}, map[string]any{"skuId": demoCalling, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	c.waitIdle()
	hs := c.statesFrom(henry, conferencing)
	if hs[demoAudio]["error"] != "DependencyViolation" || hs[demoCalling]["error"] != "Other" {
		t.Fatalf("henry: %v", hs)
	}
	details := c.ok(200, "GET", "/allot/v1/users/"+henry+"/licenseStates", nil)
	if !strings.Contains(fmt.Sprint(details), demoAudio) {
		t.Errorf("View error details does not name the failing SKU: %v", details)
	}

	// Not enough licenses — free up unused licenses: unassign ivan's, the
	// waiting user gets the seat, then Reprocess.
	c.ok(200, "POST", "/v1.0/users/"+ivan+"/assignLicense", unlic(demoE1))
	c.waitIdle()
	c.ok(202, "POST", "/allot/v1/users/reprocess", map[string]any{"userIds": []string{gina}})
	c.waitIdle()
	if s := c.statesFrom(gina, marketing)[demoE1]; s["state"] != "Active" {
		t.Fatalf("gina after a seat was freed: %v", s)
	}
	// Not enough licenses — buy more: a new member waits, Purchase license
	// for the selected user, and the new seat is hers.
	kim := user("kim", "FR")
	addMember(marketing, kim)
	c.waitIdle()
	if s := c.statesFrom(kim, marketing)[demoE1]; s["error"] != "CountViolation" {
		t.Fatalf("kim before purchase: %v", s)
	}
	c.ok(200, "POST", "/allot/v1/subscriptions/"+demoE1+"/purchase", map[string]any{"quantity": 1, "userIds": []string{kim}})
	if s := c.statesFrom(kim, marketing)[demoE1]; s["state"] != "Active" {
		t.Fatalf("kim after purchase: %v", s)
	}
	// The three users fixed below will each need a seat too.
	c.ok(200, "PATCH", "/allot/v1/subscriptions/"+demoE1, map[string]any{"seats": 7})
	// Conflicting service plans: edit the user to remove the conflicting
	// license, then Reprocess.
	c.ok(200, "POST", "/v1.0/users/"+carol+"/assignLicense", unlic(demoKiosk))
	c.ok(200, "POST", "/v1.0/users/"+carol+"/reprocessLicenseAssignment", nil)
	// Missing dependent plan: give the user the required plan another way.
	c.ok(200, "POST", "/v1.0/users/"+henry+"/assignLicense", lic(demoE3))
	c.ok(200, "POST", "/v1.0/users/"+henry+"/reprocessLicenseAssignment", nil)
	// Usage location not specified: edit the user, then Reprocess.
	c.ok(204, "PATCH", "/v1.0/users/"+bob, map[string]any{"usageLocation": "US"})
	c.ok(200, "POST", "/v1.0/users/"+bob+"/reprocessLicenseAssignment", nil)
	// Duplicate proxy address: fix the duplicate, then force processing of the group.
	c.ok(204, "PATCH", "/v1.0/users/"+dave, map[string]any{"proxyAddresses": []string{"SMTP:dave@fabrikam.example"}})
	c.ok(202, "POST", "/allot/v1/groups/"+marketing+"/reprocess", nil)
	c.waitIdle()

	for uid, want := range map[string]string{carol: marketing, bob: marketing, dave: marketing, henry: conferencing} {
		for sku, s := range c.statesFrom(uid, want) {
			if s["state"] != "Active" {
				t.Errorf("user %s sku %s after its fix: %v", uid, sku, s)
			}
		}
	}
	// All licenses assigned.
	withErrors = c.ok(200, "GET", "/v1.0/groups?$filter=hasMembersWithLicenseErrors%20eq%20true", nil)
	if containsID(withErrors, marketing) || containsID(withErrors, conferencing) {
		t.Fatalf("groups still with errors: %v", withErrors)
	}
	if e := c.ok(200, "GET", "/v1.0/groups/"+marketing+"/membersWithLicenseErrors", nil); len(e["value"].([]any)) != 0 {
		t.Fatalf("members still in error: %v", e)
	}
	sku := c.ok(200, "GET", "/v1.0/subscribedSkus/"+demoE1, nil)
	if sku["consumedUnits"].(float64) != 7 { // alice bob carol dave frank gina kim
		t.Fatalf("E1 consumed %v, want 7", sku["consumedUnits"])
	}

	// A licensed group cannot be deleted; unassign it first.
	if code, body := c.do("DELETE", "/v1.0/groups/"+marketing, nil); code != 400 {
		t.Fatalf("deleting a licensed group: %d %v", code, body)
	}
	c.ok(202, "POST", "/v1.0/groups/"+marketing+"/assignLicense", unlic(demoE1))
	c.waitIdle()
	for _, uid := range []string{alice, bob, carol, dave, frank, gina, kim} {
		if s := c.statesFrom(uid, marketing); len(s) != 0 {
			t.Errorf("user %s keeps inherited states after unassign: %v", uid, s)
		}
	}
	if sku := c.ok(200, "GET", "/v1.0/subscribedSkus/"+demoE1, nil); sku["consumedUnits"].(float64) != 0 {
		t.Fatalf("E1 seats not released: %v", sku["consumedUnits"])
	}
	c.ok(204, "DELETE", "/v1.0/groups/"+marketing, nil)

	// The audit log recorded the group work with the reference's names.
	audit := c.ok(200, "GET", "/allot/v1/audit?targetId="+marketing+"&$top=999", nil)
	for _, activity := range []string{"Set group license", "Start applying group based license to users", "Finish applying group based license to users"} {
		if !strings.Contains(fmt.Sprint(audit), activity) {
			t.Errorf("audit log lacks %q", activity)
		}
	}
	srv.stop()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "--db", srv.db}, &out, io.Discard); err != nil {
		t.Fatalf("allot check: %v\n%s", err, out.String())
	}
}

func containsID(page map[string]any, id string) bool {
	for _, x := range page["value"].([]any) {
		if x.(map[string]any)["id"] == id {
			return true
		}
	}
	return false
}
