package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestServePublicURLAndHeaderLimit: behind --public-url, @odata.nextLink
// points at the public URL whatever Host and X-Forwarded-* a client sends,
// and a request whose headers exceed the limit (a parser attack's
// megabyte-long URL) is refused by the HTTP server before any handler.
func TestServePublicURLAndHeaderLimit(t *testing.T) {
	s := startServer(t, "--public-url", "https://licensing.example.com/")
	op := &client{t: t, base: s.url, token: "op-secret"}
	out := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Contoso", "defaultUsageLocation": "US"})
	ga := &client{t: t, base: s.url, token: out["token"].(map[string]any)["secret"].(string)}
	for _, upn := range []string{"a@contoso.example", "b@contoso.example"} {
		ga.ok(201, "POST", "/v1.0/users", map[string]any{"displayName": "u", "userPrincipalName": upn, "accountEnabled": true})
	}
	req, _ := http.NewRequest("GET", s.url+"/v1.0/users?$top=1", nil)
	req.Header.Set("Authorization", "Bearer "+ga.token)
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Next string `json:"@odata.nextLink"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if !strings.HasPrefix(body.Next, "https://licensing.example.com/v1.0/users?") {
		t.Errorf("nextLink %q does not start with the public URL", body.Next)
	}

	req, _ = http.NewRequest("GET", s.url+"/scim/v2/Users?filter="+strings.Repeat("(", 100_000), nil)
	req.Header.Set("Authorization", "Bearer "+ga.token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 100 KB URL: %d, want 431", resp.StatusCode)
	}
}
