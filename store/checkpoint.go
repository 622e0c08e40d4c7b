package store

import "time"

// checkpointEvery is how often the write-ahead log is copied back into a
// SQLite database file. SQLite would do it in whichever commit crosses
// 1,000 pages, on that writer's path (3% of a large group's processing,
// and the membership-change p99); a goroutine of its own does it on the
// other core, without blocking readers or the writer (PASSIVE).
const checkpointEvery = time.Second

// walBackstopPages is where SQLite's own checkpoint still runs in the
// committing writer. Under continuous writing the goroutine's checkpoints
// always trail the last commit, and the log restarts from its beginning
// only after a checkpoint that caught up: without this backstop the file
// would grow by everything a long run writes. At 16,384 pages (64 MiB)
// the writer copies only what the goroutine has not yet, and the next
// transaction restarts the log.
const walBackstopPages = 16384

func (s *DB) checkpoints() {
	defer close(s.checkpointDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stopCheckpoints:
			return
		case <-t.C:
			if _, err := s.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
				s.log.Warn("checkpoint of the write-ahead log failed", "err", err)
			}
		}
	}
}
