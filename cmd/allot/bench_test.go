package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	if r.StateRows != 500+3 || r.Waiting != 150 || r.AssignSeconds <= 0 || r.PhysicalSeconds <= 0 || r.PhysicalSeqSecs <= 0 || r.ListP99Ms <= 0 || r.PeakRSSMiB <= 0 || r.PeakAnonMiB <= 0 || r.PeakAnonMiB > r.PeakRSSMiB ||
		r.RuleOnSeconds <= 0 || r.RuleOffSeconds <= 0 || r.AttrP99Ms <= 0 {
		t.Fatalf("incomplete report: %+v", r)
	}
}

// TestBenchWalksOnly runs only the group-wide steps, each followed by a
// clean allot check, and reports them and not the steps it skipped.
func TestBenchWalksOnly(t *testing.T) {
	// More groups than a page of the list holds, so the all-users group
	// must be looked up, not found on the first page (where its random id
	// puts it once in three).
	args := []string{"bench", "--users", "300", "--groups", "3000", "--walks-only"}
	if testdb.Postgres() {
		args = append(args, "--db", os.Getenv(testdb.Env))
	}
	out, err := runCmd(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"assign E1 to the all-users group", "unassign E1", "buy the missing E3 seats", "ratio to the physical limit", "allot check after it: clean"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, skipped := range []string{"membership change", "dynamic rule", "list 999 users", "user PATCH"} {
		if strings.Contains(out, skipped) {
			t.Errorf("output reports the skipped step %q:\n%s", skipped, out)
		}
	}
}

// TestBenchReplicas runs `allot bench --tenants 2 --replicas 1,2` on a tiny
// size with real `allot serve` replicas: every tenant's group must be
// licensed and unlicensed through them (the command checks the invariants
// after each step), and each replica count reported.
func TestBenchReplicas(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("replicas share a PostgreSQL database: set " + testdb.Env + " to a postgres:// URL to run this test")
	}
	if testing.Short() {
		t.Skip("builds the binary and runs replicas; skipped with -short")
	}
	dir := t.TempDir()
	bin := crashBuild(t, dir)
	out := filepath.Join(dir, "bench.json")
	const tenants, users = 2, 50
	if _, err := runCmd(t, "bench", "--db", os.Getenv(testdb.Env), "--tenants", strconv.Itoa(tenants), "--users", strconv.Itoa(users),
		"--replicas", "1,2", "--serve-bin", bin, "--json", out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep tenantsReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Tenants != tenants || rep.UsersPerTenant != users || len(rep.Runs) != 2 || len(rep.Median) != 2 {
		t.Fatalf("report: %s", b)
	}
	for i, m := range rep.Median {
		if m.Replicas != i+1 || m.AssignSeconds <= 0 || m.UnassignSeconds <= 0 || len(m.TenantSeconds) != tenants || len(m.ReplicaUsers) != m.Replicas ||
			m.Batches <= 0 || m.BatchSeconds <= 0 {
			t.Fatalf("%d replica(s): incomplete: %+v", i+1, m)
		}
		// Every tenant was processed, and alike: the same users in error.
		evaluated := 0
		for _, u := range m.ReplicaUsers {
			evaluated += u
		}
		if len(m.ConsumedSeats) != tenants || m.ConsumedSeats[0] <= 0 || m.ConsumedSeats[0] != m.ConsumedSeats[1] || evaluated < tenants*users {
			t.Fatalf("%d replica(s): seats %v, users evaluated %v: not every tenant processed", m.Replicas, m.ConsumedSeats, m.ReplicaUsers)
		}
	}
	if rep.Median[0].SpeedUp != 1 {
		t.Fatalf("speed-up of 1 replica over itself: %v", rep.Median[0].SpeedUp)
	}
}

// TestBenchReplicasNeedPostgres: several replicas on SQLite are refused
// before anything is built.
func TestBenchReplicasNeedPostgres(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--replicas", "1,2", "--db", filepath.Join(t.TempDir(), "x.db")},
		{"bench", "--replicas", "0"},
		{"bench", "--replicas", "two"},
	} {
		_, err := runCmd(t, args...)
		if err == nil || !strings.Contains(err.Error(), "--replicas") {
			t.Errorf("%v: %v, want an error about --replicas", args, err)
		}
	}
}
