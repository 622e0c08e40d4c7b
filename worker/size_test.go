package worker

import (
	"testing"
	"time"
)

// TestNextSize: batches shrink towards the time target when slow, grow
// back (never past the configured size) when a full batch is quick, and
// never fall below the minimum.
func TestNextSize(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		size, most, n int
		took          time.Duration
		want          int
	}{
		{500, 500, 500, 400 * ms, 125},            // four times too slow: a quarter
		{500, 500, 500, 100 * ms, 500},            // on target
		{125, 500, 125, 20 * ms, 250},             // quick and full: double
		{400, 500, 400, 10 * ms, 500},             // never past the configured size
		{250, 500, 30, 10 * ms, 250},              // quick but not full (the queue ran short): unchanged
		{50, 500, 50, 10 * time.Second, minBatch}, // never below the minimum
		{5, 5, 5, time.Second, 5},                 // a configured size below the minimum stays
	} {
		if got := nextSize(tc.size, tc.most, tc.n, tc.took, 100*ms); got != tc.want {
			t.Errorf("nextSize(%d, %d, %d, %v) = %d, want %d", tc.size, tc.most, tc.n, tc.took, got, tc.want)
		}
	}
}
