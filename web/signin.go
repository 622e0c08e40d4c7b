package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/clientip"
)

// signInCookie holds a random value that the sign-in form's CSRF token is
// derived from, since before signing in there is no session to bind it to.
const signInCookie = "allot_signin"

type signInData struct {
	Username  string
	Next      string
	Error     string
	SignedOut bool
	// Single sign-on (web/oidc.go): whether the server offers it, the
	// organization ID typed or remembered, and its button when it has a
	// provider.
	SSOAvailable bool
	Org          string
	SSO          *ssoOffer
}

// signInPage is also single sign-on's way out and back (web/oidc.go):
// ?sso= leaves for the organization's provider, and the provider's answer
// comes back here with its state, since this is the one path registered
// at the provider.
func (s *server) signInPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case s.svc.OIDC != nil && q.Has("state"):
		s.ssoCallback(w, r)
		return
	case s.svc.OIDC != nil && q.Has("sso"):
		s.ssoStart(w, r)
		return
	}
	if _, _, err := s.signedIn(r); err == nil {
		http.Redirect(w, r, safeNext(q.Get("next")), http.StatusSeeOther)
		return
	}
	d := signInData{Next: safeNext(q.Get("next")), SignedOut: q.Get("signedout") == "1"}
	s.offerSSO(r, &d)
	status := http.StatusOK
	if d.Error != "" {
		status = http.StatusNotFound
	}
	s.renderSignIn(w, r, status, d)
}

func (s *server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData) {
	value := ""
	if c, err := r.Cookie(signInCookie); err == nil && len(c.Value) == 43 {
		value = c.Value
	} else {
		value = randomValue()
		http.SetCookie(w, s.cookie(r, signInCookie, value, 3600))
	}
	s.render(w, r, status, "signin", &view{Title: "Sign in", CSRF: signInCSRF(value), Static: s.staticURLs(), Data: d})
}

func (s *server) signIn(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	if !s.signIns.Allow(s.now(), ip) {
		s.log.InfoContext(r.Context(), "sign-in rate limit reached", "ip", ip)
		s.renderSignIn(w, r, http.StatusTooManyRequests, signInData{Error: "Too many sign-in attempts from your network address. Wait a minute, then try again."})
		return
	}
	c, err := r.Cookie(signInCookie)
	if err != nil || c.Value == "" {
		s.renderSignIn(w, r, http.StatusForbidden, signInData{Error: "Your browser did not send the sign-in cookie. Allow cookies for this site, reload the page and try again."})
		return
	}
	if err := s.checkForm(r, signInCSRF(c.Value)); err != nil {
		s.fail(w, r, err)
		return
	}
	username, password := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	secret, a, err := s.acc.SignIn(r.Context(), username, password, ip)
	if err != nil {
		switch allot.ErrorCode(err) {
		case allot.EUNAUTHORIZED:
			s.log.InfoContext(r.Context(), "sign-in failed", "user", usernameDigest(username), "ip", ip)
			d := signInData{Username: username, Next: next, Error: "The username or password is incorrect."}
			s.offerSSO(r, &d)
			s.renderSignIn(w, r, http.StatusUnauthorized, d)
		case allot.ETOOMANY:
			s.log.InfoContext(r.Context(), "sign-in refused: too many failures", "user", usernameDigest(username), "ip", ip)
			s.renderSignIn(w, r, http.StatusTooManyRequests, signInData{Username: username, Next: next, Error: allot.ErrorMessage(err)})
		default:
			s.fail(w, r, err)
		}
		return
	}
	s.log.InfoContext(r.Context(), "signed in", "account", a.Name, "tenant", a.TenantID, "ip", ip)
	http.SetCookie(w, s.cookie(r, sessionCookie, secret, int(allot.SessionLifetime/time.Second)))
	http.SetCookie(w, s.cookie(r, signInCookie, "", -1))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *server) signOut(w http.ResponseWriter, r *http.Request) error {
	if err := s.acc.SignOut(r.Context(), secretFrom(r.Context())); err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/signin?signedout=1", http.StatusSeeOther)
	return nil
}

// clientIP is the client's address as the sign-in limits see it, with the
// API's meaning (internal/clientip).
func (s *server) clientIP(r *http.Request) string { return clientip.Key(r, s.ipHeader) }

// usernameDigest stands for a typed username in the log: people type
// their password into the username field often enough that the raw text
// must never be written. The digest still lets an operator tell whether
// failures were for one name (printf %s name | sha256sum | cut -c1-12).
func usernameDigest(username string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(username)))
	return hex.EncodeToString(sum[:6])
}
