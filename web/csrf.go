package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
)

// csrfField is the form field of the token; a script may send the
// X-CSRF-Token header instead.
const csrfField = "csrf_token"

var errCSRF = &httpError{http.StatusForbidden, "This form has expired or did not come from this site, so nothing was changed. Go back, reload the page and try again."}

func csrfFrom(ctx context.Context) string {
	s, _ := ctx.Value(csrfKey).(string)
	return s
}

// mac is HMAC-SHA256(key, msg), base64url.
func mac(key, msg string) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// The CSRF token is bound to the session: derived from its secret, which
// only the browser holding the HttpOnly cookie knows, so it needs no
// storage and dies with the session (a synchronizer token without a table).
func csrfToken(sessionSecret string) string { return mac(sessionSecret, "allot csrf v1") }

// signInCSRF binds the sign-in form's token to the sign-in cookie, since
// there is no session yet.
func signInCSRF(value string) string { return mac(value, "allot sign-in csrf v1") }

// checkForm refuses a cross-site request and a form without the right
// CSRF token. It parses the form (the body is already size-limited).
func (s *server) checkForm(r *http.Request, want string) error {
	if !sameOrigin(r) {
		return errCSRF
	}
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge
		}
		return badRequest("The form could not be read.")
	}
	got := r.PostForm.Get(csrfField)
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errCSRF
	}
	return nil
}

// sameOrigin checks the Origin and Sec-Fetch-Site headers browsers send
// with a POST; a request without them (not a browser) relies on the token.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}
