package httpx

import (
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover turns a panic in next into a "panic" log line, with the request
// id and the stack, and, when nothing has been sent yet, the answer fail
// writes: the client sees neither the panic's value nor the stack.
// http.ErrAbortHandler goes on up, since it asks net/http to drop the
// connection.
func Recover(log *slog.Logger, fail func(w http.ResponseWriter, r *http.Request, v any), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := statusWriterOf(w)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.ErrorContext(r.Context(), "panic", slog.String("request_id", IDsFrom(r.Context()).Request),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			if sw.Status == 0 {
				fail(sw, r, v)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}
