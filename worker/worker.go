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
	BatchSize int // users per transaction at most; default DefaultBatchSize
	// BatchTime is how long one batch should hold the database's write
	// lock at most: a request that arrives meanwhile waits for the batch
	// in hand, so the batch size shrinks when batches take longer and grows
	// back, up to BatchSize, when they are quick. Default 100ms.
	BatchTime time.Duration
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
	sizer := NewSizer(w.cfg.BatchSize, w.cfg.BatchTime)
	for {
		start := time.Now()
		n, err := w.cfg.Processor.ProcessBatch(context.WithoutCancel(ctx), sizer.Size())
		took := time.Since(start)
		if w.cfg.OnBatch != nil && (n > 0 || err != nil) {
			w.cfg.OnBatch(n, took, err)
		}
		if err == nil && n > 0 {
			sizer.Done(n, took)
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

// DefaultBatchSize is the most users one batch evaluates unless
// configured. The time target keeps batches short, so this bound matters
// only on a fast machine: larger batches are cheaper per user (a batch's
// commit writes again every index page its users' rows fall on, and user
// ids are random), and up to a few thousand users they stay within the
// target (docs/PERFORMANCE.md, "Eleventh round").
const DefaultBatchSize = 4000

// DefaultBatchTime is the time target of a batch unless configured.
const DefaultBatchTime = 100 * time.Millisecond

// startBatch is the size of the first batch after the worker starts.
const startBatch = 100

// Sizer keeps batch sizes near a time target. It starts small and doubles
// while batches are quick: the first batches of a walk (cold caches) are
// the slowest, and a request that arrives then should not wait for a full
// one. Run sizes its batches with one; `allot bench` with another, so that
// it measures batches as allot serve makes them.
type Sizer struct {
	size, most int
	target     time.Duration
}

// NewSizer returns a Sizer for batches of at most most users (default
// DefaultBatchSize) near target (default DefaultBatchTime).
func NewSizer(most int, target time.Duration) *Sizer {
	if most <= 0 {
		most = DefaultBatchSize
	}
	if target <= 0 {
		target = DefaultBatchTime
	}
	return &Sizer{size: min(most, startBatch), most: most, target: target}
}

// Size is the size of the next batch.
func (z *Sizer) Size() int { return z.size }

// Done tells of a batch that evaluated n users in took.
func (z *Sizer) Done(n int, took time.Duration) {
	z.size = nextSize(z.size, z.most, n, took, z.target)
}

// minBatch keeps batches from shrinking to nothing on a slow database,
// where per-transaction costs would then dominate.
const minBatch = 20

// nextSize is the size of the next batch after one of size that evaluated
// n users in took: scaled down towards the time target when it took
// longer, doubled (up to most) when a full batch took under half of it.
func nextSize(size, most, n int, took, target time.Duration) int {
	switch {
	case took > target:
		return max(min(minBatch, most), int(int64(size)*int64(target)/int64(took)))
	case n >= size && took < target/2:
		return min(most, size*2)
	}
	return size
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
