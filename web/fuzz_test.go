package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/allot-dev/allot/web"
)

// FuzzCookies sends arbitrary session, sign-in and flash cookies to the
// admin center's pages: whatever they hold, the answer is a page, a
// redirect to sign in or a 4xx, never a 5xx.
func FuzzCookies(f *testing.F) {
	f.Add("", "", "")
	f.Add("abc", "def", "ghi")
	f.Add(strings.Repeat("A", 43), strings.Repeat("b", 43), "eyJ9.x")
	f.Add("allot_\x00", "..", "a.b.c")
	e := newEnv(f, web.Config{}, false) // one server for every input: the cookies carry no state
	f.Fuzz(func(t *testing.T, session, signIn, flash string) {
		for _, path := range []string{"/", "/billing/licenses", "/signin", "/users"} {
			req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Cookie", "allot_session="+session+"; allot_signin="+signIn+"; allot_flash="+flash)
			c := *e.srv.Client()
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := c.Do(req)
			if err != nil {
				return // a header the HTTP client itself refuses to send
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Fatalf("GET %s with cookies %q %q %q: %d", path, session, signIn, flash, resp.StatusCode)
			}
		}
	})
}
