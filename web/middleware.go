package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/allot-dev/allot/internal/httpx"
)

// handle wraps the routes in the layers every request passes, outermost
// last: request ids (internal/httpx, as the API gives them), the request
// log, the security headers, panic recovery and the body limit.
func (s *server) handle(h http.Handler) http.Handler {
	h = s.limitBody(h)
	h = s.recoverPanics(h)
	h = s.securityHeaders(h)
	h = s.logRequests(h)
	return httpx.RequestIDs(h)
}

// securityHeaders: a CSP without inline scripts or styles, no framing, no
// sniffing, no referrer to other sites, and no caching of pages
// (docs/ADMIN-CENTER.md, Security).
func (s *server) securityHeaders(next http.Handler) http.Handler {
	return httpx.SecurityHeaders(pageHeaders, "max-age=31536000", func(r *http.Request) bool { return r.TLS != nil }, next)
}

var pageHeaders = map[string]string{
	"Content-Security-Policy":    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Frame-Options":            "DENY",
	"X-Content-Type-Options":     "nosniff",
	"Referrer-Policy":            "same-origin",
	"Cross-Origin-Opener-Policy": "same-origin",
	"Permissions-Policy":         "camera=(), microphone=(), geolocation=()",
	"Cache-Control":              "no-store",
}

func (s *server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpx.LimitBody(w, r, s.maxBody) {
			s.fail(w, r, errTooLarge)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics answers a panic with a bare 500: the error page itself
// might be what panicked.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return httpx.Recover(s.log, func(w http.ResponseWriter, r *http.Request, v any) {
		http.Error(w, "Internal error", http.StatusInternalServerError)
	}, next)
}

// requestInfo is what the guard learns for the request log.
type requestInfo struct{ account string }

type infoKey struct{}

func infoFrom(r *http.Request) *requestInfo {
	i, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return i
}

func (s *server) logRequests(next http.Handler) http.Handler {
	logged := httpx.LogRequests(s.log, "web request", requestLine, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logged.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, &requestInfo{})))
	})
}

// requestLine is a page's log line; assets are left out, since every page
// fetches them and they say nothing about what was done.
func requestLine(r *http.Request, sv httpx.Served) []slog.Attr {
	if strings.HasPrefix(r.URL.Path, "/static/") {
		return nil
	}
	return []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", sv.Status),
		slog.Duration("duration", sv.Duration), slog.String("request_id", httpx.IDsFrom(r.Context()).Request),
		slog.String("account", infoFrom(r).account)}
}
