package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, io.Discard)
	return out.String(), err
}

// TestOperatorCommands: migrate, tenant create, token create and check on
// a new database, and check failing on a broken invariant.
func TestOperatorCommands(t *testing.T) {
	dsn := testdb.DSN(t, false)
	var versions []string
	for range 2 { // a second migrate applies nothing
		out, err := runCmd(t, "migrate", "--db", dsn)
		if err != nil || !strings.Contains(out, "schema at version ") {
			t.Fatalf("migrate: %v %q", err, out)
		}
		versions = append(versions, out)
	}
	if versions[0] != versions[1] {
		t.Fatalf("a second migrate changed the version: %q then %q", versions[0], versions[1])
	}
	out, err := runCmd(t, "tenant", "create", "--db", dsn, "--name", "Contoso", "--location", "US")
	if err != nil || !strings.Contains(out, "token allot_") {
		t.Fatalf("tenant create: %v %q", err, out)
	}
	tenantID := strings.Fields(out)[1]
	if out, err := runCmd(t, "token", "create", "--db", dsn, "--tenant", tenantID, "--role", "GlobalReader"); err != nil || !strings.HasPrefix(out, "allot_") {
		t.Fatalf("token create: %v %q", err, out)
	}
	if _, err := runCmd(t, "token", "create", "--db", dsn, "--tenant", tenantID, "--role", "Emperor"); err == nil {
		t.Fatal("token create accepted an unknown role")
	}
	if _, err := runCmd(t, "tenant", "create", "--db", dsn, "--name", "X", "--location", "Narnia"); err == nil {
		t.Fatal("tenant create accepted a bad location")
	}
	if out, err := runCmd(t, "check", "--db", dsn); err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("check on a clean database: %v %q", err, out)
	}

	// Break an invariant behind Allot's back: a seat count that is wrong.
	driver := "sqlite"
	if store.IsPostgres(dsn) {
		driver = "pgx"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO subscriptions (tenant_id, sku_id, id, enabled, consumed, created_at) VALUES ('` + tenantID + `', 'sku', 'sub', 5, 3, '')`); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, "check", "--db", dsn)
	var ex exitError
	if !errors.As(err, &ex) || ex != 1 || !strings.Contains(out, "VIOLATION seats") {
		t.Fatalf("check on a broken database: %v %q", err, out)
	}
}
