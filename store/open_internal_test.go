package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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

// TestWALFileCutBack: once no batch has asked for a checkpoint for a whole
// period, the checkpoint goroutine cuts a log's file larger than
// walKeepBytes back to nothing, instead of leaving it at the size the
// largest walk gave it. The goroutine runs every 10 ms here; the minute
// only keeps a missing truncation from hanging the test.
func TestWALFileCutBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "allot.db")
	db, err := Open(ctx, Config{DSN: path, Catalog: allot.NewCatalog(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	RestartCheckpoints(db, time.Hour, nil)
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE filler (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	const blobs = walKeepBytes/(1<<20) + 16
	if _, err := db.db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO filler SELECT zeroblob(1048576) FROM n`, blobs); err != nil {
		t.Fatal(err)
	}
	if size := walSize(); size <= walKeepBytes {
		t.Fatalf("the log's file holds %d bytes after %d MiB were written: the test writes too little", size, blobs)
	}
	reports := make(chan struct{}, 1)
	RestartCheckpoints(db, 10*time.Millisecond, func(int, int) {
		select {
		case reports <- struct{}{}:
		default:
		}
	})
	guard := time.After(time.Minute)
	for walSize() > walKeepBytes {
		select {
		case <-reports:
		case <-guard:
			t.Fatalf("the log's file still holds %d bytes (limit %d) a minute after the last write", walSize(), walKeepBytes)
		}
	}
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM filler`).Scan(&n); err != nil || n != blobs {
		t.Fatalf("after the truncation the table holds %d rows (%v), want %d", n, err, blobs)
	}
}
