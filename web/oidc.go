package web

// Sign-in with the organisation's identity provider: OpenID Connect's
// authorization code flow with PKCE (docs/SSO.md). The provider is found by
// discovery and the ID token verified with github.com/coreos/go-oidc; the
// code is exchanged with golang.org/x/oauth2. Which tenant, its provider
// and the role mapping come from allot.OIDCService, and the session it
// starts is an ordinary one: the guard, CSRF, roles, sign-out and
// revocation treat it as a local account's.

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	// ssoCookie holds the state of a sign-in in progress, binding the
	// provider's answer to the browser that left for it: an answer
	// carrying another state (an attacker's own sign-in, pushed onto a
	// victim) is refused.
	ssoCookie = "allot_sso"
	// orgCookie remembers the organization of the last single sign-on, so
	// that the sign-in page offers its button at once.
	orgCookie = "allot_org"
)

// ssoHTTP is the client for the provider's discovery, keys and token
// endpoints: a provider that hangs must not hold a sign-in for long.
var ssoHTTP = &http.Client{Timeout: 15 * time.Second}

// providers caches discovery documents (and, through the provider, its
// keys) by issuer: discovery on every sign-in would double its round trips.
var providers struct {
	sync.Mutex
	m map[string]cachedProvider
}

type cachedProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

// providerTTL bounds how long a discovery document is trusted, so that a
// provider that moves its endpoints is followed within the hour. Keys are
// refetched by go-oidc whenever a token names one it has not seen.
const providerTTL = time.Hour

func provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	providers.Lock()
	c, ok := providers.m[issuer]
	providers.Unlock()
	if ok && time.Since(c.fetched) < providerTTL {
		return c.p, nil
	}
	// The provider keeps the context's client for fetching keys later, so
	// it must not be the request's, which ends with the request.
	p, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), ssoHTTP), issuer)
	if err != nil {
		return nil, err
	}
	providers.Lock()
	if providers.m == nil {
		providers.m = map[string]cachedProvider{}
	}
	providers.m[issuer] = cachedProvider{p: p, fetched: time.Now()}
	providers.Unlock()
	return p, nil
}

// ssoOffer is the sign-in page's single sign-on button for an organization.
type ssoOffer struct {
	TenantID string
	Host     string // the provider's host, for people to recognise
}

// offerSSO looks up the organization named on the sign-in page (or
// remembered from the last single sign-on): its button, or a message.
func (s *server) offerSSO(r *http.Request, d *signInData) {
	if s.svc.OIDC == nil {
		return
	}
	d.SSOAvailable = true
	org := strings.TrimSpace(r.URL.Query().Get("org"))
	typed := org != ""
	if !typed {
		if c, err := r.Cookie(orgCookie); err == nil {
			org = c.Value
		}
	}
	if org == "" {
		return
	}
	d.Org = org
	cfg, err := s.svc.OIDC.OIDCSignInConfig(r.Context(), org)
	if err != nil {
		if allot.ErrorCode(err) != allot.ENOTFOUND {
			s.log.ErrorContext(r.Context(), "single sign-on configuration", "tenant", org, "err", err)
		}
		if typed && d.Error == "" {
			d.Error = "Single sign-on is not set up for the organization ID you entered. Check it with your administrator, or sign in with a username and password."
		}
		return
	}
	host := cfg.Issuer
	if u, err := url.Parse(cfg.Issuer); err == nil {
		host = u.Host
	}
	d.SSO = &ssoOffer{TenantID: cfg.TenantID, Host: host}
}

// redirectURL is where the provider sends the browser back: on the
// server's public URL when it has one, else on this request's host.
func (s *server) redirectURL(r *http.Request, cfg *allot.OIDCConfig) string {
	if cfg.RedirectURL != "" {
		return cfg.RedirectURL
	}
	scheme := "http"
	if r.TLS != nil || s.secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host + allot.OIDCCallbackPath
}

func (s *server) oauth2Config(r *http.Request, cfg *allot.OIDCConfig, p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: s.redirectURL(r, cfg), Scopes: append([]string{oidc.ScopeOpenID, "profile", "email"}, cfg.Scopes...)}
}

// ssoRefuse answers a sign-in that did not happen with the sign-in page
// and a message, and no session; the flow's cookie goes too.
func (s *server) ssoRefuse(w http.ResponseWriter, r *http.Request, status int, msg, why string, args ...any) {
	s.log.InfoContext(r.Context(), "single sign-on refused", append([]any{"reason", why, "ip", s.clientIP(r)}, args...)...)
	http.SetCookie(w, s.cookie(r, ssoCookie, "", -1))
	d := signInData{Error: msg}
	s.offerSSO(r, &d)
	s.renderSignIn(w, r, status, d)
}

// ssoStart leaves for the provider: GET /signin?sso={tenant}. A link, not
// a form, since the page's CSP (form-action 'self') would stop a form's
// redirect to another site.
func (s *server) ssoStart(w http.ResponseWriter, r *http.Request) {
	if s.svc.OIDC == nil {
		http.NotFound(w, r)
		return
	}
	if !s.signIns.Allow(s.now(), s.clientIP(r)) {
		s.ssoRefuse(w, r, http.StatusTooManyRequests, "Too many sign-in attempts from your network address. Wait a minute, then try again.", "rate limit")
		return
	}
	cfg, err := s.svc.OIDC.OIDCSignInConfig(r.Context(), r.URL.Query().Get("sso"))
	if allot.ErrorCode(err) == allot.ENOTFOUND {
		s.ssoRefuse(w, r, http.StatusNotFound, "Single sign-on is not set up for this organization.", "no configuration")
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := provider(r.Context(), cfg.Issuer)
	if err != nil {
		s.log.ErrorContext(r.Context(), "single sign-on discovery", "tenant", cfg.TenantID, "issuer", cfg.Issuer, "err", err)
		s.ssoRefuse(w, r, http.StatusBadGateway, "Allot could not reach your organization's identity provider. Try again in a few minutes; if it goes on, tell your administrator.", "discovery")
		return
	}
	l := allot.OIDCLogin{State: randomValue(), TenantID: cfg.TenantID, Verifier: oauth2.GenerateVerifier(), Nonce: randomValue(),
		Next: safeNext(r.URL.Query().Get("next"))}
	if err := s.svc.OIDC.StartOIDCSignIn(r.Context(), l); err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, s.cookie(r, ssoCookie, l.State, int(allot.OIDCLoginLifetime/time.Second)))
	target := s.oauth2Config(r, cfg, p).AuthCodeURL(l.State, oauth2.S256ChallengeOption(l.Verifier), oidc.Nonce(l.Nonce))
	http.Redirect(w, r, target, http.StatusSeeOther)
}

const ssoStartAgain = " Go back to the sign-in page and start again."

// ssoCallback is where the provider sends the browser back: GET
// /signin?code=…&state=… (or ?error=…&state=…). Every check that fails
// ends in the sign-in page with a message and without a session.
func (s *server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	if s.svc.OIDC == nil {
		http.NotFound(w, r)
		return
	}
	// Not counted against the sign-in limit: every answer needs a start,
	// which is, and an answer without one costs a lookup by hash.
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	c, err := r.Cookie(ssoCookie)
	if err != nil || c.Value == "" {
		s.ssoRefuse(w, r, http.StatusBadRequest, "This sign-in was not started in this browser, or it took more than 10 minutes."+ssoStartAgain, "no state cookie")
		return
	}
	if subtle.ConstantTimeCompare([]byte(state), []byte(c.Value)) != 1 {
		// The browser's own sign-in is spoiled too: whoever changed the
		// answer may have seen it.
		_, _ = s.svc.OIDC.TakeOIDCSignIn(ctx, c.Value)
		s.ssoRefuse(w, r, http.StatusBadRequest, "The identity provider's answer does not belong to the sign-in this browser started (the state does not match), so you were not signed in."+ssoStartAgain, "state mismatch")
		return
	}
	l, err := s.svc.OIDC.TakeOIDCSignIn(ctx, state)
	if allot.ErrorCode(err) == allot.EUNAUTHORIZED {
		s.ssoRefuse(w, r, http.StatusBadRequest, "This sign-in has expired or was already used."+ssoStartAgain, "sign-in expired or used")
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	if e := q.Get("error"); e != "" {
		s.ssoRefuse(w, r, http.StatusUnauthorized, "Your organization's identity provider did not sign you in ("+ssoClip(e, 64)+": "+ssoClip(q.Get("error_description"), 300)+").", "provider error", "tenant", l.TenantID)
		return
	}
	cfg, err := s.svc.OIDC.OIDCSignInConfig(ctx, l.TenantID)
	if allot.ErrorCode(err) == allot.ENOTFOUND {
		s.ssoRefuse(w, r, http.StatusNotFound, "Single sign-on is not set up for this organization.", "no configuration")
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := provider(ctx, cfg.Issuer)
	if err != nil {
		s.log.ErrorContext(ctx, "single sign-on discovery", "tenant", cfg.TenantID, "issuer", cfg.Issuer, "err", err)
		s.ssoRefuse(w, r, http.StatusBadGateway, "Allot could not reach your organization's identity provider. Try again in a few minutes.", "discovery")
		return
	}
	xctx := context.WithValue(ctx, oauth2.HTTPClient, ssoHTTP)
	tok, err := s.oauth2Config(r, cfg, p).Exchange(xctx, q.Get("code"), oauth2.VerifierOption(l.Verifier))
	if err != nil {
		s.ssoRefuse(w, r, http.StatusUnauthorized, "Your organization's identity provider did not accept Allot's request for your sign-in."+ssoStartAgain, "code exchange", "tenant", cfg.TenantID, "err", err.Error())
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		s.ssoRefuse(w, r, http.StatusUnauthorized, "Your organization's identity provider sent no ID token, so you were not signed in.", "no id token", "tenant", cfg.TenantID)
		return
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: s.now}).Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			s.ssoRefuse(w, r, http.StatusUnauthorized, "The identity provider's sign-in token has expired, so you were not signed in. Check that the clocks of this server and of the provider are right, then start again.", "token expired", "tenant", cfg.TenantID, "err", err.Error())
			return
		}
		s.ssoRefuse(w, r, http.StatusUnauthorized, "The identity provider's sign-in token could not be verified (wrong signature, issuer or audience), so you were not signed in. Ask your administrator to check the single sign-on settings.", "token invalid", "tenant", cfg.TenantID, "err", err.Error())
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(l.Nonce)) != 1 {
		s.ssoRefuse(w, r, http.StatusUnauthorized, "The identity provider's sign-in token was not made for this sign-in (the nonce does not match), so you were not signed in."+ssoStartAgain, "nonce mismatch", "tenant", cfg.TenantID)
		return
	}
	id, err := identityOf(idt, cfg.RoleClaim)
	if err != nil {
		s.ssoRefuse(w, r, http.StatusForbidden, err.Error(), "claims", "tenant", cfg.TenantID)
		return
	}
	secret, a, err := s.svc.OIDC.OIDCSignIn(ctx, cfg.TenantID, id)
	if err != nil {
		switch allot.ErrorCode(err) {
		case allot.EFORBIDDEN:
			s.ssoRefuse(w, r, http.StatusForbidden, "You signed in at your organization's identity provider as "+id.Username+
				", but none of your groups or roles gives you a role in Allot, so you were not signed in. Ask your administrator to add you to a group that Allot maps to a role.",
				"no role", "tenant", cfg.TenantID, "subject", id.Subject)
		case allot.EUNAUTHORIZED, allot.ECONFLICT:
			s.ssoRefuse(w, r, http.StatusUnauthorized, allot.ErrorMessage(err), "refused", "tenant", cfg.TenantID, "subject", id.Subject)
		default:
			s.fail(w, r, err)
		}
		return
	}
	s.log.InfoContext(ctx, "signed in", "account", a.Name, "tenant", a.TenantID, "ip", s.clientIP(r), "via", "oidc")
	http.SetCookie(w, s.cookie(r, sessionCookie, secret, int(allot.SessionLifetime/time.Second)))
	http.SetCookie(w, s.cookie(r, ssoCookie, "", -1))
	http.SetCookie(w, s.cookie(r, signInCookie, "", -1))
	http.SetCookie(w, s.cookie(r, orgCookie, a.TenantID, 365*24*3600))
	http.Redirect(w, r, safeNext(l.Next), http.StatusSeeOther)
}

// identityOf reads who signed in from a verified ID token, and the values
// of the role claim: a string or a list of strings.
func identityOf(idt *oidc.IDToken, roleClaim string) (allot.OIDCIdentity, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return allot.OIDCIdentity{}, errors.New("The identity provider's sign-in token could not be read, so you were not signed in.")
	}
	str := func(k string) string { v, _ := claims[k].(string); return v }
	id := allot.OIDCIdentity{Issuer: idt.Issuer, Subject: idt.Subject, DisplayName: str("name")}
	for _, k := range []string{"preferred_username", "email", "upn"} {
		if id.Username = str(k); id.Username != "" {
			break
		}
	}
	if id.Username == "" {
		id.Username = idt.Subject
	}
	switch v := claims[roleClaim].(type) {
	case string:
		id.RoleValues = []string{v}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				id.RoleValues = append(id.RoleValues, s)
			}
		}
	case nil:
		// Entra ID leaves the groups out of the token when there are more
		// than 200 and names where to fetch them instead ("overage"):
		// say so rather than refuse for no visible reason.
		if names, ok := claims["_claim_names"].(map[string]any); ok && names[roleClaim] != nil {
			return id, errors.New("Your organization's identity provider left your " + roleClaim + " out of the sign-in token because you have too many. Ask your administrator to map app roles (the roles claim) or to send only the groups assigned to the application.")
		}
	}
	return id, nil
}

// ssoClip bounds text from the provider that is shown on the page.
func ssoClip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
