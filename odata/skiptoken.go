package odata

import (
	"encoding/base64"
	"net/url"
	"strings"

	"github.com/allot-dev/allot"
)

// skipTokenPrefix versions the skip token format. '.' is not in the
// base64url alphabet, so the prefix cannot be confused with the payload.
const skipTokenPrefix = "v1."

// MaxSkipTokenLength bounds the $skiptoken accepted by DecodeSkipToken.
const MaxSkipTokenLength = 4096

// EncodeSkipToken wraps a store cursor in an opaque, URL-safe $skiptoken.
func EncodeSkipToken(cursor string) string {
	return skipTokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(cursor))
}

// DecodeSkipToken returns the cursor in a $skiptoken made by
// EncodeSkipToken. Anything else is an allot.EINVALID error.
func DecodeSkipToken(tok string) (string, error) {
	bad := allot.Errorf(allot.EINVALID, "The $skiptoken is invalid.")
	payload, ok := strings.CutPrefix(tok, skipTokenPrefix)
	if !ok || payload == "" || len(tok) > MaxSkipTokenLength {
		return "", bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil || len(b) == 0 {
		return "", bad
	}
	return string(b), nil
}

// NextLink returns the absolute @odata.nextLink for the page after cursor:
// base's scheme and host, r's path, and r's query with every other option
// kept as the client sent it (same order and encoding) and $skiptoken
// replaced or added. It returns "" when cursor is empty (the last page).
func NextLink(base *url.URL, r *url.URL, cursor string) string {
	if cursor == "" {
		return ""
	}
	u := url.URL{Path: "/"}
	if base != nil {
		u.Scheme, u.Host = base.Scheme, base.Host
	}
	if r != nil && r.Path != "" {
		u.Path, u.RawPath = r.Path, r.RawPath
	}
	var parts []string
	if r != nil {
		for _, part := range strings.Split(r.RawQuery, "&") {
			if part == "" {
				continue
			}
			key, _, _ := strings.Cut(part, "=")
			if k, err := url.QueryUnescape(key); err == nil {
				key = k
			}
			if name, ok := optionName(key); ok && name == "skiptoken" {
				continue
			}
			parts = append(parts, part)
		}
	}
	parts = append(parts, "$skiptoken="+EncodeSkipToken(cursor))
	u.RawQuery = strings.Join(parts, "&")
	return u.String()
}
