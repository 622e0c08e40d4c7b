package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/web"
)

// Demo catalog products (catalog/demo.json).
const (
	skuE1    = "18181a46-0d4e-45cd-891e-60aabd171b4e"
	skuKiosk = "80b2d799-d2ba-4d2a-8842-fb0d0f3a4b82"
	formsE1  = "159f4cd6-e380-449f-a816-af1a9ef76344" // Microsoft Forms (Plan E1)
)

type env struct {
	t      testing.TB
	db     *store.DB
	srv    *httptest.Server
	ga     context.Context // the tenant's Global Administrator
	tenant string
	users  map[string]string
	groups map[string]string
}

func password(r allot.Role) string { return "password of " + string(r) }

func username(r allot.Role) string { return strings.ToLower(string(r)) }

func newEnv(t testing.TB, cfg web.Config, useTLS bool) *env {
	t.Helper()
	// The store shares the admin center's clock, so that a test moving it
	// moves sessions and sign-in locks too.
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), PasswordCost: 4, Now: cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range allot.Roles {
		if _, err := db.CreateAccount(op, tn.ID, username(r), "", r, password(r)); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, db: db, tenant: tn.ID, users: map[string]string{}, groups: map[string]string{},
		ga: allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator, Name: "setup"})}
	e.must(db.AddSubscription(e.ga, skuE1, 2))
	e.must(db.AddSubscription(e.ga, skuKiosk, 2))
	for name, loc := range map[string]string{"alice": "US", "bob": "", "carol": "GB"} {
		u, err := db.CreateUser(e.ga, allot.UserCreate{UserPrincipalName: name + "@contoso.example", DisplayName: name, UsageLocation: loc, AccountEnabled: true})
		if err != nil {
			t.Fatal(err)
		}
		e.users[name] = u.ID
	}
	for _, name := range []string{"Marketing", "Sales"} {
		g, err := db.CreateGroup(e.ga, allot.GroupCreate{DisplayName: name, MailNickname: strings.ToLower(name), SecurityEnabled: true})
		if err != nil {
			t.Fatal(err)
		}
		e.groups[name] = g.ID
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := db.AddMember(e.ga, e.groups["Marketing"], e.users[u]); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Services, cfg.Alerts = db.Services(), db
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SignInsPerMinute == 0 {
		cfg.SignInsPerMinute = 1000
	}
	h, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if useTLS {
		e.srv = httptest.NewTLSServer(h)
	} else {
		e.srv = httptest.NewServer(h)
	}
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) must(_ any, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) drain() {
	e.t.Helper()
	for {
		n, err := e.db.ProcessBatch(context.Background(), 100)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t    testing.TB
	c    *http.Client
	base string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *e.srv.Client() // a copy: the server's client is shared
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: e.t, c: &c, base: e.srv.URL}
}

type page struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(body), resp.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, header ...string) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfOf(t testing.TB, p page) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page (status %d)", p.status)
	}
	return m[1]
}

// signIn signs in as the role's account and returns the CSRF token of
// the session.
func (e *env) signIn(r allot.Role) (*browser, string) {
	e.t.Helper()
	b := e.browser()
	p := b.get("/signin")
	res := b.post("/signin", url.Values{"csrf_token": {csrfOf(e.t, p)}, "username": {username(r)}, "password": {password(r)}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/billing/licenses" {
		e.t.Fatalf("sign-in as %s: %d %s", r, res.status, res.header.Get("Location"))
	}
	return b, csrfOf(e.t, b.get("/billing/licenses"))
}

func (b *browser) follow(p page) page {
	b.t.Helper()
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("status %d, want a redirect: %s", p.status, p.body)
	}
	return b.get(p.header.Get("Location"))
}

func wantIn(t testing.TB, p page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Fatalf("page (status %d) lacks %q", p.status, w)
		}
	}
}

func groupsTab() string { return "/billing/licenses/" + skuE1 + "/groups" }

func assignForm(token, group string) url.Values {
	f := url.Values{"action": {"assign"}, "group": {group}}
	if token != "" {
		f.Set("csrf_token", token)
	}
	return f
}

func (e *env) assigned(group string) bool {
	g, err := e.db.Group(e.ga, group)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(g.AssignedLicenses) > 0
}

func TestSecurityHeadersAndCookies(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("TLS=%v", useTLS), func(t *testing.T) {
			e := newEnv(t, web.Config{}, useTLS)
			b := e.browser()
			p := b.get("/signin")
			h := p.header
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP %q", csp)
			}
			for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
				if h.Get(k) != v {
					t.Errorf("%s: %q, want %q", k, h.Get(k), v)
				}
			}
			if strings.Contains(p.body, "<script>") || strings.Contains(p.body, " style=") || strings.Contains(p.body, "onclick") {
				t.Error("the page has inline script or style")
			}
			res := b.post("/signin", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {"globaladministrator"}, "password": {password(allot.RoleGlobalAdministrator)}})
			var session *http.Cookie
			for _, c := range (&http.Response{Header: res.header}).Cookies() {
				if c.Name == "allot_session" {
					session = c
				}
			}
			if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure != useTLS || session.Path != "/" {
				t.Fatalf("session cookie %+v", session)
			}
			if useTLS && !strings.Contains(res.header.Get("Strict-Transport-Security"), "max-age") {
				t.Error("no HSTS over TLS")
			}
		})
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t, web.Config{SignInsPerMinute: 5}, false)
	t.Run("AnonymousIsSentToSignIn", func(t *testing.T) {
		p := e.browser().get(groupsTab())
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin?next="+url.QueryEscape(groupsTab()) {
			t.Fatalf("%d %s", p.status, p.header.Get("Location"))
		}
	})
	t.Run("WrongPasswordAndUnknownUserLookAlike", func(t *testing.T) {
		b := e.browser()
		token := csrfOf(t, b.get("/signin"))
		for _, user := range []string{"licenseadministrator", "nobody"} {
			p := b.post("/signin", url.Values{"csrf_token": {token}, "username": {user}, "password": {"wrong password"}})
			if p.status != http.StatusUnauthorized {
				t.Fatalf("%s: status %d", user, p.status)
			}
			wantIn(t, p, "The username or password is incorrect.")
		}
	})
	t.Run("NoCSRFToken", func(t *testing.T) {
		b := e.browser()
		b.get("/signin")
		p := b.post("/signin", url.Values{"username": {"licenseadministrator"}, "password": {password(allot.RoleLicenseAdministrator)}})
		if p.status != http.StatusForbidden {
			t.Fatalf("status %d", p.status)
		}
	})
	t.Run("NextStaysOnTheSite", func(t *testing.T) {
		b := e.browser()
		token := csrfOf(t, b.get("/signin"))
		p := b.post("/signin", url.Values{"csrf_token": {token}, "username": {"globalreader"}, "password": {password(allot.RoleGlobalReader)}, "next": {"//evil.example/x"}})
		if p.header.Get("Location") != "/billing/licenses" {
			t.Fatalf("redirected to %q", p.header.Get("Location"))
		}
	})
	t.Run("AttemptsAreRateLimited", func(t *testing.T) {
		b := e.browser()
		token := csrfOf(t, b.get("/signin"))
		var last int
		for range 6 {
			last = b.post("/signin", url.Values{"csrf_token": {token}, "username": {"nobody"}, "password": {"x"}}).status
		}
		if last != http.StatusTooManyRequests {
			t.Fatalf("status %d after many attempts, want 429", last)
		}
	})
}

func TestSignOutEndsTheSession(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	b, token := e.signIn(allot.RoleGlobalReader)
	if p := b.post("/signout", url.Values{"csrf_token": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.status)
	}
	if p := b.get("/billing/licenses"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/signin") {
		t.Fatalf("after sign-out: %d %s", p.status, p.header.Get("Location"))
	}
	// A forged cookie is no session either.
	c := e.browser()
	u, _ := url.Parse(e.srv.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "allot_session", Value: "ses_forged"}})
	if p := c.get("/billing/licenses"); p.status != http.StatusSeeOther {
		t.Fatalf("forged session: %d", p.status)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	b, token := e.signIn(allot.RoleLicenseAdministrator)
	assign := groupsTab() + "/assign"
	for name, c := range map[string]struct {
		form   url.Values
		header []string
	}{
		"Missing":     {assignForm("", e.groups["Sales"]), nil},
		"Wrong":       {assignForm(tampered(token), e.groups["Sales"]), nil},
		"CrossOrigin": {assignForm(token, e.groups["Sales"]), []string{"Origin", "https://evil.example"}},
		"CrossSite":   {assignForm(token, e.groups["Sales"]), []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		if p := b.post(assign, c.form, c.header...); p.status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, p.status)
		}
	}
	if e.assigned(e.groups["Sales"]) {
		t.Fatal("a refused form assigned a license")
	}
	// Another session's token is refused too.
	_, other := e.signIn(allot.RoleLicenseAdministrator)
	if p := b.post(assign, assignForm(other, e.groups["Sales"])); p.status != http.StatusForbidden {
		t.Fatalf("another session's token: %d", p.status)
	}
	p := b.follow(b.post(assign, assignForm(token, e.groups["Sales"]), "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"))
	wantIn(t, p, "Office 365 E1 is assigned to 1 group: Sales.")
	if !e.assigned(e.groups["Sales"]) {
		t.Fatal("the valid form did not assign the license")
	}
}

// TestRoles: every page and action checks docs/RULES.md §3, whatever the page showed.
func TestRoles(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	e.must(e.db.CreateAccount(allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true}), e.tenant, "bystander", "", allot.RoleGlobalReader, "bystander password"))
	panel := groupsTab() + "/" + e.groups["Marketing"]
	for _, r := range allot.Roles {
		t.Run(string(r), func(t *testing.T) {
			can := func(p allot.Permission) int {
				if r.Can(p) {
					return http.StatusOK
				}
				return http.StatusForbidden
			}
			b, token := e.signIn(r)
			tab := b.get(groupsTab())
			if tab.status != http.StatusOK {
				t.Fatalf("groups tab: %d", tab.status)
			}
			if strings.Contains(tab.body, `id="assign-licenses"`) != r.Can(allot.PermManageLicenses) {
				t.Errorf("Assign licenses button shown: %v", !r.Can(allot.PermManageLicenses))
			}
			if got := b.get(groupsTab() + "/assign").status; got != can(allot.PermManageLicenses) {
				t.Errorf("Assign licenses panel: %d", got)
			}
			if got := b.get("/settings/accounts").status; got != can(allot.PermManageTenant) {
				t.Errorf("Accounts page: %d", got)
			}
			// Forged actions, each with a valid token.
			forged := map[string]struct {
				path string
				form url.Values
				perm allot.Permission
			}{
				"Reprocess":      {panel + "/action", url.Values{"action": {"reprocess"}, "user": {e.users["bob"]}}, allot.PermManageLicenses},
				"PurchaseDialog": {panel + "/action", url.Values{"action": {"purchase"}, "user": {e.users["bob"]}}, allot.PermPurchase},
				"Buy":            {panel + "/purchase", url.Values{"quantity": {"1"}}, allot.PermPurchase},
				"UnassignGroups": {groupsTab() + "/unassign", url.Values{"group": {e.groups["Sales"]}}, allot.PermManageLicenses},
				"EditLocation":   {"/users/" + e.users["bob"] + "/edit", url.Values{"usageLocation": {"FR"}}, allot.PermEditLocation},
				"EditProxy":      {"/users/" + e.users["bob"] + "/edit", url.Values{"proxy": {"smtp:bob@contoso.example"}}, allot.PermManageUsers},
				// On an account nobody signs in with, so that a permitted
				// one changes nothing the other roles need.
				"DisableAccount": {"/settings/accounts/bystander", url.Values{"op": {"disable"}}, allot.PermManageTenant},
				"EnableAccount":  {"/settings/accounts/bystander", url.Values{"op": {"enable"}}, allot.PermManageTenant},
				"ResetPassword":  {"/settings/accounts/bystander", url.Values{"op": {"reset-password"}}, allot.PermManageTenant},
				"RevokeSessions": {"/settings/accounts/bystander", url.Values{"op": {"revoke-sessions"}}, allot.PermManageTenant},
			}
			for name, f := range forged {
				f.form.Set("csrf_token", token)
				p := b.post(f.path, f.form)
				refused := p.status == http.StatusForbidden
				if refused == r.Can(f.perm) {
					t.Errorf("%s: status %d; may %s: %v", name, p.status, f.perm, r.Can(f.perm))
				}
			}
			if got := b.get("/users/" + e.users["bob"] + "/edit").status; (got == http.StatusOK) != (r.Can(allot.PermEditLocation) || r.Can(allot.PermManageLicenses) || r.Can(allot.PermManageUsers)) {
				t.Errorf("Edit user panel: %d", got)
			}
		})
	}
}

// TestPages renders every page and panel for a Global Administrator.
func TestPages(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	e.must(e.db.AssignGroupLicense(e.ga, e.groups["Marketing"], []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	b, _ := e.signIn(allot.RoleGlobalAdministrator)
	panel := groupsTab() + "/" + e.groups["Marketing"]
	for path, want := range map[string][]string{
		"/":                          {"Home", "Groups in error", "Marketing"},
		"/billing/licenses":          {"Subscriptions", "Office 365 E1", "Exchange Online Kiosk"},
		"/billing/licenses/" + skuE1: {"Users (2)", "Groups (1)", "Marketing"},
		groupsTab():                  {"Assign licenses", "Errors &amp; issues"},
		groupsTab() + "/assign":      {"Assign licenses to groups", "Suggested groups", "Turn apps and services on or off", "Microsoft Forms (Plan E1)"},
		panel:                        {"Actions needed (1)", "Successfully assigned (2)", "User usage location not specified", "Purchase license"},
		panel + "?tab=success":       {"alice", "carol"},
		panel + "/details?user=" + e.users["bob"]: {"Error details", "User usage location not specified", "Marketing"},
		"/users?q=ali":                       {"alice", "1 user"},
		"/users/" + e.users["bob"]:           {"Not specified", "Marketing"},
		"/users/" + e.users["bob"] + "/edit": {"Select location", "Licenses and apps", "Save changes", "France"},
		"/groups":                            {"Marketing", "Sales"},
		"/groups/" + e.groups["Marketing"]:   {"Members (3)", "Office 365 E1"},
		"/settings/accounts":                 {"globaladministrator", "License Administrator", "Reset password"},
	} {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Errorf("%s: status %d", path, p.status)
			continue
		}
		for _, w := range want {
			if !strings.Contains(p.body, w) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
	}
	for _, path := range []string{"/nowhere", "/billing/licenses/" + skuE1 + "/groups/00000000-0000-0000-0000-000000000000", "/users/nobody"} {
		if p := b.get(path); p.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, p.status)
		}
	}
	if p := b.get("/static/app.css"); p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/css") {
		t.Errorf("app.css: %d %s", p.status, p.header.Get("Content-Type"))
	}
}

// TestAssignAndResolve drives the forms of the flow without a browser:
// assign with an app turned off, find the error, fix it with Edit user,
// unassign with the confirm step.
func TestAssignAndResolve(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	b, token := e.signIn(allot.RoleLicenseAdministrator)
	// Search (a GET of the panel) keeps the selection and shows suggestions.
	p := b.get(groupsTab() + "/assign?" + url.Values{"q": {"mark"}, "group": {e.groups["Sales"]}}.Encode())
	wantIn(t, p, `value="`+e.groups["Sales"]+`" checked`, `value="`+e.groups["Marketing"]+`"`, `formmethod="get" id="search-groups"`)
	// None selected: refused, back to the panel with the reason.
	many := url.Values{"csrf_token": {token}, "action": {"assign"}}
	if p := b.post(groupsTab()+"/assign", many); p.status != http.StatusSeeOther || !strings.Contains(b.follow(p).body, "Select at least one group") {
		t.Fatalf("no group: %d", p.status)
	}
	// Assign with Microsoft Forms turned off.
	form := url.Values{"csrf_token": {token}, "action": {"assign"}, "group": {e.groups["Marketing"]}, "apps_shown": {"1"}}
	for _, plan := range e.db.Catalog().SKUs[skuE1].Plans {
		if plan != formsE1 {
			form.Add("plan", plan)
		}
	}
	p = b.follow(b.post(groupsTab()+"/assign", form))
	wantIn(t, p, "Office 365 E1 is assigned to 1 group: Marketing.", "Turned off: Microsoft Forms (Plan E1).", `id="assign-close"`)
	g, _ := e.db.Group(e.ga, e.groups["Marketing"])
	if len(g.AssignedLicenses) != 1 || len(g.AssignedLicenses[0].DisabledPlans) != 1 || g.AssignedLicenses[0].DisabledPlans[0] != formsE1 {
		t.Fatalf("assigned %+v", g.AssignedLicenses)
	}
	wantIn(t, b.get(groupsTab()), "In progress")
	e.drain()
	panel := groupsTab() + "/" + e.groups["Marketing"]
	wantIn(t, b.get(groupsTab()), "Errors &amp; issues", "1 app turned off")
	wantIn(t, b.get(panel+"?tab=actions"), "User usage location not specified")

	// Reprocess more than 20 users: refused with the reason.
	over := url.Values{"csrf_token": {token}, "action": {"reprocess"}, "tab": {"actions"}}
	for i := range 21 {
		over.Add("user", fmt.Sprintf("00000000-0000-0000-0000-%012d", i))
	}
	wantIn(t, b.follow(b.post(panel+"/action", over)), "You can select up to 20 users at a time, and 21 are selected.")

	// Edit user: the location; saving reprocesses bob, who now waits for a seat.
	p = b.post(panel+"/action", url.Values{"csrf_token": {token}, "action": {"edit"}, "tab": {"actions"}, "user": {e.users["bob"]}})
	edit := p.header.Get("Location")
	if !strings.HasPrefix(edit, "/users/"+e.users["bob"]+"/edit?return=") {
		t.Fatalf("Edit user went to %q", edit)
	}
	p = b.follow(b.post("/users/"+e.users["bob"]+"/edit", url.Values{"csrf_token": {token}, "usageLocation": {"US"}, "return": {panel + "?tab=actions"}}))
	wantIn(t, p, "usage location changed from none to United States (US)", "Still in error: Office 365 E1: Not enough licenses.", `href="`+panel+`?tab=actions"`)

	// Unassign: a GET of the selection asks, the POST does it.
	p = b.get(groupsTab() + "/unassign?group=" + e.groups["Marketing"])
	wantIn(t, p, "Unassign licenses", `name="confirm" value="1"`)
	if !e.assigned(e.groups["Marketing"]) {
		t.Fatal("the confirm step unassigned already")
	}
	p = b.follow(b.post(groupsTab()+"/unassign", url.Values{"csrf_token": {token}, "group": {e.groups["Marketing"]}, "confirm": {"1"}}))
	wantIn(t, p, "Office 365 E1 is unassigned from 1 group: Marketing.")
	if e.assigned(e.groups["Marketing"]) {
		t.Fatal("Marketing keeps its license")
	}
}

// TestNextPage: with a page of one user, the list links the next page and
// the fragment the script fetches carries the link after it.
func TestNextPage(t *testing.T) {
	e := newEnv(t, web.Config{PageSize: 1}, false)
	e.must(e.db.AssignGroupLicense(e.ga, e.groups["Marketing"], []allot.AssignedLicense{{SkuID: skuKiosk, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	b, _ := e.signIn(allot.RoleGlobalReader)
	panel := "/billing/licenses/" + skuKiosk + "/groups/" + e.groups["Marketing"]
	p := b.get(panel + "?tab=success")
	m := regexp.MustCompile(`data-load-more data-target="#member-rows" id="load-more" href="([^"]+)"|href="([^"]+)" data-load-more`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no Load more link")
	}
	next := strings.ReplaceAll(m[1]+m[2], "&amp;", "&")
	seen := strings.Count(p.body, `<tr data-user=`)
	for next != "" {
		frag := b.get(next + "&fragment=rows")
		if frag.status != http.StatusOK || strings.Contains(frag.body, "<html") {
			t.Fatalf("fragment: %d", frag.status)
		}
		seen += strings.Count(frag.body, `<tr data-user=`)
		next = frag.header.Get("X-Next-Page")
	}
	if seen != 2 { // two members got Kiosk's two seats
		t.Fatalf("pages listed %d users, want 2", seen)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, web.Config{MaxBodyBytes: 1024}, false)
	b, token := e.signIn(allot.RoleLicenseAdministrator)
	p := b.post(groupsTab()+"/assign", url.Values{"csrf_token": {token}, "q": {strings.Repeat("x", 2000)}})
	if p.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", p.status)
	}
}

// tampered changes a token's first character, to another one whatever it
// was (a fixed "x" failed the test whenever the token began with "x").
func tampered(token string) string {
	if token[0] == 'x' {
		return "y" + token[1:]
	}
	return "x" + token[1:]
}
