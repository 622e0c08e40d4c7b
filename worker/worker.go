// Package worker drains Allot's durable work queue: it calls the store's
// ProcessBatch until nothing is left, then sleeps until notified or until
// its poll interval passes. Work lives in the database, so stopping the
// worker at any point loses nothing.
package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/allot-dev/allot"
)

// Config configures a Worker.
type Config struct {
	Processor allot.Processor
	Logger    *slog.Logger
	BatchSize int           // users per transaction; default 500
	Poll      time.Duration // how often an idle worker looks for work; default 1s
	// Pause between two batches throttles processing, to leave the database
	// to interactive requests during a large change.
	Pause time.Duration
	// OnBatch, when set, is told of every batch that did work or failed
	// (not of polls that found the queue empty): the users it evaluated,
	// how long it took and its error. It runs on the worker's goroutine, so
	// it must be quick; metrics use it for batch durations.
	OnBatch func(users int, d time.Duration, err error)
}

// Worker runs the processing loop.
type Worker struct {
	cfg  Config
	wake chan struct{}
}

// New returns a Worker.
func New(cfg Config) *Worker {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Notify wakes an idle worker; it never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run processes work until ctx is done. A batch in hand when ctx ends is
// finished or rolled back as a whole by its transaction.
func (w *Worker) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		n, err := w.cfg.Processor.ProcessBatch(context.WithoutCancel(ctx), w.cfg.BatchSize)
		if w.cfg.OnBatch != nil && (n > 0 || err != nil) {
			w.cfg.OnBatch(n, time.Since(start), err)
		}
		switch {
		case err != nil:
			w.cfg.Logger.Error("processing batch failed", "err", err, "retry_in", backoff)
			if !sleep(ctx, backoff, nil) {
				return nil
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		case n > 0:
			w.cfg.Logger.Info("processed batch", "users", n, "duration_ms", time.Since(start).Milliseconds())
			backoff = 100 * time.Millisecond
			if ctx.Err() != nil || (w.cfg.Pause > 0 && !sleep(ctx, w.cfg.Pause, nil)) {
				return nil
			}
			continue
		}
		if !sleep(ctx, w.cfg.Poll, w.wake) {
			return nil
		}
	}
}

func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}
