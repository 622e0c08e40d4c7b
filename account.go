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

// OIDCConfig is a tenant's sign-in through its organisation's identity
// provider with OpenID Connect (docs/SSO.md). People who sign in this way
// get a federated account, whose role is given by RoleMappings at every
// sign-in.
type OIDCConfig struct {
	TenantID string
	// Issuer is the provider's issuer URL, where its discovery document is
	// (Issuer + "/.well-known/openid-configuration"): https, or http to a
	// loopback address for tests.
	Issuer   string
	ClientID string
	// ClientSecret is given to SetOIDCConfig and read only by the sign-in
	// (OIDCSignInConfig): every other answer leaves it empty and says only
	// HasClientSecret. It is stored encrypted.
	ClientSecret    string
	HasClientSecret bool
	// Scopes are asked for besides openid, profile and email (Okta's
	// "groups", for instance).
	Scopes []string
	// RoleClaim names the ID token's claim whose values are mapped to a
	// role: "groups" or "roles" (Entra ID's app roles), a string or a list
	// of strings.
	RoleClaim string
	// RoleMappings give a role to a value of RoleClaim, the first that
	// matches in this order; a person matching none is refused.
	RoleMappings []OIDCRoleMapping
	// RedirectURL is where the provider sends the browser back to, built
	// on the server's public URL; empty when the server has none, and the
	// admin center then builds it on the request's host.
	RedirectURL string
	UpdatedAt   time.Time
}

// OIDCRoleMapping gives Role to whoever's role claim holds Value
// (compared exactly: group object ids and app role values are).
type OIDCRoleMapping struct {
	Value string
	Role  Role
}

// OIDCCallbackPath is the admin center's path that the provider redirects
// to (the sign-in page, which tells the answer by its state parameter);
// the redirect URI to register is the server's public URL and this.
const OIDCCallbackPath = "/signin"

// OIDCLoginLifetime is how long a sign-in may take between leaving for the
// provider and coming back.
const OIDCLoginLifetime = 10 * time.Minute

// OIDCLogin is a sign-in between the redirect to the provider and its
// return: what the callback checks the answer against.
type OIDCLogin struct {
	State    string // random; the browser holds it in a cookie too
	TenantID string
	Verifier string // PKCE code verifier
	Nonce    string
	Next     string // the page to go to once signed in
}

// OIDCIdentity is what a verified ID token says about who signed in.
type OIDCIdentity struct {
	Issuer, Subject string   // who they are: the account is found by these
	Username        string   // preferred_username or email, to show
	DisplayName     string   // name
	RoleValues      []string // the values of the tenant's RoleClaim
}

// OIDCService configures single sign-on and signs people in with it. The
// store implements it. The first three act on one tenant: the operator
// may name any, a tenant actor needs PermManageTenant and names its own
// ("" means its own); another tenant is ENOTFOUND. Changes are written to
// the audit log, never a secret.
type OIDCService interface {
	// OIDCConfig returns the tenant's configuration without its client
	// secret; ENOTFOUND when it has none.
	OIDCConfig(ctx context.Context, tenantID string) (*OIDCConfig, error)
	// SetOIDCConfig creates or replaces the configuration. An empty
	// ClientSecret keeps the stored one. EINVALID for a bad issuer, client
	// id, claim, scope or mapping, or a secret when the server has no key
	// to encrypt it with.
	SetOIDCConfig(ctx context.Context, c OIDCConfig) (*OIDCConfig, error)
	// RemoveOIDCConfig turns single sign-on off and ends the sessions of
	// its federated accounts; ENOTFOUND when there was none.
	RemoveOIDCConfig(ctx context.Context, tenantID string) error

	// The methods below are the sign-in itself and need no actor.

	// OIDCSignInConfig returns a tenant's configuration with its client
	// secret; ENOTFOUND when the tenant has none.
	OIDCSignInConfig(ctx context.Context, tenantID string) (*OIDCConfig, error)
	// StartOIDCSignIn keeps a sign-in for OIDCLoginLifetime.
	StartOIDCSignIn(ctx context.Context, l OIDCLogin) error
	// TakeOIDCSignIn returns a sign-in and forgets it, so that an answer is
	// used once; EUNAUTHORIZED when unknown, used or expired.
	TakeOIDCSignIn(ctx context.Context, state string) (*OIDCLogin, error)
	// OIDCSignIn starts a session for a verified identity: the federated
	// account of (tenant, issuer, subject), created at first sign-in, with
	// the role of the first mapping its RoleValues match. EFORBIDDEN when
	// none matches (its sessions then end too), EUNAUTHORIZED when the
	// account is disabled or the tenant has no configuration.
	OIDCSignIn(ctx context.Context, tenantID string, id OIDCIdentity) (sessionSecret string, a Actor, err error)
}
