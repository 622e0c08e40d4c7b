package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/allot-dev/allot/internal/testdb"
)

// TestBenchCommand runs `allot bench` on a small tenant: every step must
// complete and the report must hold every figure. (Timing is never judged
// here; the figures are for docs/PERFORMANCE.md.)
func TestBenchCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.json")
	args := []string{"bench", "--users", "500", "--groups", "5", "--samples", "6", "--json", out}
	if testdb.Postgres() {
		args = append(args, "--db", os.Getenv(testdb.Env))
	}
	if _, err := runCmd(t, args...); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Median benchReport `json:"median"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	r := rep.Median
	// 500 users in the group, of whom every 50th has no location (Error)
	// and every 200th a conflicting direct license (Error): one state
	// each, plus the direct licenses' own states.
	if r.StateRows != 500+3 || r.Waiting != 150 || r.AssignSeconds <= 0 || r.PhysicalSeconds <= 0 || r.ListP99Ms <= 0 || r.PeakRSSMiB <= 0 ||
		r.RuleOnSeconds <= 0 || r.RuleOffSeconds <= 0 || r.AttrP99Ms <= 0 {
		t.Fatalf("incomplete report: %+v", r)
	}
}
