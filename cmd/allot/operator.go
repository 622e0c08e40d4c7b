package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

func openDB(ctx context.Context, args []string, name string, extra func(*flagSet)) (*store.DB, error) {
	fs := &flagSet{newFlags(name), nil}
	fs.db = fs.String("db", env("ALLOT_DB", "allot.db"), "SQLite database file, or postgres://… URL")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, exitError(2)
	}
	return store.Open(ctx, store.Config{DSN: *fs.db})
}

type flagSet struct {
	*flag.FlagSet
	db *string
}

func cmdCheck(ctx context.Context, args []string, stdout io.Writer) error {
	db, err := openDB(ctx, args, "check", nil)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Check(ctx)
	if err != nil {
		return err
	}
	for _, x := range v {
		fmt.Fprintf(stdout, "VIOLATION %s tenant=%s %s\n", x.Rule, x.TenantID, x.Detail)
	}
	if len(v) > 0 {
		fmt.Fprintf(stdout, "%d violations\n", len(v))
		return exitError(1)
	}
	fmt.Fprintln(stdout, "ok: every invariant holds")
	return nil
}

func cmdMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	db, err := openDB(ctx, args, "migrate", nil)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ok: database schema at version %d\n", v)
	return nil
}

var operator = allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true, Name: "operator"})

func cmdTenant(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: allot tenant create --name NAME [--location CC]")
	}
	var name, loc *string
	db, err := openDB(ctx, args[1:], "tenant create", func(fs *flagSet) {
		name = fs.String("name", "", "tenant display name")
		loc = fs.String("location", "", "default usage location (ISO 3166 alpha-2)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := db.CreateTenant(operator, allot.Tenant{DisplayName: *name, DefaultUsageLocation: *loc})
	if err != nil {
		return fmt.Errorf("%s", allot.ErrorMessage(err))
	}
	secret, tok, err := db.CreateToken(operator, t.ID, allot.RoleGlobalAdministrator, "first admin", 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tenant %s\ntoken %s (%s, id %s)\n", t.ID, secret, tok.Role, tok.ID)
	return nil
}

func cmdToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: allot token create --tenant ID --role ROLE [--name NAME] [--days N]")
	}
	var tenant, role, name *string
	var days *int
	db, err := openDB(ctx, args[1:], "token create", func(fs *flagSet) {
		tenant = fs.String("tenant", "", "tenant id")
		role = fs.String("role", string(allot.RoleGlobalAdministrator), "role of docs/RULES.md §3")
		name = fs.String("name", "", "a name to recognise the token by")
		days = fs.Int("days", 0, "days until the token expires (0: never)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if *tenant == "" {
		return fmt.Errorf("--tenant is required")
	}
	secret, tok, err := db.CreateToken(operator, *tenant, allot.Role(*role), *name, time.Duration(*days)*24*time.Hour)
	if err != nil {
		return fmt.Errorf("%s", allot.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "%s\n", secret)
	fmt.Fprintf(os.Stderr, "token id %s, role %s, tenant %s\n", tok.ID, tok.Role, tok.TenantID)
	return nil
}
