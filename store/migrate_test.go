package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// TestConcurrentOpenMigratesOnce opens one new database from several
// replicas at once: each migration must be applied exactly once and every
// replica must start.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dsn := testdb.DSN(t, false)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	dbs := make([]*store.DB, 4)
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = store.Open(context.Background(), store.Config{DSN: dsn, Catalog: testCatalog()})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	v, err := dbs[0].SchemaVersion(context.Background())
	if err != nil || v < 1 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	// Opening again applies nothing and keeps the version.
	again, err := store.Open(context.Background(), store.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if w, _ := again.SchemaVersion(context.Background()); w != v {
		t.Fatalf("version moved from %d to %d", v, w)
	}
}
