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
	err := s.tx(ctx, func(tx *txn) error {
		if _, err := s.tenant(ctx, tx, tenantID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tokens (id, tenant_id, role, name, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
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
	return read(ctx, s, func(tx *txn) ([]allot.Token, error) {
		rows, err := tx.Query(ctx, `SELECT id, tenant_id, role, name, created_at, expires_at, revoked FROM tokens WHERE tenant_id = ? ORDER BY created_at, id`, a.TenantID)
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
	})
}

// RevokeToken revokes one of the tenant's tokens.
func (s *DB) RevokeToken(ctx context.Context, id string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *txn) error {
		res, err := tx.Exec(ctx, `UPDATE tokens SET revoked = 1 WHERE tenant_id = ? AND id = ?`, a.TenantID, id)
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
	err := s.readTx(ctx, func(tx *txn) error {
		return tx.QueryRow(ctx, `SELECT id, tenant_id, role, name, expires_at, revoked FROM tokens WHERE hash = ?`, hashSecret(secret)).
			Scan(&id, &tenant, &role, &name, &expires, &revoked)
	})
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
