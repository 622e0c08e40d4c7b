package store

import (
	"context"

	"github.com/allot-dev/allot"
)

var _ allot.Pinger = (*DB)(nil)

// Ping checks that the database answers a query that reads one of its
// tables, for readiness probes (GET /readyz): a PostgreSQL server that is
// down, restarting or refusing connections fails it, and so does a closed
// store.
func (s *DB) Ping(ctx context.Context) error {
	var n int
	return s.readTx(ctx, func(tx *txn) error { return tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n) })
}
