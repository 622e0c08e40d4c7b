package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/allot-dev/allot/internal/clientip"
)

// DefaultFailedAuthPerMinute is how many failed authentications a client
// address or a token prefix may make in a minute before it gets 429.
const DefaultFailedAuthPerMinute = 10

// maxLimiterKeys bounds the memory of the limiter. When it is full, full
// buckets (which are the same as no bucket) are swept, then, if needed,
// arbitrary ones are dropped: an attacker spread over that many addresses
// gets a few more attempts, never the server's memory.
const maxLimiterKeys = 1 << 16

// limiter is a set of token buckets, one per key, each holding up to burst
// tokens and regaining one every interval/burst. A failure takes a token;
// a key with an empty bucket is refused until a token comes back. It lives
// in the process: every replica counts for itself, so behind a load
// balancer spreading requests over n replicas a client may fail up to n
// times as often.
type limiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration // time to regain one token
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newLimiter(burst int, interval time.Duration) *limiter {
	return &limiter{
		burst:   float64(burst),
		every:   interval / time.Duration(burst),
		buckets: make(map[string]*bucket),
	}
}

// refill brings b up to date at now. A clock that goes back counts as no
// time passing.
func (l *limiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
}

// wait returns zero when every key may try now, else how long until all
// of them may (rounded up to a whole second, for Retry-After).
func (l *limiter) wait(keys []string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		b := l.buckets[k]
		if b == nil {
			continue
		}
		l.refill(b, now)
		if b.tokens >= 1 {
			continue
		}
		d := time.Duration((1 - b.tokens) * float64(l.every))
		longest = max(longest, d)
	}
	if longest == 0 {
		return 0
	}
	return (longest + time.Second - 1).Truncate(time.Second)
}

// fail takes a token from each key's bucket and reports whether one of
// them has just become empty.
func (l *limiter) fail(keys []string, now time.Time) (emptied bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		b := l.buckets[k]
		if b == nil {
			l.makeRoom(now)
			b = &bucket{tokens: l.burst, at: now}
			l.buckets[k] = b
		}
		l.refill(b, now)
		if b.tokens >= 1 {
			b.tokens--
			emptied = emptied || b.tokens < 1
		}
	}
	return emptied
}

func (l *limiter) makeRoom(now time.Time) {
	if len(l.buckets) < maxLimiterKeys {
		return
	}
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < maxLimiterKeys {
			break
		}
		delete(l.buckets, k)
	}
}

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
