package web_test

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
	"github.com/allot-dev/allot/web"
)

// postRoute is how TestEveryPostRedirects submits one POST route of
// routes.go successfully.
type postRoute struct {
	role allot.Role
	// submit sends a form that succeeds; b is signed in as role.
	submit func(t *testing.T, e *env, b *browser, token string) page
	// page, when set, says why the route answers a successful submit with a
	// page instead of a redirect: the explicit exceptions to post/redirect/
	// get. Such a page names the GET its history entry becomes
	// (data-history-url), so that reload and Back send nothing again.
	page string
	// todo, when set, names a route (in a file of another owner) that still
	// answers with a page; the test logs it rather than fail.
	todo string
}

var postRouteRe = regexp.MustCompile(`m\.Handle(?:Func)?\("POST ([^"]+)"`)

// TestEveryPostRedirects walks every POST route of routes.go: a successful
// submit answers 303 to a GET page that shows the outcome, so that Back,
// reload and bookmarks never send a form again (docs/ADMIN-CENTER.md). A
// new POST route fails here until it has a case below.
func TestEveryPostRedirects(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, m := range postRouteRe.FindAllStringSubmatch(string(src), -1) {
		routes = append(routes, m[1])
	}
	if len(routes) < 10 {
		t.Fatalf("found only %d POST routes in routes.go: %v", len(routes), routes)
	}

	e := newEnv(t, web.Config{}, false)
	alice, bob := e.users["alice"], e.users["bob"]
	e.must(e.db.AssignUserLicense(e.ga, alice, []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.must(e.db.AssignGroupLicense(e.ga, e.groups["Marketing"], []allot.AssignedLicense{{SkuID: skuKiosk, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	dynamic := e.newDynamic("USstaff", usRule)
	hook, err := alerts.Service(e.db).CreateWebhook(e.ga, alerts.WebhookCreate{URL: "https://hooks.example/allot"})
	if err != nil {
		t.Fatal(err)
	}
	kiosk := "/billing/licenses/" + skuKiosk
	marketingPanel := kiosk + "/groups/" + e.groups["Marketing"]
	form := func(token string, kv ...string) url.Values {
		f := url.Values{"csrf_token": {token}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Add(kv[i], kv[i+1])
		}
		return f
	}
	cases := map[string]postRoute{
		"/signin": {submit: func(t *testing.T, e *env, _ *browser, _ string) page {
			b := e.browser()
			p := b.get("/signin")
			return b.post("/signin", url.Values{"csrf_token": {csrfOf(t, p)}, "username": {username(allot.RoleGlobalReader)}, "password": {password(allot.RoleGlobalReader)}})
		}},
		"/signout": {role: allot.RoleGlobalReader, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/signout", form(token))
		}},
		"/billing/licenses/{sku}/users/unassign": {role: allot.RoleLicenseAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/billing/licenses/"+skuE1+"/users/unassign", form(token, "user", alice, "confirm", "1"))
		}},
		"/billing/licenses/{sku}/groups/assign": {role: allot.RoleLicenseAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post(groupsTab()+"/assign", assignForm(token, e.groups["Sales"]))
		}},
		"/billing/licenses/{sku}/groups/unassign": {role: allot.RoleLicenseAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post(groupsTab()+"/unassign", form(token, "group", e.groups["Sales"], "confirm", "1"))
		}},
		"/billing/licenses/{sku}/groups/{group}/action": {role: allot.RoleLicenseAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post(marketingPanel+"/action", form(token, "action", "reprocess", "tab", "actions", "user", bob))
		}},
		"/billing/licenses/{sku}/groups/{group}/purchase/manage": {role: allot.RoleBillingAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post(marketingPanel+"/purchase/manage", form(token, "user", bob, "tab", "actions"))
		}},
		"/billing/licenses/{sku}/groups/{group}/purchase": {role: allot.RoleBillingAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post(marketingPanel+"/purchase", form(token, "quantity", "1", "user", bob))
		}},
		"/groups/{id}/members": {role: allot.RoleGroupAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/groups/"+e.groups["Sales"]+"/members", form(token, "op", "add", "member", "carol@contoso.example"))
		}},
		"/users/{id}/edit": {role: allot.RoleLicenseAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/users/"+bob+"/edit", form(token, "usageLocation", "FR", "return", "/users/"+bob))
		}},
		"/groups/new": {role: allot.RoleGroupAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			f := editorForm(t, b.get("/groups/new"), token)
			f.Set("displayName", "GB staff")
			f.Set("mailNickname", "gbstaff")
			f.Set("rule", `user.usageLocation -eq "GB"`)
			f.Set("action", "save")
			return b.post("/groups/new", f)
		}},
		"/groups/{id}/rule": {role: allot.RoleGroupAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			f := editorForm(t, b.get("/groups/"+dynamic+"/rule"), token)
			f.Set("rule", `user.usageLocation -eq "FR"`)
			f.Set("action", "save")
			return b.post("/groups/"+dynamic+"/rule", f)
		}},
		"/groups/{id}/rule/state": {role: allot.RoleGroupAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/groups/"+dynamic+"/rule/state", form(token, "state", allot.RulePaused))
		}},
		"/groups/{id}/membership": {role: allot.RoleGroupAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/groups/"+dynamic+"/membership", form(token, "confirm", "1"))
		}},
		"/settings/alerts": {role: allot.RoleGlobalAdministrator,
			page: "the new webhook's signing secret is shown once, and never goes in a cookie or a URL",
			submit: func(t *testing.T, e *env, b *browser, token string) page {
				return b.post("/settings/alerts", form(token, "url", "https://hooks.example/second"))
			}},
		"/settings/alerts/{id}": {role: allot.RoleGlobalAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/settings/alerts/"+hook.ID, form(token, "op", "disable"))
		}},
		"/settings/accounts/{username}": {role: allot.RoleGlobalAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/settings/accounts/"+username(allot.RoleGlobalReader), form(token, "op", "revoke-sessions"))
		}},
		"/billing/licenses/{sku}/price": {role: allot.RoleBillingAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/billing/licenses/"+skuE1+"/price", form(token, "price", "8", "currency", "EUR"))
		}},
		"/settings/policy": {role: allot.RoleGlobalAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/settings/policy", form(token, "block", skuKiosk))
		}},
		// This env's server has no single sign-on key, so both answer with
		// the reason on the page; web/sso_test.go saves and turns off for real.
		"/settings/sso": {role: allot.RoleGlobalAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/settings/sso", form(token, "issuer", "https://idp.example.com", "client_id", "allot", "claim", "groups", "mappings", "admins=Global Administrator"))
		}},
		"/settings/sso/remove": {role: allot.RoleGlobalAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/settings/sso/remove", form(token, "confirm", "1"))
		}},
		// Commercial subscriptions (web/billing.go): each case makes the one it acts on.
		"/billing/subscriptions/{id}/renew": {role: allot.RoleBillingAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/billing/subscriptions/"+subscriptionForForm(t, e, allot.SubEnabled, false)+"/renew", form(token))
		}},
		"/billing/subscriptions/{id}/reactivate": {role: allot.RoleBillingAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/billing/subscriptions/"+subscriptionForForm(t, e, allot.SubSuspended, false)+"/reactivate", form(token))
		}},
		"/billing/subscriptions/{id}/convert": {role: allot.RoleBillingAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/billing/subscriptions/"+subscriptionForForm(t, e, allot.SubEnabled, true)+"/convert", form(token))
		}},
		"/billing/subscriptions/{id}/cancel": {role: allot.RoleBillingAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/billing/subscriptions/"+subscriptionForForm(t, e, allot.SubEnabled, false)+"/cancel", form(token, "confirm", "1"))
		}},
		// Deleted items (web/deleted.go): each case deletes what it acts on.
		"/users/deleted/{id}/restore": {role: allot.RoleUserAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/users/deleted/"+deletedForForm(t, e, allot.MemberUser)+"/restore", form(token))
		}},
		"/users/deleted/{id}/purge": {role: allot.RoleUserAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/users/deleted/"+deletedForForm(t, e, allot.MemberUser)+"/purge", form(token, "confirm", "1"))
		}},
		"/groups/deleted/{id}/restore": {role: allot.RoleGroupAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/groups/deleted/"+deletedForForm(t, e, allot.MemberGroup)+"/restore", form(token))
		}},
		"/groups/deleted/{id}/purge": {role: allot.RoleGroupAdministrator, submit: func(t *testing.T, e *env, b *browser, token string) page {
			return b.post("/groups/deleted/"+deletedForForm(t, e, allot.MemberGroup)+"/purge", form(token, "confirm", "1"))
		}},
	}
	for path := range cases {
		if !slices.Contains(routes, path) {
			t.Errorf("POST %s has a case here but is no longer in routes.go", path)
		}
	}
	for _, path := range routes {
		c, ok := cases[path]
		if !ok {
			t.Errorf("POST %s has no case in TestEveryPostRedirects: add one that submits it successfully and wants a 303", path)
			continue
		}
		t.Run(strings.ReplaceAll(strings.Trim(path, "/"), "/", "_"), func(t *testing.T) {
			var b *browser
			token := ""
			if c.role != "" {
				b, token = e.signIn(c.role)
			}
			p := c.submit(t, e, b, token)
			switch {
			case c.page != "":
				if p.status != http.StatusOK || !strings.Contains(p.body, `data-history-url="`+path+`"`) {
					t.Fatalf("status %d, want 200 with the page's history entry made the GET of %s (%s)", p.status, path, c.page)
				}
				return
			case c.todo != "" && p.status != http.StatusSeeOther:
				t.Logf("not yet post/redirect/get (status %d): %s", p.status, c.todo)
				return
			case c.todo != "":
				t.Errorf("answers 303 now: drop its todo")
			}
			if p.status != http.StatusSeeOther {
				t.Fatalf("status %d, want 303 to a GET page: %.300s", p.status, p.body)
			}
			to := p.header.Get("Location")
			if !strings.HasPrefix(to, "/") {
				t.Fatalf("redirects to %q, want a page of the site", to)
			}
			if b == nil {
				return // signed in: the next page is the sign-in's own business
			}
			if got := b.get(to); got.status != http.StatusOK && got.status != http.StatusSeeOther {
				t.Fatalf("GET %s after the POST: %d", to, got.status)
			}
		})
	}
}

// TestRefusedFormsKeepInput: a refused form answers 303 back to itself,
// and the page shows what was typed (once) and why, in words rather than
// the API's property names.
func TestRefusedFormsKeepInput(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	bob := e.users["bob"]

	t.Run("EditUser", func(t *testing.T) {
		b, token := e.signIn(allot.RoleUserAdministrator)
		long := strings.Repeat("no-at-sign-", 30)
		typed := "SMTP:bob@contoso.example\n" + long
		edit := "/users/" + bob + "/edit"
		p := b.post(edit, url.Values{"csrf_token": {token}, "usageLocation": {"DE"}, "proxy": {typed}, "return": {"/users/" + bob},
			"licenses_shown": {"1"}, "license": {skuKiosk}})
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), edit+"?") {
			t.Fatalf("refused Edit user: %d to %q, want 303 back to the panel", p.status, p.header.Get("Location"))
		}
		got := b.get(p.header.Get("Location"))
		wantIn(t, got, `class="flash flash-error"`, "Nothing was saved", "Invalid proxy address", `<option value="DE" selected>`,
			`name="license" value="`+skuKiosk+`" checked`)
		if proxy := textareaOf(t, got, "proxy"); proxy != typed {
			t.Fatalf("the proxy addresses show %q, want what was typed", proxy)
		}
		if strings.Contains(got.body, "proxyAddresses") {
			t.Fatal("the message names the API's property proxyAddresses")
		}
		u, err := e.db.User(e.ga, bob)
		e.must(u, err)
		if u.UsageLocation != "" || len(u.AssignedLicenses) != 0 {
			t.Fatalf("a refused form changed bob: %q %v", u.UsageLocation, u.AssignedLicenses)
		}
		// Kept once: the next visit shows what is stored.
		if again := b.get(p.header.Get("Location")); strings.Contains(again.body, long) {
			t.Fatal("the refused input is shown again on the next visit")
		}
	})

	t.Run("Price", func(t *testing.T) {
		b, token := e.signIn(allot.RoleBillingAdministrator)
		price := "/billing/licenses/" + skuE1 + "/price"
		p := b.post(price, url.Values{"csrf_token": {token}, "price": {"8,00"}, "currency": {"eur"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != price {
			t.Fatalf("refused price: %d to %q", p.status, p.header.Get("Location"))
		}
		got := b.get(price)
		wantIn(t, got, `value="8,00"`, `value="eur"`, "is not an amount", `class="flash flash-error"`)
		if strings.Contains(got.body, "pricePerSeat") {
			t.Fatal("the message names the API's property pricePerSeat")
		}
		if strings.Contains(b.get(price).body, `value="8,00"`) {
			t.Fatal("the refused price is kept beyond one visit")
		}
	})

	t.Run("Webhook", func(t *testing.T) {
		b, token := e.signIn(allot.RoleGlobalAdministrator)
		p := b.post("/settings/alerts", url.Values{"csrf_token": {token}, "url": {"ftp://x.example/h"}, "event": {alerts.GroupErrors}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/settings/alerts" {
			t.Fatalf("refused webhook: %d to %q", p.status, p.header.Get("Location"))
		}
		wantIn(t, b.get("/settings/alerts"), `value="ftp://x.example/h"`, `value="`+alerts.GroupErrors+`" checked`, "http or https")
	})

	t.Run("ResetPassword", func(t *testing.T) {
		b, token := e.signIn(allot.RoleGlobalAdministrator)
		p := b.post("/settings/accounts/"+username(allot.RoleGlobalReader), url.Values{"csrf_token": {token}, "op": {"reset-password"}})
		wantIn(t, p, `id="new-password"`, `data-history-url="/settings/accounts"`)
	})
}

// TestErrorsHaveAWayOut: each error says how to get out of it, with names
// and links rather than codes; the message of a save is green only when
// every license is assigned; read-only roles get no boxes that do nothing;
// a dialog that destroys does not focus its destructive button.
func TestErrorsHaveAWayOut(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	alice, bob, carol := e.users["alice"], e.users["bob"], e.users["carol"]
	shared, err := e.db.CreateGroup(e.ga, allot.GroupCreate{DisplayName: "Shared mailbox", MailNickname: "shared", MailEnabled: true,
		SecurityEnabled: true, ProxyAddresses: []string{"SMTP:shared@contoso.example"}})
	e.must(shared, err)
	dave, err := e.db.CreateUser(e.ga, allot.UserCreate{UserPrincipalName: "dave@contoso.example", DisplayName: "dave", UsageLocation: "US",
		AccountEnabled: true, ProxyAddresses: []string{"smtp:Shared@contoso.example"}})
	e.must(dave, err)
	ivan, err := e.db.CreateUser(e.ga, allot.UserCreate{UserPrincipalName: "ivan@contoso.example", DisplayName: "ivan", UsageLocation: "US", AccountEnabled: true})
	e.must(ivan, err)
	e.must(e.db.AssignUserLicense(e.ga, ivan.ID, []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.must(e.db.AssignUserLicense(e.ga, carol, []allot.AssignedLicense{{SkuID: skuKiosk, DisabledPlans: []string{}}}, []string{}))
	if err := e.db.AddMember(e.ga, e.groups["Marketing"], dave.ID); err != nil {
		t.Fatal(err)
	}
	e.must(e.db.AssignGroupLicense(e.ga, e.groups["Marketing"], []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.drain()

	lic, ltok := e.signIn(allot.RoleLicenseAdministrator)
	// The proxy-address conflict names the group that holds the address,
	// links to it, and says which role can change addresses.
	p := lic.get("/users/" + dave.ID)
	wantIn(t, p, "Proxy address violation", `class="holder-link">Shared mailbox</a>`, `href="/groups/`+shared.ID+`"`,
		"Your role can&#39;t: that needs a User Administrator or Global Administrator.", `id="error-details-link"`)
	if strings.Contains(p.body, "Violation") {
		t.Fatal("dave's page shows an error code")
	}
	// So does View error details on the group's panel.
	details := lic.get(groupsTab() + "/" + e.groups["Marketing"] + "/details?tab=actions&user=" + dave.ID)
	wantIn(t, details, "Error details", "Proxy address violation", `class="holder-link">Shared mailbox</a>`, `href="/groups/`+shared.ID+`"`,
		"Your role can&#39;t: that needs a User Administrator or Global Administrator.")
	// Names in a list are separated by a comma and a space.
	p = lic.get("/users/" + carol)
	wantIn(t, p, "Conflicting service plans")
	if !strings.Contains(p.body, "Exchange Online (Plan 1), Exchange Online Kiosk") && !strings.Contains(p.body, "Exchange Online Kiosk, Exchange Online (Plan 1)") {
		t.Fatalf("carol's conflict does not list the two plans with a space: %s", regexp.MustCompile(`(?s)<td class="detail">.*?</td>`).FindAllString(p.body, -1))
	}
	// A user without errors has no link to error details.
	if p := lic.get("/users/" + alice); strings.Contains(p.body, `id="error-details-link"`) {
		t.Fatal("alice, without errors, has an Error details link")
	}
	// Edit user marks the license in error.
	ua, utok := e.signIn(allot.RoleUserAdministrator)
	p = ua.get("/users/" + dave.ID + "/edit")
	wantIn(t, p, `class="product product-error" data-sku="`+skuE1+`"`, `id="license-error-`+skuE1+`"`, "Remove the address from this user in Edit user, or from Shared mailbox.")

	// Fixed the location, but no license is free: saved, yet not green.
	p = lic.follow(lic.post("/users/"+bob+"/edit", url.Values{"csrf_token": {ltok}, "usageLocation": {"US"}, "return": {"/users/" + bob}}))
	wantIn(t, p, `class="flash flash-warning"`, "Still in error: Office 365 E1: Not enough licenses.")
	if strings.Contains(p.body, "flash-success") {
		t.Fatal("a save that leaves an error is green")
	}
	e.must(e.db.Purchase(e.ga, skuE1, 5, nil))
	e.drain()
	p = ua.follow(ua.post("/users/"+dave.ID+"/edit", url.Values{"csrf_token": {utok}, "proxy": {"SMTP:dave@contoso.example"}, "return": {"/users/" + dave.ID}}))
	wantIn(t, p, `class="flash flash-success"`, "Every license of this user is now assigned.")

	// Read-only roles get words, not boxes.
	reader, _ := e.signIn(allot.RoleGlobalReader)
	p = reader.get("/settings/policy")
	wantIn(t, p, "Allowed", "needs a Global Administrator")
	if strings.Contains(p.body, `type="checkbox"`) {
		t.Fatal("a Global Reader sees check boxes on Settings › Policy")
	}

	// The destructive button is not where the dialog puts the focus.
	p = lic.get(groupsTab() + "/unassign?group=" + e.groups["Marketing"])
	wantIn(t, p, `id="confirm-yes"`, `id="confirm-no" data-close autofocus`)
	if regexp.MustCompile(`id="confirm-yes"[^>]*autofocus`).MatchString(p.body) {
		t.Fatal("Unassign is the dialog's default focus")
	}
}

// TestPanelsAndDialogsAreGets: the panels and dialogs that change nothing
// are GETs (the assign panel's Search and Preview, the confirm dialogs,
// Manage product licenses), so that reload and Back never send a form; a
// refused Assign or Buy comes back with what was typed, once.
func TestPanelsAndDialogsAreGets(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	alice, bob := e.users["alice"], e.users["bob"]
	e.must(e.db.AssignUserLicense(e.ga, alice, []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.must(e.db.AssignGroupLicense(e.ga, e.groups["Marketing"], []allot.AssignedLicense{{SkuID: skuKiosk, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	product := "/billing/licenses/" + skuE1

	t.Run("Assign", func(t *testing.T) {
		b, token := e.signIn(allot.RoleLicenseAdministrator)
		panel := groupsTab() + "/assign"
		// Search, sent by the browser with the whole form: the token is
		// taken out of the address first.
		q := url.Values{"csrf_token": {token}, "apps_shown": {"1"}, "q": {"sal"}, "group": {e.groups["Marketing"]}}
		p := b.get(panel + "?" + q.Encode())
		if to := p.header.Get("Location"); p.status != http.StatusSeeOther || strings.Contains(to, "csrf_token") || !strings.Contains(to, "q=sal") {
			t.Fatalf("a GET with the token: %d to %q", p.status, to)
		}
		p = b.follow(p)
		wantIn(t, p, `value="`+e.groups["Marketing"]+`" checked`, `value="`+e.groups["Sales"]+`"`, `value="sal"`)
		// Assign refused (every app off): back to the panel, the selection kept once.
		f := url.Values{"csrf_token": {token}, "action": {"assign"}, "apps_shown": {"1"}, "group": {e.groups["Sales"]}, "include_nested": {"1"}}
		p = b.post(panel, f)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != panel {
			t.Fatalf("refused Assign: %d to %q", p.status, p.header.Get("Location"))
		}
		p = b.get(panel)
		wantIn(t, p, `class="flash flash-error"`, "Every app and service is turned off", `value="`+e.groups["Sales"]+`" checked`, `id="include-nested" checked`, "<details id=\"apps\" open>")
		if e.assigned(e.groups["Sales"]) {
			t.Fatal("a refused Assign assigned")
		}
		if again := b.get(panel); strings.Contains(again.body, `value="`+e.groups["Sales"]+`" checked`) {
			t.Fatal("the refused selection is kept beyond one page")
		}
	})

	t.Run("Unassign", func(t *testing.T) {
		b, token := e.signIn(allot.RoleLicenseAdministrator)
		tab := b.get(product)
		form := tab.body[strings.Index(tab.body, `action="`+product+`/users/unassign"`)-20:]
		form = form[:strings.Index(form, "</form>")]
		if !strings.Contains(form, `method="get"`) || strings.Contains(form, "csrf_token") {
			t.Fatalf("the Users tab's form is not a GET without the token: %.200s", form)
		}
		p := b.get(product + "/users/unassign?user=" + alice)
		wantIn(t, p, `id="confirm-dialog"`, "Unassign licenses", "alice", `name="confirm" value="1"`, `action="`+product+`/users/unassign"`)
		if p := b.post(product+"/users/unassign", url.Values{"csrf_token": {token}, "user": {alice}}); p.status != http.StatusSeeOther ||
			p.header.Get("Location") != product+"/users/unassign?user="+alice {
			t.Fatalf("a POST without confirm: %d to %q", p.status, p.header.Get("Location"))
		}
		// Nothing selected: back to the tab, with the reason.
		wantIn(t, b.follow(b.get(product+"/users/unassign")), "Select the check boxes of the users")
		if u, _ := e.db.User(e.ga, alice); len(u.AssignedLicenses) != 1 {
			t.Fatal("a dialog unassigned")
		}
	})

	t.Run("Purchase", func(t *testing.T) {
		b, token := e.signIn(allot.RoleBillingAdministrator)
		panel := "/billing/licenses/" + skuKiosk + "/groups/" + e.groups["Marketing"]
		p := b.post(panel+"/action", url.Values{"csrf_token": {token}, "action": {"purchase"}, "tab": {"actions"}, "user": {bob}})
		dialog := panel + "/purchase?tab=actions&user=" + bob
		if p.status != http.StatusSeeOther || p.header.Get("Location") != dialog {
			t.Fatalf("Purchase license: %d to %q, want %s", p.status, p.header.Get("Location"), dialog)
		}
		wantIn(t, b.get(dialog), `id="confirm-dialog"`, "Purchase license", "bob", `action="`+panel+`/purchase/manage"`)
		p = b.post(panel+"/purchase/manage", url.Values{"csrf_token": {token}, "tab": {"actions"}, "user": {bob}})
		manage := panel + "/purchase/manage?tab=actions&user=" + bob
		if p.status != http.StatusSeeOther || p.header.Get("Location") != manage {
			t.Fatalf("Yes: %d to %q, want %s", p.status, p.header.Get("Location"), manage)
		}
		wantIn(t, b.get(manage), "Manage product licenses", `id="buy-form"`, `name="tab" value="actions"`, `id="quantity" name="quantity" type="number" min="1" max="100000" value="1"`)
		// A bad number: back to the panel with it, once; nothing bought.
		p = b.post(panel+"/purchase", url.Values{"csrf_token": {token}, "tab": {"actions"}, "user": {bob}, "quantity": {"lots"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != manage {
			t.Fatalf("a bad quantity: %d to %q", p.status, p.header.Get("Location"))
		}
		wantIn(t, b.get(manage), `class="flash flash-error"`, "“lots” is not a number of licenses", `value="lots"`)
		if strings.Contains(b.get(manage).body, `value="lots"`) {
			t.Fatal("the refused quantity is kept beyond one page")
		}
		if sub, err := e.db.Subscription(e.ga, skuKiosk); err != nil || sub.Enabled != 2 {
			t.Fatalf("after a refused Buy: %+v %v", sub, err)
		}
	})

	// Check boxes only where a button uses them; View error details only
	// on Actions needed.
	t.Run("Boxes", func(t *testing.T) {
		reader, _ := e.signIn(allot.RoleGlobalReader)
		lic, _ := e.signIn(allot.RoleLicenseAdministrator)
		for _, c := range []struct {
			path, box string
		}{{product, `name="user" value="` + alice + `"`}, {"/billing/licenses/" + skuKiosk + "/groups", `name="group" value="` + e.groups["Marketing"] + `"`}} {
			if p := reader.get(c.path); strings.Contains(p.body, c.box) || strings.Contains(p.body, "data-select-all") {
				t.Errorf("a Global Reader gets check boxes on %s", c.path)
			}
			wantIn(t, lic.get(c.path), c.box, "data-select-all")
		}
		if p := reader.get(product + "?fragment=rows"); strings.Contains(p.body, `type="checkbox"`) {
			t.Error("a Global Reader gets check boxes in the next page of users")
		}
		if p := lic.get(product + "?fragment=rows"); !strings.Contains(p.body, `name="user" value="`+alice+`"`) {
			t.Error("a License Administrator gets no check boxes in the next page of users")
		}
		panel := "/billing/licenses/" + skuKiosk + "/groups/" + e.groups["Marketing"]
		p := reader.get(panel + "?tab=success")
		if strings.Contains(p.body, `id="view-error-details"`) || strings.Contains(p.body, `type="checkbox"`) {
			t.Error("a Global Reader gets View error details or check boxes on Successfully assigned")
		}
		wantIn(t, reader.get(panel+"?tab=actions"), `id="view-error-details"`, `name="user" value="`)
		if p := lic.get(panel + "?tab=success"); strings.Contains(p.body, `id="view-error-details"`) || !strings.Contains(p.body, `id="reprocess"`) {
			t.Error("Successfully assigned: View error details shown, or Reprocess missing")
		}
	})
}

// TestActiveGroupMembers: Active groups lets a role that manages groups
// add a member by user name and remove one after a confirm dialog;
// dynamic groups stay read-only; other roles get neither.
func TestActiveGroupMembers(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	sales, carol := e.groups["Sales"], e.users["carol"]
	page := "/groups/" + sales
	members := func() []string { return e.memberNames(sales) }
	b, token := e.signIn(allot.RoleGroupAdministrator)
	wantIn(t, b.get(page), `id="add-member-form"`, `action="`+page+`/members"`)

	p := b.post(page+"/members", url.Values{"csrf_token": {token}, "op": {"add"}, "member": {"carol@contoso.example"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != page {
		t.Fatalf("Add member: %d to %q", p.status, p.header.Get("Location"))
	}
	p = b.get(page)
	wantIn(t, p, "carol is now a member of the group", "Members (1)", `href="`+page+`?remove=`+carol+`"`)
	if got := members(); !slices.Equal(got, []string{"carol"}) {
		t.Fatalf("members after Add: %v", got)
	}
	// Nobody matches: said so.
	wantIn(t, b.follow(b.post(page+"/members", url.Values{"csrf_token": {token}, "op": {"add"}, "member": {"nobody-here"}})), "No user matches")

	// Remove asks first, then removes.
	p = b.get(page + "?remove=" + carol)
	wantIn(t, p, `id="confirm-dialog"`, "Remove carol from Sales?", `name="op" value="remove"`, `name="user" value="`+carol+`"`, `id="confirm-no" data-close autofocus`)
	if len(members()) != 1 {
		t.Fatal("the dialog removed")
	}
	p = b.follow(b.post(page+"/members", url.Values{"csrf_token": {token}, "op": {"remove"}, "user": {carol}}))
	wantIn(t, p, "Removed 1 user from the group: carol.", "Members (0)")
	if got := members(); len(got) != 0 {
		t.Fatalf("members after Remove: %v", got)
	}

	// A dynamic group: no form, and a forged one changes nothing.
	dyn := e.newDynamic("USstaff", usRule)
	e.drain()
	p = b.get("/groups/" + dyn)
	wantIn(t, p, "Members are managed by the rule")
	if strings.Contains(p.body, `id="add-member-form"`) || strings.Contains(p.body, "?remove=") {
		t.Fatal("a dynamic group's members can be edited by hand")
	}
	p = b.post("/groups/"+dyn+"/members", url.Values{"csrf_token": {token}, "op": {"add"}, "member": {"bob@contoso.example"}})
	wantIn(t, b.follow(p), "managed by its rule")
	if got := e.memberNames(dyn); slices.Contains(got, "bob") {
		t.Fatalf("a forged Add changed a dynamic group: %v", got)
	}

	// A role without group management: no form, refused.
	lic, ltok := e.signIn(allot.RoleLicenseAdministrator)
	if p := lic.get(page); strings.Contains(p.body, `id="add-member-form"`) {
		t.Fatal("a License Administrator is offered Add member")
	}
	if p := lic.get(page + "?remove=" + carol); p.status != http.StatusForbidden {
		t.Fatalf("a License Administrator's remove dialog: %d", p.status)
	}
	if p := lic.post(page+"/members", url.Values{"csrf_token": {ltok}, "op": {"add"}, "member": {"carol@contoso.example"}}); p.status != http.StatusForbidden || len(members()) != 0 {
		t.Fatalf("a License Administrator's Add member: %d", p.status)
	}
}
