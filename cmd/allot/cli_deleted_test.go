package main

import (
	"strings"
	"testing"
)

// TestCLIDeleted runs `allot deleted list|restore|purge` against a real
// server: a deleted user is listed with its days left and restored by its
// userPrincipalName with its groups; a deleted group is purged by id and
// cannot come back; a reader may list but not restore.
func TestCLIDeleted(t *testing.T) {
	w := newCLIWorld(t, 0)
	eve, marketing := w.users["eve"], w.groups["Marketing"]
	w.c.ok(204, "DELETE", "/v1.0/users/"+eve, nil)

	list := w.jsonList("deleted", "list")
	if len(list) != 1 || list[0]["id"] != eve || list[0]["name"] != "eve@contoso.example" || list[0]["displayName"] != "Eve" ||
		list[0]["deletedDateTime"] == nil || list[0]["daysLeft"] != float64(30) {
		t.Fatalf("deleted list: %v", list)
	}
	if r := w.ok("deleted", "list", "users", "--token", w.reader); !strings.Contains(r.stdout, "DAYS LEFT") || !strings.Contains(r.stdout, "eve@contoso.example") {
		t.Fatalf("table for a reader:\n%s", r.stdout)
	}
	if groups := w.jsonList("deleted", "list", "groups"); len(groups) != 0 {
		t.Fatalf("deleted groups: %v", groups)
	}
	w.fails(2, "users or groups", "deleted", "list", "devices")
	w.fails(2, "takes one", "deleted", "restore")
	w.fails(1, "Authorization_RequestDenied", "deleted", "restore", eve, "--token", w.reader)

	restored := w.jsonObject("deleted", "restore", "eve@contoso.example")
	if restored["id"] != eve || restored["type"] != "user" || restored["restored"] != true {
		t.Fatalf("deleted restore: %v", restored)
	}
	m := w.c.ok(200, "GET", "/v1.0/users/"+eve+"/memberOf", nil)
	if v := m["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != w.groups["Sales"] {
		t.Fatalf("memberOf after restore: %v", m)
	}
	w.fails(1, "Request_ResourceNotFound", "deleted", "restore", "eve@contoso.example")

	w.c.ok(204, "DELETE", "/v1.0/groups/"+marketing, nil)
	if groups := w.jsonList("deleted", "list", "groups"); len(groups) != 1 || groups[0]["name"] != "Marketing" {
		t.Fatalf("deleted groups: %v", groups)
	}
	purged := w.jsonObject("deleted", "purge", marketing)
	if purged["id"] != marketing || purged["purged"] != true {
		t.Fatalf("deleted purge: %v", purged)
	}
	w.fails(1, "Request_ResourceNotFound", "deleted", "restore", marketing)
	if groups := w.jsonList("deleted", "list", "groups"); len(groups) != 0 {
		t.Fatalf("deleted groups after purge: %v", groups)
	}
}
