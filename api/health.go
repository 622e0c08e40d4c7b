package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// readyTimeout bounds the readiness check: a database that does not answer
// a ping within it is as good as down to a load balancer.
const readyTimeout = 2 * time.Second

// healthz is liveness: the process serves HTTP. It checks nothing else, so
// that an orchestrator does not restart a server whose database is down
// (restarting would not bring the database back).
func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	return healthAnswer(w, r, http.StatusOK, "ok")
}

// healthAnswer writes a probe's answer: plain text for load balancers and
// people, {"status": …} for a client that asks for JSON.
func healthAnswer(w http.ResponseWriter, r *http.Request, status int, text string) error {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Add("Vary", "Accept")
	if acceptsJSON(r) {
		writeJSON(w, status, object{"status": text})
		return nil
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
	return nil
}

// acceptsJSON reports whether the Accept header names JSON (application/json
// or a +json type) with a non-zero quality.
func acceptsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		typ, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		typ = strings.ToLower(strings.TrimSpace(typ))
		if typ != "application/json" && !(strings.HasPrefix(typ, "application/") && strings.HasSuffix(typ, "+json")) {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(strings.TrimSpace(params), " ", ""), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		return true
	}
	return false
}

// readyz is readiness: 200 only when the server is not shutting down and
// Config.Ready (the database ping) succeeds; 503 otherwise, so that a load
// balancer sends requests elsewhere. The reason is shown, never the error.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) error {
	answer := func(status int, text string) error { return healthAnswer(w, r, status, text) }
	select {
	case <-s.draining: // a nil channel never fires
		return answer(http.StatusServiceUnavailable, "shutting down")
	default:
	}
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.WarnContext(r.Context(), "not ready", slog.String("request_id", infoFrom(r.Context()).id), slog.Any("error", err))
			return answer(http.StatusServiceUnavailable, "database unavailable")
		}
	}
	return answer(http.StatusOK, "ready")
}
