package store

import "time"

// RestartCheckpoints stops db's checkpoint goroutine (a SQLite file's) and
// starts it again with period, telling report of each checkpoint's log
// frames and how many of them are copied back.
func RestartCheckpoints(db *DB, period time.Duration, report func(frames, copied int)) {
	close(db.stopCheckpoints)
	<-db.checkpointDone
	db.stopCheckpoints, db.checkpointDone, db.checkpointed = make(chan struct{}), make(chan struct{}), report
	go db.checkpoints(period)
}

// AskCheckpoint asks db's checkpoint goroutine for a checkpoint, as a
// processing batch does when it commits.
func AskCheckpoint(db *DB) { db.askCheckpoint() }
