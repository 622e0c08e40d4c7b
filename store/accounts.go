package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot"
	"golang.org/x/crypto/bcrypt"
)

// Accounts of the admin center (allot.AccountService). Passwords are kept
// as bcrypt hashes; session secrets are random 256-bit values of which only
// the SHA-256 is stored, like API tokens.

const accountCols = `id, tenant_id, username, display_name, role, disabled, created_at`

func scanAccount(r interface{ Scan(...any) error }) (*allot.Account, error) {
	var a allot.Account
	var role, created string
	var disabled int
	if err := r.Scan(&a.ID, &a.TenantID, &a.Username, &a.DisplayName, &role, &disabled, &created); err != nil {
		return nil, err
	}
	a.Role, a.Disabled, a.CreatedAt = allot.Role(role), disabled == 1, parseTime(created)
	return &a, nil
}

// CreateAccount adds a sign-in to a tenant. The operator may add one to any
// tenant; a tenant actor only to its own, and only with PermManageTenant.
func (s *DB) CreateAccount(ctx context.Context, tenantID, username, displayName string, role allot.Role, password string) (*allot.Account, error) {
	a, _ := allot.ActorFromContext(ctx)
	if !a.Operator {
		if a.TenantID == "" || !a.Role.Can(allot.PermManageTenant) {
			return nil, allot.Errorf(allot.EFORBIDDEN, "Insufficient privileges to complete the operation.")
		}
		if tenantID == "" {
			tenantID = a.TenantID
		}
		if tenantID != a.TenantID {
			return nil, notFound(tenantID)
		}
	}
	username = strings.TrimSpace(username)
	if err := validUsername(username); err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, allot.Errorf(allot.EINVALID, "Unknown role '%s'.", role)
	}
	if strings.TrimSpace(displayName) == "" {
		displayName = username
	}
	if err := validText("displayName", displayName, 256); err != nil {
		return nil, err
	}
	if len(password) < allot.MinPasswordLength || len(password) > allot.MaxPasswordLength {
		return nil, allot.Errorf(allot.EINVALID, "A password must have between %d and %d characters.", allot.MinPasswordLength, allot.MaxPasswordLength)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost())
	if err != nil {
		return nil, err
	}
	acc := &allot.Account{ID: s.newID(), TenantID: tenantID, Username: username, DisplayName: displayName, Role: role, CreatedAt: s.now()}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.tenant(ctx, tx, tenantID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM accounts WHERE username_key = ?`), strings.ToLower(username)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return allot.Errorf(allot.ECONFLICT, "The username '%s' is already taken.", username)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO accounts (id, tenant_id, username, username_key, display_name, role, password_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), acc.ID, tenantID, username, strings.ToLower(username), displayName, string(role), string(hash), fmtTime(acc.CreatedAt)); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, "Add role assignment", "Account", acc.ID, "", toJSON(map[string]string{"username": username, "role": string(role)}), "success")
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// ListAccounts lists the caller's tenant's accounts by username.
func (s *DB) ListAccounts(ctx context.Context) ([]allot.Account, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if !a.Role.Can(allot.PermManageTenant) {
		return nil, allot.Errorf(allot.EFORBIDDEN, "Insufficient privileges to complete the operation.")
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+accountCols+` FROM accounts WHERE tenant_id = ? ORDER BY username_key`), a.TenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []allot.Account{}
	for rows.Next() {
		acc, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *acc)
	}
	return out, rows.Err()
}

var (
	errBadSignIn = allot.Errorf(allot.EUNAUTHORIZED, "The username or password is incorrect.")
	errLocked    = allot.Errorf(allot.ETOOMANY, "Too many failed sign-in attempts. Wait a few minutes, then try again.")

	// dummyHashes holds, per bcrypt cost, a hash compared against when the
	// username is unknown, so that a wrong username takes as long as a
	// wrong password.
	dummyHashes sync.Map // int -> []byte
)

func (s *DB) passwordCost() int {
	if s.pwCost == 0 {
		return bcrypt.DefaultCost
	}
	return s.pwCost
}

func (s *DB) dummyHash() []byte {
	cost := s.passwordCost()
	if h, ok := dummyHashes.Load(cost); ok {
		return h.([]byte)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("allot: no such account"), cost)
	dummyHashes.Store(cost, h)
	return h
}

// lockFor is how long an account stays locked after n failures in a row.
func lockFor(n int) time.Duration {
	if n < allot.MaxFailedSignIns {
		return 0
	}
	d := time.Minute << min(n-allot.MaxFailedSignIns, 4)
	return min(d, 15*time.Minute)
}

// SignIn checks the password (outside any transaction: bcrypt is slow on
// purpose) and starts a session, or counts the failure.
func (s *DB) SignIn(ctx context.Context, username, password string) (string, allot.Actor, error) {
	key := strings.ToLower(strings.TrimSpace(username))
	if key == "" || len(key) > 256 || strings.ContainsRune(key, 0) {
		bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return "", allot.Actor{}, errBadSignIn
	}
	var id, tenant, role, name, hash, locked string
	var disabled int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, tenant_id, role, username, password_hash, disabled, locked_until FROM accounts WHERE username_key = ?`), key).
		Scan(&id, &tenant, &role, &name, &hash, &disabled, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return "", allot.Actor{}, errBadSignIn
	} else if err != nil {
		return "", allot.Actor{}, err
	}
	now := s.now()
	if locked != "" && now.Before(parseTime(locked)) {
		return "", allot.Actor{}, errLocked
	}
	if len(password) > allot.MaxPasswordLength || bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || disabled == 1 {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT failed_attempts FROM accounts WHERE id = ?`), id).Scan(&n); err != nil {
				return err
			}
			n++
			until := ""
			if d := lockFor(n); d > 0 {
				until = fmtTime(now.Add(d))
			}
			_, err := tx.ExecContext(ctx, s.q(`UPDATE accounts SET failed_attempts = ?, locked_until = ? WHERE id = ?`), n, until, id)
			return err
		})
		if err != nil {
			return "", allot.Actor{}, err
		}
		return "", allot.Actor{}, errBadSignIn
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", allot.Actor{}, err
	}
	secret := "ses_" + base64.RawURLEncoding.EncodeToString(raw)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE accounts SET failed_attempts = 0, locked_until = '' WHERE id = ?`), id); err != nil {
			return err
		}
		// Sessions that ended are of no use to anyone: drop them here
		// rather than in a background job.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at <= ?`), fmtTime(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO sessions (hash, account_id, tenant_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
			hashSecret(secret), id, tenant, fmtTime(now), fmtTime(now.Add(allot.SessionLifetime)))
		return err
	})
	if err != nil {
		return "", allot.Actor{}, err
	}
	return secret, sessionActor(id, tenant, role, name), nil
}

func sessionActor(id, tenant, role, username string) allot.Actor {
	return allot.Actor{TenantID: tenant, Role: allot.Role(role), Name: username, TokenID: "account:" + id}
}

// SessionActor resolves a session secret to its account's actor, with the
// account's role as it is now.
func (s *DB) SessionActor(ctx context.Context, secret string) (allot.Actor, error) {
	bad := allot.Errorf(allot.EUNAUTHORIZED, "The session has ended. Sign in again.")
	if !strings.HasPrefix(secret, "ses_") || len(secret) > 100 {
		return allot.Actor{}, bad
	}
	var id, tenant, role, name, expires string
	var disabled int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT a.id, a.tenant_id, a.role, a.username, a.disabled, s.expires_at
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.hash = ?`), hashSecret(secret)).
		Scan(&id, &tenant, &role, &name, &disabled, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return allot.Actor{}, bad
	} else if err != nil {
		return allot.Actor{}, err
	}
	if disabled == 1 || !s.now().Before(parseTime(expires)) {
		return allot.Actor{}, bad
	}
	return sessionActor(id, tenant, role, name), nil
}

// SignOut ends a session.
func (s *DB) SignOut(ctx context.Context, secret string) error {
	if !strings.HasPrefix(secret, "ses_") || len(secret) > 100 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE hash = ?`), hashSecret(secret))
		return err
	})
}

// validUsername allows what fits in a URL and a log line unquoted: letters,
// digits and . _ - @, 3 to 64 characters.
func validUsername(u string) error {
	if len(u) < 3 || len(u) > 64 {
		return allot.Errorf(allot.EINVALID, "A username must have between 3 and 64 characters.")
	}
	for _, r := range u {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-', r == '@':
		default:
			return allot.Errorf(allot.EINVALID, "A username may contain only letters, digits and . _ - @.")
		}
	}
	return nil
}

var _ allot.AccountService = (*DB)(nil)
