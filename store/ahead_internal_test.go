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
		"INSERT OR IGNORE INTO license_states (tenant_id) VALUES ":         false, // insertRows' own on SQLite
		"INSERT OR REPLACE INTO license_states (tenant_id) VALUES ":        true,
		"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER)":   true,
		"UPDATE license_statesx SET state = ?":                             true,
		tenantsWithWorkSQL(true):                                           false, // every batch's claim
	} {
		tx := &txn{}
		tx.noteWrite(q)
		if tx.inputs != marks {
			t.Errorf("%q marks the transaction: %v, want %v", q, tx.inputs, marks)
		}
	}
}

// A write to the states marks the transaction's states generation; only
// writeStates' own writes leave it recording whose states they were.
func TestNoteWriteMarksStateWrites(t *testing.T) {
	for _, c := range []struct {
		q                    string
		writing              bool
		states, stray, input bool
	}{
		{"INSERT INTO license_states (tenant_id, user_id) VALUES ", true, true, false, false},
		{"DELETE FROM license_states WHERE tenant_id = ? AND user_id IN (?)", true, true, false, false},
		{"DELETE FROM license_states WHERE tenant_id = ? AND user_id = ?", false, true, true, false},
		{"UPDATE license_states SET waiting_since = ?", false, true, true, false},
		{"SELECT user_id FROM license_states WHERE tenant_id = ?", false, false, false, false},
		{"DELETE FROM users WHERE id = ?", false, false, false, true}, // its states go with it: every read ahead is stale
		{"INSERT OR IGNORE INTO license_states (tenant_id) VALUES ", true, true, false, false},
		{"INSERT OR REPLACE INTO license_states (tenant_id) VALUES ", true, false, false, true},
	} {
		tx := &txn{writingStates: c.writing}
		tx.noteWrite(c.q)
		if tx.states != c.states || tx.strayStates != c.stray || tx.inputs != c.input {
			t.Errorf("%q (in writeStates: %v): states %v, stray %v, inputs %v; want %v, %v, %v",
				c.q, c.writing, tx.states, tx.strayStates, tx.inputs, c.states, c.stray, c.input)
		}
	}
}
