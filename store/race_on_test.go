//go:build race

package store_test

// raceEnabled: the race detector slows the random-operations histories
// some 25 times, so under it they run fewer seeds by default; CI runs
// more of them without it (.ci/run).
const raceEnabled = true
