package store

// SetLifecycleHook has f run inside each scheduled lifecycle step's
// transaction, after the step is written and before it commits; an error
// from f rolls the step back as a crash would. Nil removes it.
func SetLifecycleHook(db *DB, f func() error) {
	if f == nil {
		lifecycleHooks.Delete(db)
		return
	}
	lifecycleHooks.Store(db, f)
}
