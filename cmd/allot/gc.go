package main

import (
	"os"
	"runtime/debug"
)

// gcPercent is the collector's target for serve and bench. Processing
// allocates a batch's rows and outcomes many times a second and little of
// it lives past the batch: at Go's default of 100 collecting took 10–20%
// of a large group's processing; at 400 it is a quarter of that, and the
// 100,000-user bench runs 15–20% faster (docs/PERFORMANCE.md).
const gcPercent = 400

// gcSoftLimit keeps the larger headroom from growing the heap past 1 GiB:
// near it the collector runs as often as it must.
const gcSoftLimit = 1 << 30

// tuneGC applies gcPercent and gcSoftLimit unless the operator set GOGC or
// GOMEMLIMIT, which keep their usual meaning.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(gcSoftLimit)
	}
}
