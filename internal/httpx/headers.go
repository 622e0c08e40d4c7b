package httpx

import "net/http"

// SecurityHeaders sets headers on every response before next runs, so that
// errors, redirects and panics carry them too, and Strict-Transport-Security
// to hsts when https says the client's connection is encrypted. The values
// are each server's: the API forbids every resource and referrer, the admin
// center's pages load their assets and link within the site.
func SecurityHeaders(headers map[string]string, hsts string, https func(*http.Request) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range headers {
			h.Set(k, v)
		}
		if https(r) {
			h.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}
