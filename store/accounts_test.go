package store_test

import (
	"context"
	"sort"
	"strings"
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
		secret, a, err := db.SignIn(ctx, "LENA.admin", "correct horse battery", "192.0.2.1")
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
		secret, _, err := db.SignIn(ctx, "lena.admin", "correct horse battery", "192.0.2.1")
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

	t.Run("RoleIsReadEachRequest", func(t *testing.T) {
		secret, _, err := db.SignIn(ctx, "reader", "long enough password", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		a, err := db.SessionActor(ctx, secret)
		if err != nil || a.Role != allot.RoleGlobalReader || a.Name != "reader" {
			t.Fatalf("reader %+v %v", a, err)
		}
	})
}

// TestSignInLockIsPerClient: wrong passwords lock a username for the
// client they came from only, a known username exactly like an unknown one,
// and the owner still signs in from another address.
func TestSignInLockIsPerClient(t *testing.T) {
	db, clock, op, tn := accountEnv(t)
	ctx := context.Background()
	if _, err := db.CreateAccount(op, tn.ID, "lena", "", allot.RoleGlobalAdministrator, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	const attacker, owner = "198.51.100.7", "192.0.2.1"
	fail := func(user, client string) string {
		t.Helper()
		_, _, err := db.SignIn(ctx, user, "wrong password", client)
		return allot.ErrorCode(err) + " " + allot.ErrorMessage(err)
	}
	for i := range allot.MaxFailedSignIns {
		known, unknown := fail("lena", attacker), fail("nobody", attacker)
		if known != unknown || allot.ErrorCode(errorOf(known)) != allot.EUNAUTHORIZED {
			t.Fatalf("attempt %d: known %q, unknown %q", i, known, unknown)
		}
	}
	known, unknown := fail("LENA", attacker), fail("NOBODY", attacker)
	if known != unknown || !strings.HasPrefix(known, allot.ETOOMANY) {
		t.Fatalf("after %d failures: known %q, unknown %q", allot.MaxFailedSignIns, known, unknown)
	}
	// The right password from the locked client is refused too: the lock
	// is not a hint that it was right.
	if _, _, err := db.SignIn(ctx, "lena", "correct horse battery", attacker); allot.ErrorCode(err) != allot.ETOOMANY {
		t.Fatalf("right password from the locked client: %v", err)
	}
	// The owner, elsewhere, is not locked out.
	if _, _, err := db.SignIn(ctx, "lena", "correct horse battery", owner); err != nil {
		t.Fatalf("owner from another address: %v", err)
	}
	// Each further failure after a lock doubles it: 1, 2, 4 minutes.
	for _, lock := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		clock.Add(lock - time.Second)
		if got := fail("lena", attacker); !strings.HasPrefix(got, allot.ETOOMANY) {
			t.Fatalf("%v lock, a second before its end: %q", lock, got)
		}
		clock.Add(time.Second)
		if got := fail("lena", attacker); !strings.HasPrefix(got, allot.EUNAUTHORIZED) {
			t.Fatalf("%v lock, at its end: %q", lock, got)
		}
	}
	// A success from a client forgets that client's failures only (the
	// attacker's 8-minute lock has just begun).
	for range allot.MaxFailedSignIns - 1 {
		fail("lena", owner)
	}
	if _, _, err := db.SignIn(ctx, "lena", "correct horse battery", owner); err != nil {
		t.Fatal(err)
	}
	for range allot.MaxFailedSignIns - 1 {
		fail("lena", owner)
	}
	if got := fail("lena", owner); !strings.HasPrefix(got, allot.EUNAUTHORIZED) {
		t.Fatalf("the count was not reset by the success: %q", got)
	}
	if got := fail("lena", attacker); !strings.HasPrefix(got, allot.ETOOMANY) {
		t.Fatalf("the attacker's count was reset by the owner's success: %q", got)
	}
	// A day without failures forgets them.
	clock.Add(failureMemory + time.Minute)
	fail("someone-else", owner) // the clean-up runs on a failure
	if got := fail("lena", attacker); !strings.HasPrefix(got, allot.EUNAUTHORIZED) {
		t.Fatalf("a day later: %q", got)
	}
}

const failureMemory = 24 * time.Hour

func errorOf(s string) error {
	code, msg, _ := strings.Cut(s, " ")
	return allot.Errorf(code, "%s", msg)
}

// TestManageAccounts: disable, enable, reset a password and revoke
// sessions, by the operator and by a tenant's Global Administrator; each is
// audited; other roles and other tenants are refused.
func TestManageAccounts(t *testing.T) {
	db, _, op, tn := accountEnv(t)
	ctx := context.Background()
	const pw = "correct horse battery"
	for _, u := range []string{"lena", "boss"} {
		role := allot.RoleLicenseAdministrator
		if u == "boss" {
			role = allot.RoleGlobalAdministrator
		}
		if _, err := db.CreateAccount(op, tn.ID, u, "", role, pw); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(user, password string) (string, error) {
		t.Helper()
		s, _, err := db.SignIn(ctx, user, password, "192.0.2.1")
		return s, err
	}
	secret, err := signIn("lena", pw)
	if err != nil {
		t.Fatal(err)
	}
	bossSecret, err := signIn("boss", pw)
	if err != nil {
		t.Fatal(err)
	}
	boss, err := db.SessionActor(ctx, bossSecret)
	if err != nil {
		t.Fatal(err)
	}
	ga := allot.NewContextWithActor(ctx, boss)

	t.Run("Disable", func(t *testing.T) {
		acc, err := db.SetAccountDisabled(ga, "", "LENA", true)
		if err != nil || !acc.Disabled || acc.Username != "lena" {
			t.Fatalf("disable: %+v %v", acc, err)
		}
		if _, err := db.SessionActor(ctx, secret); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("the session outlived the disable: %v", err)
		}
		if _, err := signIn("lena", pw); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("disabled account signed in: %v", err)
		}
		if acc, err := db.SetAccountDisabled(op, tn.ID, "lena", false); err != nil || acc.Disabled {
			t.Fatalf("enable: %+v %v", acc, err)
		}
		if secret, err = signIn("lena", pw); err != nil {
			t.Fatalf("enabled account: %v", err)
		}
		if _, err := db.SetAccountDisabled(ga, "", "boss", true); allot.ErrorCode(err) != allot.EINVALID {
			t.Fatalf("disabled itself: %v", err)
		}
	})

	t.Run("ResetPassword", func(t *testing.T) {
		acc, newPW, err := db.ResetPassword(op, tn.ID, "lena")
		if err != nil || acc.Username != "lena" || len(newPW) < allot.MinPasswordLength {
			t.Fatalf("reset: %+v %q %v", acc, newPW, err)
		}
		if _, err := db.SessionActor(ctx, secret); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("the session outlived the reset: %v", err)
		}
		if _, err := signIn("lena", pw); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("old password: %v", err)
		}
		// A reset also lifts a lock, here on the client just used.
		for range allot.MaxFailedSignIns {
			signIn("lena", "wrong password")
		}
		if _, err := signIn("lena", newPW); allot.ErrorCode(err) != allot.ETOOMANY {
			t.Fatalf("locked: %v", err)
		}
		_, again, err := db.ResetPassword(ga, "", "lena")
		if err != nil || again == newPW {
			t.Fatalf("second reset: %q %v", again, err)
		}
		if secret, err = signIn("lena", again); err != nil {
			t.Fatalf("new password: %v", err)
		}
	})

	t.Run("RevokeSessions", func(t *testing.T) {
		if _, err := signIn("lena", "wrong password"); err == nil {
			t.Fatal("wrong password accepted")
		}
		n, err := db.RevokeSessions(ga, "", "lena")
		if err != nil || n != 1 {
			t.Fatalf("revoke: %d %v", n, err)
		}
		if _, err := db.SessionActor(ctx, secret); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
			t.Fatalf("the session outlived the revoke: %v", err)
		}
		if n, err := db.RevokeSessions(op, tn.ID, "lena"); err != nil || n != 0 {
			t.Fatalf("revoke again: %d %v", n, err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		lic := allot.NewContextWithActor(ctx, allot.Actor{TenantID: tn.ID, Role: allot.RoleLicenseAdministrator, Name: "lena"})
		if _, err := db.SetAccountDisabled(lic, "", "boss", true); allot.ErrorCode(err) != allot.EFORBIDDEN {
			t.Errorf("license admin disabled: %v", err)
		}
		if _, _, err := db.ResetPassword(lic, "", "boss"); allot.ErrorCode(err) != allot.EFORBIDDEN {
			t.Errorf("license admin reset: %v", err)
		}
		if _, err := db.RevokeSessions(lic, "", "boss"); allot.ErrorCode(err) != allot.EFORBIDDEN {
			t.Errorf("license admin revoked: %v", err)
		}
		other, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Fabrikam"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateAccount(op, other.ID, "outsider", "", allot.RoleGlobalReader, pw); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetAccountDisabled(ga, "", "outsider", true); allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Errorf("another tenant's account: %v", err)
		}
		if _, err := db.SetAccountDisabled(ga, other.ID, "outsider", true); allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Errorf("another tenant: %v", err)
		}
		if _, err := db.RevokeSessions(op, tn.ID, "outsider"); allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Errorf("operator, wrong tenant: %v", err)
		}
		if _, _, err := db.ResetPassword(op, "", "outsider"); allot.ErrorCode(err) != allot.EINVALID {
			t.Errorf("operator without a tenant: %v", err)
		}
		if _, err := db.RevokeSessions(ga, "", "nobody"); allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Errorf("unknown account: %v", err)
		}
	})

	t.Run("Audited", func(t *testing.T) {
		page, err := db.Audit(ga, allot.AuditFilter{Top: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range page.Items {
			if e.TargetType == "Account" && e.Activity != "Add role assignment" {
				got = append(got, e.Actor+": "+e.Activity)
			}
		}
		sort.Strings(got)
		want := []string{"boss: Disable account", "boss: Reset password", "boss: Revoke sessions",
			"operator: Enable account", "operator: Reset password", "operator: Revoke sessions"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("audit\n got %q\nwant %q", got, want)
		}
		for _, e := range page.Items {
			if strings.Contains(e.After, "password\"") || strings.Contains(e.Before, "password\"") {
				t.Fatalf("a password in the audit log: %+v", e)
			}
		}
	})
}
