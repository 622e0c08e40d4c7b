package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/web"
)

// testClock is moved by hand, for the admin center and the store alike.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuffer collects a handler's output; the server logs from its own
// goroutines, also after a response was sent.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// signInFrom posts the sign-in form as a browser behind a proxy that
// reports the client's address in X-Forwarded-For.
func (b *browser) signInFrom(addr, user, pass string) page {
	b.t.Helper()
	token := csrfOf(b.t, b.get("/signin"))
	return b.post("/signin", url.Values{"csrf_token": {token}, "username": {user}, "password": {pass}}, "X-Forwarded-For", "203.0.113.250, "+addr)
}

// TestSignInRedirectStaysOnTheSite: a next (or an Edit user return) that a
// browser would read as another site, once it drops tabs and newlines and
// reads backslashes as slashes, leads to the default page.
func TestSignInRedirectStaysOnTheSite(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	attacks := []string{"/\t/evil.com", "/\n/evil.com", "/\\evil.com", "\t//evil.com", "https://evil.com", "//evil.com", "javascript:alert(1)"}
	for _, next := range attacks {
		b := e.browser()
		// As the guard sends it, in the query: "/%09/evil.com" and so on.
		form := b.get("/signin?next=" + url.QueryEscape(next))
		wantIn(t, form, `name="next" value="/billing/licenses"`)
		p := b.post("/signin", url.Values{"csrf_token": {csrfOf(t, form)}, "username": {"licenseadministrator"}, "password": {password(allot.RoleLicenseAdministrator)}, "next": {next}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/billing/licenses" {
			t.Errorf("next %q: %d to %q", next, p.status, p.header.Get("Location"))
		}
		// Signed in already, the sign-in page redirects at once.
		if p := b.get("/signin?next=" + url.QueryEscape(next)); p.header.Get("Location") != "/billing/licenses" {
			t.Errorf("signed in, next %q: to %q", next, p.header.Get("Location"))
		}
		edit := b.get("/users/" + e.users["bob"] + "/edit?return=" + url.QueryEscape(next))
		wantIn(t, edit, `href="/users/`+e.users["bob"]+`" data-close aria-label="Close panel" id="edit-close"`)
	}
	// A page of the site is kept, with its query; an encoded slash is a
	// path here, which the browser does not decode into a second slash.
	for next, want := range map[string]string{"/users?q=ali": "/users?q=ali", "/%2F%2Fevil.com": "/%2F%2Fevil.com"} {
		b := e.browser()
		form := b.get("/signin?next=" + url.QueryEscape(next))
		p := b.post("/signin", url.Values{"csrf_token": {csrfOf(t, form)}, "username": {"globalreader"}, "password": {password(allot.RoleGlobalReader)}, "next": {next}})
		if p.header.Get("Location") != want {
			t.Errorf("next %q: to %q, want %q", next, p.header.Get("Location"), want)
		}
	}
	loc, _ := url.Parse(e.srv.URL)
	resp, err := e.srv.Client().Get(e.srv.URL + "/%2F%2Fevil.com")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Host != loc.Host {
		t.Errorf("/%%2F%%2Fevil.com led to %s", resp.Request.URL)
	}
}

// TestSignInLockout: wrong passwords lock a username for the address they
// came from only; a known and an unknown username answer alike throughout;
// the owner signs in from another address; the lock ends with time.
func TestSignInLockout(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newEnv(t, web.Config{Now: clk.Now, ClientIPHeader: "X-Forwarded-For"}, false)
	const attacker, owner = "198.51.100.7", "192.0.2.10"
	admin := username(allot.RoleGlobalAdministrator)
	b := e.browser()
	// The answer for a username, with the username itself (shown back in
	// the form) taken out.
	answer := func(addr, user, pass string) (int, string) {
		t.Helper()
		p := b.signInFrom(addr, user, pass)
		return p.status, strings.ReplaceAll(p.body, `value="`+user+`"`, `value="…"`)
	}
	for i := range allot.MaxFailedSignIns + 2 {
		ks, kb := answer(attacker, admin, "wrong password")
		us, ub := answer(attacker, "no.such.admin", "wrong password")
		if ks != us || kb != ub {
			t.Fatalf("attempt %d: a known username answers %d, an unknown one %d, or the pages differ", i, ks, us)
		}
		want := http.StatusUnauthorized
		if i >= allot.MaxFailedSignIns {
			want = http.StatusTooManyRequests
		}
		if ks != want {
			t.Fatalf("attempt %d: %d, want %d", i, ks, want)
		}
	}
	if p := b.signInFrom(attacker, admin, password(allot.RoleGlobalAdministrator)); p.status != http.StatusTooManyRequests {
		t.Fatalf("right password from the locked address: %d", p.status)
	}
	// The owner, from elsewhere, is not locked out.
	if p := e.browser().signInFrom(owner, admin, password(allot.RoleGlobalAdministrator)); p.status != http.StatusSeeOther {
		t.Fatalf("owner from another address: %d", p.status)
	}
	// Same /64: the same client.
	if p := e.browser().signInFrom("2001:db8:1:2::1", admin, "wrong password"); p.status != http.StatusUnauthorized {
		t.Fatalf("IPv6: %d", p.status)
	}
	for range allot.MaxFailedSignIns - 1 {
		e.browser().signInFrom("2001:db8:1:2::1", admin, "wrong password")
	}
	if p := e.browser().signInFrom("2001:db8:1:2:ffff::9", admin, password(allot.RoleGlobalAdministrator)); p.status != http.StatusTooManyRequests {
		t.Fatalf("another address of the locked /64: %d", p.status)
	}
	clk.add(time.Minute)
	if p := b.signInFrom(attacker, admin, password(allot.RoleGlobalAdministrator)); p.status != http.StatusSeeOther {
		t.Fatalf("after the lock: %d", p.status)
	}
}

// TestSignInAddressLimit: the per-address limit holds across usernames,
// and another address is not held back by it.
func TestSignInAddressLimit(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newEnv(t, web.Config{Now: clk.Now, ClientIPHeader: "X-Forwarded-For", SignInsPerMinute: 3}, false)
	b := e.browser()
	for i, user := range []string{"a.one", "b.two", "c.three"} {
		if p := b.signInFrom("198.51.100.7", user, "x"); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, p.status)
		}
	}
	if p := b.signInFrom("198.51.100.7", "globalreader", password(allot.RoleGlobalReader)); p.status != http.StatusTooManyRequests {
		t.Fatalf("over the limit: %d", p.status)
	}
	if p := b.signInFrom("198.51.100.8", "globalreader", password(allot.RoleGlobalReader)); p.status != http.StatusSeeOther {
		t.Fatalf("another address: %d", p.status)
	}
	clk.add(time.Minute)
	if p := e.browser().signInFrom("198.51.100.7", "globalreader", password(allot.RoleGlobalReader)); p.status != http.StatusSeeOther {
		t.Fatalf("a minute later: %d", p.status)
	}
}

// TestSignInLogsNoUsername: what was typed as a username may be a
// password, so a failure logs a digest of it, never the text.
func TestSignInLogsNoUsername(t *testing.T) {
	var logs logBuffer
	e := newEnv(t, web.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, false)
	const typed = "Hunter2-Secret-Pw"
	b := e.browser()
	for range allot.MaxFailedSignIns + 1 { // the last one is refused by the lock
		b.signInFrom("", typed, "whatever")
	}
	b.signInFrom("", "globalreader", "wrong password")
	out := logs.String()
	sum := sha256.Sum256([]byte(strings.ToLower(typed)))
	digest := hex.EncodeToString(sum[:])[:12]
	if strings.Contains(strings.ToLower(out), strings.ToLower(typed)) {
		t.Fatalf("the typed username is in the log:\n%s", out)
	}
	if n := strings.Count(out, "user="+digest); n != allot.MaxFailedSignIns+1 {
		t.Fatalf("%d lines with the digest %s, want %d:\n%s", n, digest, allot.MaxFailedSignIns+1, out)
	}
	if !regexp.MustCompile(`msg="sign-in failed" user=[0-9a-f]{12} ip=127\.0\.0\.1`).MatchString(out) {
		t.Fatalf("no failure line with a digest and the address:\n%s", out)
	}
	if strings.Contains(out, "globalreader") {
		t.Fatalf("a username of a failed sign-in is in the log:\n%s", out)
	}
}

var newPasswordRe = regexp.MustCompile(`<code id="new-password">([^<]+)</code>`)

// TestAccountsPage: a Global Administrator disables and enables an
// account, resets its password (shown once) and signs it out everywhere;
// each takes effect at once and is audited. Other roles are refused (see
// TestRoles too), and so is another tenant's account.
func TestAccountsPage(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	lic := allot.RoleLicenseAdministrator
	b, token := e.signIn(allot.RoleGlobalAdministrator)
	wantIn(t, b.get("/billing/licenses"), `href="/settings/accounts"`)
	list := b.get("/settings/accounts")
	wantIn(t, list, `data-account="licenseadministrator"`, `data-account="globalreader"`, "Reset password", "Sign out everywhere")
	// No Disable on the signed-in account's own row.
	if n := strings.Count(list.body, `value="disable"`); n != len(allot.Roles)-1 {
		t.Errorf("%d Disable buttons, want one per other account", n)
	}
	act := func(user, op string) page {
		t.Helper()
		return b.post("/settings/accounts/"+user, url.Values{"csrf_token": {token}, "op": {op}})
	}
	victim, _ := e.signIn(lic)
	stillIn := func() bool { return victim.get("/billing/licenses").status == http.StatusOK }

	if p := b.post("/settings/accounts/licenseadministrator", url.Values{"op": {"disable"}}); p.status != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %d", p.status)
	}
	wantIn(t, b.follow(act("licenseadministrator", "disable")), "licenseadministrator is disabled and signed out everywhere.", `data-status="disabled"`)
	if stillIn() {
		t.Fatal("the disabled account's session still works")
	}
	if p := e.browser().signInFrom("192.0.2.1", "licenseadministrator", password(lic)); p.status != http.StatusUnauthorized {
		t.Fatalf("disabled account signing in: %d", p.status)
	}
	wantIn(t, b.follow(act("licenseadministrator", "enable")), "licenseadministrator is enabled.")
	victim, _ = e.signIn(lic)

	p := act("licenseadministrator", "reset-password")
	m := newPasswordRe.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("reset password: %d, password shown: %v", p.status, m != nil)
	}
	if stillIn() {
		t.Fatal("a session outlived the password reset")
	}
	if strings.Contains(b.get("/settings/accounts").body, m[1]) {
		t.Fatal("the new password is shown again")
	}
	if p := e.browser().signInFrom("192.0.2.1", "licenseadministrator", password(lic)); p.status != http.StatusUnauthorized {
		t.Fatalf("old password: %d", p.status)
	}
	victim = e.browser()
	if p := victim.signInFrom("192.0.2.1", "licenseadministrator", m[1]); p.status != http.StatusSeeOther {
		t.Fatalf("new password: %d", p.status)
	}

	wantIn(t, b.follow(act("licenseadministrator", "revoke-sessions")), "licenseadministrator is signed out everywhere (1 session ended).")
	if stillIn() {
		t.Fatal("a session outlived Sign out everywhere")
	}

	if p := act("globaladministrator", "disable"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "signed in with") {
		t.Fatalf("disabling itself: %d", p.status)
	}
	if p := act("licenseadministrator", "explode"); p.status != http.StatusBadRequest {
		t.Fatalf("unknown op: %d", p.status)
	}
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	other, err := e.db.CreateTenant(op, allot.Tenant{DisplayName: "Fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.db.CreateAccount(op, other.ID, "outsider", "", allot.RoleGlobalReader, "outsider password"))
	for _, o := range []string{"disable", "reset-password", "revoke-sessions"} {
		if p := act("outsider", o); p.status != http.StatusNotFound {
			t.Errorf("%s another tenant's account: %d", o, p.status)
		}
	}
	if strings.Contains(b.get("/settings/accounts").body, "outsider") {
		t.Error("another tenant's account is listed")
	}

	audit, err := e.db.Audit(e.ga, allot.AuditFilter{Top: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range audit.Items {
		if x.TargetType == "Account" && x.Actor == "globaladministrator" {
			got = append(got, x.Activity)
		}
	}
	if len(got) != 4 {
		t.Fatalf("audited %q, want the 4 changes", got)
	}
}
