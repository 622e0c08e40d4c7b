package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// guid reads an object id (allot.ParseID) given in a property or a path,
// answering Graph's error for anything else.
func guid(s string) (string, error) {
	id, ok := allot.ParseID(s)
	if !ok {
		return "", invalidID(clip(s))
	}
	return id, nil
}

// guids validates a list of GUIDs named prop, dropping duplicates.
func guids(prop string, xs []string) ([]string, error) {
	out := make([]string, 0, len(xs))
	seen := make(map[string]bool, len(xs))
	for _, x := range xs {
		id, ok := allot.ParseID(x)
		if !ok {
			return nil, badRequest("Invalid value '%s' in property '%s': expected a GUID.", clip(x), prop)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// pathGUID reads a GUID path segment.
func pathGUID(r *http.Request, name string) (string, error) {
	return guid(r.PathValue(name))
}

// noQueryID starts a handler for one object that takes no query options:
// the query is refused before the id is read, so a request wrong in both
// ways gets the same answer from every such endpoint.
func noQueryID(r *http.Request, name string) (string, error) {
	if err := noQuery(r); err != nil {
		return "", err
	}
	return pathGUID(r, name)
}

// usageLocation validates an ISO 3166 alpha-2 code (or empty, meaning none)
// and returns it in upper case.
func usageLocation(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if !allot.IsCountry(s) {
		return "", badRequest("Invalid value specified for property 'usageLocation' of resource 'User': '%s' is not an ISO 3166-1 two-letter country code.", clip(s))
	}
	return strings.ToUpper(s), nil
}

// text validates a free-text property: valid UTF-8, no control characters,
// at most max characters, and (when required) not blank.
func text(prop, resource, s string, max int, required bool) (string, error) {
	bad := func() error {
		return badRequest("Invalid value specified for property '%s' of resource '%s'.", prop, resource)
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", bad()
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return "", bad()
		}
	}
	if required && strings.TrimSpace(s) == "" {
		return "", bad()
	}
	return s, nil
}

// address checks the rough shape local@domain of a userPrincipalName or mail.
func address(prop, resource, s string) (string, error) {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") ||
		strings.ContainsAny(s, " \t\r\n\"<>,;:()[]\\") || len(s) > 256 || !utf8.ValidString(s) {
		return "", badRequest("Invalid value specified for property '%s' of resource '%s'.", prop, resource)
	}
	return s, nil
}

// proxyAddresses refuses what the store would refuse, with the store's
// bound, so that a request too long fails here with the property's name
// rather than later with the store's wording.
func proxyAddresses(resource string, xs []string) ([]string, error) {
	if len(xs) > allot.MaxAddresses {
		return nil, badRequest("Too many proxyAddresses: at most %d are allowed.", allot.MaxAddresses)
	}
	out := make([]string, 0, len(xs))
	seen := make(map[string]bool, len(xs))
	for _, a := range xs {
		if _, err := text("proxyAddresses", resource, a, allot.MaxAddress, true); err != nil {
			return nil, err
		}
		n := allot.NormalizeAddress(a)
		if n == "" || !strings.Contains(n, "@") {
			return nil, badRequest("Invalid value specified for property 'proxyAddresses' of resource '%s': '%s' is not an address.", resource, clip(a))
		}
		if seen[n] {
			return nil, badRequest("Invalid value specified for property 'proxyAddresses' of resource '%s': '%s' is listed twice.", resource, clip(a))
		}
		seen[n] = true
		out = append(out, a)
	}
	return out, nil
}

// clip shortens caller-supplied text quoted back in an error message.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) > 100 {
		r := []rune(s)
		return string(r[:100]) + "…"
	}
	return s
}

// noQuery rejects query options on endpoints that take none, so that a
// misspelt or unsupported option is never silently ignored.
func noQuery(r *http.Request) error {
	_, err := odata.ParseQuery(r.URL.Query(), odata.QuerySpec{})
	return err
}

// maxBatch checks the limit of 20 ids in one batch request.
func maxBatch(prop string, n int, min int) error {
	if n < min || n > allot.MaxBatch {
		return badRequest("Property '%s' must list from %d to %d ids; %d were given.", prop, min, allot.MaxBatch, n)
	}
	return nil
}
