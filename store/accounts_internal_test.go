package store

import (
	"context"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
)

// TestSignInWorkIsAlike counts bcrypt comparisons: a wrong password, an
// unknown username and a disabled account each cost one, so the time a
// refusal takes does not tell them apart; a lock costs none, for a known
// and an unknown username alike.
func TestSignInWorkIsAlike(t *testing.T) {
	db, err := Open(context.Background(), Config{DSN: testdb.DSN(t, true), PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"lena", "gone"} {
		if _, err := db.CreateAccount(op, tn.ID, u, "", allot.RoleGlobalReader, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SetAccountDisabled(op, tn.ID, "gone", true); err != nil {
		t.Fatal(err)
	}
	n := 0
	defer func(f func([]byte, []byte) error) { comparePassword = f }(comparePassword)
	real := comparePassword
	comparePassword = func(h, p []byte) error { n++; return real(h, p) }
	count := func(user, password, client string) (int, string) {
		n = 0
		_, _, err := db.SignIn(context.Background(), user, password, client)
		return n, allot.ErrorCode(err)
	}
	for _, c := range []struct{ name, user, password string }{
		{"WrongPassword", "lena", "wrong password"},
		{"UnknownUsername", "nobody", "wrong password"},
		{"DisabledAccount", "gone", "correct horse battery"},
		{"NoAccountCanHaveIt", "a b", "wrong password"},
		{"RightPassword", "lena", "correct horse battery"},
	} {
		if got, code := count(c.user, c.password, "192.0.2.1"); got != 1 {
			t.Errorf("%s: %d comparisons (%s), want 1", c.name, got, code)
		}
	}
	for range allot.MaxFailedSignIns {
		count("lena", "wrong password", "198.51.100.7")
		count("nobody", "wrong password", "198.51.100.7")
	}
	for _, user := range []string{"lena", "nobody"} {
		if got, code := count(user, "wrong password", "198.51.100.7"); got != 0 || code != allot.ETOOMANY {
			t.Errorf("%s locked: %d comparisons, %s", user, got, code)
		}
	}
}
