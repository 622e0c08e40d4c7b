package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// TestPing: the readiness check answers while the database does and fails
// once it is gone, within the caller's deadline.
func TestPing(t *testing.T) {
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, false), Catalog: catalog.Demo()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping on an open store: %v", err)
	}
	db.Close()
	if err := db.Ping(ctx); err == nil {
		t.Fatal("Ping on a closed store succeeded")
	}
}
