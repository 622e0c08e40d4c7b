package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// FuzzNormalizeManager: the rewrite of a manager runs on every body sent to
// /Users before anything checks it, so it must take any bytes; what it
// rewrites stays JSON, and what it does not rewrite comes back as it was.
//
//	go test -run='^$' -fuzz=FuzzNormalizeManager -fuzztime=30s ./scim/
func FuzzNormalizeManager(f *testing.F) {
	for _, b := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b.c","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m"}}`,
		`{"URN:IETF:params:scim:schemas:extension:enterprise:2.0:user":{"Manager":[{"value":"m"}]}}`,
		`{"Operations":[{"op":"Add","path":"manager","value":[{"$ref":null,"value":"m"}]}]}`,
		`{"operations":[{"op":"add","value":{"manager":"m","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":[]}}}]}`,
		`{"Operations":[{"op":"remove","path":"manager.value"}]}`,
		`{"Operations":[{"op":"add","path":5,"value":"m"}]}`,
		`{"Operations":"x"}`, `[]`, `null`, `{}`, `{"a":1e400}`, `{"a":1}{"b":2}`,
	} {
		for _, m := range []string{"POST", "PUT", "PATCH"} {
			f.Add(m, []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, method string, body []byte) {
		path := Prefix + "Users/f0000000-0000-4000-8000-000000000001"
		if method == "POST" {
			path = Prefix + "Users"
		}
		out := normalizeManager(&http.Request{Method: method, URL: &url.URL{Path: path}}, body)
		if string(out) != string(body) && !json.Valid(out) {
			t.Fatalf("%s %q became %q", method, body, out)
		}
	})
}
