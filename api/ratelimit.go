package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/allot-dev/allot/internal/clientip"
)

// DefaultFailedAuthPerMinute is how many failed authentications a client
// address or a token prefix may make in a minute before it gets 429.
const DefaultFailedAuthPerMinute = 10

// tokenPrefixKey keys the limiter by the first 16 bytes of a presented
// secret: enough of a real token ("allot_" and 10 random characters) that
// guessing at one token, or a script retrying a revoked one from many
// addresses, is limited, and too little to lock out another token by
// chance. Only a digest is kept, so the limiter holds nothing secret.
func tokenPrefixKey(secret string) string {
	p := secret
	if len(p) > 16 {
		p = p[:16]
	}
	sum := sha256.Sum256([]byte(p))
	return "tok:" + hex.EncodeToString(sum[:8])
}

// clientIP is the client's address as the rate limits see it: the TCP peer,
// or the last address of Config.ClientIPHeader behind a trusted proxy
// (internal/clientip, shared with the admin center).
func (s *server) clientIP(r *http.Request) string { return clientip.Key(r, s.ipHeader) }

// rateLimitError is a 429 whose Retry-After says when to try again.
type rateLimitError struct{ retryAfter time.Duration }

func (e *rateLimitError) Error() string {
	return fmt.Sprintf("too many failed authentications; retry after %v", e.retryAfter)
}

func (e *rateLimitError) seconds() int {
	return max(1, int(math.Ceil(e.retryAfter.Seconds())))
}
