package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// redirectAttacks are targets that some browser reads as another site, or
// as no page at all, however they look to a string check.
var redirectAttacks = []string{
	"/\t/evil.com", // "/%09/evil.com" in a query, decoded: tabs are dropped
	"/\n/evil.com", "/\r\n/evil.com",
	"\t//evil.com",
	"/\\evil.com", "\\\\evil.com", "/\t\\evil.com",
	"//evil.com", "///evil.com", "https://evil.com", "HTTPS:evil.com", "http:/evil.com",
	"javascript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
	"/./\\evil.com", "/.//evil.com",
	" //evil.com", "\x00//evil.com", "/\x00", "evil.com", "",
}

func TestSafeNext(t *testing.T) {
	for _, in := range redirectAttacks {
		if got := safeNext(in); got != defaultPage {
			t.Errorf("safeNext(%q) = %q, want the default page", in, got)
		}
	}
	for in, want := range map[string]string{
		"/users":                      "/users",
		"/billing/licenses/x?tab=a&b": "/billing/licenses/x?tab=a&b",
		"/users/../groups":            "/groups",
		// A browser resolves these to the path "//evil.com" of this site;
		// net/url drops the empty segment. Either way, a page here.
		"/a/..//evil.com": "/evil.com",
		"/..\\/evil.com":  "/evil.com",
		"/users#top":      "/users",
		// Encoded, as it came: the browser does not decode it, so it is a
		// path of this site, not a tab or a second slash.
		"/%09/evil.com":    "/%09/evil.com",
		"/%2F%2Fevil.com":  "/%2F%2Fevil.com",
		"/%5Cevil.com":     "/%5Cevil.com",
		"/a\tb":            "/ab",
		"/users?q=a%20b":   "/users?q=a%20b",
		"/users?next=//x/": "/users?next=//x/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSafeNext: whatever comes in, what goes out is the default page or a
// path that a browser, reading it as a Location header (after
// http.Redirect's own cleaning), resolves to a page of this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range redirectAttacks {
		f.Add(s)
	}
	for _, s := range []string{"/users", "/%2F%2Fevil.com", "/%09/evil.com", "/a/../b?c=d#e", "/\u3000/x", "/x/%2e%2e//y"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://allot.example/signin")
	f.Fuzz(func(t *testing.T, in string) {
		got := safeNext(in)
		if got == defaultPage {
			return
		}
		if again := safeNext(got); again != got {
			t.Fatalf("safeNext(%q) = %q, but safeNext(%q) = %q", in, got, got, again)
		}
		rec := httptest.NewRecorder()
		http.Redirect(rec, httptest.NewRequest(http.MethodPost, "/signin", nil), got, http.StatusSeeOther)
		for _, loc := range []string{got, rec.Header().Get("Location")} {
			// What the browser does before parsing.
			seen := strings.Map(func(r rune) rune {
				switch r {
				case '\t', '\r', '\n':
					return -1
				case '\\':
					return '/'
				}
				return r
			}, loc)
			if seen != loc || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Fatalf("safeNext(%q) = %q: Location %q does not start with a single '/'", in, got, loc)
			}
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatalf("safeNext(%q) = %q: Location %q does not parse: %v", in, got, loc, err)
			}
			abs := base.ResolveReference(u)
			if abs.Scheme != "https" || abs.Host != "allot.example" || abs.User != nil {
				t.Fatalf("safeNext(%q) = %q: Location %q leads to %s", in, got, loc, abs)
			}
		}
	})
}
