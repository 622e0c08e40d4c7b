package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSecurityHeaders: set before the handler runs, so that a handler may
// still override one (an asset's Cache-Control), and HSTS only over HTTPS.
func TestSecurityHeaders(t *testing.T) {
	h := SecurityHeaders(map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store"}, "max-age=1",
		func(r *http.Request) bool { return r.Header.Get("X-Test-HTTPS") == "1" },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/asset" {
				w.Header().Set("Cache-Control", "public")
			}
			http.Error(w, "nope", http.StatusNotFound)
		}))
	for _, tc := range []struct{ path, https, cache, hsts string }{
		{"/", "", "no-store", ""},
		{"/", "1", "no-store", "max-age=1"},
		{"/asset", "", "public", ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Header.Set("X-Test-HTTPS", tc.https)
		h.ServeHTTP(rec, req)
		got := rec.Header()
		if got.Get("X-Frame-Options") != "DENY" || got.Get("Cache-Control") != tc.cache || got.Get("Strict-Transport-Security") != tc.hsts {
			t.Errorf("%s https=%q: %v", tc.path, tc.https, got)
		}
	}
}
