package web

import (
	"net/url"
	"strings"
)

// defaultPage is where sign-in leads when no (usable) page was asked for.
const defaultPage = "/billing/licenses"

// safeNext is a redirect target that stays on this site: next when it is
// one (see localPath), else the default page.
func safeNext(next string) string {
	if p, ok := localPath(next); ok {
		return p
	}
	return defaultPage
}

// localPath reads raw as a browser reads a Location header and keeps it
// only when it names a page of this site: an absolute path, with its
// query, normalized (no tabs, newlines or backslashes, dot segments
// resolved). Checking the raw text instead let "/\t/evil.example" through:
// browsers drop ASCII tabs and newlines anywhere in a URL and read "\" as
// "/", which turned it into "//evil.example", another site.
//
// An encoded slash ("/%2F%2Fevil.example") is kept: browsers do not decode
// it, so it names a path of this site (which answers 404, or the mux's
// redirect to the cleaned "/evil.example", a path here too).
func localPath(raw string) (string, bool) {
	if raw == "" || len(raw) > maxTarget {
		return "", false
	}
	s := strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\r', '\n':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, raw)
	// Browsers also trim leading and trailing spaces and C0 controls; a
	// path of ours has none anywhere, so any is a reason to refuse.
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return "", false
		}
	}
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	// Resolving removes dot segments, as the browser will; the result is
	// checked again, since "/a/..//evil" passed the prefix check above.
	abs := selfOrigin.ResolveReference(u)
	if abs.Scheme != selfOrigin.Scheme || abs.Host != selfOrigin.Host || abs.User != nil {
		return "", false
	}
	p := abs.EscapedPath()
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return "", false
	}
	if abs.RawQuery != "" {
		p += "?" + abs.RawQuery
	}
	// Escaping can make the result longer than what came in; the bound
	// holds for what goes out too, so a target read twice reads the same.
	if len(p) > maxTarget {
		return "", false
	}
	return p, true
}

// maxTarget bounds a redirect target: longer is not a page of ours.
const maxTarget = 2000

// selfOrigin stands for this site when resolving a target: any origin
// would do, since only the path and query are kept.
var selfOrigin = &url.URL{Scheme: "https", Host: "allot.invalid", Path: "/"}
