package httpx

import (
	"fmt"
	"testing"
	"time"
)

// clock is the time a test moves by hand: the limiter is never tested by
// sleeping.
type clock struct{ t time.Time }

func newClock() *clock               { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }
func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }

// TestLimiterBucket: a burst of ten, then one attempt back every six
// seconds, as docs/RELIABILITY.md §5 promises the API's callers.
func TestLimiterBucket(t *testing.T) {
	clk := newClock()
	l := NewLimiter(10, time.Minute)
	for i := range 10 {
		if w := l.Wait(clk.now(), "a"); w != 0 {
			t.Fatalf("attempt %d: wait %v", i, w)
		}
		if emptied := l.Take(clk.now(), "a"); emptied != (i == 9) {
			t.Fatalf("attempt %d: emptied %v", i, emptied)
		}
	}
	if w := l.Wait(clk.now(), "a"); w != 6*time.Second {
		t.Fatalf("empty bucket: wait %v, want 6s", w)
	}
	if w := l.Wait(clk.now(), "b"); w != 0 {
		t.Fatalf("another key: wait %v", w)
	}
	clk.add(5*time.Second + time.Millisecond)
	if w := l.Wait(clk.now(), "a"); w != time.Second {
		t.Fatalf("almost a token: wait %v, want 1s (rounded up)", w)
	}
	clk.add(time.Second)
	if w := l.Wait(clk.now(), "a"); w != 0 {
		t.Fatalf("a token back: wait %v", w)
	}
	if !l.Take(clk.now(), "a") {
		t.Fatal("taking the one token back did not empty the bucket")
	}
	clk.add(time.Minute)
	for i := range 10 {
		if l.Take(clk.now(), "a") != (i == 9) {
			t.Fatalf("after a minute, attempt %d", i)
		}
	}
}

// TestLimiterKeys: a wait is the longest of its keys', and a take counts
// against every key named.
func TestLimiterKeys(t *testing.T) {
	clk := newClock()
	l := NewLimiter(2, time.Minute)
	l.Take(clk.now(), "ip", "token")
	l.Take(clk.now(), "ip")
	if w := l.Wait(clk.now(), "token"); w != 0 {
		t.Fatalf("token: wait %v", w)
	}
	if w := l.Wait(clk.now(), "token", "ip"); w != 30*time.Second {
		t.Fatalf("token and ip: wait %v, want 30s", w)
	}
	// Taking from an empty bucket leaves it empty and reports nothing new.
	if l.Take(clk.now(), "ip") {
		t.Fatal("an already empty bucket was reported emptied again")
	}
}

// TestLimiterAllow: the admin center's sign-in limit, checked and taken
// at once; a refused attempt takes nothing.
func TestLimiterAllow(t *testing.T) {
	clk := newClock()
	l := NewLimiter(3, time.Minute)
	for i := range 3 {
		if !l.Allow(clk.now(), "198.51.100.7") {
			t.Fatalf("attempt %d refused", i)
		}
	}
	for range 5 {
		if l.Allow(clk.now(), "198.51.100.7") {
			t.Fatal("a fourth attempt in the same instant was allowed")
		}
	}
	if !l.Allow(clk.now(), "198.51.100.8") {
		t.Fatal("another address was refused")
	}
	clk.add(20 * time.Second)
	if !l.Allow(clk.now(), "198.51.100.7") || l.Allow(clk.now(), "198.51.100.7") {
		t.Fatal("20 s should give back exactly one attempt")
	}
	clk.add(time.Minute)
	for i := range 3 {
		if !l.Allow(clk.now(), "198.51.100.7") {
			t.Fatalf("a minute later, attempt %d refused", i)
		}
	}
}

// TestLimiterClockGoesBack: a clock stepped back gives nothing back.
func TestLimiterClockGoesBack(t *testing.T) {
	clk := newClock()
	l := NewLimiter(1, time.Minute)
	l.Take(clk.now(), "a")
	clk.add(-time.Hour)
	if w := l.Wait(clk.now(), "a"); w != time.Minute {
		t.Fatalf("wait %v, want 1m", w)
	}
	clk.add(time.Hour + time.Minute)
	if w := l.Wait(clk.now(), "a"); w != 0 {
		t.Fatalf("a minute after the last attempt: wait %v", w)
	}
}

// TestLimiterMemoryIsBounded: past maxLimiterKeys, full buckets go first,
// then arbitrary ones, a quarter at once; the map never grows beyond the
// bound, and new keys do not each pay for a sweep (the test would take
// minutes).
func TestLimiterMemoryIsBounded(t *testing.T) {
	clk := newClock()
	l := NewLimiter(2, time.Minute)
	for i := range maxLimiterKeys - 1 {
		l.Take(clk.now(), fmt.Sprint("old", i))
	}
	l.Take(clk.now(), "busy", "busy")
	clk.add(30 * time.Second) // every "old" bucket is full again, "busy" half
	l.Take(clk.now(), "new")
	if _, ok := l.buckets["busy"]; !ok || len(l.buckets) != 2 {
		t.Fatalf("%d buckets after the sweep, want busy and new", len(l.buckets))
	}
	for i := range 4 * maxLimiterKeys {
		l.Take(clk.now(), fmt.Sprint("k", i))
		if len(l.buckets) > maxLimiterKeys {
			t.Fatalf("%d buckets, bound %d", len(l.buckets), maxLimiterKeys)
		}
	}
}
