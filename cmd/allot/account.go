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
func cmdAccount(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stdout, usage)
		return exitError(2)
	}
	var tenant, username, role, name *string
	db, err := openDB(ctx, args[1:], "account create", func(fs *flagSet) {
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
