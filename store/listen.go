package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// workChannel is the PostgreSQL notification channel of queued work in
// the schema named: a transaction that queues work notifies it at commit
// (txn.queued), so a replica's idle worker wakes at once when another
// replica, or a request served by another replica, adds work, instead of
// at its next poll. Notifications go to the whole database, so deployments
// in other schemas of it have channels of their own.
func workChannel(schema string) string {
	if schema == "public" || schema == "" {
		return "allot_work"
	}
	return pgx.Identifier{"allot_work:" + schema}.Sanitize()
}

// Listen calls wake whenever any replica commits queued work, until ctx
// ends. It calls wake once more each time it starts listening, since work
// queued while it was not listening sent nobody a notification. On SQLite,
// where one process owns the database and Config.OnEnqueue already wakes
// its worker, it returns at once. A lost connection is retried with a
// backoff; the worker's poll covers the gap.
func (s *DB) Listen(ctx context.Context, wake func()) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listen(ctx, wake)
		if ctx.Err() != nil {
			break
		}
		s.log.Warn("listening for queued work", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		backoff = min(backoff*2, 30*time.Second)
	}
	return nil
}

func (s *DB) listen(ctx context.Context, wake func()) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+s.channel); err != nil {
		return err
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
