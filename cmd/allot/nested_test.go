package main

import (
	"testing"
)

// TestCLIAssignIncludeNested: `allot assign --include-nested` licenses the
// users of nested groups through the real server and worker;
// --include-nested=false takes it back; users refuse the flag.
func TestCLIAssignIncludeNested(t *testing.T) {
	w := newCLIWorld(t, 0)
	w.group("Staff")
	w.c.ok(204, "POST", "/v1.0/groups/"+w.groups["Staff"]+"/members/$ref",
		map[string]any{"@odata.id": w.url + "/v1.0/directoryObjects/" + w.groups["Marketing"]})
	annStates := func() []any {
		t.Helper()
		return w.c.ok(200, "GET", "/v1.0/users/"+w.users["ann"]+"?$select=licenseAssignmentStates", nil)["licenseAssignmentStates"].([]any)
	}

	w.fails(2, "--include-nested is for groups", "assign", "--product", "STANDARDPACK", "--user", "ann@contoso.example", "--include-nested")
	w.ok("assign", "--product", "STANDARDPACK", "--group", "Staff", "--wait", "--poll", "20ms")
	if st := annStates(); len(st) != 0 {
		t.Fatalf("without --include-nested a nested member got %v", st)
	}

	w.ok("assign", "--product", "STANDARDPACK", "--group", "Staff", "--include-nested", "--wait", "--poll", "20ms")
	st := annStates()
	if len(st) != 1 || st[0].(map[string]any)["assignedByGroup"] != w.groups["Staff"] || st[0].(map[string]any)["state"] != "Active" {
		t.Fatalf("with --include-nested: %v", st)
	}
	lics := w.c.ok(200, "GET", "/v1.0/groups/"+w.groups["Staff"]+"?$select=assignedLicenses", nil)["assignedLicenses"].([]any)
	if len(lics) != 1 || lics[0].(map[string]any)["includeNestedGroups"] != true {
		t.Fatalf("group assignedLicenses %v", lics)
	}

	// Leaving the flag out keeps the setting; =false switches it off.
	w.ok("assign", "--product", "STANDARDPACK", "--group", "Staff", "--wait", "--poll", "20ms")
	if len(annStates()) != 1 {
		t.Fatal("assign without the flag switched nesting off")
	}
	w.ok("assign", "--product", "STANDARDPACK", "--group", "Staff", "--include-nested=false", "--wait", "--poll", "20ms")
	if st := annStates(); len(st) != 0 {
		t.Fatalf("after --include-nested=false: %v", st)
	}
}
