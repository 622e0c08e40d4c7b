package store

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/allot-dev/allot"
)

// writeGate makes one process's SQLite writers take turns in the order they
// came. SQLite has one write lock, and its busy handler is not fair: a
// waiter sleeps and polls, so the worker, which takes the lock again right
// after each commit, could win it batch after batch while a request waited
// for seconds and then failed with "database is locked". Here a writer that
// leaves hands the turn straight to the first in line, so a request waits
// at most for the transactions queued before it: behind the worker, one
// batch. Other processes on the same file still meet SQLite's busy handler.
type writeGate struct {
	mu    sync.Mutex
	busy  bool
	queue []chan struct{} // closed when it is that waiter's turn
	wait  time.Duration
}

// gateWait bounds the wait for a turn; past it the caller gets 503 with
// Retry-After rather than a request that hangs or a 500.
const gateWait = 30 * time.Second

func newWriteGate() *writeGate { return &writeGate{wait: gateWait} }

// enter waits for the caller's turn to write; leave must follow a nil error.
func (g *writeGate) enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	g.queue = append(g.queue, turn)
	g.mu.Unlock()

	t := time.NewTimer(g.wait)
	defer t.Stop()
	var err error
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = errBusy
	}
	g.mu.Lock()
	i := slices.Index(g.queue, turn)
	if i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
	}
	g.mu.Unlock()
	if i < 0 {
		g.leave() // the turn came as we gave up: pass it on
	}
	return err
}

func (g *writeGate) leave() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.busy = false
		return
	}
	close(g.queue[0])
	g.queue = g.queue[1:]
}

// waiting is the number of writers in line (for tests).
func (g *writeGate) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

var errBusy = allot.Errorf(allot.EUNAVAILABLE, "The database is busy. Retry the request in a moment.")
