package httpx

import "net/http"

// LimitBody caps r's body at limit bytes. It reports false, having sent
// nothing, when the body is declared longer, so that the caller answers
// 413 before reading any; a body that only turns out longer fails its read
// with *http.MaxBytesError.
func LimitBody(w http.ResponseWriter, r *http.Request, limit int64) bool {
	if r.ContentLength > limit {
		return false
	}
	r.Body = http.MaxBytesReader(Innermost(w), r.Body, limit)
	return true
}

// Innermost is the connection's own writer under any wrappers: given it,
// http.MaxBytesReader lets the server close a connection whose client
// keeps sending after the limit, where a wrapper would hide that ability.
func Innermost(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}
