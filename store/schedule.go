package store

import "context"

// RunScheduled applies what has come due by the store's clock, for every
// tenant: subscription lifecycle transitions (docs/RULES.md §2.6) and the
// purge of deleted users and groups past their retention (§2.3.6). Each
// item is applied in its own transaction guarded by the state it moves
// from, so two replicas that race for one item apply it once, and a crash
// leaves it due for the next run. It returns how many items it applied.
func (s *DB) RunScheduled(ctx context.Context) (int, error) {
	n, err := s.runLifecycle(ctx)
	if err != nil {
		return n, err
	}
	m, err := s.purgeDeleted(ctx)
	return n + m, err
}
