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
	// MaxFailedSignIns is how many wrong passwords for one username from
	// one client address lock that username for that address only, for a
	// minute, doubling with each further failure up to 15 minutes. The
	// owner signing in from another address is not held back, so typing
	// wrong passwords under someone's name cannot lock them out.
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
	// SignIn checks a username and password and starts a session. client is
	// the caller's network address, which failures are counted by. It
	// answers EUNAUTHORIZED for a wrong username or password and for a
	// disabled account (without saying which), and ETOOMANY while the
	// username is locked for that client (MaxFailedSignIns); an unknown
	// username is answered exactly like a known one.
	SignIn(ctx context.Context, username, password, client string) (sessionSecret string, a Actor, err error)
	// SessionActor resolves a session secret to the account's actor, with
	// the account's current role; EUNAUTHORIZED when expired or unknown.
	SessionActor(ctx context.Context, secret string) (Actor, error)
	// SignOut ends a session; ending an unknown one is not an error.
	SignOut(ctx context.Context, secret string) error

	// The operations below act on one account, named by its username, of
	// tenantID. The operator may name any tenant; a tenant actor needs
	// PermManageTenant and its own tenant ("" means its own). An account
	// of another tenant is ENOTFOUND. Each is written to the audit log.

	// SetAccountDisabled disables or enables an account. A disabled account
	// cannot sign in, and disabling it ends its sessions at once. An actor
	// cannot disable the account it is signed in with (EINVALID).
	SetAccountDisabled(ctx context.Context, tenantID, username string, disabled bool) (*Account, error)
	// ResetPassword gives an account a new random password, returned here
	// and kept nowhere but as a hash, ends its sessions and forgets its
	// failed sign-ins.
	ResetPassword(ctx context.Context, tenantID, username string) (acc *Account, password string, err error)
	// RevokeSessions ends every session of an account and says how many
	// there were.
	RevokeSessions(ctx context.Context, tenantID, username string) (int, error)
}
