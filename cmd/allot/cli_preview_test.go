package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIPreview previews changes with `allot preview …` against a real
// server and worker: the seats and the users going into error are shown
// before anything is done, nothing changes, and the real change then does
// what was shown.
func TestCLIPreview(t *testing.T) {
	w := newCLIWorld(t, 0)
	consumed := func() int {
		return num(w.product("ENTERPRISEPACK")["assigned"])
	}

	// Sales has five members and ENTERPRISEPACK three seats.
	r := w.ok("preview", "assign", "--product", "ENTERPRISEPACK", "--group", "Sales")
	for _, want := range []string{
		"Seats ENTERPRISEPACK: consumed 0 -> 3 (+3)",
		"Users: 5 change (3 licenses gained, 0 lost, 2 into error, 0 out of error); 5 evaluated",
		"ENTERPRISEPACK:CountViolation",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("preview assign: no %q in\n%s", want, r.stdout)
		}
	}
	p := w.jsonObject("preview", "assign", "--product", "ENTERPRISEPACK", "--group", "Sales")
	var into []string
	for _, u := range p["users"].([]any) {
		if len(u.(map[string]any)["intoError"].([]any)) > 0 {
			into = append(into, u.(map[string]any)["userPrincipalName"].(string))
		}
	}
	if strings.Join(into, " ") != "dan@contoso.example eve@contoso.example" {
		t.Fatalf("into error %v", into)
	}
	if rows := w.csv("preview", "assign", "--product", "ENTERPRISEPACK", "--group", "Sales"); len(rows) != 6 || rows[0][0] != "user" {
		t.Fatalf("csv %v", rows)
	}
	if c := consumed(); c != 0 {
		t.Fatalf("previews consumed %d seats", c)
	}

	// The assignment does what the preview said.
	w.ok("assign", "--product", "ENTERPRISEPACK", "--group", "Sales", "--wait")
	if c := consumed(); c != 3 {
		t.Fatalf("consumed %d after assigning, preview said 3", c)
	}
	errs := w.jsonList("group", "errors", "Sales")
	if len(errs) != 2 {
		t.Fatalf("group errors %v", errs)
	}

	// A seat more goes to dan, who waited first.
	r = w.ok("preview", "seats", "--product", "ENTERPRISEPACK", "--seats", "4")
	if !strings.Contains(r.stdout, "consumed 3 -> 4 (+1), seats 3 -> 4") || !strings.Contains(r.stdout, "dan@contoso.example") || strings.Contains(r.stdout, "eve@") {
		t.Fatalf("preview seats:\n%s", r.stdout)
	}
	// ann leaving Sales frees her seat for dan too.
	r = w.ok("preview", "remove-member", "--group", "Sales", "--user", "ann@contoso.example")
	if !strings.Contains(r.stdout, "Users: 2 change (1 licenses gained, 1 lost, 0 into error, 1 out of error)") {
		t.Fatalf("preview remove-member:\n%s", r.stdout)
	}
	// Several changes from a file: ann leaves, and a seat is removed.
	file := filepath.Join(t.TempDir(), "changes.json")
	body, _ := json.Marshal(map[string]any{"changes": []any{
		map[string]any{"op": "removeMember", "groupId": w.groups["Sales"], "memberId": w.users["ann"]},
		map[string]any{"op": "setSeats", "skuId": demoE3, "seats": 2},
	}})
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	p = w.jsonObject("preview", "changes", file)
	if tot := p["totals"].(map[string]any); num(tot["users"]) != 1 || num(tot["lost"]) != 1 {
		t.Fatalf("preview changes: %v", p)
	}
	r = w.ok("preview", "location", "--user", "ben@contoso.example", "--location", "FR")
	if !strings.Contains(r.stdout, "Seats: no change") {
		t.Fatalf("preview location:\n%s", r.stdout)
	}
	if c := consumed(); c != 3 {
		t.Fatalf("previews changed consumption to %d", c)
	}

	w.fails(1, "Authorization_RequestDenied", "preview", "seats", "--product", "ENTERPRISEPACK", "--seats", "4", "--token", w.reader)
	w.fails(1, "usageLocation", "preview", "location", "--user", "ben@contoso.example", "--location", "ZZ")
	w.fails(1, "Change 1 (addMember)", "preview", "add-member", "--group", "Marketing", "--user", "ann@contoso.example")
	w.fails(2, "--product is required", "preview", "assign", "--group", "Sales")
	w.fails(2, "give --group or --user", "preview", "unassign", "--product", "ENTERPRISEPACK")
	w.fails(2, "--user and --location are required", "preview", "location", "--user", "ben@contoso.example")
}

// TestCLIPreviewServe previews through a real `allot serve`, whose worker
// runs: a waiting user is shown getting the seat a purchase would add, and
// the preview leaves the user waiting.
func TestCLIPreviewServe(t *testing.T) {
	s := startServer(t)
	op := &client{t: t, base: s.url, token: "op-secret"}
	admin := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Contoso", "defaultUsageLocation": "US"})["token"].(map[string]any)["secret"].(string)
	c := &client{t: t, base: s.url, token: admin}
	w := &cliWorld{t: t, url: s.url, admin: admin, c: c}
	c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE3, "seats": 1})
	var ids []string
	for _, n := range []string{"ann", "ben"} {
		ids = append(ids, c.ok(201, "POST", "/v1.0/users", map[string]any{"displayName": n, "userPrincipalName": n + "@contoso.example",
			"accountEnabled": true, "mailNickname": n})["id"].(string))
	}
	w.ok("assign", "--product", "ENTERPRISEPACK", "--user", "ann@contoso.example")
	sales := c.ok(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Sales", "mailNickname": "sales", "mailEnabled": false, "securityEnabled": true})["id"].(string)
	w.ok("assign", "--product", "ENTERPRISEPACK", "--group", "Sales", "--wait")
	r := w.ok("preview", "add-member", "--group", "Sales", "--user", "ben@contoso.example")
	if !strings.Contains(r.stdout, "ben@contoso.example") || !strings.Contains(r.stdout, "ENTERPRISEPACK:CountViolation") {
		t.Fatalf("preview add-member:\n%s", r.stdout)
	}
	c.ok(204, "POST", "/v1.0/groups/"+sales+"/members/$ref",
		map[string]any{"@odata.id": s.url + "/v1.0/directoryObjects/" + ids[1]})
	w.ok("reprocess", "--group", "Sales", "--wait")
	r = w.ok("preview", "seats", "--product", "ENTERPRISEPACK", "--seats", "2")
	if !strings.Contains(r.stdout, "consumed 1 -> 2 (+1), seats 1 -> 2") || !strings.Contains(r.stdout, "1 out of error") {
		t.Fatalf("preview seats:\n%s", r.stdout)
	}
	if errs := w.jsonList("group", "errors", "Sales"); len(errs) != 1 {
		t.Fatalf("after the preview, group errors %v", errs)
	}
}
