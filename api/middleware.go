package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/httpx"
)

// requestInfo travels in the context from the outermost middleware inward;
// authentication fills in the actor so that the request log can name it.
type requestInfo struct {
	id       string
	clientID string
	client   string // the client's address, as the rate limits key it
	actor    *allot.Actor
	route    string            // the route's pattern, once dispatch has matched one
	version  string            // "/beta" when the request came under /beta, else "/v1.0"
	stopped  map[string]string // SKUs whose services are stopped, read once per request (api/lifecycle.go)
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

// requestID gives every request the ids of internal/httpx (a request-id,
// and the caller's client-request-id echoed, as Graph does) and the
// requestInfo the inner layers fill in.
func requestID(next http.Handler) http.Handler {
	return httpx.RequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := httpx.IDsFrom(r.Context())
		info := &requestInfo{id: ids.Request, clientID: ids.Client}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	}))
}

func (s *server) logRequests(next http.Handler) http.Handler {
	logged := httpx.LogRequests(s.log, "request", s.served, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).client = s.clientIP(r)
		logged.ServeHTTP(w, r)
	})
}

// served counts a request in the metrics and returns its log line
// (docs/OBSERVABILITY.md). Never log headers, the query string or bodies:
// they may carry secrets (bearer tokens, the secret of a new token).
func (s *server) served(r *http.Request, sv httpx.Served) []slog.Attr {
	info := infoFrom(r.Context())
	s.metrics.observeRequest(info.route, sv.Status, sv.Duration)
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", info.route),
		slog.Int("status", sv.Status),
		slog.Int64("bytes", sv.Bytes),
		slog.Duration("duration", sv.Duration),
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
	return attrs
}

// recoverPanics turns a panic into a 500 envelope; the panic value and stack
// go to the log only.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return httpx.Recover(s.log, func(w http.ResponseWriter, r *http.Request, v any) {
		s.writeError(w, r, fmt.Errorf("panic: %v", v))
	}, next)
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
		if !httpx.LimitBody(w, r, limit) {
			s.writeError(w, r, errTooLarge(limit))
			return
		}
		if !s.decodeBody(w, httpx.Innermost(w), r, limit) {
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
		if wait := s.authFail.Wait(now, keys[:]...); wait > 0 {
			return allot.Actor{}, &rateLimitError{retryAfter: wait}
		}
		if s.authFail.Take(now, keys[:]...) {
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
	return httpx.SecurityHeaders(apiHeaders, "max-age=63072000", func(r *http.Request) bool {
		return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
	}, next)
}

var apiHeaders = map[string]string{
	"X-Content-Type-Options":  "nosniff",
	"Cache-Control":           "no-store",
	"Pragma":                  "no-cache",
	"X-Frame-Options":         "DENY",
	"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	"Referrer-Policy":         "no-referrer",
}

// can checks a permission the route could not decide before reading the body.
func can(r *http.Request, p allot.Permission) error {
	a, _ := allot.ActorFromContext(r.Context())
	if a.Operator || !a.Role.Can(p) {
		return errDenied
	}
	return nil
}
