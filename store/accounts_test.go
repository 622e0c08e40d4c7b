package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// settableClock is a test clock that tests move by hand.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *settableClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func accountEnv(t *testing.T) (*store.DB, *settableClock, context.Context, *allot.Tenant) {
	t.Helper()
	c := &settableClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), Catalog: testCatalog(), Now: c.Now, PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	return db, c, op, tn
}

func TestAccounts(t *testing.T) {
	db, clock, op, tn := accountEnv(t)
	ctx := context.Background()
	acc, err := db.CreateAccount(op, tn.ID, "Lena.Admin", "Lena", allot.RoleLicenseAdministrator, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if acc.TenantID != tn.ID || acc.Role != allot.RoleLicenseAdministrator {
		t.Fatalf("account %+v", acc)
	}

	t.Run("RefusedInput", func(t *testing.T) {
		for _, c := range []struct {
			name, user, pass string
			role             allot.Role
			code             string
		}{
			{"TakenUsernameAnyCase", "lena.admin", "another password", allot.RoleGlobalReader, allot.ECONFLICT},
			{"ShortPassword", "short", "abc", allot.RoleGlobalReader, allot.EINVALID},
			{"BadUsername", "no spaces", "long enough password", allot.RoleGlobalReader, allot.EINVALID},
			{"UnknownRole", "someone", "long enough password", allot.Role("Owner"), allot.EINVALID},
		} {
			if _, err := db.CreateAccount(op, tn.ID, c.user, "", c.role, c.pass); allot.ErrorCode(err) != c.code {
				t.Errorf("%s: %v, want %s", c.name, err, c.code)
			}
		}
		if _, err := db.CreateAccount(op, "no-such-tenant", "x-user", "", allot.RoleGlobalReader, "long enough password"); allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Errorf("unknown tenant: %v", err)
		}
	})

	t.Run("OnlyTenantAdminsCreateAccounts", func(t *testing.T) {
		lic := allot.NewContextWithActor(ctx, allot.Actor{TenantID: tn.ID, Role: allot.RoleLicenseAdministrator})
		if _, err := db.CreateAccount(lic, tn.ID, "sneaky", "", allot.RoleGlobalAdministrator, "long enough password"); allot.ErrorCode(err) != allot.EFORBIDDEN {
			t.Fatalf("license admin created an account: %v", err)
		}
		ga := allot.NewContextWithActor(ctx, allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator})
		if _, err := db.CreateAccount(ga, "", "reader", "", allot.RoleGlobalReader, "long enough password"); err != nil {
			t.Fatal(err)
		}
		other, _ := db.CreateTenant(op, allot.Tenant{DisplayName: "Fabrikam"})
		if _, err := db.CreateAccount(ga, other.ID, "outsider", "", allot.RoleGlobalReader, "long enough password"); allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Fatalf("account in another tenant: %v", err)
		}
		list, err := db.ListAccounts(ga)
		if err != nil || len(list) != 2 || list[0].Username != "Lena.Admin" || list[1].Username != "reader" {
			t.Fatalf("accounts %+v %v", list, err)
		}
		if _, err := db.ListAccounts(lic); allot.ErrorCode(err) != allot.EFORBIDDEN {
			t.Fatalf("license admin listed accounts: %v", err)
		}
	})

	t.Run("SignInAndOut", func(t *testing.T) {
		secret, a, err := db.SignIn(ctx, "LENA.admin", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if a.TenantID != tn.ID || a.Role != allot.RoleLicenseAdministrator || a.Name != "Lena.Admin" {
			t.Fatalf("actor %+v", a)
		}
		got, err := db.SessionActor(ctx, secret)
		if err != nil || got != a {
			t.Fatalf("session actor %+v %v", got, err)
		}
		if _, err := db.SessionActor(ctx, secret+"x"); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("forged secret: %v", err)
		}
		if err := db.SignOut(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionActor(ctx, secret); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("after sign-out: %v", err)
		}
	})

	t.Run("SessionExpires", func(t *testing.T) {
		secret, _, err := db.SignIn(ctx, "lena.admin", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(allot.SessionLifetime - time.Second)
		if _, err := db.SessionActor(ctx, secret); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		clock.Add(time.Second)
		if _, err := db.SessionActor(ctx, secret); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("after expiry: %v", err)
		}
	})

	t.Run("WrongPasswordsLockTheAccount", func(t *testing.T) {
		if _, _, err := db.SignIn(ctx, "nobody", "whatever password"); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("unknown user: %v", err)
		}
		for i := range allot.MaxFailedSignIns {
			if _, _, err := db.SignIn(ctx, "lena.admin", "wrong password"); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		// Locked: even the right password is refused until the lock ends.
		if _, _, err := db.SignIn(ctx, "lena.admin", "correct horse battery"); allot.ErrorCode(err) != allot.ETOOMANY {
			t.Fatalf("locked account: %v", err)
		}
		clock.Add(time.Minute)
		if _, _, err := db.SignIn(ctx, "lena.admin", "correct horse battery"); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
		// Success resets the count: one more failure does not lock.
		db.SignIn(ctx, "lena.admin", "wrong password")
		if _, _, err := db.SignIn(ctx, "lena.admin", "correct horse battery"); err != nil {
			t.Fatalf("after one failure: %v", err)
		}
	})

	t.Run("RoleIsReadEachRequest", func(t *testing.T) {
		secret, _, err := db.SignIn(ctx, "reader", "long enough password")
		if err != nil {
			t.Fatal(err)
		}
		a, err := db.SessionActor(ctx, secret)
		if err != nil || a.Role != allot.RoleGlobalReader || a.Name != "reader" {
			t.Fatalf("reader %+v %v", a, err)
		}
	})
}
