package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/clientip"
)

// Cookies. The session cookie holds the session secret (the store keeps
// only its hash); the sign-in cookie holds a random value that the sign-in
// form's CSRF token is derived from; the flash cookie carries the message
// of the last action across its redirect, signed with the session.
const (
	sessionCookie = "allot_session"
	signInCookie  = "allot_signin"
	flashCookie   = "allot_flash"
	csrfField     = "csrf_token"
)

// handler returns its error so that every failure goes through fail.
type handler func(w http.ResponseWriter, r *http.Request) error

// httpError is an error the web layer raises itself.
type httpError struct {
	status  int
	message string
}

func (e *httpError) Error() string { return e.message }

func forbidden(what string) error {
	return &httpError{http.StatusForbidden, "You don't have permission to " + what + "."}
}

func badRequest(msg string) error { return &httpError{http.StatusBadRequest, msg} }

var errCSRF = &httpError{http.StatusForbidden, "This form has expired or did not come from this site, so nothing was changed. Go back, reload the page and try again."}

type ctxKey int

const (
	csrfKey ctxKey = iota
	secretKey
)

func csrfFrom(ctx context.Context) string {
	s, _ := ctx.Value(csrfKey).(string)
	return s
}

func secretFrom(ctx context.Context) string {
	s, _ := ctx.Value(secretKey).(string)
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

func signInCSRF(value string) string { return mac(value, "allot sign-in csrf v1") }

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

// checkForm refuses a cross-site request and a form without the right
// CSRF token. It parses the form (the body is already size-limited).
func (s *server) checkForm(r *http.Request, want string) error {
	if !sameOrigin(r) {
		return errCSRF
	}
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &httpError{http.StatusRequestEntityTooLarge, "The form is too large."}
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

// fail renders an error page; internal errors are logged and never shown.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side, and nothing was shown. Try again; if it keeps happening, tell your administrator."
	var he *httpError
	if errors.As(err, &he) {
		status, msg = he.status, he.message
	} else {
		switch allot.ErrorCode(err) {
		case allot.ENOTFOUND:
			status, msg = http.StatusNotFound, "We couldn't find that. It may have been deleted, or the address is wrong."
		case allot.EFORBIDDEN:
			status, msg = http.StatusForbidden, allot.ErrorMessage(err)
		case allot.EINVALID, allot.ECONFLICT, allot.EUNSUPPORTEDQUERY:
			status, msg = http.StatusBadRequest, allot.ErrorMessage(err)
		case allot.ETOOMANY:
			status, msg = http.StatusTooManyRequests, allot.ErrorMessage(err)
		case allot.EUNAUTHORIZED:
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		default:
			s.log.ErrorContext(r.Context(), "internal error", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		}
	}
	title := map[int]string{400: "That didn't work", 403: "Access denied", 404: "Not found", 413: "Too large", 429: "Too many attempts"}[status]
	if title == "" {
		title = "Something went wrong"
	}
	v := &view{Title: title, CSRF: csrfFrom(r.Context()), Static: s.staticURLs(), Data: errorData{Status: status, Message: msg}}
	if a, ok := allot.ActorFromContext(r.Context()); ok {
		v.Actor, v.RoleName, v.Can = a, roleName(a.Role), permsOf(a.Role)
	}
	s.render(w, r, status, "error", v)
}

type errorData struct {
	Status  int
	Message string
}

// --- sign-in and sign-out ---

type signInData struct {
	Username  string
	Next      string
	Error     string
	SignedOut bool
}

func (s *server) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, _, err := s.signedIn(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.renderSignIn(w, r, http.StatusOK, signInData{Next: safeNext(r.URL.Query().Get("next")), SignedOut: r.URL.Query().Get("signedout") == "1"})
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
	if !s.limiter.allow(ip) {
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
			s.renderSignIn(w, r, http.StatusUnauthorized, signInData{Username: username, Next: next, Error: "The username or password is incorrect."})
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

// defaultPage is where sign-in leads when no (usable) page was asked for.
const defaultPage = "/billing/licenses"

// safeNext is a redirect target that stays on this site: next when it is
// one (see localPath), else the default page.
func safeNext(next string) string {
	if p, ok := localPath(next); ok {
		return p
	}
	return defaultPage
}

// localPath reads raw as a browser reads a Location header and keeps it
// only when it names a page of this site: an absolute path, with its
// query, normalized (no tabs, newlines or backslashes, dot segments
// resolved). Checking the raw text instead let "/\t/evil.example" through:
// browsers drop ASCII tabs and newlines anywhere in a URL and read "\" as
// "/", which turned it into "//evil.example", another site.
//
// An encoded slash ("/%2F%2Fevil.example") is kept: browsers do not decode
// it, so it names a path of this site (which answers 404, or the mux's
// redirect to the cleaned "/evil.example", a path here too).
func localPath(raw string) (string, bool) {
	if raw == "" || len(raw) > maxTarget {
		return "", false
	}
	s := strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\r', '\n':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, raw)
	// Browsers also trim leading and trailing spaces and C0 controls; a
	// path of ours has none anywhere, so any is a reason to refuse.
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return "", false
		}
	}
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	// Resolving removes dot segments, as the browser will; the result is
	// checked again, since "/a/..//evil" passed the prefix check above.
	abs := selfOrigin.ResolveReference(u)
	if abs.Scheme != selfOrigin.Scheme || abs.Host != selfOrigin.Host || abs.User != nil {
		return "", false
	}
	p := abs.EscapedPath()
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return "", false
	}
	if abs.RawQuery != "" {
		p += "?" + abs.RawQuery
	}
	// Escaping can make the result longer than what came in; the bound
	// holds for what goes out too, so a target read twice reads the same.
	if len(p) > maxTarget {
		return "", false
	}
	return p, true
}

// maxTarget bounds a redirect target: longer is not a page of ours.
const maxTarget = 2000

// selfOrigin stands for this site when resolving a target: any origin
// would do, since only the path and query are kept.
var selfOrigin = &url.URL{Scheme: "https", Host: "allot.invalid", Path: "/"}

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

// --- flash messages ---

// flash is the outcome of an action, shown once on the page it redirects to.
type flash struct {
	Kind  string   `json:"k"` // "success", "error" or "info"
	Text  string   `json:"t"`
	Items []string `json:"i,omitempty"`
}

func (s *server) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	b, _ := json.Marshal(f)
	payload := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, s.cookie(r, flashCookie, payload+"."+mac(secretFrom(r.Context()), "flash "+payload), 120))
}

func (s *server) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, s.cookie(r, flashCookie, "", -1))
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(mac(secretFrom(r.Context()), "flash "+payload))) {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	var f flash
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	return &f
}

// redirect answers a successful POST with a flash and a 303 to a GET.
func (s *server) redirect(w http.ResponseWriter, r *http.Request, to string, f flash) error {
	s.setFlash(w, r, f)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// --- rate limiting ---

// limiter allows n events per window per key (a sliding log).
type limiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	now    func() time.Time
	seen   map[string][]time.Time
}

func newLimiter(n int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{n: n, window: window, now: now, seen: map[string][]time.Time{}}
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.seen) > 10000 { // forget idle addresses rather than grow
		for k, ts := range l.seen {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) > l.window {
				delete(l.seen, k)
			}
		}
	}
	ts := l.seen[key]
	for len(ts) > 0 && now.Sub(ts[0]) >= l.window {
		ts = ts[1:]
	}
	if len(ts) >= l.n {
		l.seen[key] = ts
		return false
	}
	l.seen[key] = append(ts, now)
	return true
}

// --- middleware ---

// securityHeaders: a CSP without inline scripts or styles, no framing, no
// sniffing, no referrer to other sites, and no caching of pages.
func (s *server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.maxBody {
			s.fail(w, r, &httpError{http.StatusRequestEntityTooLarge, "The form is too large."})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		next.ServeHTTP(w, r)
	})
}

func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				http.Error(w, "Internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type requestInfo struct{ account string }

type infoKey struct{}

func infoFrom(r *http.Request) *requestInfo {
	i, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return i
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
		if strings.HasPrefix(r.URL.Path, "/static/") {
			return
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "web request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)), slog.String("account", info.account))
	})
}
