package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A token may be named anything, even after an administrator: the audit
// log and its export show beside the name the token's kind, id and role,
// which the name cannot fake.
func TestAuditShowsActorIdentity(t *testing.T) {
	w := newWorld(t)
	tok := w.do("POST", "/allot/v1/tokens", w.ga, map[string]any{"name": "demo LicenseAdministrator", "role": "UserAdministrator"}).
		expect(http.StatusCreated, "")
	secret, id := tok["secret"].(string), tok["id"].(string)
	uid := w.createUser(secret, "mallory@contoso.com", "US")

	m := w.do("GET", "/allot/v1/audit?targetId="+uid, w.ga, nil).expect(http.StatusOK, "")
	items := m["value"].([]any)
	if len(items) != 1 {
		t.Fatalf("audit %v", m)
	}
	e := items[0].(map[string]any)
	if e["activity"] != "Add user" || e["actor"] != "demo LicenseAdministrator" || e["actorKind"] != "token" ||
		e["actorId"] != id || e["actorRole"] != "UserAdministrator" {
		t.Fatalf("audit entry %v", e)
	}

	rows := w.exportCSV(w.ga, "/allot/v1/export/audit?targetId="+uid)
	if len(rows) != 1 || rows[0]["actor"] != "demo LicenseAdministrator" || rows[0]["actorKind"] != "token" ||
		rows[0]["actorId"] != id || rows[0]["actorRole"] != "UserAdministrator" {
		t.Fatalf("exported %v", rows)
	}

	// The operator, who made the tenant, has no id or role.
	m = w.do("GET", "/allot/v1/audit", w.ga, nil).expect(http.StatusOK, "")
	items = m["value"].([]any)
	last := items[len(items)-1].(map[string]any)
	if last["actorKind"] != "operator" || last["actorId"] != nil || last["actorRole"] != nil {
		t.Fatalf("oldest entry %v", last)
	}
}

// Through the Graph API: look-alike and invisible names are a 400 that
// says why, and a user is found by any spelling of its name.
func TestUserPrincipalNameNormalisation(t *testing.T) {
	w := newWorld(t)
	w.createUser(w.ga, "admin@contoso.com", "US")
	id := w.createUser(w.ga, "jose\u0301@contoso.com", "US")
	for upn, want := range map[string]string{
		"\u0430dmin@contoso.com":  "is confusable with the existing 'admin@contoso.com'",
		"ad\u200bmin@contoso.com": "U+200B",
		"josé@contoso.com":        "already exists",
	} {
		m := w.do("POST", "/v1.0/users", w.ga, map[string]any{"displayName": "x", "userPrincipalName": upn, "accountEnabled": true}).
			expect(http.StatusBadRequest, "Request_BadRequest")
		if !strings.Contains(errMessage(m), want) {
			t.Errorf("POST %q: %q, want %q", upn, errMessage(m), want)
		}
	}
	for _, name := range []string{"josé@contoso.com", "JOSE\u0301@CONTOSO.COM"} {
		m := w.do("GET", "/v1.0/users/"+url.PathEscape(name), w.ga, nil).expect(http.StatusOK, "")
		if m["id"] != id || m["userPrincipalName"] != "josé@contoso.com" {
			t.Fatalf("GET %q: %v", name, m)
		}
	}
}
