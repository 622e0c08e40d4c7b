package main

import (
	"context"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// TestAccountCommands: the operator disables, enables, resets the password
// of and signs out an admin center account from the command line, each
// taking effect at once on the server's database.
func TestAccountCommands(t *testing.T) {
	dsn := testdb.DSN(t, false)
	out, err := runCmd(t, "tenant", "create", "--db", dsn, "--name", "Contoso")
	if err != nil {
		t.Fatalf("tenant create: %v %q", err, out)
	}
	tenant := strings.Fields(out)[1]
	out, err = runCmd(t, "account", "create", "--db", dsn, "--tenant", tenant, "--username", "lena", "--role", "GlobalAdministrator")
	if err != nil {
		t.Fatalf("account create: %v %q", err, out)
	}
	password := strings.Fields(out)[5]
	db, err := store.Open(context.Background(), store.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	signIn := func(pw string) string {
		t.Helper()
		secret, _, err := db.SignIn(ctx, "lena", pw, "192.0.2.1")
		if err != nil {
			t.Fatalf("sign in: %v", err)
		}
		return secret
	}
	ended := func(secret string) bool {
		_, err := db.SessionActor(ctx, secret)
		return allot.ErrorCode(err) == allot.EUNAUTHORIZED
	}
	account := func(args ...string) string {
		t.Helper()
		out, err := runCmd(t, append([]string{"account"}, append(args, "--db", dsn, "--tenant", tenant, "--username", "lena")...)...)
		if err != nil {
			t.Fatalf("account %s: %v %q", args[0], err, out)
		}
		return out
	}

	secret := signIn(password)
	if out := account("disable"); !strings.HasSuffix(out, "username lena disabled\n") {
		t.Fatalf("disable: %q", out)
	}
	if !ended(secret) {
		t.Fatal("the session outlived disable")
	}
	if _, _, err := db.SignIn(ctx, "lena", password, "192.0.2.1"); allot.ErrorCode(err) != allot.EUNAUTHORIZED {
		t.Fatalf("a disabled account signed in: %v", err)
	}
	if out := account("enable"); !strings.HasSuffix(out, "username lena enabled\n") {
		t.Fatalf("enable: %q", out)
	}
	secret = signIn(password)

	out = account("reset-password")
	f := strings.Fields(out)
	if len(f) != 6 || f[4] != "password" || f[5] == password {
		t.Fatalf("reset-password: %q", out)
	}
	if !ended(secret) {
		t.Fatal("the session outlived reset-password")
	}
	secret = signIn(f[5])

	if out := account("revoke-sessions"); out != "username lena sessions revoked 1\n" {
		t.Fatalf("revoke-sessions: %q", out)
	}
	if !ended(secret) {
		t.Fatal("the session outlived revoke-sessions")
	}

	for _, args := range [][]string{
		{"account", "disable", "--db", dsn, "--username", "lena"},
		{"account", "disable", "--db", dsn, "--tenant", tenant},
		{"account", "disable", "--db", dsn, "--tenant", "no-such-tenant", "--username", "lena"},
		{"account", "disable", "--db", dsn, "--tenant", tenant, "--username", "nobody"},
		{"account", "explode", "--db", dsn},
	} {
		if _, err := runCmd(t, args...); err == nil {
			t.Errorf("%q succeeded", args)
		}
	}
	page, err := db.Audit(allot.NewContextWithActor(ctx, allot.Actor{TenantID: tenant, Role: allot.RoleGlobalReader}), allot.AuditFilter{Top: 50})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Items {
		if e.TargetType == "Account" && e.Actor == "operator" {
			got = append(got, e.Activity)
		}
	}
	if len(got) != 5 { // create and the four changes
		t.Fatalf("audited %q", got)
	}
}
