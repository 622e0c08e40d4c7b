package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

// OIDC is single sign-on (allot.OIDCService) over the store. It is a
// value of its own rather than methods of DB because it holds the key that
// client secrets are sealed with, and the server's public URL that the
// redirect URL is built on.
type OIDC struct {
	db        *DB
	aead      cipher.AEAD // nil: no key, so no client secret can be kept
	publicURL string
}

// OIDCOptions configure DB.OIDC.
type OIDCOptions struct {
	// Key is 32 bytes (AES-256) sealing client secrets; nil: a
	// configuration can have no secret (a public client using PKCE only).
	Key []byte
	// PublicURL is the server's public URL (allot serve --public-url);
	// empty: the redirect URL is left to the admin center.
	PublicURL string
}

// OIDC returns the single sign-on service; an error for a key that is not
// 32 bytes.
func (s *DB) OIDC(o OIDCOptions) (*OIDC, error) {
	out := &OIDC{db: s, publicURL: strings.TrimRight(o.PublicURL, "/")}
	if o.Key != nil {
		if len(o.Key) != 32 {
			return nil, fmt.Errorf("the single sign-on key must be 32 bytes, not %d", len(o.Key))
		}
		block, err := aes.NewCipher(o.Key)
		if err != nil {
			return nil, err
		}
		if out.aead, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var _ allot.OIDCService = (*OIDC)(nil)

// federatedPassword is the password hash of a federated account: not a
// bcrypt hash, so no password matches it. Its username has a colon, which
// no local username may, so the password sign-in never even looks it up,
// even after a Reset password.
const federatedPassword = "!oidc"

// sealAAD binds a sealed secret to its tenant, so that a row copied to
// another tenant does not open.
func sealAAD(tenantID string) []byte { return []byte("allot oidc client secret v1\x00" + tenantID) }

func (o *OIDC) seal(tenantID, secret string) (string, error) {
	nonce := make([]byte, o.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return "v1:" + base64.RawStdEncoding.EncodeToString(o.aead.Seal(nonce, nonce, []byte(secret), sealAAD(tenantID))), nil
}

func (o *OIDC) open(tenantID, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	if o.aead == nil {
		return "", errors.New("oidc: the client secret is sealed, and this server has no single sign-on key (--sso-key-file)")
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	if err != nil || !strings.HasPrefix(sealed, "v1:") || len(raw) < o.aead.NonceSize() {
		return "", errors.New("oidc: the stored client secret is damaged")
	}
	n := o.aead.NonceSize()
	plain, err := o.aead.Open(nil, raw[:n], raw[n:], sealAAD(tenantID))
	if err != nil {
		return "", errors.New("oidc: the client secret does not open with this server's single sign-on key (--sso-key-file)")
	}
	return string(plain), nil
}

const oidcCols = `tenant_id, issuer, client_id, client_secret, scopes, role_claim, role_mappings, updated_at`

// scan reads a configuration as stored, and its secret still sealed.
func (o *OIDC) scan(r interface{ Scan(...any) error }) (*allot.OIDCConfig, string, error) {
	var c allot.OIDCConfig
	var sealed, scopes, mappings, updated string
	if err := r.Scan(&c.TenantID, &c.Issuer, &c.ClientID, &sealed, &scopes, &c.RoleClaim, &mappings, &updated); err != nil {
		return nil, "", err
	}
	var ms []mappingJSON
	if err := json.Unmarshal([]byte(mappings), &ms); err != nil {
		return nil, "", err
	}
	for _, m := range ms {
		c.RoleMappings = append(c.RoleMappings, allot.OIDCRoleMapping{Value: m.Value, Role: allot.Role(m.Role)})
	}
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, "", err
	}
	c.HasClientSecret, c.UpdatedAt = sealed != "", parseTime(updated)
	if o.publicURL != "" {
		c.RedirectURL = o.publicURL + allot.OIDCCallbackPath
	}
	return &c, sealed, nil
}

type mappingJSON struct {
	Value string `json:"value"`
	Role  string `json:"role"`
}

func (o *OIDC) load(ctx context.Context, tx *txn, tenantID string) (*allot.OIDCConfig, string, error) {
	c, sealed, err := o.scan(tx.QueryRow(ctx, `SELECT `+oidcCols+` FROM oidc_configs WHERE tenant_id = ?`, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", allot.Errorf(allot.ENOTFOUND, "Single sign-on is not set up for this organization.")
	}
	return c, sealed, err
}

// OIDCConfig returns the tenant's configuration without its secret.
func (o *OIDC) OIDCConfig(ctx context.Context, tenantID string) (*allot.OIDCConfig, error) {
	tenantID, err := managedTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return read(ctx, o.db, func(tx *txn) (*allot.OIDCConfig, error) {
		c, _, err := o.load(ctx, tx, tenantID)
		return c, err
	})
}

// OIDCSignInConfig returns the configuration with its secret opened.
func (o *OIDC) OIDCSignInConfig(ctx context.Context, tenantID string) (*allot.OIDCConfig, error) {
	if !validGUID(tenantID) {
		return nil, allot.Errorf(allot.ENOTFOUND, "Single sign-on is not set up for this organization.")
	}
	var sealed string
	c, err := read(ctx, o.db, func(tx *txn) (*allot.OIDCConfig, error) {
		var c *allot.OIDCConfig
		var err error
		c, sealed, err = o.load(ctx, tx, strings.ToLower(tenantID))
		return c, err
	})
	if err != nil {
		return nil, err
	}
	if c.ClientSecret, err = o.open(c.TenantID, sealed); err != nil {
		return nil, err
	}
	return c, nil
}

// SetOIDCConfig validates and stores a configuration.
func (o *OIDC) SetOIDCConfig(ctx context.Context, c allot.OIDCConfig) (*allot.OIDCConfig, error) {
	tenantID, err := managedTenant(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	if err := checkOIDC(&c); err != nil {
		return nil, err
	}
	sealed := ""
	if c.ClientSecret != "" {
		if o.aead == nil {
			return nil, allot.Errorf(allot.EINVALID, "A client secret can only be kept when the server has a single sign-on key (--sso-key-file): it is stored encrypted with it.")
		}
		if sealed, err = o.seal(tenantID, c.ClientSecret); err != nil {
			return nil, err
		}
	}
	ms := make([]mappingJSON, len(c.RoleMappings))
	for i, m := range c.RoleMappings {
		ms[i] = mappingJSON{Value: m.Value, Role: string(m.Role)}
	}
	now := o.db.now()
	var out *allot.OIDCConfig
	err = o.db.tx(ctx, func(tx *txn) error {
		if _, err := o.db.tenant(ctx, tx, tenantID); err != nil {
			return err
		}
		old, oldSealed, err := o.load(ctx, tx, tenantID)
		if err != nil && allot.ErrorCode(err) != allot.ENOTFOUND {
			return err
		}
		secretWas := "none"
		if old != nil && oldSealed != "" {
			secretWas = "set"
		}
		secretIs := "replaced"
		if secretWas == "none" {
			secretIs = "set"
		}
		switch {
		case sealed == "" && old != nil:
			sealed, secretIs = oldSealed, secretWas
		case sealed == "":
			secretIs = "none"
		}
		if _, err := tx.Exec(ctx, `DELETE FROM oidc_configs WHERE tenant_id = ?`, tenantID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO oidc_configs (`+oidcCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			tenantID, c.Issuer, c.ClientID, sealed, toJSON(c.Scopes), c.RoleClaim, toJSON(ms), fmtTime(now)); err != nil {
			return err
		}
		if out, _, err = o.load(ctx, tx, tenantID); err != nil {
			return err
		}
		before := ""
		if old != nil {
			before = auditOIDC(old, secretWas)
		}
		return o.db.audit(ctx, tx, tenantID, "Update single sign-on", "Tenant", tenantID, before, auditOIDC(out, secretIs), "success")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// auditOIDC is a configuration as the audit log shows it: never the
// secret, only whether there is one.
func auditOIDC(c *allot.OIDCConfig, secret string) string {
	ms := make([]mappingJSON, len(c.RoleMappings))
	for i, m := range c.RoleMappings {
		ms[i] = mappingJSON{Value: m.Value, Role: string(m.Role)}
	}
	return toJSON(map[string]any{"issuer": c.Issuer, "clientId": c.ClientID, "clientSecret": secret, "scopes": c.Scopes,
		"roleClaim": c.RoleClaim, "roleMappings": ms})
}

// RemoveOIDCConfig deletes the configuration and ends the federated
// accounts' sessions: without it nobody could have signed them in.
func (o *OIDC) RemoveOIDCConfig(ctx context.Context, tenantID string) error {
	tenantID, err := managedTenant(ctx, tenantID)
	if err != nil {
		return err
	}
	return o.db.tx(ctx, func(tx *txn) error {
		old, oldSealed, err := o.load(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM oidc_configs WHERE tenant_id = ?`, tenantID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE account_id IN (SELECT account_id FROM oidc_identities WHERE tenant_id = ?)`, tenantID)
		if err != nil {
			return err
		}
		ended, _ := res.RowsAffected()
		secret := "none"
		if oldSealed != "" {
			secret = "set"
		}
		return o.db.audit(ctx, tx, tenantID, "Remove single sign-on", "Tenant", tenantID, auditOIDC(old, secret),
			toJSON(map[string]any{"sessionsEnded": ended}), "success")
	})
}

// StartOIDCSignIn keeps a sign-in by the hash of its state.
func (o *OIDC) StartOIDCSignIn(ctx context.Context, l allot.OIDCLogin) error {
	if len(l.State) < 32 || len(l.State) > 100 || l.Verifier == "" || l.Nonce == "" || len(l.Next) > 2048 {
		return allot.Errorf(allot.EINVALID, "A sign-in needs a random state, a verifier and a nonce.")
	}
	now := o.db.now()
	return o.db.tx(ctx, func(tx *txn) error {
		// Sign-ins nobody came back from are dropped here rather than in a
		// background job, as sessions are.
		if _, err := tx.Exec(ctx, `DELETE FROM oidc_logins WHERE expires_at <= ?`, fmtTime(now)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO oidc_logins (state_hash, tenant_id, verifier, nonce, next, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			hashSecret(l.State), l.TenantID, l.Verifier, l.Nonce, l.Next, fmtTime(now.Add(allot.OIDCLoginLifetime)))
		return err
	})
}

// TakeOIDCSignIn deletes the sign-in as it reads it, so that a second
// answer with the same state (a replay) finds nothing.
func (o *OIDC) TakeOIDCSignIn(ctx context.Context, state string) (*allot.OIDCLogin, error) {
	gone := allot.Errorf(allot.EUNAUTHORIZED, "This sign-in has expired or was already used. Start again.")
	if state == "" || len(state) > 100 {
		return nil, gone
	}
	l := &allot.OIDCLogin{State: state}
	var expires string
	found := false
	err := o.db.tx(ctx, func(tx *txn) error {
		err := tx.QueryRow(ctx, `SELECT tenant_id, verifier, nonce, next, expires_at FROM oidc_logins WHERE state_hash = ?`, hashSecret(state)).
			Scan(&l.TenantID, &l.Verifier, &l.Nonce, &l.Next, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		found = true
		_, err = tx.Exec(ctx, `DELETE FROM oidc_logins WHERE state_hash = ?`, hashSecret(state))
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found || !o.db.now().Before(parseTime(expires)) {
		return nil, gone
	}
	return l, nil
}

// roleFor is the role of the first mapping whose value the person has.
func roleFor(ms []allot.OIDCRoleMapping, values []string) allot.Role {
	for _, m := range ms {
		if slices.Contains(values, m.Value) {
			return m.Role
		}
	}
	return ""
}

// OIDCSignIn finds or creates the federated account, gives it the mapped
// role and starts a session.
func (o *OIDC) OIDCSignIn(ctx context.Context, tenantID string, id allot.OIDCIdentity) (string, allot.Actor, error) {
	if id.Issuer == "" || id.Subject == "" || len(id.Subject) > 255 {
		return "", allot.Actor{}, allot.Errorf(allot.EUNAUTHORIZED, "The identity provider did not say who signed in.")
	}
	tenantID = strings.ToLower(tenantID)
	cfg, err := read(ctx, o.db, func(tx *txn) (*allot.OIDCConfig, error) {
		c, _, err := o.load(ctx, tx, tenantID)
		return c, err
	})
	if allot.ErrorCode(err) == allot.ENOTFOUND {
		return "", allot.Actor{}, allot.Errorf(allot.EUNAUTHORIZED, "Single sign-on is not set up for this organization.")
	} else if err != nil {
		return "", allot.Actor{}, err
	}
	if id.Issuer != cfg.Issuer {
		return "", allot.Actor{}, allot.Errorf(allot.EUNAUTHORIZED, "The identity provider is not the one this organization signs in with.")
	}
	role := roleFor(cfg.RoleMappings, id.RoleValues)
	display := strings.TrimSpace(id.DisplayName)
	if display == "" || allot.CheckText("displayName", display, 256) != nil {
		display = id.Username
	}
	secret, err := newSessionSecret()
	if err != nil {
		return "", allot.Actor{}, err
	}
	now := o.db.now()
	var actor allot.Actor
	var refused error
	newID := o.db.newID()
	err = o.db.tx(ctx, func(tx *txn) error {
		var accID, name, oldRole string
		var disabled int
		err := tx.QueryRow(ctx, `SELECT a.id, a.username, a.role, a.disabled FROM oidc_identities i JOIN accounts a ON a.id = i.account_id
			WHERE i.tenant_id = ? AND i.issuer = ? AND i.subject = ?`, tenantID, id.Issuer, id.Subject).Scan(&accID, &name, &oldRole, &disabled)
		known := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if role == "" {
			refused = allot.Errorf(allot.EFORBIDDEN, "None of your groups or roles at your organization's identity provider gives you a role in Allot.")
			if known {
				// The provider has just said they lost access: sessions
				// started while they had it end now, not in 12 hours.
				_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, accID)
				return err
			}
			return nil
		}
		if known && disabled == 1 {
			refused = allot.Errorf(allot.EUNAUTHORIZED, "Your Allot account is disabled. Ask a Global Administrator of your organization to enable it.")
			return nil
		}
		if !known {
			accID = newID
			if name, err = federatedUsername(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		actor = sessionActor(accID, tenantID, string(role), name)
		actx := allot.NewContextWithActor(ctx, actor)
		switch {
		case !known:
			if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, tenant_id, username, username_key, display_name, role, password_hash, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, accID, tenantID, name, strings.ToLower(name), display, string(role), federatedPassword, fmtTime(now)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO oidc_identities (tenant_id, issuer, subject, account_id) VALUES (?, ?, ?, ?)`,
				tenantID, id.Issuer, id.Subject, accID); err != nil {
				return err
			}
			if err := o.db.audit(actx, tx, tenantID, "Add role assignment", "Account", accID, "",
				toJSON(map[string]string{"username": name, "role": string(role), "signIn": "oidc"}), "success"); err != nil {
				return err
			}
		default:
			if _, err := tx.Exec(ctx, `UPDATE accounts SET role = ?, display_name = ? WHERE id = ?`, string(role), display, accID); err != nil {
				return err
			}
			if oldRole != string(role) {
				if err := o.db.audit(actx, tx, tenantID, "Update role assignment", "Account", accID,
					toJSON(map[string]string{"username": name, "role": oldRole}),
					toJSON(map[string]string{"username": name, "role": string(role), "signIn": "oidc"}), "success"); err != nil {
					return err
				}
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, fmtTime(now)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO sessions (hash, account_id, tenant_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			hashSecret(secret), accID, tenantID, fmtTime(now), fmtTime(now.Add(allot.SessionLifetime)))
		return err
	})
	if err != nil {
		return "", allot.Actor{}, err
	}
	if refused != nil {
		return "", allot.Actor{}, refused
	}
	return secret, actor, nil
}

// federatedUsername is "sso:" and the name the provider gives, made of
// what a local username may hold; the colon keeps it apart from every
// local one. Usernames are unique across the server, so a name taken
// (the same person in another tenant) gets a suffix of its subject's hash.
func federatedUsername(ctx context.Context, tx *txn, tenantID string, id allot.OIDCIdentity) (string, error) {
	base := strings.ToLower(strings.TrimSpace(id.Username))
	var b strings.Builder
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-', r == '@':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 48 {
			break
		}
	}
	base = b.String()
	sum := sha256.Sum256([]byte(tenantID + "\x00" + id.Issuer + "\x00" + id.Subject))
	suffix := hex.EncodeToString(sum[:4])
	if base == "" {
		base = "user-" + suffix
	}
	for _, name := range []string{"sso:" + base, "sso:" + base + "-" + suffix} {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM accounts WHERE username_key = ?`, name).Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			return name, nil
		}
	}
	return "", allot.Errorf(allot.ECONFLICT, "No username is free for this person.")
}

func newSessionSecret() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return "ses_" + base64.RawURLEncoding.EncodeToString(raw), nil
}

// checkOIDC validates a configuration in place (trimmed, scopes without
// duplicates).
func checkOIDC(c *allot.OIDCConfig) error {
	c.Issuer, c.ClientID, c.RoleClaim = strings.TrimSpace(c.Issuer), strings.TrimSpace(c.ClientID), strings.TrimSpace(c.RoleClaim)
	if err := checkIssuer(c.Issuer); err != nil {
		return err
	}
	if c.ClientID == "" || len(c.ClientID) > 256 || strings.ContainsFunc(c.ClientID, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return allot.Errorf(allot.EINVALID, "The client id must have between 1 and 256 characters, without spaces.")
	}
	if len(c.ClientSecret) > 1024 {
		return allot.Errorf(allot.EINVALID, "The client secret may have at most 1024 characters.")
	}
	if !claimName(c.RoleClaim) {
		return allot.Errorf(allot.EINVALID, "The role claim must be a claim name such as groups or roles (letters, digits and _ - : . /).")
	}
	var scopes []string
	for _, sc := range c.Scopes {
		sc = strings.TrimSpace(sc)
		if sc == "" || sc == "openid" || sc == "profile" || sc == "email" || slices.Contains(scopes, sc) {
			continue
		}
		if !claimName(sc) {
			return allot.Errorf(allot.EINVALID, "The scope '%s' is not a scope name.", sc)
		}
		scopes = append(scopes, sc)
	}
	if len(scopes) > 10 {
		return allot.Errorf(allot.EINVALID, "At most 10 scopes may be added.")
	}
	c.Scopes = scopes
	if c.Scopes == nil {
		c.Scopes = []string{}
	}
	if len(c.RoleMappings) == 0 || len(c.RoleMappings) > 100 {
		return allot.Errorf(allot.EINVALID, "Give between 1 and 100 mappings from a claim value to a role.")
	}
	for i, m := range c.RoleMappings {
		m.Value = strings.TrimSpace(m.Value)
		if m.Value == "" || len(m.Value) > 256 {
			return allot.Errorf(allot.EINVALID, "A mapping's claim value must have between 1 and 256 characters.")
		}
		if !m.Role.Valid() {
			return allot.Errorf(allot.EINVALID, "Unknown role '%s'.", m.Role)
		}
		c.RoleMappings[i] = m
	}
	return nil
}

func claimName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == ':', r == '.', r == '/':
		default:
			return false
		}
	}
	return true
}

// checkIssuer wants https, since the ID token's keys are fetched from it;
// plain http only to a loopback address, for a provider on the same
// machine in tests.
func checkIssuer(issuer string) error {
	bad := allot.Errorf(allot.EINVALID, "The issuer must be an https URL such as https://login.microsoftonline.com/{tenant-id}/v2.0 (http only to a loopback address).")
	u, err := url.Parse(issuer)
	if err != nil || len(issuer) > 512 || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return bad
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return bad
}

// validGUID: a tenant id, before it is looked up by someone not signed in.
func validGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}
