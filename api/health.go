package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// readyTimeout bounds the readiness check: a database that does not answer
// a ping within it is as good as down to a load balancer.
const readyTimeout = 2 * time.Second

// healthz is liveness: the process serves HTTP. It checks nothing else, so
// that an orchestrator does not restart a server whose database is down
// (restarting would not bring the database back).
func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
	return nil
}

// readyz is readiness: 200 only when the server is not shutting down and
// Config.Ready (the database ping) succeeds; 503 otherwise, so that a load
// balancer sends requests elsewhere. The reason is shown, never the error.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) error {
	answer := func(status int, text string) error {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(text))
		return nil
	}
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
