package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
	"github.com/allot-dev/allot/store"
)

// SQLite's own checkpoint waits for 64 MiB of log (store/checkpoint.go): below
// that the background checkpoint must copy the write-ahead log back, so
// that the log is reused from its start instead of growing.
func TestWALCheckpointed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	db, err := store.Open(context.Background(), store.Config{DSN: path, Catalog: testCatalog()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "T"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator})
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	var first int64
	for round := range 3 {
		in := &csvio.Import{UsersFile: "users.csv"}
		us := "US"
		for i := range 2000 {
			in.Users = append(in.Users, csvio.UserRow{Line: i + 2, UserPrincipalName: fmt.Sprintf("u%d-%d@example.com", round, i), DisplayName: "User", UsageLocation: &us})
		}
		rep, err := db.ImportCSV(ctx, in, false)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Applied {
			t.Fatalf("import not applied: %v", rep.Errors.Error())
		}
		if round == 0 {
			first = walSize()
		}
		time.Sleep(1200 * time.Millisecond) // more than one checkpoint interval
	}
	if size := walSize(); size > 2*first {
		t.Fatalf("the write-ahead log grew to %d bytes after three rounds of %d: it is not checkpointed", size, first)
	}
}
