package web_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/web"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// idpUser is a person at the test's identity provider (mockoidc), with the
// claims a test needs: groups, and an audience other than the client's to
// forge a token made for another application. Their tokens are issued by
// the test's clock (age before it), not mockoidc's, so that no check
// depends on how long the test takes.
type idpUser struct {
	sub, email, name string
	groups           []string
	audience         string // "": the client's
	now              func() time.Time
	age              time.Duration
}

func (u *idpUser) ID() string { return u.sub }

func (u *idpUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub, "email": u.email})
}

func (u *idpUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.audience != "" {
		base.Audience = jwt.ClaimStrings{u.audience}
	}
	if u.now != nil {
		at := u.now().Add(-u.age)
		base.IssuedAt, base.NotBefore, base.ExpiresAt = jwt.NewNumericDate(at), jwt.NewNumericDate(at), jwt.NewNumericDate(at.Add(10*time.Minute))
	}
	return &struct {
		*mockoidc.IDTokenClaims
		Email             string   `json:"email,omitempty"`
		PreferredUsername string   `json:"preferred_username,omitempty"`
		Name              string   `json:"name,omitempty"`
		Groups            []string `json:"groups,omitempty"`
	}{base, u.email, u.email, u.name, u.groups}, nil
}

// startIdP runs mockoidc on a loopback port for the test.
func startIdP(t testing.TB) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

type ssoEnv struct {
	t      *testing.T
	db     *store.DB
	sso    *store.OIDC
	idp    *mockoidc.MockOIDC
	clock  *testClock
	srv    *httptest.Server
	tenant string
	op     context.Context
}

// newSSOEnv is a tenant whose admins sign in at mockoidc: members of
// allot-admins are Global Administrators, of readers Global Readers; the
// store and the admin center share the test's clock.
func newSSOEnv(t *testing.T) *ssoEnv {
	t.Helper()
	clock := &testClock{t: time.Now().UTC()}
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), PasswordCost: 4, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	sso, err := db.OIDC(store.OIDCOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAccount(op, tn.ID, "localadmin", "", allot.RoleGlobalAdministrator, "local password 1"); err != nil {
		t.Fatal(err)
	}
	idp := startIdP(t)
	cfg := idp.Config()
	if _, err := sso.SetOIDCConfig(op, allot.OIDCConfig{TenantID: tn.ID, Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RoleClaim: "groups", RoleMappings: []allot.OIDCRoleMapping{{Value: "allot-admins", Role: allot.RoleGlobalAdministrator}, {Value: "readers", Role: allot.RoleGlobalReader}}}); err != nil {
		t.Fatal(err)
	}
	svc := db.Services()
	svc.OIDC = sso
	h, err := web.New(web.Config{Services: svc, Alerts: db, Logger: slog.New(slog.DiscardHandler), Now: clock.Now, SignInsPerMinute: 1000})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &ssoEnv{t: t, db: db, sso: sso, idp: idp, clock: clock, srv: srv, tenant: tn.ID, op: op}
}

func (e *ssoEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *e.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: e.t, c: &c, base: e.srv.URL}
}

// toIdP starts single sign-on and follows the provider's redirect back,
// returning the path and query Allot is sent back to (not yet loaded).
func (e *ssoEnv) toIdP(b *browser, u *idpUser) string {
	e.t.Helper()
	e.idp.QueueUser(u)
	p := b.get("/signin?sso=" + e.tenant + "&next=/users")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), e.idp.Issuer()) {
		e.t.Fatalf("start: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	auth, _ := url.Parse(p.header.Get("Location"))
	q := auth.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		e.t.Fatalf("the authorization request lacks PKCE, a nonce or a state: %s", auth)
	}
	if q.Get("redirect_uri") != e.srv.URL+allot.OIDCCallbackPath {
		e.t.Fatalf("redirect_uri %q", q.Get("redirect_uri"))
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(auth.String())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		e.t.Fatalf("provider: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.Path + "?" + back.RawQuery
}

// signIn goes all the way and returns Allot's answer to the callback.
func (e *ssoEnv) signIn(b *browser, u *idpUser) page {
	e.t.Helper()
	return b.get(e.toIdP(b, u))
}

func sessionSet(p page) bool {
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "allot_session" && c.Value != "" {
			return true
		}
	}
	return false
}

// refused wants the sign-in page with status and message, no session
// cookie, and a browser that is still signed out.
func (e *ssoEnv) refused(b *browser, p page, status int, msg string) {
	e.t.Helper()
	if p.status != status || !strings.Contains(p.body, msg) {
		e.t.Fatalf("status %d, want %d with %q:\n%s", p.status, status, msg, p.body)
	}
	if sessionSet(p) {
		e.t.Fatal("a refused sign-in set a session cookie")
	}
	if got := b.get("/billing/licenses"); got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), "/signin") {
		e.t.Fatalf("after a refused sign-in, a page answers %d %s", got.status, got.header.Get("Location"))
	}
}

func TestOIDCSignIn(t *testing.T) {
	e := newSSOEnv(t)
	ada := &idpUser{sub: "ada-1", email: "ada@contoso.example", name: "Ada Lovelace", groups: []string{"staff", "allot-admins"}, now: e.clock.Now}

	t.Run("SignInPageOffersTheOrganization", func(t *testing.T) {
		b := e.browser()
		wantIn(t, b.get("/signin"), `id="org"`)
		p := b.get("/signin?org=" + e.tenant)
		wantIn(t, p, `id="sso-signin"`, "127.0.0.1")
		if p := b.get("/signin?org=00000000-0000-0000-0000-000000000000"); p.status != http.StatusNotFound || !strings.Contains(p.body, "not set up") {
			t.Fatalf("unknown organization: %d", p.status)
		}
	})

	var name string
	t.Run("MappedRoleAndOrdinarySession", func(t *testing.T) {
		b := e.browser()
		p := e.signIn(b, ada)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/users" || !sessionSet(p) {
			t.Fatalf("callback: %d %s %s", p.status, p.header.Get("Location"), p.body)
		}
		accounts := b.get("/settings/accounts")
		if accounts.status != http.StatusOK {
			t.Fatalf("a Global Administrator by mapping gets %d on Settings › Accounts", accounts.status)
		}
		wantIn(t, accounts, "sso:ada@contoso.example", "Ada Lovelace")
		name = "sso:ada@contoso.example"
		// CSRF as for a local session: a sign-out without the token is refused.
		if p := b.post("/signout", url.Values{}); p.status != http.StatusForbidden {
			t.Fatalf("sign-out without a CSRF token: %d", p.status)
		}
		token := csrfOf(t, accounts)
		if p := b.post("/signout", url.Values{"csrf_token": {token}}); p.status != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", p.status)
		}
		if p := b.get("/billing/licenses"); p.status != http.StatusSeeOther {
			t.Fatalf("signed out, a page answers %d", p.status)
		}
		// The organization is remembered for the next sign-in.
		wantIn(t, b.get("/signin"), `id="sso-signin"`)
	})

	t.Run("RoleFollowsTheClaimAtEachSignIn", func(t *testing.T) {
		b := e.browser()
		reader := *ada
		reader.groups = []string{"readers"}
		if p := e.signIn(b, &reader); p.status != http.StatusSeeOther {
			t.Fatalf("callback: %d %s", p.status, p.body)
		}
		if p := b.get("/settings/accounts"); p.status != http.StatusForbidden {
			t.Fatalf("a Global Reader by mapping gets %d on Settings › Accounts", p.status)
		}
		if p := b.get("/billing/licenses"); p.status != http.StatusOK {
			t.Fatalf("a Global Reader gets %d on Billing › Licenses", p.status)
		}
	})

	t.Run("RevokedAndDisabled", func(t *testing.T) {
		b := e.browser()
		e.signIn(b, ada)
		if n, err := e.db.RevokeSessions(e.op, e.tenant, name); err != nil || n == 0 {
			t.Fatalf("revoke: %d %v", n, err)
		}
		if p := b.get("/billing/licenses"); p.status != http.StatusSeeOther {
			t.Fatalf("a revoked session answers %d", p.status)
		}
		if _, err := e.db.SetAccountDisabled(e.op, e.tenant, name, true); err != nil {
			t.Fatal(err)
		}
		e.refused(b, e.signIn(b, ada), http.StatusUnauthorized, "disabled")
		if _, err := e.db.SetAccountDisabled(e.op, e.tenant, name, false); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("NoMappingIsRefused", func(t *testing.T) {
		b := e.browser()
		e.signIn(b, ada) // a session from before the groups changed
		nobody := *ada
		nobody.groups = []string{"staff"}
		other := e.browser()
		e.refused(other, e.signIn(other, &nobody), http.StatusForbidden, "none of your groups or roles gives you a role in Allot")
		if p := b.get("/billing/licenses"); p.status != http.StatusSeeOther {
			t.Fatalf("the session from before lasts after the provider took the role away: %d", p.status)
		}
	})

	t.Run("WrongAudience", func(t *testing.T) {
		b := e.browser()
		other := *ada
		other.audience = "another-application"
		e.refused(b, e.signIn(b, &other), http.StatusUnauthorized, "could not be verified")
	})

	t.Run("ExpiredToken", func(t *testing.T) {
		// A token issued two hours before Allot's clock: its ten minutes
		// are long gone.
		old := *ada
		old.age = 2 * time.Hour
		b := e.browser()
		e.refused(b, e.signIn(b, &old), http.StatusUnauthorized, "has expired")
	})

	t.Run("ExpiredByAllotsClock", func(t *testing.T) {
		b := e.browser()
		back := e.toIdP(b, ada)
		e.clock.add(2 * time.Hour) // the token's 10 minutes and the sign-in's are long gone
		defer e.clock.add(-2 * time.Hour)
		e.refused(b, b.get(back), http.StatusBadRequest, "has expired or was already used")
	})

	t.Run("TamperedState", func(t *testing.T) {
		b := e.browser()
		back := e.toIdP(b, ada)
		u, _ := url.Parse(back)
		q := u.Query()
		q.Set("state", q.Get("state")+"x")
		e.refused(b, b.get(u.Path+"?"+q.Encode()), http.StatusBadRequest, "the state does not match")
		// The sign-in the browser had is spoiled too.
		e.refused(b, b.get(back), http.StatusBadRequest, "not started in this browser")
	})

	t.Run("AnswerInAnotherBrowser", func(t *testing.T) {
		back := e.toIdP(e.browser(), ada)
		victim := e.browser()
		e.refused(victim, victim.get(back), http.StatusBadRequest, "not started in this browser")
	})

	t.Run("Replay", func(t *testing.T) {
		b := e.browser()
		back := e.toIdP(b, ada)
		cookies := b.c.Jar.Cookies(mustURL(e.srv.URL))
		if p := b.get(back); p.status != http.StatusSeeOther {
			t.Fatalf("callback: %d", p.status)
		}
		replay := e.browser()
		replay.c.Jar.SetCookies(mustURL(e.srv.URL), cookies)
		e.refused(replay, replay.get(back), http.StatusBadRequest, "expired or was already used")
	})

	t.Run("ProviderError", func(t *testing.T) {
		b := e.browser()
		back := e.toIdP(b, ada)
		u, _ := url.Parse(back)
		q := u.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		q.Set("error_description", "The user <b>declined</b>")
		p := b.get(u.Path + "?" + q.Encode())
		e.refused(b, p, http.StatusUnauthorized, "access_denied")
		if strings.Contains(p.body, "<b>declined") {
			t.Fatal("the provider's text is not escaped")
		}
	})

	t.Run("NoPasswordForAFederatedAccount", func(t *testing.T) {
		_, pw, err := e.db.ResetPassword(e.op, e.tenant, name)
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		token := csrfOf(t, b.get("/signin"))
		if p := b.post("/signin", url.Values{"csrf_token": {token}, "username": {name}, "password": {pw}}); p.status != http.StatusUnauthorized {
			t.Fatalf("a federated account signed in with a password: %d", p.status)
		}
		token = csrfOf(t, b.get("/signin"))
		if p := b.post("/signin", url.Values{"csrf_token": {token}, "username": {"localadmin"}, "password": {"local password 1"}}); p.status != http.StatusSeeOther {
			t.Fatalf("a local account no longer signs in: %d", p.status)
		}
	})

	t.Run("RemovedConfigurationEndsSessions", func(t *testing.T) {
		b := e.browser()
		if p := e.signIn(b, ada); p.status != http.StatusSeeOther {
			t.Fatalf("callback: %d %s", p.status, p.body)
		}
		if err := e.sso.RemoveOIDCConfig(e.op, e.tenant); err != nil {
			t.Fatal(err)
		}
		if p := b.get("/billing/licenses"); p.status != http.StatusSeeOther {
			t.Fatalf("a single sign-on session outlived its configuration: %d", p.status)
		}
		if p := b.get("/signin?sso=" + e.tenant); p.status != http.StatusNotFound {
			t.Fatalf("start without a configuration: %d", p.status)
		}
	})
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }
