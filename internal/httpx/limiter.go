package httpx

import (
	"math"
	"sync"
	"time"
)

// maxLimiterKeys bounds the memory of a Limiter. When it is full, full
// buckets (which are the same as no bucket) are swept, then, if needed,
// arbitrary ones are dropped down to three quarters of the bound, so that
// the sweep runs once per many new keys rather than for each: an attacker
// spread over that many addresses gets a few more attempts, never the
// server's memory or its time.
const maxLimiterKeys = 1 << 16

// Limiter is a set of token buckets, one per key, each holding up to burst
// tokens and regaining one every interval/burst: burst attempts at once,
// then one every interval/burst. The API takes a token for each failed
// authentication (docs/RELIABILITY.md §5: 10 a minute, one back every 6 s,
// which Retry-After tells the client); the admin center takes one for each
// sign-in attempt from an address (docs/ADMIN-CENTER.md: 20 a minute). A
// bucket keeps two numbers per key where a sliding log of the last minute
// keeps one timestamp per attempt, and it can say when the next attempt
// is allowed.
//
// It lives in the process: every replica counts for itself, so behind a
// load balancer spreading requests over n replicas a client may make up to
// n times as many attempts. Time is passed in, so that the server's clock
// (Config.Now) drives it and tests never sleep.
type Limiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration // time to regain one token
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// NewLimiter returns a Limiter allowing burst attempts per key at once and
// burst per interval after that.
func NewLimiter(burst int, interval time.Duration) *Limiter {
	return &Limiter{
		burst:   float64(burst),
		every:   interval / time.Duration(burst),
		buckets: make(map[string]*bucket),
	}
}

// refill brings b up to date at now. A clock that goes back counts as no
// time passing.
func (l *Limiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
}

// Wait returns zero when every key may try now, else how long until all
// of them may (rounded up to a whole second, for Retry-After).
func (l *Limiter) Wait(now time.Time, keys ...string) time.Duration {
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

// Take takes a token from each key's bucket and reports whether one of
// them has just become empty (the moment worth a log line).
func (l *Limiter) Take(now time.Time, keys ...string) (emptied bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if b := l.take(k, now); b != nil && b.tokens < 1 {
			emptied = true
		}
	}
	return emptied
}

// Allow takes a token from key's bucket if it has one, and reports
// whether it had: checking and taking under one lock, so that concurrent
// attempts cannot both pass on the last token.
func (l *Limiter) Allow(now time.Time, key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(key, now) != nil
}

// take takes a token from key's bucket, creating a full one for a new key,
// and returns the bucket, or nil when it was empty.
func (l *Limiter) take(key string, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return nil
	}
	b.tokens--
	return b
}

func (l *Limiter) makeRoom(now time.Time) {
	if len(l.buckets) < maxLimiterKeys {
		return
	}
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < maxLimiterKeys {
		return
	}
	for k := range l.buckets {
		if len(l.buckets) <= maxLimiterKeys*3/4 {
			break
		}
		delete(l.buckets, k)
	}
}
