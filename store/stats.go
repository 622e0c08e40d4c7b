package store

import (
	"context"
	"fmt"
	"strings"
)

// sqliteStats are planner statistics written by hand, as SQLite's
// documentation describes for steering query plans: "rows, then rows per
// distinct value of each index prefix". Every index leads with tenant_id,
// and without statistics SQLite takes "tenant_id = ?" to be selective, so
// it walks a whole tenant through the primary key instead of looking up a
// batch of users by id. These figures say what is true of any tenant of
// size: a tenant holds everything, a user or group id picks a few rows.
// They are fixed rather than measured by ANALYZE so plans do not change as
// data grows, and so a new, empty database already plans like a large one.
var sqliteStats = [][3]string{
	{"users", "sqlite_autoindex_users_1", "1000000 1000000 1"},
	{"users", "sqlite_autoindex_users_2", "1000000 1000000 1"},
	{"users", "users_name", "1000000 1000000 2 1"},
	// Without these, "tenant_id = ?" looked selective on them, and a page
	// of users in order of name was cut from a whole tenant sorted.
	{"users", "users_upn_skeleton", "1000000 1000000 1"},
	{"users", "users_modified", "1000000 1000000 1 1"},
	{"users", "users_inputs", "1000000 1000000 1 1 1"},
	{"dir_groups", "sqlite_autoindex_dir_groups_1", "100000 100000 1"},
	{"dir_groups", "dir_groups_name", "100000 100000 2 1"},
	{"dir_groups", "dir_groups_nickname_skeleton", "100000 100000 1"},
	{"dir_groups", "dir_groups_modified", "100000 100000 1 1"},
	{"addresses", "sqlite_autoindex_addresses_1", "1000000 1000000 2 1"},
	{"addresses", "addresses_owner", "1000000 1000000 2"},
	{"addresses", "addresses_listers", "1000000 1000000 2 1 1"},
	{"memberships", "sqlite_autoindex_memberships_1", "3000000 3000000 3000 1"},
	{"memberships", "memberships_member", "3000000 3000000 3 1"},
	{"memberships", "memberships_order", "3000000 3000000 3000 2 1 1"},
	{"memberships", "memberships_kind", "3000000 3000000 3000 3000 1"},
	{"assignments", "sqlite_autoindex_assignments_1", "100000 100000 2 1"},
	{"license_states", "sqlite_autoindex_license_states_1", "3000000 3000000 3 2 1"},
	{"license_states", "license_states_source", "3000000 3000000 3000 2000"},
	// Only the states in CountViolation (migration 22): a tenant's
	// waiting room is a range of it.
	{"license_states", "license_states_waiting", "300000 300000 30000 30000 3 1"},
	{"license_states", "license_states_kind", "3000000 3000000 1000000 1000 300 100 1"},
	{"subscriptions", "sqlite_autoindex_subscriptions_1", "1000 10 1"},
	{"subscription_prices", "sqlite_autoindex_subscription_prices_1", "1000 10 1"},
	{"direct_assignment_blocks", "sqlite_autoindex_direct_assignment_blocks_1", "1000 10 1"},
	{"work", "work_target", "100000 100000 50000 2"},
	{"work", "work_group", "100000 100000 1000"},
	{"work", "work_order", "100000 100000 1"},
	{"audit", "audit_target", "10000000 10000000 20 1"},
	{"audit", "audit_tenant", "10000000 10000000 1"},
	{"audit", "audit_time", "10000000 10000000 2 1"},
	{"audit", "audit_activity", "10000000 10000000 1000000 5 2"},
	// A few batch rows (one per 1,000 changes) against many single ones,
	// so that their partial indexes are chosen over a walk of the log.
	{"audit", "audit_batch_first", "10000 1000 1"},
	{"audit", "audit_batch_last", "10000 1000 1"},
	{"audit", "audit_batch_time_first", "10000 1000 1 1"},
	{"audit", "audit_batch_time_last", "10000 1000 1 1"},
	{"audit_users", "audit_users", "10000000 10000000 10 1"},
	{"audit_users", "audit_users_time", "10000000 10000000 1000 1"},
	{"scim_external_ids", "sqlite_autoindex_scim_external_ids_1", "1000000 1000000 1"},
	{"scim_external_ids", "scim_external_ids_lookup", "1000000 1000000 500000 1"},
	{"alert_webhooks", "sqlite_autoindex_alert_webhooks_1", "1000 10 1"},
	{"alert_events", "sqlite_autoindex_alert_events_1", "100000 1"},
	{"alert_events", "alert_events_unlogged", "100000 50000 1"},
	{"alert_deliveries", "sqlite_autoindex_alert_deliveries_1", "100000 1"},
	{"alert_deliveries", "alert_deliveries_due", "100000 33000 1"},
	{"alert_deliveries", "alert_deliveries_tenant", "100000 1000 1"},
	{"alert_group_errors", "sqlite_autoindex_alert_group_errors_1", "10000 100 1"},
	{"alert_throttle", "sqlite_autoindex_alert_throttle_1", "1000 10 1"},
}

// writeSQLiteStats installs sqliteStats; connections opened afterwards
// plan with them. It is part of Open, on SQLite only, so it runs its
// statements on s.db as written.
func (s *DB) writeSQLiteStats(ctx context.Context) error {
	if s.dialect != dialectSQLite {
		return nil
	}
	// ANALYZE of an empty table is instant and creates sqlite_stat1.
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := s.db.ExecContext(ctx, `ANALYZE settings`); err != nil {
			return fmt.Errorf("create sqlite_stat1: %w", err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, st := range sqliteStats {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sqlite_stat1 WHERE tbl = ? AND idx = ?`, st[0], st[1]); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)`, st[0], st[1], st[2]); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Load them into this connection's schema too.
	_, err = s.db.ExecContext(ctx, `ANALYZE sqlite_schema`)
	return err
}

// analyzePostgres refreshes PostgreSQL's planner statistics of tables that
// just grew by a lot. Until autovacuum gets to them (a minute or more), a
// freshly loaded table has no statistics, and PostgreSQL then takes a
// lookup of 500 ids to match most of the table and scans the whole tenant.
// It runs after the commit that grew them, outside any transaction: in
// one, the tenant's lock would be held for the second ANALYZE takes.
func (s *DB) analyzePostgres(ctx context.Context, tables ...string) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	_, err := s.db.ExecContext(ctx, "ANALYZE "+strings.Join(tables, ", "))
	return err
}
