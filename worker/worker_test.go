package worker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/worker"
)

// queue is a Processor over a counter of pending users.
type queue struct {
	mu      sync.Mutex
	pending int
	fails   int // the next calls that fail
	calls   int
}

func (q *queue) ProcessBatch(ctx context.Context, n int) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	if q.fails > 0 {
		q.fails--
		return 0, errors.New("database is locked")
	}
	did := min(n, q.pending)
	q.pending -= did
	return did, nil
}

func (q *queue) add(n int) {
	q.mu.Lock()
	q.pending += n
	q.mu.Unlock()
}

func (q *queue) left() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached")
}

func TestWorkerDrainsRetriesAndWakes(t *testing.T) {
	q := &queue{pending: 1234, fails: 2}
	w := worker.New(worker.Config{Processor: q, BatchSize: 100, Poll: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	// Failing batches are retried, then the queue drains.
	waitFor(t, func() bool { return q.left() == 0 })
	// An idle worker with an hour-long poll wakes at once when notified.
	q.add(50)
	w.Notify()
	waitFor(t, func() bool { return q.left() == 0 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not stop on cancel")
	}
}

func TestWorkerReportsBatches(t *testing.T) {
	q := &queue{pending: 250, fails: 1}
	var mu sync.Mutex
	var users, failed, calls int
	w := worker.New(worker.Config{Processor: q, BatchSize: 100, Poll: time.Hour, OnBatch: func(n int, d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		users += n
		if err != nil {
			failed++
		}
		if d < 0 {
			t.Errorf("negative duration %v", d)
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, func() bool { return q.left() == 0 })
	// The drain ends with a poll that finds nothing; it is not a batch.
	waitFor(t, func() bool { q.mu.Lock(); defer q.mu.Unlock(); return q.calls >= 5 })
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if users != 250 || failed != 1 || calls != 4 {
		t.Fatalf("reported %d batches, %d users, %d failures; want 4, 250, 1", calls, users, failed)
	}
}
