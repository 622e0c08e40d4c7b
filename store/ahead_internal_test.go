package store

import "testing"

// Only statements known to leave loadInputs' tables alone keep a
// transaction's reads ahead valid; anything else, known or not, marks it.
func TestNoteWriteMarksInputWrites(t *testing.T) {
	for q, marks := range map[string]bool{
		"SELECT user_id FROM license_states WHERE tenant_id = ?":           false,
		"\n\t\tSELECT pg_advisory_xact_lock(hashtext(?))":                  false,
		"INSERT INTO license_states (tenant_id, user_id) VALUES ":          false,
		"DELETE FROM work WHERE id = ?":                                    false,
		"UPDATE subscriptions SET consumed = consumed + ? WHERE tenant_id": false,
		"UPDATE tokens SET last_used_at = ? WHERE id = ?":                  false,
		"INSERT INTO users (tenant_id, id) VALUES ":                        true,
		"UPDATE users SET usage_location = ? WHERE id = ?":                 true,
		"DELETE FROM memberships WHERE tenant_id = ?":                      true,
		"DELETE FROM dir_groups WHERE id = ?":                              true, // its memberships go with it
		"UPDATE tenants SET default_usage_location = ?":                    true,
		"INSERT INTO assignments(tenant_id) VALUES ":                       true,
		"PRAGMA foreign_keys = ON":                                         true,
		"WITH gone AS (SELECT 1) DELETE FROM users":                        true,
		"INSERT OR IGNORE INTO license_states (tenant_id) VALUES ":         true,
		"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER)":   true,
		"UPDATE license_statesx SET state = ?":                             true,
	} {
		tx := &txn{}
		tx.noteWrite(q)
		if tx.inputs != marks {
			t.Errorf("%q marks the transaction: %v, want %v", q, tx.inputs, marks)
		}
	}
}
