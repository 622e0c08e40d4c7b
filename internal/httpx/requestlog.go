package httpx

import (
	"log/slog"
	"net/http"
	"time"
)

// StatusWriter records what was sent, for the request log and so that
// Recover knows whether an error answer can still be written.
type StatusWriter struct {
	http.ResponseWriter
	Status int   // 0 until the handler sends something
	Bytes  int64 // of the body
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController and Innermost reach the connection's
// own writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusWriterOf is w when it already records, so that every layer sees
// the one record; else a new recorder around w.
func statusWriterOf(w http.ResponseWriter) *StatusWriter {
	if sw, ok := w.(*StatusWriter); ok {
		return sw
	}
	return &StatusWriter{ResponseWriter: w}
}

// Served is what the request log knows of a request once it is answered.
type Served struct {
	Status   int // 0 when nothing was sent
	Bytes    int64
	Duration time.Duration
}

// LogRequests serves each request with next, then logs one line, msg, at
// Info with the attributes line returns; a nil line logs nothing. The
// fields are the caller's, since each server's log promises its own
// (docs/OBSERVABILITY.md for the API): never headers, query strings or
// bodies, which may carry secrets.
func LogRequests(log *slog.Logger, msg string, line func(r *http.Request, s Served) []slog.Attr, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := statusWriterOf(w)
		next.ServeHTTP(sw, r)
		if attrs := line(r, Served{Status: sw.Status, Bytes: sw.Bytes, Duration: time.Since(start)}); attrs != nil {
			log.LogAttrs(r.Context(), slog.LevelInfo, msg, attrs...)
		}
	})
}
