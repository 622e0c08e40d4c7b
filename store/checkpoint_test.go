package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/allot-dev/allot/csvio"
	"github.com/allot-dev/allot/store"
)

// checkpointed is one report of the checkpoint goroutine.
type checkpointed struct{ frames, copied int }

// watchCheckpoints restarts e's checkpoint goroutine with period and
// returns its reports.
func watchCheckpoints(e *env, period time.Duration) <-chan checkpointed {
	reports := make(chan checkpointed, 1000)
	store.RestartCheckpoints(e.db, period, func(frames, copied int) { reports <- checkpointed{frames, copied} })
	return reports
}

// nextCheckpoint waits for the goroutine's next report. The limit only
// keeps a missing checkpoint from hanging the test; passing never depends
// on it.
func nextCheckpoint(t *testing.T, reports <-chan checkpointed) checkpointed {
	t.Helper()
	select {
	case r := <-reports:
		return r
	case <-time.After(time.Minute):
		t.Fatal("no checkpoint")
		return checkpointed{}
	}
}

// The goroutine's checkpoints copy the write-ahead log back, so that the
// log is reused from its start instead of growing: SQLite's own checkpoint
// waits for 256 MiB (store/checkpoint.go). The log restarts in the first
// write after a checkpoint that copied all of it, unless a reader or a
// checkpoint holds it then, so here each round's checkpoint is asked for,
// and is over before the next round writes.
func TestWALCheckpointed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	e := fileEnvOn(t, path)
	reports := watchCheckpoints(e, time.Hour)
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
		rep, err := e.db.ImportCSV(e.ctx, in, false)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Applied {
			t.Fatalf("import not applied: %v", rep.Errors.Error())
		}
		if round == 0 {
			first = walSize()
		}
		store.AskCheckpoint(e.db)
		if r := nextCheckpoint(t, reports); r.frames == 0 || r.copied != r.frames {
			t.Fatalf("round %d: the checkpoint copied %d of the log's %d frames", round, r.copied, r.frames)
		}
	}
	if size := walSize(); size > 2*first {
		t.Fatalf("the write-ahead log grew to %d bytes after three rounds of %d: it is not checkpointed", size, first)
	}
}

// A group walk's batch asks for a checkpoint when it commits, without
// waiting for the goroutine's period (here an hour): each batch writes
// megabytes of log, which would otherwise be copied back by the committing
// writer itself.
func TestBatchAsksForCheckpoint(t *testing.T) {
	e, _, _ := walkEnvIn(fileEnvOn(t, filepath.Join(t.TempDir(), "allot.db")), 6)
	reports := watchCheckpoints(e, time.Hour)
	for batch := 1; ; batch++ {
		n, err := e.db.ProcessBatch(context.Background(), 2)
		e.must(err)
		if n == 0 {
			break
		}
		if r := nextCheckpoint(t, reports); r.frames == 0 {
			t.Fatalf("batch %d: the checkpoint after it found an empty log", batch)
		}
	}
	e.check()
}
