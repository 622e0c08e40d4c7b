package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// manualClock moves only when told to.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestTokenLifecycle: a token is a 256-bit random secret that authenticates
// as its tenant and role until it expires or is revoked, and never after;
// malformed, unknown and other tenants' tokens are refused alike.
func TestTokenLifecycle(t *testing.T) {
	clk := &manualClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), Catalog: catalog.Demo(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	refused := func(t *testing.T, secret string) {
		t.Helper()
		if a, err := db.Authenticate(ctx, secret); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("Authenticate(%.12q…) = %+v, %v; want unauthorized", secret, a, err)
		}
	}

	forever, tok, err := db.CreateToken(op, tn.ID, allot.RoleGlobalAdministrator, "admin", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(forever, "allot_") || len(forever) != len("allot_")+43 {
		t.Fatalf("secret %q: want allot_ and 43 base64url characters (256 bits)", forever)
	}
	if !tok.ExpiresAt.IsZero() {
		t.Fatalf("a token without ttl expires at %v", tok.ExpiresAt)
	}
	a, err := db.Authenticate(ctx, forever)
	if err != nil || a.TenantID != tn.ID || a.Role != allot.RoleGlobalAdministrator || a.TokenID != tok.ID || a.Operator {
		t.Fatalf("Authenticate = %+v, %v", a, err)
	}
	admin := allot.NewContextWithActor(ctx, a)

	t.Run("Expires", func(t *testing.T) {
		secret, tok, err := db.CreateToken(admin, "", allot.RoleGlobalReader, "short", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !tok.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
			t.Fatalf("expires at %v", tok.ExpiresAt)
		}
		clk.add(59 * time.Minute)
		if _, err := db.Authenticate(ctx, secret); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		clk.add(time.Minute)
		refused(t, secret)
		if _, err := db.Authenticate(ctx, forever); err != nil {
			t.Fatalf("a token without expiry after an hour: %v", err)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		secret, tok, err := db.CreateToken(admin, "", allot.RoleLicenseAdministrator, "bot", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeToken(admin, tok.ID); err != nil {
			t.Fatal(err)
		}
		refused(t, secret)
		toks, err := db.ListTokens(admin)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range toks {
			if x.ID == tok.ID && !x.Revoked {
				t.Errorf("listed as not revoked: %+v", x)
			}
		}
	})
	t.Run("OtherTenantCannotRevoke", func(t *testing.T) {
		otherSecret, _, err := db.CreateToken(op, other.ID, allot.RoleGlobalAdministrator, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		oa, err := db.Authenticate(ctx, otherSecret)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeToken(allot.NewContextWithActor(ctx, oa), tok.ID); allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Fatalf("revoking another tenant's token: %v, want not found", err)
		}
		if _, err := db.Authenticate(ctx, forever); err != nil {
			t.Fatalf("the token was revoked by another tenant: %v", err)
		}
		if _, _, err := db.CreateToken(allot.NewContextWithActor(ctx, oa), tn.ID, allot.RoleGlobalAdministrator, "", 0); allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Fatalf("creating a token in another tenant: %v, want not found", err)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		for _, s := range []string{"", "allot_", forever[:len(forever)-1], forever + "x", strings.ToUpper(forever),
			"allot_" + strings.Repeat("A", 43), strings.TrimPrefix(forever, "allot_"), forever + strings.Repeat("x", 300)} {
			refused(t, s)
		}
	})
}
