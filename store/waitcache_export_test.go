package store

// WaitCountsRead is how many waiting-room counts db has read from the
// database rather than carried from the batch before (waitcache.go).
func WaitCountsRead(db *DB) int64 { return db.waits.counted.Load() }
