package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBetaAndUnknownAPIPaths: /beta answers as /v1.0 does, with links that
// keep /beta, and a path the API does not serve is Graph's JSON 404 under
// every API prefix, with or without a token, never the admin center's page
// or a redirect to it.
func TestBetaAndUnknownAPIPaths(t *testing.T) {
	srv := startServer(t)
	op := &client{t: t, base: srv.url, token: "op-secret"}
	tok := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Fabrikam"})["token"].(map[string]any)["secret"].(string)
	c := &client{t: t, base: srv.url, token: tok}
	for _, name := range []string{"ann", "ben", "cy"} {
		c.ok(201, "POST", "/beta/users", map[string]any{"displayName": name, "userPrincipalName": name + "@fabrikam.example", "accountEnabled": true})
	}

	v1 := c.ok(200, "GET", "/v1.0/users?$select=id,userPrincipalName&$top=2", nil)
	beta := c.ok(200, "GET", "/beta/users?$select=id,userPrincipalName&$top=2", nil)
	if len(beta["value"].([]any)) != 2 || len(v1["value"].([]any)) != 2 {
		t.Fatalf("pages: v1.0 %v, beta %v", v1, beta)
	}
	for i := range 2 {
		if v1["value"].([]any)[i].(map[string]any)["id"] != beta["value"].([]any)[i].(map[string]any)["id"] {
			t.Fatalf("/beta lists other users than /v1.0: %v vs %v", beta, v1)
		}
	}
	next, _ := beta["@odata.nextLink"].(string)
	if !strings.HasPrefix(next, srv.url+"/beta/users?") {
		t.Fatalf("beta nextLink %q", next)
	}
	if ctx, _ := beta["@odata.context"].(string); !strings.HasPrefix(ctx, srv.url+"/beta/$metadata#users") {
		t.Fatalf("beta context %q", ctx)
	}
	if rest := c.ok(200, "GET", strings.TrimPrefix(next, srv.url), nil); len(rest["value"].([]any)) != 1 {
		t.Fatalf("second beta page %v", rest)
	}

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/v1.0", "/beta", "/allot", "/scim", "/v1.0/nothing", "/beta/nothing/here", "/allot/v2/x", "/beta/users/not-a-guid/x/y"} {
		for _, token := range []string{"", tok, "wrong"} {
			req, _ := http.NewRequest("GET", srv.url+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ct := resp.Header.Get("Content-Type")
			if resp.StatusCode/100 == 3 || strings.Contains(ct, "html") || !strings.Contains(ct, "json") {
				t.Fatalf("GET %s (token %q): %d %s %q", path, token, resp.StatusCode, ct, body)
			}
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("GET %s (token %q): %d %q", path, token, resp.StatusCode, body)
			}
		}
	}
}
