package web_test

import (
	"context"
	"crypto/rand"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/web"
)

// ssoSettings is a tenant with an account of every role (as newEnv's) on
// a server with a single sign-on key and a public URL, through the real
// store.
type ssoSettings struct {
	*env
	sso *store.OIDC
	op  context.Context
}

const ssoSecret = "Th1s-is-the-client-SECRET~value" // not a word any page holds

func newSSOSettings(t *testing.T) *ssoSettings {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sso, err := db.OIDC(store.OIDCOptions{Key: key, PublicURL: "https://allot.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
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
	svc := db.Services()
	svc.OIDC = sso
	h, err := web.New(web.Config{Services: svc, Alerts: db, Logger: slog.New(slog.DiscardHandler), SignInsPerMinute: 1000})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &ssoSettings{env: &env{t: t, db: db, srv: srv, tenant: tn.ID,
		ga: allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator, Name: "setup"})},
		sso: sso, op: op}
}

// stored is the tenant's configuration with its secret, or nil.
func (e *ssoSettings) stored() *allot.OIDCConfig {
	e.t.Helper()
	c, err := e.sso.OIDCSignInConfig(context.Background(), e.tenant)
	if allot.ErrorCode(err) == allot.ENOTFOUND {
		return nil
	} else if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *ssoSettings) configure() *allot.OIDCConfig {
	e.t.Helper()
	c, err := e.sso.SetOIDCConfig(e.op, allot.OIDCConfig{TenantID: e.tenant, Issuer: "https://login.example.com/contoso/v2.0", ClientID: "allot-app",
		ClientSecret: ssoSecret, RoleClaim: "groups", RoleMappings: []allot.OIDCRoleMapping{{Value: "allot-admins", Role: allot.RoleGlobalAdministrator}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func ssoForm(token string, kv ...string) url.Values {
	f := url.Values{"csrf_token": {token}, "issuer": {"https://login.microsoftonline.com/contoso/v2.0"}, "client_id": {"0000-client"},
		"client_secret": {ssoSecret}, "scopes": {"groups, offline_access"}, "claim": {"roles"},
		"mappings": {"Allot.Licenses = License Administrator\r\n\r\nAllot.Admins=GlobalAdministrator\r\nteam=a=b = global reader\r\n"}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// ssoActivities are the tenant's audit entries about single sign-on.
func (e *ssoSettings) ssoActivities() []allot.AuditEntry {
	e.t.Helper()
	p, err := e.db.Audit(e.ga, allot.AuditFilter{TargetID: e.tenant})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []allot.AuditEntry
	for _, a := range p.Items {
		if strings.Contains(a.Activity, "single sign-on") {
			out = append(out, a)
		}
	}
	return out
}

func TestSSOSettingsSaveAndShow(t *testing.T) {
	e := newSSOSettings(t)
	b, token := e.signIn(allot.RoleGlobalAdministrator)

	p := b.get("/settings/sso")
	// Before any save the store has no configuration to build the redirect
	// URI on, so the page builds it on its own address.
	wantIn(t, p, `href="/settings/sso" aria-current="page"`, `id="sso-off"`, `id="sso-form"`, `<code id="sso-redirect">`+e.srv.URL+`/signin</code>`)
	if strings.Contains(p.body, `id="sso-remove"`) {
		t.Fatal("Turn off is offered while single sign-on is off")
	}

	res := b.post("/settings/sso", ssoForm(token))
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/settings/sso" {
		t.Fatalf("save: %d %s %.300s", res.status, res.header.Get("Location"), res.body)
	}
	want := []allot.OIDCRoleMapping{{Value: "Allot.Licenses", Role: allot.RoleLicenseAdministrator}, {Value: "Allot.Admins", Role: allot.RoleGlobalAdministrator},
		{Value: "team=a=b", Role: allot.RoleGlobalReader}}
	c := e.stored()
	if c == nil || c.Issuer != "https://login.microsoftonline.com/contoso/v2.0" || c.ClientID != "0000-client" || c.ClientSecret != ssoSecret ||
		c.RoleClaim != "roles" || !reflect.DeepEqual(c.Scopes, []string{"groups", "offline_access"}) || !reflect.DeepEqual(c.RoleMappings, want) {
		t.Fatalf("stored %+v", c)
	}
	p = b.follow(res)
	wantIn(t, p, "Single sign-on is saved.", `id="sso-current"`, `data-status="on"`, `data-secret="set"`,
		"https://login.microsoftonline.com/contoso/v2.0", "0000-client", "openid profile email groups offline_access", `id="sso-claim">roles<`,
		`<code id="sso-redirect">https://allot.example.com/signin</code>`, "https://allot.example.com/signin?sso="+e.tenant, `id="sso-remove"`)
	// The mappings in their order, in the list and in the form.
	first, second, third := strings.Index(p.body, `data-value="Allot.Licenses"`), strings.Index(p.body, `data-value="Allot.Admins"`), strings.Index(p.body, `data-value="team=a=b"`)
	if first < 0 || second < first || third < second {
		t.Fatalf("mappings out of order: %d %d %d", first, second, third)
	}
	wantIn(t, p, html.EscapeString("Allot.Licenses = License Administrator\nAllot.Admins = Global Administrator\nteam=a=b = Global Reader"))
	if strings.Contains(p.body, ssoSecret) {
		t.Fatal("the page shows the client secret")
	}

	// Saved again without a secret: the stored one stays, and the form
	// as the page fills it saves what is stored.
	res = b.post("/settings/sso", ssoForm(token, "client_secret", "", "mappings", "Allot.Admins = Global Administrator"))
	if res.status != http.StatusSeeOther {
		t.Fatalf("save without a secret: %d", res.status)
	}
	wantIn(t, b.follow(res), "The stored client secret was kept.")
	if c := e.stored(); c.ClientSecret != ssoSecret || len(c.RoleMappings) != 1 {
		t.Fatalf("after a save without a secret: %+v", c)
	}

	// Both changes are in the audit log, by the signed-in account, without
	// the secret.
	acts := e.ssoActivities()
	if len(acts) != 2 {
		t.Fatalf("%d audit entries about single sign-on, want 2", len(acts))
	}
	for _, a := range acts {
		if a.Activity != "Update single sign-on" || a.Actor != username(allot.RoleGlobalAdministrator) || strings.Contains(a.Before+a.After, ssoSecret) {
			t.Fatalf("audit entry %+v", a)
		}
	}
}

func TestSSOSettingsBadInputKeepsValues(t *testing.T) {
	e := newSSOSettings(t)
	e.configure()
	before := e.stored()
	b, token := e.signIn(allot.RoleGlobalAdministrator)
	for name, c := range map[string]struct {
		form []string
		want string
		kept string // a typed value the form shows again
	}{
		"PlainHTTPIssuer": {[]string{"issuer", "http://idp.example.com/typed"}, "The issuer must be an https URL", `value="http://idp.example.com/typed"`},
		"UnknownRole":     {[]string{"mappings", "typed-group = Super Admin"}, "&#39;Super Admin&#39; is not an Allot role. The roles are Global Administrator, License Administrator", "typed-group = Super Admin"},
		"NoEqualsSign":    {[]string{"mappings", "first = Global Reader\ntyped-alone"}, "Line 2 of the role mappings (&#39;typed-alone&#39;) has no equals sign", "first = Global Reader\ntyped-alone"},
		"NoMappings":      {[]string{"mappings", " \n ", "claim", "typed-claim"}, "Give at least one role mapping", `value="typed-claim"`},
		"BadClaim":        {[]string{"claim", "two words"}, "The role claim must be a claim name", `value="two words"`},
		"BadScope":        {[]string{"scopes", "groups bad\"scope"}, "is not a scope name", `value="groups bad&#34;scope"`},
		"ClientIDSpaces":  {[]string{"client_id", "has spaces typed"}, "The client id must have between 1 and 256 characters", `value="has spaces typed"`},
	} {
		t.Run(name, func(t *testing.T) {
			res := b.post("/settings/sso", ssoForm(token, c.form...))
			if res.status != http.StatusSeeOther || res.header.Get("Location") != "/settings/sso" {
				t.Fatalf("refused form: %d %s", res.status, res.header.Get("Location"))
			}
			p := b.follow(res)
			wantIn(t, p, `class="flash flash-error"`, "Nothing was saved: ", c.want, c.kept, "Type the client secret again")
			if strings.Contains(p.body, ssoSecret) {
				t.Fatal("the refused form kept the client secret")
			}
			for _, code := range []string{"EINVALID", "RoleMappings", "ClientID", "invalidRequest"} {
				if strings.Contains(p.body, code) {
					t.Fatalf("the message shows %q", code)
				}
			}
			if after := e.stored(); !reflect.DeepEqual(after, before) {
				t.Fatalf("a refused form changed the configuration:\n%+v\n%+v", before, after)
			}
			// Shown once: the page again shows what is stored.
			if again := b.get("/settings/sso"); strings.Contains(again.body, "Nothing was saved") || !strings.Contains(again.body, `value="`+before.Issuer+`"`) {
				t.Fatal("the kept input outlived its page")
			}
		})
	}
	if n := len(e.ssoActivities()); n != 1 {
		t.Fatalf("%d audit entries, want only the setup's", n)
	}
}

func TestSSOSettingsRoles(t *testing.T) {
	e := newSSOSettings(t)
	e.configure()
	before := e.stored()
	for _, r := range allot.Roles {
		if r == allot.RoleGlobalAdministrator {
			continue
		}
		t.Run(string(r), func(t *testing.T) {
			b, token := e.signIn(r)
			if p := b.get("/billing/licenses"); strings.Contains(p.body, "/settings/sso") {
				t.Error("the navigation links Single sign-on")
			}
			for _, path := range []string{"/settings/sso", "/settings/sso/remove"} {
				if p := b.get(path); p.status != http.StatusForbidden || strings.Contains(p.body, "allot-app") {
					t.Errorf("GET %s: %d", path, p.status)
				}
			}
			if p := b.post("/settings/sso", ssoForm(token)); p.status != http.StatusForbidden {
				t.Errorf("save: %d", p.status)
			}
			if p := b.post("/settings/sso/remove", url.Values{"csrf_token": {token}, "confirm": {"1"}}); p.status != http.StatusForbidden {
				t.Errorf("turn off: %d", p.status)
			}
			if after := e.stored(); !reflect.DeepEqual(after, before) {
				t.Fatalf("a refused role changed the configuration: %+v", after)
			}
		})
	}
	t.Run("WithoutCSRFToken", func(t *testing.T) {
		b, _ := e.signIn(allot.RoleGlobalAdministrator)
		if p := b.post("/settings/sso/remove", url.Values{"confirm": {"1"}}); p.status != http.StatusForbidden || e.stored() == nil {
			t.Fatalf("turn off without a token: %d", p.status)
		}
	})
}

func TestSSOSettingsTurnOff(t *testing.T) {
	e := newSSOSettings(t)
	cfg := e.configure()
	// Someone signed in with single sign-on, through the store as the
	// sign-in page's callback does.
	secret, _, err := e.sso.OIDCSignIn(context.Background(), e.tenant, allot.OIDCIdentity{Issuer: cfg.Issuer, Subject: "ada-1",
		Username: "ada@contoso.example", RoleValues: []string{"allot-admins"}})
	if err != nil {
		t.Fatal(err)
	}
	federated := e.browser()
	federated.c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "allot_session", Value: secret}})
	if p := federated.get("/settings/sso"); p.status != http.StatusOK {
		t.Fatalf("the single sign-on session: %d", p.status)
	}
	// Signed in with single sign-on, the dialog warns of signing oneself out.
	wantIn(t, federated.get("/settings/sso/remove"), "you will be signed out too")

	b, token := e.signIn(allot.RoleGlobalAdministrator)
	p := b.get("/settings/sso/remove")
	wantIn(t, p, `id="confirm-dialog"`, "Turn off single sign-on", "everyone signed in that way is signed out at once",
		`id="confirm-no" data-close autofocus`, `name="confirm" value="1"`)
	if strings.Contains(p.body, "you will be signed out too") {
		t.Error("a local account is told it will be signed out")
	}
	if strings.Contains(p.body, `id="confirm-yes" name="confirm" value="1" autofocus`) {
		t.Fatal("Turn off has the focus")
	}
	if e.stored() == nil {
		t.Fatal("the dialog turned single sign-on off")
	}
	// Without the dialog's confirm, the POST sends to the dialog.
	if p := b.post("/settings/sso/remove", url.Values{"csrf_token": {token}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/settings/sso/remove" || e.stored() == nil {
		t.Fatalf("unconfirmed: %d %s", p.status, p.header.Get("Location"))
	}
	res := b.post("/settings/sso/remove", url.Values{"csrf_token": {token}, "confirm": {"1"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/settings/sso" {
		t.Fatalf("turn off: %d %s", res.status, res.header.Get("Location"))
	}
	wantIn(t, b.follow(res), "Single sign-on is turned off", `id="sso-off"`)
	if e.stored() != nil {
		t.Fatal("the configuration is still there")
	}
	if p := federated.get("/billing/licenses"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/signin") {
		t.Fatalf("a single sign-on session outlived turning it off: %d", p.status)
	}
	if p := b.get("/billing/licenses"); p.status != http.StatusOK {
		t.Fatalf("the local Global Administrator was signed out: %d", p.status)
	}
	acts := e.ssoActivities()
	if len(acts) == 0 || acts[0].Activity != "Remove single sign-on" || acts[0].Actor != username(allot.RoleGlobalAdministrator) ||
		!strings.Contains(acts[0].After, `"sessionsEnded":1`) {
		t.Fatalf("audit %+v", acts)
	}
	// Again: nothing to turn off, said in words.
	res = b.post("/settings/sso/remove", url.Values{"csrf_token": {token}, "confirm": {"1"}})
	wantIn(t, b.follow(res), "Single sign-on is already off.")
}

// TestSSOSettingsUnavailable: a server started without a single sign-on
// key says why there is none and offers no form.
func TestSSOSettingsUnavailable(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	b, token := e.signIn(allot.RoleGlobalAdministrator)
	p := b.get("/settings/sso")
	wantIn(t, p, `id="sso-unavailable"`, "Single sign-on is not available on this server", "--sso-key-file")
	if strings.Contains(p.body, `id="sso-form"`) || strings.Contains(p.body, `id="sso-remove"`) {
		t.Fatal("a server without single sign-on offers its form")
	}
	block := p.body[strings.Index(p.body, `id="sso-unavailable"`):]
	if block = block[:strings.Index(block, "</div>")]; strings.Contains(block, "<a ") {
		t.Fatalf("the explanation links somewhere: %s", block)
	}
	for _, path := range []string{"/settings/sso", "/settings/sso/remove"} {
		res := b.post(path, ssoForm(token, "confirm", "1"))
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/settings/sso" {
			t.Fatalf("POST %s: %d %s", path, res.status, res.header.Get("Location"))
		}
		wantIn(t, b.follow(res), `class="flash flash-error"`, "Nothing was")
	}
}
