package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// idPerson is someone at the test's identity provider, with the groups
// claim and, to forge a token made for another application, an audience.
type idPerson struct {
	sub, email, name string
	groups           []string
	audience         string
}

func (p *idPerson) ID() string { return p.sub }

func (p *idPerson) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": p.sub, "email": p.email})
}

func (p *idPerson) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if p.audience != "" {
		base.Audience = jwt.ClaimStrings{p.audience}
	}
	return &struct {
		*mockoidc.IDTokenClaims
		PreferredUsername string   `json:"preferred_username,omitempty"`
		Name              string   `json:"name,omitempty"`
		Groups            []string `json:"groups,omitempty"`
	}{base, p.email, p.name, p.groups}, nil
}

// tamperState is mockoidc middleware that, while on, changes the state in
// the provider's redirect back to Allot, as an attacker between the two
// would.
type tamperState struct {
	http.ResponseWriter
	on *atomic.Bool
}

func (w tamperState) WriteHeader(code int) {
	if loc := w.Header().Get("Location"); loc != "" && w.on.Load() {
		if u, err := url.Parse(loc); err == nil {
			q := u.Query()
			q.Set("state", q.Get("state")+"-tampered")
			u.RawQuery = q.Encode()
			w.Header().Set("Location", u.String())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// TestBrowserOIDCSignIn signs admins in through a real OpenID Connect
// provider (mockoidc) started by the test: the role comes from the groups
// claim, the session works as a local one (CSRF, roles, sign-out,
// revocation from Settings › Accounts), and a person without a mapped
// group, a token for another audience, an expired token and a tampered
// state are each refused with a message and no session.
func TestBrowserOIDCSignIn(t *testing.T) {
	chromiumPath(t)
	idp, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	var tamper atomic.Bool
	if err := idp.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(tamperState{w, &tamper}, r) })
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })

	dir := t.TempDir()
	key := make([]byte, 32)
	rand.Read(key)
	keyFile, secretFile := filepath.Join(dir, "sso-key"), filepath.Join(dir, "client-secret")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(idp.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "--sso-key-file", keyFile)
	var out strings.Builder
	if err := run(context.Background(), []string{"sso", "set", "--db", f.srv.db, "--tenant", f.tenant, "--sso-key-file", keyFile,
		"--issuer", idp.Issuer(), "--client-id", idp.ClientID, "--client-secret-file", secretFile, "--claim", "groups",
		"--map", "allot-admins=GlobalAdministrator", "--map", "license-team=LicenseAdministrator"}, &out, io.Discard); err != nil {
		t.Fatalf("allot sso set: %v", err)
	}
	if !strings.Contains(out.String(), "client secret set (encrypted)") || strings.Contains(out.String(), idp.ClientSecret) {
		t.Fatalf("allot sso set printed:\n%s", out.String())
	}

	ada := &idPerson{sub: "ada-1", email: "ada@fabrikam.example", name: "Ada Lovelace", groups: []string{"staff", "allot-admins"}}
	lin := &idPerson{sub: "lin-2", email: "lin@fabrikam.example", name: "Lin License", groups: []string{"license-team"}}
	const adaName, linName = "sso:ada@fabrikam.example", "sso:lin@fabrikam.example"

	// ssoSignIn goes from the sign-in page to the provider and back, and
	// returns the status of the page it ends on.
	ssoSignIn := func(b *browser, who *idPerson) int64 {
		b.t.Helper()
		idp.QueueUser(who)
		b.open("/signin?org=" + f.tenant)
		b.wantPresent("#sso-signin")
		return b.pressStatus("#sso-signin")
	}
	// refused wants the message on the sign-in page and no session.
	refused := func(b *browser, status, want int64, msg, shot string) {
		b.t.Helper()
		if status != want {
			b.fatal("status %d, want %d", status, want)
		}
		b.wantText("#signin-error", msg)
		if shot != "" {
			b.shot(shot)
		}
		b.load(chromedp.Navigate(b.base + "/billing/licenses"))
		if loc := b.location(); !strings.HasPrefix(loc, "/signin") {
			b.fatal("refused, yet signed in: at %s", loc)
		}
	}

	b := f.browser(t)
	t.Run("GlobalAdministratorByGroup", func(t *testing.T) {
		b.t = t
		b.open("/signin?org=" + f.tenant)
		b.wantText(".signin-sso", "Sign in with your organization", "127.0.0.1")
		b.shot("sso-signin")
		if st := ssoSignIn(b, ada); st != 200 {
			b.fatal("single sign-on: status %d", st)
		}
		b.wantText(".topbar .name", adaName)
		b.wantText(".topbar .role", "Global Administrator")
		b.open("/settings/accounts")
		b.wantText(`tr[data-account="`+adaName+`"]`, "Ada Lovelace", "Global Administrator")
		b.shot("sso-signed-in")
		// CSRF as for any session: a form without the token is refused.
		if st := b.fetchStatus("/signout", map[string][]string{}); st != 403 {
			b.fatal("sign-out without a CSRF token: %d", st)
		}
		b.signOut()
		b.load(chromedp.Navigate(b.base + "/billing/licenses"))
		if loc := b.location(); !strings.HasPrefix(loc, "/signin") {
			b.fatal("signed out, yet at %s", loc)
		}
	})

	t.Run("LicenseAdministratorByGroup", func(t *testing.T) {
		b.t = t
		if st := ssoSignIn(b, lin); st != 200 {
			b.fatal("single sign-on: status %d", st)
		}
		b.wantText(".topbar .role", "License Administrator")
		if st := b.load(chromedp.Navigate(b.base + "/settings/accounts")); st != 403 {
			b.fatal("a License Administrator by mapping gets %d on Settings › Accounts", st)
		}
		b.signOut()
	})

	t.Run("RevokedFromSettingsAccounts", func(t *testing.T) {
		b.t = t
		if st := ssoSignIn(b, ada); st != 200 {
			b.fatal("single sign-on: status %d", st)
		}
		admin := f.browser(t)
		f.signIn(admin, "gloria.global") // local accounts keep working
		admin.open("/settings/accounts")
		admin.press(`tr[data-account="` + adaName + `"] button[value="revoke-sessions"]`)
		admin.wantText("main", adaName+" is signed out everywhere")
		b.load(chromedp.Navigate(b.base + "/billing/licenses"))
		if loc := b.location(); !strings.HasPrefix(loc, "/signin") {
			b.fatal("a revoked single sign-on session still works: at %s", loc)
		}
	})

	t.Run("NoMappedGroup", func(t *testing.T) {
		b.t = t
		nobody := &idPerson{sub: "nat-3", email: "nat@fabrikam.example", name: "Nat", groups: []string{"staff"}}
		refused(b, ssoSignIn(b, nobody), 403, "none of your groups or roles gives you a role in Allot", "sso-refused-no-role")
	})

	t.Run("WrongAudience", func(t *testing.T) {
		b.t = t
		forged := *ada
		forged.audience = "another-application"
		refused(b, ssoSignIn(b, &forged), 401, "could not be verified", "")
	})

	t.Run("ExpiredToken", func(t *testing.T) {
		b.t = t
		// The provider's clock is set two hours back, so the token it
		// issues expired long before Allot reads it; nothing waits.
		idp.FastForward(-2 * time.Hour)
		defer idp.FastForward(2 * time.Hour)
		refused(b, ssoSignIn(b, ada), 401, "has expired", "")
	})

	t.Run("TamperedState", func(t *testing.T) {
		b.t = t
		tamper.Store(true)
		defer tamper.Store(false)
		refused(b, ssoSignIn(b, ada), 400, "the state does not match", "sso-refused-state")
	})

	t.Run("SignsInAgain", func(t *testing.T) {
		b.t = t
		if st := ssoSignIn(b, lin); st != 200 {
			b.fatal("single sign-on after the refusals: status %d", st)
		}
		b.wantText(".topbar .name", linName)
	})
}
