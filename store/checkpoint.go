package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"os"
	"strconv"
	"time"
)

// checkpointEvery is how often the write-ahead log is copied back into a
// SQLite database file when nothing asks sooner. SQLite would do it in
// whichever commit crosses its threshold, on that writer's path; a
// goroutine of its own does it on the other core, without blocking
// readers or the writer (PASSIVE).
const checkpointEvery = time.Second

// checkpointGap is the least time between two checkpoints. A group walk
// asks for one after each batch (walGrew), since each batch writes
// megabytes of log: checkpointed within a tenth of a second, the log is
// copied back while the walk goes on, so SQLite's own checkpoint in the
// committing writer (walBackstopPages) finds almost nothing left to copy
// or to sync, and readers find fewer pages in the log, which they read by
// calls instead of through the map (docs/PERFORMANCE.md, "Tenth round").
const checkpointGap = 100 * time.Millisecond

// walBackstopPages is where SQLite's own checkpoint still runs in the
// committing writer. Under continuous writing the goroutine's checkpoints
// always trail the last commit, and the log restarts from its beginning
// only after a checkpoint that caught up: without this backstop the file
// would grow by everything a long run writes. At 65,536 pages (256 MiB)
// a 100,000-user walk reaches it about once per step. From then on each
// commit checkpoints, copying only what the goroutine has not yet, until
// one catches up while no reader holds an older snapshot (a walk's read
// ahead often does), and the next write restarts the log: the file
// reached 401 MiB in the 100,000-user bench (920 MiB with a million users).
const walBackstopPages = 65536

// walKeepBytes is the log's file size above which the goroutine, once no
// batch has asked for a checkpoint for a whole period, truncates it
// (walIdleTruncate): otherwise the file keeps the largest size a walk gave
// it, hundreds of MiB, for good. Not SQLite's journal_size_limit, which
// cuts the file at every restart of the log: during a walk that is every
// few hundred MiB, and growing the file back again slowed the walks
// (docs/PERFORMANCE.md, "Eleventh round").
const walKeepBytes = 64 << 20

// checkpoints runs the goroutine's checkpoints until stopCheckpoints is
// closed: every period, and when a batch says the log grew.
func (s *DB) checkpoints(period time.Duration) {
	defer close(s.checkpointDone)
	t := time.NewTicker(period)
	defer t.Stop()
	asked := false // a batch asked since the last tick
	for {
		tick := false
		select {
		case <-s.stopCheckpoints:
			return
		case <-t.C:
			tick = true
		case <-s.walGrew:
			asked = true
		}
		var busy, frames, copied int
		if err := s.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
			s.log.Warn("checkpoint of the write-ahead log failed", "err", err)
		} else {
			if tick && !asked && copied == frames {
				s.walIdleTruncate()
			}
			if s.checkpointed != nil {
				s.checkpointed(frames, copied)
			}
		}
		if tick {
			asked = false
		}
		select {
		case <-s.stopCheckpoints:
			return
		case <-time.After(checkpointGap):
		}
	}
}

// askCheckpoint asks the checkpoint goroutine for a checkpoint at once
// (or after checkpointGap from the last), without waiting for it.
func (s *DB) askCheckpoint() {
	if s.walGrew == nil {
		return
	}
	select {
	case s.walGrew <- struct{}{}:
	default: // one is asked for already
	}
}

// walIdleTruncate empties the log's file when it is larger than
// walKeepBytes (a TRUNCATE checkpoint), on a connection that does not wait:
// the checkpoint holds the write lock while it looks for readers of the
// log, so if any reader or writer is about it gives up at once, and the
// next idle period tries again.
func (s *DB) walIdleTruncate() {
	if fi, err := os.Stat(s.walPath); err != nil || fi.Size() <= walKeepBytes {
		return
	}
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return
	}
	var busy, frames, copied int
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied); err != nil && !errors.Is(normalize(err), errBusy) {
		s.log.Warn("truncating the write-ahead log failed", "err", err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = `+strconv.Itoa(sqliteBusyMs)); err != nil {
		// A connection back in the pool that does not wait would fail
		// requests that meet a lock; this one is dropped instead.
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}
