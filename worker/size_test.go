package worker

import (
	"slices"
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

// TestSizer: a Sizer starts at startBatch (or below, at its bound), doubles
// while full batches are quick up to its bound, shrinks towards the target
// when slow, and takes the defaults for a bound or target of zero.
func TestSizer(t *testing.T) {
	const ms = time.Millisecond
	z := NewSizer(0, 0)
	if z.most != DefaultBatchSize || z.target != DefaultBatchTime || z.Size() != startBatch {
		t.Fatalf("defaults: %+v", *z)
	}
	var sizes []int
	for range 8 {
		z.Done(z.Size(), 10*ms)
		sizes = append(sizes, z.Size())
	}
	if want := []int{200, 400, 800, 1600, 3200, DefaultBatchSize, DefaultBatchSize, DefaultBatchSize}; !slices.Equal(sizes, want) {
		t.Errorf("sizes while quick %v, want %v", sizes, want)
	}
	z.Done(z.Size(), 200*ms)
	if z.Size() != DefaultBatchSize/2 {
		t.Errorf("after a batch twice the target: %d, want %d", z.Size(), DefaultBatchSize/2)
	}
	if z := NewSizer(30, 50*ms); z.Size() != 30 {
		t.Errorf("a bound below the first size: %d", z.Size())
	}
}
