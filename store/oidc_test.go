package store_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

func ssoKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func ssoConfig(tenant string) allot.OIDCConfig {
	return allot.OIDCConfig{TenantID: tenant, Issuer: "https://login.example.com/contoso/v2.0", ClientID: "allot-client",
		ClientSecret: "the-client-secret-0123456789", RoleClaim: "roles", Scopes: []string{"groups", "openid", "groups"},
		RoleMappings: []allot.OIDCRoleMapping{{Value: "Allot.Licenses", Role: allot.RoleLicenseAdministrator}, {Value: "Allot.Admin", Role: allot.RoleGlobalAdministrator}}}
}

func TestOIDCConfig(t *testing.T) {
	dsn := testdb.DSN(t, false)
	c := &settableClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	db, err := store.Open(context.Background(), store.Config{DSN: dsn, Now: c.Now, PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	sso, err := db.OIDC(store.OIDCOptions{Key: ssoKey(1), PublicURL: "https://allot.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.OIDC(store.OIDCOptions{Key: []byte("short")}); err == nil {
		t.Fatal("a 5-byte key was taken")
	}

	for name, change := range map[string]func(*allot.OIDCConfig){
		"plain http":   func(c *allot.OIDCConfig) { c.Issuer = "http://login.example.com" },
		"no client id": func(c *allot.OIDCConfig) { c.ClientID = "" },
		"bad claim":    func(c *allot.OIDCConfig) { c.RoleClaim = "a b" },
		"no mapping":   func(c *allot.OIDCConfig) { c.RoleMappings = nil },
		"unknown role": func(c *allot.OIDCConfig) { c.RoleMappings = []allot.OIDCRoleMapping{{Value: "x", Role: "Emperor"}} },
		"empty value": func(c *allot.OIDCConfig) {
			c.RoleMappings = []allot.OIDCRoleMapping{{Value: " ", Role: allot.RoleGlobalReader}}
		},
		"issuer w/query": func(c *allot.OIDCConfig) { c.Issuer += "?x=1" },
	} {
		cfg := ssoConfig(tn.ID)
		change(&cfg)
		if _, err := sso.SetOIDCConfig(op, cfg); allot.ErrorCode(err) != allot.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	cfg := ssoConfig(tn.ID)
	cfg.Issuer = "http://127.0.0.1:9999/oidc" // a provider on this machine, for tests
	if _, err := sso.SetOIDCConfig(op, cfg); err != nil {
		t.Fatalf("loopback http issuer: %v", err)
	}

	got, err := sso.SetOIDCConfig(op, ssoConfig(tn.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientSecret != "" || !got.HasClientSecret || got.RedirectURL != "https://allot.example.com/signin" || strings.Join(got.Scopes, ",") != "groups" {
		t.Fatalf("answer %+v", got)
	}
	if got, err := sso.OIDCConfig(op, tn.ID); err != nil || got.ClientSecret != "" || !got.HasClientSecret {
		t.Fatalf("OIDCConfig: %+v %v", got, err)
	}
	if got, err := sso.OIDCSignInConfig(context.Background(), tn.ID); err != nil || got.ClientSecret != "the-client-secret-0123456789" {
		t.Fatalf("OIDCSignInConfig: %+v %v", got, err)
	}
	// An empty secret keeps the stored one.
	keep := ssoConfig(tn.ID)
	keep.ClientSecret = ""
	if _, err := sso.SetOIDCConfig(op, keep); err != nil {
		t.Fatal(err)
	}
	if got, _ := sso.OIDCSignInConfig(context.Background(), tn.ID); got.ClientSecret != "the-client-secret-0123456789" {
		t.Fatalf("the secret was not kept: %q", got.ClientSecret)
	}
	// Sealed: another key does not open it, and the database files never
	// hold it in the clear.
	other, _ := db.OIDC(store.OIDCOptions{Key: ssoKey(2)})
	if _, err := other.OIDCSignInConfig(context.Background(), tn.ID); err == nil {
		t.Fatal("another key opened the client secret")
	}
	noKey, _ := db.OIDC(store.OIDCOptions{})
	if _, err := noKey.SetOIDCConfig(op, ssoConfig(tn.ID)); allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("a secret without a key: %v", err)
	}
	if !testdb.Postgres() {
		for _, f := range []string{dsn, dsn + "-wal"} {
			if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("the-client-secret")) {
				t.Fatalf("%s holds the client secret in the clear", f)
			}
		}
	}
	// Nor does the audit log.
	page, err := db.Audit(allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator}), allot.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range page.Items {
		found = found || a.Activity == "Update single sign-on"
		if strings.Contains(a.Before+a.After, "the-client-secret") {
			t.Fatalf("the audit log holds the secret: %+v", a)
		}
	}
	if !found {
		t.Fatal("no audit entry")
	}

	// A tenant actor without PermManageTenant may not read or change it;
	// another tenant's is not found.
	reader := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalReader})
	if _, err := sso.OIDCConfig(reader, ""); allot.ErrorCode(err) != allot.EFORBIDDEN {
		t.Fatalf("a Global Reader: %v", err)
	}
	ga := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator})
	if _, err := sso.OIDCConfig(ga, "00000000-0000-0000-0000-000000000001"); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("another tenant: %v", err)
	}

	t.Run("SignIn", func(t *testing.T) {
		id := allot.OIDCIdentity{Issuer: "https://login.example.com/contoso/v2.0", Subject: "sub-1", Username: "Ada@Contoso.example", DisplayName: "Ada",
			RoleValues: []string{"Allot.Admin", "Allot.Licenses"}}
		secret, a, err := sso.OIDCSignIn(context.Background(), tn.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		// The first mapping in order wins, not the most powerful role.
		if a.Role != allot.RoleLicenseAdministrator || a.Name != "sso:ada@contoso.example" {
			t.Fatalf("actor %+v", a)
		}
		if got, err := db.SessionActor(context.Background(), secret); err != nil || got.Role != allot.RoleLicenseAdministrator {
			t.Fatalf("session: %+v %v", got, err)
		}
		// The same subject is the same account, whatever its name now.
		id.Username, id.RoleValues = "ada.renamed@contoso.example", []string{"Allot.Admin"}
		_, a2, err := sso.OIDCSignIn(context.Background(), tn.ID, id)
		if err != nil || a2.TokenID != a.TokenID || a2.Role != allot.RoleGlobalAdministrator {
			t.Fatalf("second sign-in: %+v %v", a2, err)
		}
		if got, _ := db.SessionActor(context.Background(), secret); got.Role != allot.RoleGlobalAdministrator {
			t.Fatalf("the first session's role did not follow: %s", got.Role)
		}
		// Another issuer is refused.
		bad := id
		bad.Issuer = "https://evil.example.com"
		if _, _, err := sso.OIDCSignIn(context.Background(), tn.ID, bad); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("another issuer: %v", err)
		}
		// No mapping: refused, and the sessions end.
		id.RoleValues = []string{"Staff"}
		if _, _, err := sso.OIDCSignIn(context.Background(), tn.ID, id); allot.ErrorCode(err) != allot.EFORBIDDEN {
			t.Fatalf("no mapping: %v", err)
		}
		if _, err := db.SessionActor(context.Background(), secret); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("a session outlived the role: %v", err)
		}
	})

	t.Run("Logins", func(t *testing.T) {
		l := allot.OIDCLogin{State: strings.Repeat("s", 43), TenantID: tn.ID, Verifier: "v", Nonce: "n", Next: "/users"}
		if err := sso.StartOIDCSignIn(context.Background(), l); err != nil {
			t.Fatal(err)
		}
		got, err := sso.TakeOIDCSignIn(context.Background(), l.State)
		if err != nil || got.Next != "/users" || got.Verifier != "v" {
			t.Fatalf("take: %+v %v", got, err)
		}
		if _, err := sso.TakeOIDCSignIn(context.Background(), l.State); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("taken twice: %v", err)
		}
		l.State = strings.Repeat("t", 43)
		if err := sso.StartOIDCSignIn(context.Background(), l); err != nil {
			t.Fatal(err)
		}
		c.Add(allot.OIDCLoginLifetime)
		if _, err := sso.TakeOIDCSignIn(context.Background(), l.State); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("expired: %v", err)
		}
	})

	if err := sso.RemoveOIDCConfig(op, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sso.OIDCSignInConfig(context.Background(), tn.ID); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("after remove: %v", err)
	}
}
