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
	if err := allot.CheckText("displayName", displayName, 256); err != nil {
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
	err = s.tx(ctx, func(tx *txn) error {
		if _, err := s.tenant(ctx, tx, tenantID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM accounts WHERE username_key = ?`, strings.ToLower(username)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return allot.Errorf(allot.ECONFLICT, "The username '%s' is already taken.", username)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, tenant_id, username, username_key, display_name, role, password_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, acc.ID, tenantID, username, strings.ToLower(username), displayName, string(role), string(hash), fmtTime(acc.CreatedAt)); err != nil {
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
	return read(ctx, s, func(tx *txn) ([]allot.Account, error) {
		rows, err := tx.Query(ctx, `SELECT `+accountCols+` FROM accounts WHERE tenant_id = ? ORDER BY username_key`, a.TenantID)
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
	})
}

var (
	errBadSignIn = allot.Errorf(allot.EUNAUTHORIZED, "The username or password is incorrect.")
	errLocked    = allot.Errorf(allot.ETOOMANY, "Too many failed sign-in attempts. Wait a few minutes, then try again.")

	// dummyHashes holds, per bcrypt cost, a hash compared against when the
	// username is unknown, so that a wrong username takes as long as a
	// wrong password.
	dummyHashes sync.Map // int -> []byte

	// comparePassword is bcrypt's, a variable so that a test can count the
	// comparisons and see that an unknown username costs one too.
	comparePassword = bcrypt.CompareHashAndPassword
)

// failureMemory is how long failed sign-ins are remembered after the last
// one: long enough to outlast the longest lock many times over.
const failureMemory = 24 * time.Hour

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

// lockFor is how long a username stays locked for a client after n
// failures in a row from it.
func lockFor(n int) time.Duration {
	if n < allot.MaxFailedSignIns {
		return 0
	}
	d := time.Minute << min(n-allot.MaxFailedSignIns, 4)
	return min(d, 15*time.Minute)
}

// clientKey bounds what a caller passes as its address: it is a key of
// the database, not something to store at any length.
func clientKey(client string) string {
	if len(client) > 64 {
		sum := sha256.Sum256([]byte(client))
		return "h:" + hex.EncodeToString(sum[:16])
	}
	return client
}

// SignIn checks the password (outside any transaction: bcrypt is slow on
// purpose) and starts a session, or counts the failure against the
// username and the client. Every path that can end in "incorrect" does one
// bcrypt comparison and, on failure, one write, whether the account exists,
// is disabled or has another password: neither the answer nor the work
// tells them apart.
func (s *DB) SignIn(ctx context.Context, username, password, client string) (string, allot.Actor, error) {
	key := strings.ToLower(strings.TrimSpace(username))
	if validUsername(key) != nil {
		// No account can have this name: there is nothing to count.
		comparePassword(s.dummyHash(), []byte(password))
		return "", allot.Actor{}, errBadSignIn
	}
	client = clientKey(client)
	now := s.now()
	// The lock is read before the account, and is kept for a username
	// nobody has just as for one somebody has.
	var id, tenant, role, name, hash string
	var disabled int
	known := false
	err := s.readTx(ctx, func(tx *txn) error {
		var locked string
		err := tx.QueryRow(ctx, `SELECT locked_until FROM sign_in_failures WHERE username_key = ? AND client = ?`, key, client).Scan(&locked)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if locked != "" && now.Before(parseTime(locked)) {
			return errLocked
		}
		err = tx.QueryRow(ctx, `SELECT id, tenant_id, role, username, password_hash, disabled FROM accounts WHERE username_key = ?`, key).
			Scan(&id, &tenant, &role, &name, &hash, &disabled)
		known = err == nil
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return "", allot.Actor{}, err
	}
	if !known {
		hash = string(s.dummyHash())
	}
	match := comparePassword([]byte(hash), []byte(password)) == nil
	if !match || !known || disabled == 1 || len(password) > allot.MaxPasswordLength {
		if err := s.countFailure(ctx, key, client, now); err != nil {
			return "", allot.Actor{}, err
		}
		return "", allot.Actor{}, errBadSignIn
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", allot.Actor{}, err
	}
	secret := "ses_" + base64.RawURLEncoding.EncodeToString(raw)
	err = s.tx(ctx, func(tx *txn) error {
		// Only this client's count: another client's may be an attacker's.
		if _, err := tx.Exec(ctx, `DELETE FROM sign_in_failures WHERE username_key = ? AND client = ?`, key, client); err != nil {
			return err
		}
		// Sessions that ended are of no use to anyone: drop them here
		// rather than in a background job.
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, fmtTime(now)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (hash, account_id, tenant_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			hashSecret(secret), id, tenant, fmtTime(now), fmtTime(now.Add(allot.SessionLifetime)))
		return err
	})
	if err != nil {
		return "", allot.Actor{}, err
	}
	return secret, sessionActor(id, tenant, role, name), nil
}

// countFailure adds a failure to the username's count for the client and
// locks the pair once the count reaches allot.MaxFailedSignIns.
func (s *DB) countFailure(ctx context.Context, key, client string, now time.Time) error {
	return s.tx(ctx, func(tx *txn) error {
		// Forgotten here rather than in a background job, like sessions;
		// the index on last_failed_at makes it cheap when there is nothing.
		if _, err := tx.Exec(ctx, `DELETE FROM sign_in_failures WHERE last_failed_at < ?`, fmtTime(now.Add(-failureMemory))); err != nil {
			return err
		}
		// An upsert rather than read-then-write: two failures at once from
		// the same client must both count.
		if _, err := tx.Exec(ctx, `INSERT INTO sign_in_failures (username_key, client, failures, locked_until, last_failed_at) VALUES (?, ?, 1, '', ?)
			ON CONFLICT (username_key, client) DO UPDATE SET failures = sign_in_failures.failures + 1, last_failed_at = excluded.last_failed_at`,
			key, client, fmtTime(now)); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT failures FROM sign_in_failures WHERE username_key = ? AND client = ?`, key, client).Scan(&n); err != nil {
			return err
		}
		if d := lockFor(n); d > 0 {
			if _, err := tx.Exec(ctx, `UPDATE sign_in_failures SET locked_until = ? WHERE username_key = ? AND client = ?`, fmtTime(now.Add(d)), key, client); err != nil {
				return err
			}
		}
		return nil
	})
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
	err := s.readTx(ctx, func(tx *txn) error {
		return tx.QueryRow(ctx, `SELECT a.id, a.tenant_id, a.role, a.username, a.disabled, s.expires_at
			FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.hash = ?`, hashSecret(secret)).
			Scan(&id, &tenant, &role, &name, &disabled, &expires)
	})
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
	return s.tx(ctx, func(tx *txn) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE hash = ?`, hashSecret(secret))
		return err
	})
}

// managedTenant is the tenant whose accounts the caller may change.
func managedTenant(ctx context.Context, tenantID string) (string, error) {
	a, _ := allot.ActorFromContext(ctx)
	if a.Operator {
		if tenantID == "" {
			return "", allot.Errorf(allot.EINVALID, "A tenant is required.")
		}
		return tenantID, nil
	}
	if a.TenantID == "" || !a.Role.Can(allot.PermManageTenant) {
		return "", allot.Errorf(allot.EFORBIDDEN, "Insufficient privileges to complete the operation.")
	}
	if tenantID == "" {
		tenantID = a.TenantID
	}
	if tenantID != a.TenantID {
		return "", notFound(tenantID)
	}
	return tenantID, nil
}

// managedAccount finds an account of the tenant by username. An account of
// another tenant is not found, as if it did not exist.
func (s *DB) managedAccount(ctx context.Context, tx *txn, tenantID, username string) (*allot.Account, error) {
	username = strings.TrimSpace(username)
	acc, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE username_key = ?`, strings.ToLower(username)))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && acc.TenantID != tenantID) {
		return nil, notFound(username)
	} else if err != nil {
		return nil, err
	}
	return acc, nil
}

func (s *DB) endSessions(ctx context.Context, tx *txn, accountID string) (int, error) {
	res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, accountID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SetAccountDisabled disables or enables an account; disabling ends its
// sessions too, so that enabling it again does not bring them back.
func (s *DB) SetAccountDisabled(ctx context.Context, tenantID, username string, disabled bool) (*allot.Account, error) {
	tenantID, err := managedTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var acc *allot.Account
	err = s.tx(ctx, func(tx *txn) error {
		var err error
		if acc, err = s.managedAccount(ctx, tx, tenantID, username); err != nil {
			return err
		}
		if a, _ := allot.ActorFromContext(ctx); disabled && a.TokenID == "account:"+acc.ID {
			// The tenant could be left with nobody to enable it again.
			return allot.Errorf(allot.EINVALID, "You can't disable the account you are signed in with.")
		}
		if acc.Disabled == disabled {
			return nil
		}
		flag, activity := 0, "Enable account"
		if disabled {
			flag, activity = 1, "Disable account"
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET disabled = ? WHERE id = ?`, flag, acc.ID); err != nil {
			return err
		}
		ended := 0
		if disabled {
			if ended, err = s.endSessions(ctx, tx, acc.ID); err != nil {
				return err
			}
		}
		acc.Disabled = disabled
		return s.audit(ctx, tx, tenantID, activity, "Account", acc.ID, toJSON(map[string]any{"username": acc.Username, "disabled": !disabled}),
			toJSON(map[string]any{"username": acc.Username, "disabled": disabled, "sessionsEnded": ended}), "success")
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// ResetPassword sets a new random password and ends the account's sessions.
// The account's failed sign-ins are forgotten: whoever was locked out
// for a client gets in with the new password from it.
func (s *DB) ResetPassword(ctx context.Context, tenantID, username string) (*allot.Account, string, error) {
	tenantID, err := managedTenant(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	password := newPassword()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost())
	if err != nil {
		return nil, "", err
	}
	var acc *allot.Account
	err = s.tx(ctx, func(tx *txn) error {
		var err error
		if acc, err = s.managedAccount(ctx, tx, tenantID, username); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET password_hash = ? WHERE id = ?`, string(hash), acc.ID); err != nil {
			return err
		}
		ended, err := s.endSessions(ctx, tx, acc.ID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sign_in_failures WHERE username_key = ?`, strings.ToLower(acc.Username)); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, "Reset password", "Account", acc.ID, "",
			toJSON(map[string]any{"username": acc.Username, "sessionsEnded": ended}), "success")
	})
	if err != nil {
		return nil, "", err
	}
	return acc, password, nil
}

// RevokeSessions ends every session of an account.
func (s *DB) RevokeSessions(ctx context.Context, tenantID, username string) (int, error) {
	tenantID, err := managedTenant(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	ended := 0
	err = s.tx(ctx, func(tx *txn) error {
		acc, err := s.managedAccount(ctx, tx, tenantID, username)
		if err != nil {
			return err
		}
		if ended, err = s.endSessions(ctx, tx, acc.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, "Revoke sessions", "Account", acc.ID, "",
			toJSON(map[string]any{"username": acc.Username, "sessionsEnded": ended}), "success")
	})
	return ended, err
}

// newPassword is 20 characters from an alphabet without look-alikes (about
// 113 bits), drawn without modulo bias.
func newPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY345679"
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, 20)
	b := make([]byte, 32)
	for len(out) < cap(out) {
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		for _, c := range b {
			if int(c) < limit && len(out) < cap(out) {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
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
