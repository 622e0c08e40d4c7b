package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/allot-dev/allot"
)

// sessionCookie holds the session secret; the store keeps only its hash
// (docs/ADMIN-CENTER.md, Security).
const sessionCookie = "allot_session"

type ctxKey int

const (
	csrfKey ctxKey = iota
	secretKey
)

func secretFrom(ctx context.Context) string {
	s, _ := ctx.Value(secretKey).(string)
	return s
}

func randomValue() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *server) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.secure || r.TLS != nil, SameSite: http.SameSiteLaxMode}
}

// signedIn resolves the session cookie to its actor.
func (s *server) signedIn(r *http.Request) (allot.Actor, string, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return allot.Actor{}, "", allot.Errorf(allot.EUNAUTHORIZED, "Not signed in.")
	}
	a, err := s.acc.SessionActor(r.Context(), c.Value)
	if err != nil {
		return allot.Actor{}, "", err
	}
	if a.Operator || a.TenantID == "" {
		return allot.Actor{}, "", allot.Errorf(allot.EUNAUTHORIZED, "Not signed in.")
	}
	return a, c.Value, nil
}

// page guards a GET page: a session, and perm (when not empty).
func (s *server) page(perm allot.Permission, h handler) http.Handler {
	return s.guard(perm, false, h)
}

// action guards a POST: a session, a same-origin request with the
// session's CSRF token, and perm (when not empty; the handler then checks).
func (s *server) action(perm allot.Permission, h handler) http.Handler {
	return s.guard(perm, true, h)
}

func (s *server) guard(perm allot.Permission, post bool, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, secret, err := s.signedIn(r)
		if err != nil {
			if allot.ErrorCode(err) != allot.EUNAUTHORIZED {
				s.fail(w, r, err)
				return
			}
			http.SetCookie(w, s.cookie(r, sessionCookie, "", -1))
			next := ""
			if r.Method == http.MethodGet {
				next = "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, "/signin"+next, http.StatusSeeOther)
			return
		}
		ctx := allot.NewContextWithActor(r.Context(), a)
		ctx = context.WithValue(ctx, csrfKey, csrfToken(secret))
		ctx = context.WithValue(ctx, secretKey, secret)
		r = r.WithContext(ctx)
		if info := infoFrom(r); info != nil {
			info.account = a.Name
		}
		if post {
			if err := s.checkForm(r, csrfToken(secret)); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if perm != "" && !a.Role.Can(perm) {
			s.fail(w, r, forbidden(permWords[perm]))
			return
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

var permWords = map[allot.Permission]string{
	allot.PermRead:           "see this page",
	allot.PermManageLicenses: "assign, unassign or reprocess licenses",
	allot.PermEditLocation:   "change a user's usage location",
	allot.PermManageUsers:    "manage users",
	allot.PermManageGroups:   "manage groups",
	allot.PermPurchase:       "buy licenses",
	allot.PermManageTenant:   "manage the organization's admin accounts",
}
