package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

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
	loc, err := validLocation(t.DefaultUsageLocation)
	if err != nil {
		return nil, err
	}
	if t.ID == "" {
		t.ID = s.newID()
	}
	t.DefaultUsageLocation, t.CreatedAt = loc, s.now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenants (id, display_name, default_usage_location, created_at) VALUES (?, ?, ?, ?)`),
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
	rows, err := s.db.QueryContext(ctx, `SELECT id, display_name, default_usage_location, created_at FROM tenants ORDER BY created_at, id`)
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
	return s.tenant(ctx, s.db, a.TenantID)
}

type rowQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *DB) tenant(ctx context.Context, q rowQueryer, id string) (*allot.Tenant, error) {
	var t allot.Tenant
	var created string
	err := q.QueryRowContext(ctx, s.q(`SELECT id, display_name, default_usage_location, created_at FROM tenants WHERE id = ?`), id).
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
		if newLoc, err = validLocation(*loc); err != nil {
			return nil, err
		}
	}
	if name != nil && strings.TrimSpace(*name) == "" {
		return nil, allot.Errorf(allot.EINVALID, "displayName cannot be empty.")
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		t, err := s.tenant(ctx, tx, a.TenantID)
		if err != nil {
			return err
		}
		if name != nil {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenants SET display_name = ? WHERE id = ?`), *name, t.ID); err != nil {
				return err
			}
		}
		if loc != nil && newLoc != t.DefaultUsageLocation {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenants SET default_usage_location = ? WHERE id = ?`), newLoc, t.ID); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, t.ID, "Update company settings", "Tenant", t.ID, toJSON(map[string]string{"defaultUsageLocation": t.DefaultUsageLocation}), toJSON(map[string]string{"defaultUsageLocation": newLoc}), "success"); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO work (tenant_id, kind, target_id, enqueued_at) SELECT tenant_id, 'user', id, CAST(? AS TEXT) FROM users WHERE tenant_id = ? AND usage_location = '' ORDER BY id`), fmtTime(s.now()), t.ID)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.tenant(ctx, s.db, a.TenantID)
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateToken creates an API token bound to one tenant and one role. The
// operator may create one for any tenant; a tenant caller only for its own.
// Tokens are random 256-bit secrets, so a fast hash is enough to store them.
func (s *DB) CreateToken(ctx context.Context, tenantID string, role allot.Role, name string, ttl time.Duration) (string, *allot.Token, error) {
	a, _ := allot.ActorFromContext(ctx)
	if !a.Operator {
		if a.TenantID == "" {
			return "", nil, allot.Errorf(allot.EFORBIDDEN, "Insufficient privileges to complete the operation.")
		}
		if tenantID == "" {
			tenantID = a.TenantID
		}
		if tenantID != a.TenantID {
			return "", nil, allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", tenantID)
		}
	}
	if !role.Valid() {
		return "", nil, allot.Errorf(allot.EINVALID, "Unknown role '%s'.", role)
	}
	if ttl < 0 {
		return "", nil, allot.Errorf(allot.EINVALID, "A token's lifetime cannot be negative.")
	}
	if name == "" {
		name = string(role)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	secret := "allot_" + base64.RawURLEncoding.EncodeToString(raw)
	tok := &allot.Token{ID: s.newID(), TenantID: tenantID, Role: role, Name: name, CreatedAt: s.now()}
	if ttl > 0 {
		tok.ExpiresAt = tok.CreatedAt.Add(ttl)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.tenant(ctx, tx, tenantID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tokens (id, tenant_id, role, name, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			tok.ID, tenantID, string(role), name, hashSecret(secret), fmtTime(tok.CreatedAt), fmtTime(tok.ExpiresAt)); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, "Add role assignment", "Token", tok.ID, "", toJSON(map[string]string{"role": string(role), "name": name}), "success")
	})
	if err != nil {
		return "", nil, err
	}
	return secret, tok, nil
}

// ListTokens lists the tenant's tokens (never their secrets).
func (s *DB) ListTokens(ctx context.Context) ([]allot.Token, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, tenant_id, role, name, created_at, expires_at, revoked FROM tokens WHERE tenant_id = ? ORDER BY created_at, id`), a.TenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []allot.Token{}
	for rows.Next() {
		var t allot.Token
		var role, created, expires string
		var revoked int
		if err := rows.Scan(&t.ID, &t.TenantID, &role, &t.Name, &created, &expires, &revoked); err != nil {
			return nil, err
		}
		t.Role, t.CreatedAt, t.ExpiresAt, t.Revoked = allot.Role(role), parseTime(created), parseTime(expires), revoked == 1
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes one of the tenant's tokens.
func (s *DB) RevokeToken(ctx context.Context, id string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE tokens SET revoked = 1 WHERE tenant_id = ? AND id = ?`), a.TenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
		}
		return s.audit(ctx, tx, a.TenantID, "Remove role assignment", "Token", id, "", "", "success")
	})
}

// Authenticate resolves a bearer secret to its actor.
func (s *DB) Authenticate(ctx context.Context, secret string) (allot.Actor, error) {
	bad := allot.Errorf(allot.EUNAUTHORIZED, "Access token is missing, invalid, expired or revoked.")
	if !strings.HasPrefix(secret, "allot_") || len(secret) > 200 {
		return allot.Actor{}, bad
	}
	var id, tenant, role, name, expires string
	var revoked int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, tenant_id, role, name, expires_at, revoked FROM tokens WHERE hash = ?`), hashSecret(secret)).
		Scan(&id, &tenant, &role, &name, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return allot.Actor{}, bad
	} else if err != nil {
		return allot.Actor{}, err
	}
	if revoked == 1 || (expires != "" && !s.now().Before(parseTime(expires))) {
		return allot.Actor{}, bad
	}
	return allot.Actor{TenantID: tenant, Role: allot.Role(role), Name: name, TokenID: id}, nil
}

// validLocation checks an ISO 3166 alpha-2 code (or empty) and upper-cases it.
func validLocation(loc string) (string, error) {
	loc = strings.ToUpper(strings.TrimSpace(loc))
	if loc == "" {
		return "", nil
	}
	if !allot.IsCountry(loc) {
		return "", allot.Errorf(allot.EINVALID, "Invalid usage location '%s': use a two-letter ISO 3166 country code.", loc)
	}
	return loc, nil
}
