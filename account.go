package allot

import (
	"context"
	"time"
)

// Account is a local sign-in of the admin center: a person of
// one tenant with one role of docs/RULES.md §3. Its password is kept only as a slow
// hash, and its sessions only as hashes of their secrets.
type Account struct {
	ID          string
	TenantID    string
	Username    string // unique across the server, compared case-insensitively
	DisplayName string
	Role        Role
	CreatedAt   time.Time
	Disabled    bool
}

// Limits of accounts and sessions.
const (
	// MinPasswordLength and MaxPasswordLength bound a password in bytes
	// (bcrypt reads at most 72 bytes).
	MinPasswordLength = 10
	MaxPasswordLength = 72
	// SessionLifetime is how long a session lasts after sign-in.
	SessionLifetime = 12 * time.Hour
	// MaxFailedSignIns is how many wrong passwords in a row lock an account
	// for a while (doubling with each further failure, up to 15 minutes).
	MaxFailedSignIns = 5
)

// AccountService is what the admin center needs to sign people in. The
// store implements it.
type AccountService interface {
	// CreateAccount adds an account to a tenant. The operator may do it for
	// any tenant, a tenant actor holding PermManageTenant for its own.
	CreateAccount(ctx context.Context, tenantID, username, displayName string, role Role, password string) (*Account, error)
	// ListAccounts lists the caller's tenant's accounts (PermManageTenant).
	ListAccounts(ctx context.Context) ([]Account, error)
	// SignIn checks a username and password and starts a session. It answers
	// EUNAUTHORIZED for a wrong username or password (without saying
	// which) and ETOOMANY while the account is locked after failed attempts.
	SignIn(ctx context.Context, username, password string) (sessionSecret string, a Actor, err error)
	// SessionActor resolves a session secret to the account's actor, with
	// the account's current role; EUNAUTHORIZED when expired or unknown.
	SessionActor(ctx context.Context, secret string) (Actor, error)
	// SignOut ends a session; ending an unknown one is not an error.
	SignOut(ctx context.Context, secret string) error
}
