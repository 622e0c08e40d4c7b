package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/api"
)

// TestNextLinkIgnoresUntrustedHeaders: @odata.nextLink is built on the
// configured public URL, or on the trusted proxy's forwarded headers; a
// client's X-Forwarded-* or a malformed Host never decides where another
// page points.
func TestNextLinkIgnoresUntrustedHeaders(t *testing.T) {
	svc := &fake{listUsers: func(allot.ListOptions) (*allot.Page[allot.User], error) {
		return &allot.Page[allot.User]{Items: []allot.User{{ID: userID, DisplayName: "A"}}, NextCursor: "c1"}, nil
	}}
	next := func(cfg func(*api.Config), host string, header ...string) string {
		t.Helper()
		c := newClient(t, svc, cfg)
		req := httptest.NewRequest("GET", "/v1.0/users", nil)
		req.Host = host
		req.Header.Set("Authorization", "Bearer "+ga)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		s, _ := m["@odata.nextLink"].(string)
		return s
	}
	none := func(*api.Config) {}
	proxy := func(c *api.Config) { c.ClientIPHeader = "X-Forwarded-For" }
	public := func(c *api.Config) { c.BaseURL = "https://licensing.contoso.com/allot" }
	for _, tc := range []struct {
		name   string
		cfg    func(*api.Config)
		host   string
		header []string
		want   string
	}{
		{"the client's own host", none, "allot.local:8080", nil, "http://allot.local:8080/v1.0/users?"},
		{"forwarded headers from a client", none, "allot.local", []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example"}, "http://allot.local/v1.0/users?"},
		{"a Host that is not a host", none, "evil.example/phish?x=", nil, "http://localhost/v1.0/users?"},
		{"a Host with user information", none, "user@evil.example", nil, "http://localhost/v1.0/users?"},
		{"a trusted proxy", proxy, "10.0.0.5", []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example, licensing.contoso.com"}, "https://licensing.contoso.com/v1.0/users?"},
		{"a trusted proxy's malformed host", proxy, "allot.local", []string{"X-Forwarded-Host", "a/b"}, "http://allot.local/v1.0/users?"},
		{"the public URL", public, "evil.example", []string{"X-Forwarded-Proto", "http", "X-Forwarded-Host", "evil.example"}, "https://licensing.contoso.com/allot/v1.0/users?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := next(tc.cfg, tc.host, tc.header...); !strings.HasPrefix(got, tc.want) {
				t.Errorf("nextLink %q, want it to start with %q", got, tc.want)
			}
		})
	}
}
