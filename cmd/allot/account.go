package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

// demoUsernames are the demo tenant's admin center accounts, one per role.
var demoUsernames = map[allot.Role]string{
	allot.RoleGlobalAdministrator:  "globaladmin",
	allot.RoleLicenseAdministrator: "licenseadmin",
	allot.RoleUserAdministrator:    "useradmin",
	allot.RoleBillingAdministrator: "billingadmin",
	allot.RoleGroupAdministrator:   "groupadmin",
	allot.RoleGlobalReader:         "globalreader",
}

// demoAccount creates the demo's account for a role. Usernames are unique
// across the server, so a demo seeded again into the same database gets
// them with the tenant's id appended.
func demoAccount(ctx context.Context, db *store.DB, tenantID string, role allot.Role) (string, string, error) {
	password := randomPassword()
	name := demoUsernames[role]
	_, err := db.CreateAccount(ctx, tenantID, name, roleTitle(role), role, password)
	if allot.ErrorCode(err) == allot.ECONFLICT {
		name += "-" + tenantID[:8]
		_, err = db.CreateAccount(ctx, tenantID, name, roleTitle(role), role, password)
	}
	return name, password, err
}

func roleTitle(r allot.Role) string {
	var b strings.Builder
	for i, c := range string(r) {
		if i > 0 && c >= 'A' && c <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// randomPassword is 20 characters from an alphabet without look-alikes
// (about 100 bits).
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY345679"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// cmdAccount: allot account create --tenant ID --username U --role ROLE
// [--name N]: an admin center sign-in; prints the generated password once.
// disable, enable, reset-password and revoke-sessions (--tenant ID
// --username U) act on one; reset-password prints the new password once.
func cmdAccount(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage())
		return exitError(2)
	}
	switch args[0] {
	case "create":
		return cmdAccountCreate(ctx, args[1:], stdout)
	case "disable", "enable", "reset-password", "revoke-sessions":
		return cmdAccountChange(ctx, args[0], args[1:], stdout)
	}
	fmt.Fprint(stdout, usage())
	return exitError(2)
}

func cmdAccountCreate(ctx context.Context, args []string, stdout io.Writer) error {
	var tenant, username, role, name *string
	db, err := openDB(ctx, args, "account create", func(fs *flagSet) {
		tenant = fs.String("tenant", "", "tenant id")
		username = fs.String("username", "", "sign-in name (letters, digits, . _ - @)")
		role = fs.String("role", "", "role (see below)")
		name = fs.String("name", "", "display name (default: the username)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	op := allot.NewContextWithActor(ctx, allot.Actor{Operator: true, Name: "operator"})
	password := randomPassword()
	acc, err := db.CreateAccount(op, *tenant, *username, *name, allot.Role(*role), password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "account %s username %s password %s\n", acc.ID, acc.Username, password)
	return nil
}

// cmdAccountChange is the operator's way back in when the admin center
// cannot help: a locked-out or departed Global Administrator.
func cmdAccountChange(ctx context.Context, sub string, args []string, stdout io.Writer) error {
	var tenant, username *string
	db, err := openDB(ctx, args, "account "+sub, func(fs *flagSet) {
		tenant = fs.String("tenant", "", "tenant id")
		username = fs.String("username", "", "the account's sign-in name")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if *tenant == "" || *username == "" {
		return usagef("account %s needs --tenant and --username", sub)
	}
	op := allot.NewContextWithActor(ctx, allot.Actor{Operator: true, Name: "operator"})
	switch sub {
	case "disable", "enable":
		acc, err := db.SetAccountDisabled(op, *tenant, *username, sub == "disable")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %s username %s %sd\n", acc.ID, acc.Username, sub)
	case "reset-password":
		acc, password, err := db.ResetPassword(op, *tenant, *username)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %s username %s password %s\n", acc.ID, acc.Username, password)
	case "revoke-sessions":
		n, err := db.RevokeSessions(op, *tenant, *username)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "username %s sessions revoked %d\n", *username, n)
	}
	return nil
}
