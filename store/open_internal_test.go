package store

import (
	"context"
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
	db, err := Open(ctx, Config{DSN: filepath.Join(t.TempDir(), "allot.db"), Catalog: allot.NewCatalog(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
