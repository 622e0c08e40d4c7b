package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// requestInfo travels in the context from the outermost middleware inward;
// authentication fills in the actor so that the request log can name it.
type requestInfo struct {
	id       string
	clientID string
	client   string // the client's address, as the rate limits key it
	actor    *allot.Actor
	route    string // the route's pattern, once dispatch has matched one
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

// newGUID returns a random (version 4) GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// requestID gives every request a server-generated request-id and echoes the
// caller's client-request-id, as Graph does, so that a caller can quote
// either in a support request.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &requestInfo{id: newGUID(), clientID: r.Header.Get("client-request-id")}
		if !printable(info.clientID) || len(info.clientID) > 128 {
			info.clientID = ""
		}
		if info.clientID == "" {
			info.clientID = info.id
		}
		w.Header().Set("request-id", info.id)
		w.Header().Set("client-request-id", info.clientID)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// statusWriter records what was sent, for the request log and so that panic
// recovery knows whether an error envelope can still be written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
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
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		info := infoFrom(r.Context())
		info.client = s.clientIP(r)
		next.ServeHTTP(sw, r)
		// Never log headers, the query string or bodies: they may carry
		// secrets (bearer tokens, the secret of a new token).
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", info.route),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", info.id),
			slog.String("client", info.client),
		}
		if info.actor != nil {
			if info.actor.Operator {
				attrs = append(attrs, slog.String("actor", "operator"))
			} else {
				attrs = append(attrs, slog.String("tenant", info.actor.TenantID), slog.String("token", info.actor.TokenID))
			}
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		s.metrics.observeRequest(info.route, sw.status, time.Since(start))
	})
}

// recoverPanics turns a panic into a 500 envelope; the panic value and stack
// go to the log only.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, ok := w.(*statusWriter)
		if !ok {
			sw = &statusWriter{ResponseWriter: w}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic", slog.String("request_id", infoFrom(r.Context()).id),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			if sw.status == 0 {
				s.writeError(sw, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// bulkBodyBytes lets the operator upload a catalog built from Microsoft's
// full product list, and an admin import a directory of some 600,000 users,
// both larger than any Graph request.
const bulkBodyBytes = 64 << 20

func (s *server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.maxBody
		if (r.URL.Path == "/allot/v1/catalog" || r.URL.Path == "/allot/v1/import") && limit < bulkBodyBytes {
			limit = bulkBodyBytes
		}
		if r.ContentLength > limit {
			s.writeError(w, r, errTooLarge(limit))
			return
		}
		// The innermost writer lets the server close a connection whose
		// client keeps sending after the limit.
		base := w
		for {
			u, ok := base.(interface{ Unwrap() http.ResponseWriter })
			if !ok {
				break
			}
			base = u.Unwrap()
		}
		r.Body = http.MaxBytesReader(base, r.Body, limit)
		if !s.decodeBody(w, base, r, limit) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate resolves the bearer token to an actor. The operator token is
// compared in constant time, as SHA-256 digests so that not even its length
// shows in the timing; tenant tokens are looked up by their SHA-256 in the
// store, so the timing depends on the digest, never on the secret's bytes.
//
// Failed attempts are rate limited per client address and per token prefix
// (see limiter): once a bucket is empty, every wrong token from that client
// or with that prefix gets 429 until it refills. A valid token is checked
// first and always served: a client behind the same address (or a proxy
// that every client shares) must not be locked out by someone else's
// failures, and a guesser learns nothing from 429 that 401 would not tell,
// since tokens carry 128 bits or more of randomness.
func (s *server) authenticate(r *http.Request) (allot.Actor, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, _ := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if h == "" || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return allot.Actor{}, errNoToken
	}
	info := infoFrom(r.Context())
	keys := [2]string{"ip:" + info.client, tokenPrefixKey(secret)}
	now := s.now()
	a, err := s.resolve(r.Context(), secret)
	if err == errBadToken && s.authFail != nil {
		if wait := s.authFail.wait(keys[:], now); wait > 0 {
			return allot.Actor{}, &rateLimitError{retryAfter: wait}
		}
		if s.authFail.fail(keys[:], now) {
			// The client's address only: a token prefix is part of a secret.
			s.log.WarnContext(r.Context(), "failed authentications: rate limit reached",
				slog.String("client", info.client), slog.String("request_id", info.id))
		}
	}
	return a, err
}

func (s *server) resolve(ctx context.Context, secret string) (allot.Actor, error) {
	sum := sha256.Sum256([]byte(secret))
	if s.operator && subtle.ConstantTimeCompare(sum[:], s.opHash[:]) == 1 {
		return allot.Actor{Operator: true, Name: "operator"}, nil
	}
	a, err := s.svc.Tokens.Authenticate(ctx, secret)
	if err != nil {
		switch allot.ErrorCode(err) {
		case allot.EUNAUTHORIZED, allot.ENOTFOUND, allot.EINVALID, allot.EFORBIDDEN:
			return allot.Actor{}, errBadToken
		}
		return allot.Actor{}, err
	}
	if a.Operator || a.TenantID == "" {
		// A stored token may never grant operator rights.
		return allot.Actor{}, errBadToken
	}
	return a, nil
}

// access says who may call a route: the operator, a tenant actor holding a
// permission, or either.
type access struct {
	public   bool // no authentication at all (health probes)
	operator bool
	tenant   bool
	perm     allot.Permission // required of a tenant actor; "" = checked by the handler
}

func (s *server) guard(acc access, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		infoFrom(r.Context()).actor = &a
		switch {
		case a.Operator && !acc.operator,
			!a.Operator && !acc.tenant,
			!a.Operator && acc.perm != "" && !a.Role.Can(acc.perm):
			s.writeError(w, r, errDenied)
			return
		}
		r = r.WithContext(allot.NewContextWithActor(r.Context(), a))
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// open serves a route that needs no token.
func (s *server) open(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// securityHeaders sets, on every response including errors, the headers
// that stop a browser from sniffing, framing, caching or leaking what the
// API answers: its responses carry tenant data and, once, token secrets.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		next.ServeHTTP(w, r)
	})
}

// can checks a permission the route could not decide before reading the body.
func can(r *http.Request, p allot.Permission) error {
	a, _ := allot.ActorFromContext(r.Context())
	if a.Operator || !a.Role.Can(p) {
		return errDenied
	}
	return nil
}
