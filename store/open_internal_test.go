package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/allot-dev/allot"
)

// Every pooled connection to a SQLite file reads it through the memory map
// (store/open.go): the pragma is set per connection, so the test holds two
// connections at once.
func TestSQLiteConnectionsMapTheFile(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteFile(t)
	want := int64(0)
	if strconv.IntSize == 64 {
		want = sqliteMmapBytes
	}
	for i := range 2 {
		conn, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var mmap int64
		if err := conn.QueryRowContext(ctx, `PRAGMA mmap_size`).Scan(&mmap); err != nil {
			t.Fatal(err)
		}
		if mmap != want {
			t.Fatalf("connection %d: mmap_size %d, want %d", i, mmap, want)
		}
	}
}

// TestSQLiteConnectionsStayOpen holds every pooled connection at once, as
// a walk's batch, its read ahead, a checkpoint and a request may, and
// checks that none is closed when they come back: a closed connection
// takes its page cache and its map of the file with it.
func TestSQLiteConnectionsStayOpen(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteFile(t)
	for round := range 2 {
		var conns []*sql.Conn
		for range sqlitePoolSize {
			conn, err := db.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := conn.PingContext(ctx); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, conn)
		}
		for _, c := range conns {
			c.Close()
		}
		if st := db.db.Stats(); st.MaxIdleClosed != 0 || st.Idle != sqlitePoolSize {
			t.Fatalf("round %d: %d idle connections, %d closed for being idle; want %d and 0", round, st.Idle, st.MaxIdleClosed, sqlitePoolSize)
		}
	}
}

// openSQLiteFile opens a new SQLite file, closed when the test ends.
func openSQLiteFile(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{DSN: filepath.Join(t.TempDir(), "allot.db"), Catalog: allot.NewCatalog(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
