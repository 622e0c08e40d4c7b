package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/allot-dev/allot"
)

// CreateTenant creates a tenant; only the operator may.
func (s *DB) CreateTenant(ctx context.Context, t allot.Tenant) (*allot.Tenant, error) {
	if a, _ := allot.ActorFromContext(ctx); !a.Operator {
		return nil, allot.Errorf(allot.EFORBIDDEN, "Only the server operator may create tenants.")
	}
	if strings.TrimSpace(t.DisplayName) == "" {
		return nil, allot.Errorf(allot.EINVALID, "A tenant needs a displayName.")
	}
	loc, err := allot.NormalizeLocation(t.DefaultUsageLocation)
	if err != nil {
		return nil, err
	}
	if t.ID == "" {
		t.ID = s.newID()
	}
	t.DefaultUsageLocation, t.CreatedAt = loc, s.now()
	err = s.tx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, display_name, default_usage_location, created_at) VALUES (?, ?, ?, ?)`,
			t.ID, t.DisplayName, t.DefaultUsageLocation, fmtTime(t.CreatedAt)); err != nil {
			return err
		}
		return s.audit(ctx, tx, t.ID, "Add tenant", "Tenant", t.ID, "", toJSON(map[string]string{"displayName": t.DisplayName, "defaultUsageLocation": loc}), "success")
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Tenants lists every tenant (operator commands).
func (s *DB) Tenants(ctx context.Context) ([]allot.Tenant, error) {
	return read(ctx, s, func(tx *txn) ([]allot.Tenant, error) { return tenants(ctx, tx) })
}

func tenants(ctx context.Context, tx *txn) ([]allot.Tenant, error) {
	rows, err := tx.Query(ctx, `SELECT id, display_name, default_usage_location, created_at FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []allot.Tenant
	for rows.Next() {
		var t allot.Tenant
		var created string
		if err := rows.Scan(&t.ID, &t.DisplayName, &t.DefaultUsageLocation, &created); err != nil {
			return nil, err
		}
		t.CreatedAt = parseTime(created)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Tenant returns the caller's tenant.
func (s *DB) Tenant(ctx context.Context) (*allot.Tenant, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (*allot.Tenant, error) { return s.tenant(ctx, tx, a.TenantID) })
}

func (s *DB) tenant(ctx context.Context, tx *txn, id string) (*allot.Tenant, error) {
	var t allot.Tenant
	var created string
	err := tx.QueryRow(ctx, `SELECT id, display_name, default_usage_location, created_at FROM tenants WHERE id = ?`, id).
		Scan(&t.ID, &t.DisplayName, &t.DefaultUsageLocation, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
	}
	t.CreatedAt = parseTime(created)
	return &t, err
}

// UpdateTenant changes the tenant's name or default usage location; a new
// default location queues every user that has none of its own.
func (s *DB) UpdateTenant(ctx context.Context, loc *string, name *string) (*allot.Tenant, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	var newLoc string
	if loc != nil {
		if newLoc, err = allot.NormalizeLocation(*loc); err != nil {
			return nil, err
		}
	}
	if name != nil && strings.TrimSpace(*name) == "" {
		return nil, allot.Errorf(allot.EINVALID, "displayName cannot be empty.")
	}
	err = s.tx(ctx, func(tx *txn) error {
		t, err := s.tenant(ctx, tx, a.TenantID)
		if err != nil {
			return err
		}
		if name != nil {
			if _, err := tx.Exec(ctx, `UPDATE tenants SET display_name = ? WHERE id = ?`, *name, t.ID); err != nil {
				return err
			}
		}
		if loc != nil && newLoc != t.DefaultUsageLocation {
			if _, err := tx.Exec(ctx, `UPDATE tenants SET default_usage_location = ? WHERE id = ?`, newLoc, t.ID); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, t.ID, "Update company settings", "Tenant", t.ID, toJSON(map[string]string{"defaultUsageLocation": t.DefaultUsageLocation}), toJSON(map[string]string{"defaultUsageLocation": newLoc}), "success"); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO work (tenant_id, kind, target_id, enqueued_at) SELECT tenant_id, 'user', id, CAST(? AS TEXT) FROM users WHERE tenant_id = ? AND usage_location = '' ORDER BY id`, fmtTime(s.now()), t.ID)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.Tenant(ctx)
}
