package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{}
	for name, data := range files {
		p := filepath.Join(dir, name+".csv")
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

func readCSV(t *testing.T, data string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("not CSV with a header (%v): %q", err, data)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// TestCLIImportExport runs `allot import` and `allot export` against a
// real server: dry run, import, re-import, a file with an error, a role
// that may not, and the exports read back as CSV.
func TestCLIImportExport(t *testing.T) {
	w := newCLIWorld(t, 0)
	f := writeFiles(t, map[string]string{
		"users": "userPrincipalName,displayName,usageLocation\n" +
			"ann@contoso.example,Ann,GB\n" + // exists: moves to GB
			"fay@contoso.example,Fay,FR\n" +
			"gus@contoso.example,@Gus,\n",
		"groups":      "mailNickname,displayName,description\nSupport,Support,Helpdesk\n",
		"memberships": "groupMailNickname,userPrincipalName\nSupport,fay@contoso.example\nSupport,gus@contoso.example\nSales,fay@contoso.example\n",
		"bad":         "userPrincipalName,displayName,usageLocation\nhal@contoso.example,Hal,US\nivy@contoso.example,Ivy,XX\n",
	})
	args := []string{"import", "--users", f["users"], "--groups", f["groups"], "--memberships", f["memberships"]}

	dry := w.ok(append(args, "--dry-run")...)
	for _, want := range []string{"Dry run: nothing was changed", "users:       2 created, 1 updated, 0 unchanged",
		"groups:      1 created, 0 updated, 0 unchanged", "memberships: 3 added, 0 removed, 0 unchanged", "users.csv:2", "usageLocation"} {
		if !strings.Contains(dry.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, dry.stdout)
		}
	}
	var rep importReport
	if err := json.Unmarshal([]byte(w.ok(append(args, "--dry-run", "-o", "json")...).stdout), &rep); err != nil || !rep.DryRun || len(rep.Changes) != 7 {
		t.Fatalf("dry run -o json: %v %+v", err, rep)
	}
	if code, _ := w.c.do("GET", "/v1.0/users/fay@contoso.example", nil); code != 404 {
		t.Fatalf("after the dry run, fay: %d", code)
	}

	imp := w.ok(args...)
	if !strings.Contains(imp.stdout, "Imported.") || !strings.Contains(imp.stdout, "memberships: 3 added") {
		t.Fatalf("import output:\n%s", imp.stdout)
	}
	again := w.ok(args...)
	if !strings.Contains(again.stdout, "Nothing to change") || !strings.Contains(again.stdout, "users:       0 created, 0 updated, 3 unchanged") {
		t.Fatalf("re-import output:\n%s", again.stdout)
	}

	// Every error with its file and line; nothing of the file applied.
	w.fails(1, `bad.csv:3: usageLocation "XX" is not a country code`, "import", "--users", f["bad"])
	if code, _ := w.c.do("GET", "/v1.0/users/hal@contoso.example", nil); code != 404 {
		t.Fatalf("a file with an error created hal: %d", code)
	}
	w.fails(1, "Authorization_RequestDenied", "import", "--users", f["users"], "--token", w.reader)
	w.fails(2, "--prune-memberships needs --memberships", "import", "--users", f["users"], "--prune-memberships")
	w.fails(2, "give --users, --groups or --memberships", "import")

	// Sales (5 members, fay now a sixth) gets E3, which has 3 seats.
	w.c.ok(202, "POST", "/v1.0/groups/"+w.groups["Sales"]+"/assignLicense", map[string]any{
		"addLicenses": []map[string]any{{"skuId": demoE3}}, "removeLicenses": []string{}})
	w.c.waitIdle()

	out := filepath.Join(t.TempDir(), "users.csv")
	if r := w.ok("export", "users", "--file", out); r.stdout != "" {
		t.Fatalf("export --file printed %q", r.stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	active, failed := 0, 0
	for _, r := range readCSV(t, string(data)) {
		switch {
		case r["userPrincipalName"] == "gus@contoso.example" && r["displayName"] != "'@Gus":
			t.Errorf("gus's name is exported unprotected: %q", r["displayName"])
		case r["userPrincipalName"] == "ann@contoso.example" && r["usageLocation"] != "GB":
			t.Errorf("ann: %v", r)
		}
		if r["groupId"] == w.groups["Sales"] && r["skuPartNumber"] == "ENTERPRISEPACK" {
			if r["state"] == "Active" {
				active++
			} else if r["error"] == "CountViolation" {
				failed++
			}
		}
	}
	if active != 3 || failed != 3 {
		t.Fatalf("users export: %d active and %d in CountViolation from Sales, want 3 and 3\n%s", active, failed, data)
	}
	errs := readCSV(t, w.ok("export", "group-errors", "Sales").stdout)
	if len(errs) != 3 || errs[0]["error"] != "CountViolation" {
		t.Fatalf("export group-errors Sales: %v", errs)
	}
	audit := readCSV(t, w.ok("export", "audit", "--target-id", w.groups["Sales"]).stdout)
	if len(audit) == 0 || audit[len(audit)-1]["activity"] != "Add group" {
		t.Fatalf("export audit: %v", audit)
	}
	for _, a := range audit {
		if a["targetId"] != w.groups["Sales"] {
			t.Fatalf("export audit --target-id: a row about %s", a["targetId"])
		}
	}
	w.fails(1, "unknown group", "export", "group-errors", "Nosuch")
	w.fails(1, "Request_BadRequest", "export", "audit", "--since", "yesterday")
	w.fails(2, "export writes CSV", "export", "users", "-o", "json")
}
