// Package testdb gives tests a fresh database: a temporary SQLite file by
// default, or, when ALLOT_TEST_POSTGRES holds a PostgreSQL URL, a new
// schema in that database, dropped when the test ends. Runs never see each
// other's data.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Env is the variable that switches tests to PostgreSQL.
const Env = "ALLOT_TEST_POSTGRES"

// Postgres reports whether tests run on PostgreSQL.
func Postgres() bool { return os.Getenv(Env) != "" }

// DSN returns a fresh database for t. memory asks for an in-memory SQLite
// database when not on PostgreSQL.
func DSN(t testing.TB, memory bool) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		if memory {
			return ":memory:"
		}
		return filepath.Join(t.TempDir(), "allot.db")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "allot_test_" + hex.EncodeToString(b)
	adminURL, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	aq := adminURL.Query()
	aq.Del("pool_max_conns") // Allot's setting, which the server would refuse
	adminURL.RawQuery = aq.Encode()
	admin, err := sql.Open("pgx", adminURL.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema on %s: %v", Env, err)
	}
	t.Cleanup(func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
