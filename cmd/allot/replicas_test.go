package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testdb"
)

// Figures of TestReplicasSharePostgres (replicas share one
// PostgreSQL database and its work queue, with no other coordinator).
const (
	repSkuE3      = "6fd2c87f-b296-42f0-b197-1e91e994b900" // Office 365 E3 (ENTERPRISEPACK)
	repReplicas   = 3
	repUsers      = 600 // per tenant
	repOpToken    = "op-replicas"
	repBatchSize  = "20"
	repBatchPause = "10ms"
	repDrivers    = 6                 // concurrent clients of the random phase
	repDriveFor   = 8 * time.Second   // random traffic through all replicas
	repAfterKill  = 2 * time.Second   // more traffic through the survivors
	repDrainMax   = 120 * time.Second // bound on the wait for idle after the kill
	repBigGroup   = 100               // members from which a walk takes several batches
	repMaxDeletes = 40                // users deleted per tenant at most
	repSeatsE1    = 300               // initial seats, fewer than the users
	repSeatsE3    = 200               // initial seats, fewer than the users
	repHTTPWait   = 20 * time.Second  // per request
	repLockWait   = 5 * time.Second   // wait for the victim to hold a tenant lock
	repStopWait   = 25 * time.Second  // wait for requests in flight to the victim
	repCheckWait  = 60 * time.Second  // allot check
)

var repSkus = []string{crashSkuE1, repSkuE3}

// TestReplicasSharePostgres runs three `allot serve` replicas on one
// PostgreSQL schema, spreads seeding and random concurrent traffic of two
// tenants over them, checks that what one replica writes the others show at
// once, SIGKILLs one replica while the queue is busy (preferably while it
// holds a tenant's lock mid-batch), and requires the survivors to drain the
// queue, keep every seat count exact, stop cleanly on SIGTERM and leave a
// database `allot check` finds sound.
//
// ALLOT_REPLICAS_SEED replays the random choices (not the timing).
func TestReplicasSharePostgres(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("replicas share a PostgreSQL database: set " + testdb.Env + " to a postgres:// URL to run this test")
	}
	if testing.Short() {
		t.Skip("builds the binary and runs three replicas; skipped with -short")
	}
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ALLOT_REPLICAS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ALLOT_REPLICAS_SEED=%q: %v", v, err)
		}
		seed = n
	}
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.Logf("seed %d (replay with ALLOT_REPLICAS_SEED=%d)", seed, seed)

	dir := t.TempDir()
	bin := crashBuild(t, dir)
	dsn := testdb.DSN(t, false)
	raced, _ := crashRaceBuild()

	// A direct connection to PostgreSQL, to see which replica holds a
	// tenant's advisory lock (each replica connects with its own
	// application_name).
	pg, err := sql.Open("pgx", os.Getenv(testdb.Env))
	if err != nil {
		t.Fatal(err)
	}
	pg.SetMaxOpenConns(2)
	t.Cleanup(func() { pg.Close() })

	h := &repHarness{
		t:    t,
		http: &http.Client{Timeout: repHTTPWait, Transport: &http.Transport{MaxIdleConnsPerHost: 4 * repDrivers}},
		ok:   map[string]int{},
		bad:  map[string]int{},
	}
	t.Cleanup(h.http.CloseIdleConnections)

	// Three replicas started together on the same fresh schema: they also
	// race for the migrations.
	run := make([]byte, 4)
	rand.Read(run)
	h.replicas = make([]*repReplica, repReplicas)
	startErrs := make([]error, repReplicas)
	var wg sync.WaitGroup
	for i := range repReplicas {
		r := &repReplica{idx: i, name: fmt.Sprintf("r%d", i), logFile: filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)),
			app: fmt.Sprintf("allot-replicas-%s-r%d", hex.EncodeToString(run), i)}
		h.replicas[i] = r
		t.Cleanup(func() {
			if t.Failed() {
				crashLogTail(t, r.logFile, 40)
			}
		})
		if raced {
			t.Cleanup(func() {
				if b, _ := os.ReadFile(r.logFile); bytes.Contains(b, []byte("WARNING: DATA RACE")) {
					t.Errorf("replica %s reported a data race (see %s)", r.name, r.logFile)
				}
			})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.srv, startErrs[i] = repStart(t, bin, repWithApp(t, dsn, r.app), r.logFile)
		}()
	}
	wg.Wait()
	for i, err := range startErrs {
		if err != nil {
			t.Fatalf("replica r%d: %v", i, err)
		}
	}
	for _, r := range h.replicas {
		r.url = r.srv.url
		t.Logf("replica %s at %s (log %s)", r.name, r.url, r.logFile)
	}
	started := time.Since(began)

	// Two tenants, each created through its own replica; their tokens and
	// subscriptions made through one replica must work through the others.
	h.tenants = make([]*repTenant, 2)
	for k := range h.tenants {
		tn := &repTenant{name: fmt.Sprintf("T%d", k), deleted: map[string]bool{}, seats: map[string]*repSeats{}}
		h.tenants[k] = tn
		out := h.must(h.replicas[k%repReplicas], nil, "seed", 201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Replicas " + tn.name})
		tok, _ := out["token"].(map[string]any)
		ten, _ := out["tenant"].(map[string]any)
		tn.secret, _ = tok["secret"].(string)
		tn.id, _ = ten["id"].(string)
		if tn.secret == "" || tn.id == "" {
			t.Fatalf("tenant %s: no id or secret in %v", tn.name, out)
		}
		for j, sku := range repSkus {
			n := []int{repSeatsE1, repSeatsE3}[j]
			tn.seats[sku] = &repSeats{n: n}
			h.must(h.replicas[(k+1+j)%repReplicas], tn, "seed", 201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": sku, "seats": n})
		}
		for _, r := range h.replicas {
			got := h.must(r, tn, "seed", 200, "GET", "/allot/v1/tenant", nil)
			if got["id"] != tn.id {
				t.Fatalf("tenant %s through %s: id %v, want %s", tn.name, r.name, got["id"], tn.id)
			}
			for j, sku := range repSkus {
				sub := h.must(r, tn, "seed", 200, "GET", "/v1.0/subscribedSkus/"+sku, nil)
				if e := repEnabled(sub); e != []int{repSeatsE1, repSeatsE3}[j] {
					t.Fatalf("tenant %s through %s: %s prepaidUnits.enabled %d, want %d", tn.name, r.name, sku, e, []int{repSeatsE1, repSeatsE3}[j])
				}
			}
		}
	}

	// Users: every request through replica i%3, for tenant i%2, on several
	// clients at once.
	for _, tn := range h.tenants {
		tn.users = make([]string, repUsers)
	}
	crashParallel(t, 2*repUsers, func(i int) error {
		tn := h.tenants[i%2]
		r := h.replicas[i%repReplicas]
		id, err := h.createUser(r, tn, "seed", fmt.Sprintf("u%04d", i/2), "US")
		if err != nil {
			return err
		}
		tn.users[i/2] = id
		return nil
	})

	// Groups: G0 has users 0–399 (E1), G1 300–599 (E3; 300–399 are in
	// both and E1 and E3 conflict), G2 every 5th user and G3 every 7th,
	// both unlicensed for now. Each is read back through the other replicas.
	type pair struct {
		tn *repTenant
		g  *repGroup
		u  string
	}
	var pairs []pair
	for _, tn := range h.tenants {
		for gi := range 4 {
			r := h.replicas[gi%repReplicas]
			name := fmt.Sprintf("G%d", gi)
			out := h.must(r, tn, "seed", 201, "POST", "/v1.0/groups", map[string]any{
				"displayName": "Replicas " + name, "mailNickname": "replicas-" + strings.ToLower(name), "mailEnabled": false, "securityEnabled": true})
			id, _ := out["id"].(string)
			if id == "" {
				t.Fatalf("group %s: no id in %v", name, out)
			}
			g := &repGroup{id: id, name: name, isMember: map[string]bool{}}
			tn.groups = append(tn.groups, g)
			h.sameGroup(r, tn, g, out)
			for ui, u := range tn.users {
				if (gi == 0 && ui < 400) || (gi == 1 && ui >= 300) || (gi == 2 && ui%5 == 0) || (gi == 3 && ui%7 == 0) {
					pairs = append(pairs, pair{tn, g, u})
				}
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	crashParallel(t, len(pairs), func(i int) error {
		p := pairs[i]
		r := h.replicas[i%repReplicas]
		code, out, err := h.call(r, p.tn, "seed", "POST", "/v1.0/groups/"+p.g.id+"/members/$ref",
			map[string]any{"@odata.id": r.url + "/v1.0/directoryObjects/" + p.u})
		if err != nil {
			return err
		}
		if code != 204 {
			return fmt.Errorf("add member through %s: status %d: %v", r.name, code, out)
		}
		p.tn.mu.Lock()
		p.g.add(p.u)
		p.tn.mu.Unlock()
		return nil
	})
	seeded := time.Since(began)

	// The licenses go on the big groups last, so that their walks are
	// under way when the random phase starts. Right after each 202, the
	// other replicas must show the walk queued or in progress.
	for _, tn := range h.tenants {
		for gi, sku := range repSkus {
			g := tn.groups[gi]
			r := h.replicas[(gi+1)%repReplicas]
			h.must(r, tn, "seed", 202, "POST", "/v1.0/groups/"+g.id+"/assignLicense", repLicenseBody([]string{sku}, nil))
			h.checkQueued(tn, g, r, "assignLicense")
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The random phase: drivers through every live replica, while the
	// main goroutine compares the status the replicas report.
	var drivers sync.WaitGroup
	h.driving.Store(true)
	for d := range repDrivers {
		drivers.Add(1)
		drng := mrand.New(mrand.NewPCG(seed+uint64(d)+1, uint64(d)))
		go func() {
			defer drivers.Done()
			for !h.stop.Load() {
				h.randomOp(drng)
			}
		}()
	}
	stopDrivers := func() {
		h.stop.Store(true)
		done := make(chan struct{})
		go func() { drivers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(repHTTPWait + 5*time.Second):
			t.Fatal("drivers did not stop")
		}
	}
	driveEnd := time.Now().Add(repDriveFor)
	for time.Now().Before(driveEnd) && !h.stop.Load() {
		time.Sleep(time.Second)
		for _, tn := range h.tenants {
			h.statusAcross(tn, nil, "under way")
		}
	}
	if h.stop.Load() {
		stopDrivers()
		t.FailNow()
	}

	// The kill. First make sure of work: a walk of each big group in each
	// tenant, queued through a survivor.
	victim := h.replicas[rng.IntN(repReplicas)]
	var survivors []*repReplica
	for _, r := range h.replicas {
		if r != victim {
			survivors = append(survivors, r)
		}
	}
	for _, tn := range h.tenants {
		for gi := range 2 {
			h.must(survivors[gi%2], tn, "kill", 202, "POST", "/allot/v1/groups/"+tn.groups[gi].id+"/reprocess", nil)
		}
	}
	var depthsAtKill []string
	for _, tn := range h.tenants {
		depthsAtKill = append(depthsAtKill, h.statusAcross(tn, nil, "before the kill"))
	}
	// No more client requests to the victim: whatever lock it holds from
	// now on is its worker's, in the middle of a batch.
	victim.excluded.Store(true)
	for deadline := time.Now().Add(repStopWait); victim.inflight.Load() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("requests to %s still in flight after %v", victim.name, repStopWait)
		}
	}
	nonIdleAtKill := 0
	for _, tn := range h.tenants {
		if st, err := h.status(survivors[0], tn); err != nil {
			t.Fatal(err)
		} else if !st.Idle {
			nonIdleAtKill++
		}
	}
	if nonIdleAtKill == 0 {
		t.Errorf("both tenants idle at the kill, though a walk of %d+ members was just queued in each", repBigGroup)
	}
	heldLock := false
	lockStart := time.Now()
	for time.Since(lockStart) < repLockWait {
		var n int
		if err := pg.QueryRow(`SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1`, victim.app).Scan(&n); err != nil {
			t.Fatalf("pg_locks: %v", err)
		}
		if n > 0 {
			heldLock = true
			break
		}
		time.Sleep(time.Millisecond)
	}
	lockWaited := time.Since(lockStart)
	victim.srv.kill(t)
	killedAt := time.Now()
	victim.dead.Store(true)
	t.Logf("SIGKILL %s: tenants non-idle at the kill %d/2; victim held a tenant lock (a batch in hand): %v (after %v of watching)",
		victim.name, nonIdleAtKill, heldLock, lockWaited.Round(time.Millisecond))

	// More traffic through the survivors only, then the queue must drain
	// without the victim.
	time.Sleep(repAfterKill)
	stopDrivers()
	if t.Failed() {
		t.FailNow()
	}
	driven := time.Since(began)
	trafficStopped := time.Now()
	var drainedAt, drainedQuiet time.Duration
	for deadline := time.Now().Add(repDrainMax); ; {
		idle := 0
		for _, tn := range h.tenants {
			st, err := h.status(survivors[0], tn)
			if err != nil {
				t.Fatal(err)
			}
			if st.Idle {
				idle++
			}
		}
		if idle == len(h.tenants) {
			drainedAt, drainedQuiet = time.Since(killedAt), time.Since(trafficStopped)
			break
		}
		if time.Now().After(deadline) {
			for _, tn := range h.tenants {
				st, _ := h.status(survivors[0], tn)
				t.Logf("tenant %s: %+v", tn.name, st)
			}
			t.Fatalf("not idle %v after the kill of %s: the survivors did not drain the queue", repDrainMax, victim.name)
		}
		time.Sleep(25 * time.Millisecond)
	}
	// Both survivors agree it is idle.
	for _, tn := range h.tenants {
		for _, r := range survivors {
			if st, err := h.status(r, tn); err != nil {
				t.Fatal(err)
			} else if !st.Idle {
				t.Errorf("tenant %s: %s says idle, %s says %+v", tn.name, survivors[0].name, r.name, st)
			}
		}
	}

	// Seats: consumedUnits = the users holding the SKU, counted from their
	// states, and never above the seats (which were only ever raised).
	type figure struct{ consumed, enabled, holders int }
	figures := map[string]figure{}
	for _, tn := range h.tenants {
		holders := map[string]int{}
		next := "/v1.0/users?$select=id,licenseAssignmentStates&$top=999"
		users := 0
		for pages := 0; next != ""; pages++ {
			if pages > 20 {
				t.Fatal("users: too many pages")
			}
			page := h.must(survivors[pages%2], tn, "final", 200, "GET", next, nil)
			vals, _ := page["value"].([]any)
			for _, v := range vals {
				users++
				u, _ := v.(map[string]any)
				states, _ := u["licenseAssignmentStates"].([]any)
				held := map[string]bool{}
				for _, s := range states {
					st, _ := s.(map[string]any)
					if st["state"] == "Active" {
						sku, _ := st["skuId"].(string)
						held[sku] = true
					}
				}
				for sku := range held {
					holders[sku]++
				}
			}
			next, _ = page["@odata.nextLink"].(string)
			if u, err := url.Parse(next); err == nil && u.IsAbs() {
				next = u.RequestURI() // the next page through the other survivor
			}
		}
		for _, sku := range repSkus {
			var seen []map[string]any
			for _, r := range survivors {
				seen = append(seen, h.must(r, tn, "final", 200, "GET", "/v1.0/subscribedSkus/"+sku, nil))
			}
			consumed, enabled := repInt(seen[0]["consumedUnits"]), repEnabled(seen[0])
			if c1, e1 := repInt(seen[1]["consumedUnits"]), repEnabled(seen[1]); c1 != consumed || e1 != enabled {
				t.Errorf("tenant %s sku %s: %s says consumed %d of %d, %s says %d of %d", tn.name, sku, survivors[0].name, consumed, enabled, survivors[1].name, c1, e1)
			}
			if consumed != holders[sku] {
				t.Errorf("tenant %s sku %s: consumedUnits %d, but %d users hold it (an Active state)", tn.name, sku, consumed, holders[sku])
			}
			if consumed > enabled {
				t.Errorf("tenant %s sku %s: consumedUnits %d > prepaidUnits.enabled %d, though seats were only raised", tn.name, sku, consumed, enabled)
			}
			if want := tn.seats[sku].n; enabled != want {
				t.Errorf("tenant %s sku %s: prepaidUnits.enabled %d, want %d (initial seats plus raises and purchases)", tn.name, sku, enabled, want)
			}
			figures[tn.name+" "+sku[:8]] = figure{consumed, enabled, holders[sku]}
		}
		tn.mu.Lock()
		t.Logf("tenant %s: %d users listed (%d deleted in the run)", tn.name, users, len(tn.deleted))
		tn.mu.Unlock()
	}

	// Every walk, however it was shared between replicas or cut by the
	// kill, was started and finished once in the audit log: a batch rolled
	// back with the victim's connection leaves no trace.
	walks := 0
	for _, tn := range h.tenants {
		for _, g := range tn.groups {
			var starts, finishes int
			next := "/allot/v1/audit?targetId=" + g.id + "&$top=999"
			for pages := 0; next != ""; pages++ {
				if pages > 50 {
					t.Fatal("audit: too many pages")
				}
				page := h.must(survivors[pages%2], tn, "final", 200, "GET", next, nil)
				vals, _ := page["value"].([]any)
				for _, v := range vals {
					e, _ := v.(map[string]any)
					switch e["activity"] {
					case "Start applying group based license to users":
						starts++
					case "Finish applying group based license to users":
						finishes++
					}
				}
				next, _ = page["@odata.nextLink"].(string)
				if u, err := url.Parse(next); err == nil && u.IsAbs() {
					next = u.RequestURI()
				}
			}
			if starts != finishes {
				t.Errorf("tenant %s group %s: audit has %d walks started, %d finished", tn.name, g.name, starts, finishes)
			}
			walks += finishes
		}
	}

	// SIGTERM: each survivor exits 0 within 20 s; then the invariants hold.
	for _, r := range survivors {
		r.srv.terminate(t)
	}
	var out bytes.Buffer
	chk := exec.Command(bin, "check", "--db", dsn)
	chk.Stdout, chk.Stderr = &out, &out
	if err := crashRun(chk, repCheckWait); err != nil {
		t.Errorf("allot check: %v\n%s", err, out.String())
	} else if !strings.Contains(out.String(), "ok: every invariant holds") {
		t.Errorf("allot check said %q", out.String())
	}

	// What the replicas logged as errors (a failed batch, a deadlock).
	for _, r := range h.replicas {
		lines := repLogErrors(r.logFile)
		if len(lines) == 0 {
			continue
		}
		shown := lines[:min(len(lines), 15)]
		msg := fmt.Sprintf("replica %s logged %d error lines:\n%s", r.name, len(lines), strings.Join(shown, "\n"))
		if r == victim || !repSerious(lines) {
			t.Log(msg)
		} else {
			t.Error(msg)
		}
	}

	// The figures.
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.replicas {
		t.Logf("replica %s: %d requests (%d after seeding)", r.name, r.ops.Load(), r.driveOps.Load())
	}
	t.Logf("answers by kind, 2xx: %s", repCounts(h.ok))
	t.Logf("answers by kind, 4xx: %s (total %d)", repCounts(h.bad), repSum(h.bad))
	t.Logf("visibility checks: %d reads through another replica after a write, %d walks already finished when read", h.visChecks.Load(), h.visRaced.Load())
	t.Logf("status before the kill (queueDepth per replica): %s", strings.Join(depthsAtKill, "; "))
	t.Logf("group walks: %d, each started and finished once in the audit log", walks)
	t.Logf("kill: %s; victim held a tenant lock: %v; idle %v after the kill (%v of it with traffic through the survivors, %v after the traffic stopped)",
		victim.name, heldLock, drainedAt.Round(time.Millisecond), repAfterKill, drainedQuiet.Round(time.Millisecond))
	keys := make([]string, 0, len(figures))
	for k := range figures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := figures[k]
		t.Logf("seats %s: consumed %d (holders %d) of %d", k, f.consumed, f.holders, f.enabled)
	}
	t.Logf("time: replicas up %v, seeded %v, traffic done %v, total %v",
		started.Round(time.Millisecond), seeded.Round(time.Millisecond), driven.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// repReplica is one `allot serve` child process.
type repReplica struct {
	idx      int
	name     string
	url      string
	app      string // its PostgreSQL application_name
	logFile  string
	srv      *crashServer
	ops      atomic.Int64 // requests sent to it
	driveOps atomic.Int64 // of which after seeding
	inflight atomic.Int64
	excluded atomic.Bool // no new client requests (about to be killed)
	dead     atomic.Bool
}

type repGroup struct {
	id, name string
	members  []string // guarded by the tenant's mu
	isMember map[string]bool
}

func (g *repGroup) add(u string) {
	if !g.isMember[u] {
		g.isMember[u] = true
		g.members = append(g.members, u)
	}
}

func (g *repGroup) remove(u string) {
	if !g.isMember[u] {
		return
	}
	delete(g.isMember, u)
	for i, m := range g.members {
		if m == u {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
}

type repSeats struct {
	mu sync.Mutex // one seat change at a time, so seats only rise
	n  int
}

type repTenant struct {
	name, id, secret string
	seats            map[string]*repSeats // by SKU; the map is not written after seeding
	mu               sync.Mutex
	users            []string
	deleted          map[string]bool
	groups           []*repGroup
}

func (tn *repTenant) randomUser(rng *mrand.Rand) string {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return tn.users[rng.IntN(len(tn.users))]
}

type repHarness struct {
	t        *testing.T
	http     *http.Client
	replicas []*repReplica
	tenants  []*repTenant
	stop     atomic.Bool
	driving  atomic.Bool
	upn      atomic.Int64

	visChecks, visRaced atomic.Int64

	mu  sync.Mutex
	ok  map[string]int // 2xx by kind
	bad map[string]int // 4xx by kind
}

// fail records a failure from any goroutine and stops the drivers.
func (h *repHarness) fail(format string, args ...any) {
	h.t.Errorf(format, args...)
	h.stop.Store(true)
}

// acquire marks a request to r in flight, unless r takes no more.
func (r *repReplica) acquire() bool {
	r.inflight.Add(1)
	if r.excluded.Load() {
		r.inflight.Add(-1)
		return false
	}
	return true
}

func (r *repReplica) release() { r.inflight.Add(-1) }

// live acquires every replica that takes requests, except not.
func (h *repHarness) live(not *repReplica) []*repReplica {
	var out []*repReplica
	for _, r := range h.replicas {
		if r != not && r.acquire() {
			out = append(out, r)
		}
	}
	return out
}

func repReleaseAll(rs []*repReplica) {
	for _, r := range rs {
		r.release()
	}
}

// call sends one request through r for tenant tn (nil: the operator). A
// 5xx answer is an error carrying the body; 4xx answers are counted.
func (h *repHarness) call(r *repReplica, tn *repTenant, kind, method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(path, "http://") {
		u = r.url + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	token := repOpToken
	if tn != nil {
		token = tn.secret
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	r.ops.Add(1)
	if h.driving.Load() {
		r.driveOps.Add(1)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s through %s: %w", method, path, r.name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s through %s: %w", method, path, r.name, err)
	}
	if resp.StatusCode >= 500 {
		return resp.StatusCode, nil, fmt.Errorf("%s %s through %s: status %d: %s", method, path, r.name, resp.StatusCode, raw)
	}
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			return 0, nil, fmt.Errorf("%s %s through %s: bad JSON %q", method, path, r.name, raw)
		}
	}
	h.mu.Lock()
	if resp.StatusCode >= 400 {
		h.bad[kind]++
	} else {
		h.ok[kind]++
	}
	h.mu.Unlock()
	return resp.StatusCode, out, nil
}

// must is call for the main goroutine: anything but want fails the test.
func (h *repHarness) must(r *repReplica, tn *repTenant, kind string, want int, method, path string, body any) map[string]any {
	h.t.Helper()
	code, out, err := h.call(r, tn, kind, method, path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if code != want {
		h.t.Fatalf("%s %s through %s: status %d, want %d: %v", method, path, r.name, code, want, out)
	}
	return out
}

// try is call for the drivers: a 5xx or transport error fails the test.
func (h *repHarness) try(r *repReplica, tn *repTenant, kind, method, path string, body any) (int, map[string]any) {
	code, out, err := h.call(r, tn, kind, method, path, body)
	if err != nil {
		h.fail("%s: %v", kind, err)
		return 0, nil
	}
	return code, out
}

func (h *repHarness) createUser(r *repReplica, tn *repTenant, kind, nick, loc string) (string, error) {
	code, out, err := h.call(r, tn, kind, "POST", "/v1.0/users", map[string]any{
		"displayName": "User " + nick, "userPrincipalName": nick + "@" + strings.ToLower(tn.name) + ".replicas.example",
		"mailNickname": nick, "accountEnabled": true, "usageLocation": loc})
	if err != nil {
		return "", err
	}
	if code != 201 {
		return "", fmt.Errorf("create user %s through %s: status %d: %v", nick, r.name, code, out)
	}
	id, _ := out["id"].(string)
	if id == "" {
		return "", fmt.Errorf("create user %s: no id in %v", nick, out)
	}
	return id, nil
}

type repStatus = crashStatus

func (h *repHarness) status(r *repReplica, tn *repTenant) (repStatus, error) {
	var st repStatus
	code, out, err := h.call(r, tn, "status", "GET", "/allot/v1/status", nil)
	if err != nil {
		return st, err
	}
	if code != 200 {
		return st, fmt.Errorf("status through %s: %d %v", r.name, code, out)
	}
	b, _ := json.Marshal(out)
	err = json.Unmarshal(b, &st)
	return st, err
}

// groupState reads a group's licenseProcessingState through r.
func (h *repHarness) groupState(r *repReplica, tn *repTenant, g *repGroup) (string, error) {
	code, out, err := h.call(r, tn, "read", "GET", "/v1.0/groups/"+g.id+"?$select=id,licenseProcessingState", nil)
	if err != nil {
		return "", err
	}
	if code != 200 {
		return "", fmt.Errorf("group %s through %s: status %d: %v", g.name, r.name, code, out)
	}
	lps, _ := out["licenseProcessingState"].(map[string]any)
	state, _ := lps["state"].(string)
	if out["id"] != g.id || state == "" {
		return "", fmt.Errorf("group %s through %s: %v", g.name, r.name, out)
	}
	return state, nil
}

// checkQueued runs right after from answered 202 to a change that queues
// a walk of g: every other replica must show the walk pending at once, and
// the tenant not idle. A walk of repBigGroup members or more takes several
// batches, so it cannot be over already; if another replica says
// ProcessingComplete, the writing replica is asked too, and only when it
// also says complete is it taken as a finished walk rather than a stale read.
func (h *repHarness) checkQueued(tn *repTenant, g *repGroup, from *repReplica, what string) {
	tn.mu.Lock()
	size := len(g.members)
	tn.mu.Unlock()
	others := h.live(from)
	defer repReleaseAll(others)
	for _, r := range others {
		state, err := h.groupState(r, tn, g)
		if err != nil {
			h.fail("%v", err)
			return
		}
		st, err := h.status(r, tn)
		if err != nil {
			h.fail("%v", err)
			return
		}
		h.visChecks.Add(1)
		if state != "ProcessingComplete" && !st.Idle {
			continue
		}
		if size < repBigGroup {
			continue // a small walk may be over already
		}
		back, err := h.groupState(from, tn, g)
		if err != nil {
			h.fail("%v", err)
			return
		}
		backSt, err := h.status(from, tn)
		if err != nil {
			h.fail("%v", err)
			return
		}
		if back == "ProcessingComplete" || backSt.Idle {
			h.visRaced.Add(1) // the walk was over: not a stale read
			continue
		}
		h.fail("tenant %s: right after %s of group %s (%d members) answered 202 through %s, %s says state %s, idle %v (queueDepth %d); then %s says %s, idle %v (queueDepth %d)",
			tn.name, what, g.name, size, from.name, r.name, state, st.Idle, st.QueueDepth, from.name, back, backSt.Idle, backSt.QueueDepth)
	}
}

// statusAcross reads the tenant's status through every live replica (or
// rs) in quick succession. When the first reading has a walk with several
// batches left, the others cannot be idle. It returns the queue depths.
func (h *repHarness) statusAcross(tn *repTenant, rs []*repReplica, when string) string {
	if rs == nil {
		rs = h.live(nil)
		defer repReleaseAll(rs)
	}
	var sts []repStatus
	for _, r := range rs {
		st, err := h.status(r, tn)
		if err != nil {
			h.fail("%v", err)
			return ""
		}
		sts = append(sts, st)
	}
	busy := false
	for _, g := range sts[0].Groups {
		if g.Total-g.Done >= 3*20 {
			busy = true
		}
	}
	var depths []string
	for i, st := range sts {
		depths = append(depths, fmt.Sprintf("%s %d", rs[i].name, st.QueueDepth))
		if busy && st.Idle {
			h.fail("tenant %s %s: %s reports a walk with %d+ members left (%+v), %s reports idle (%+v)",
				tn.name, when, rs[0].name, 60, sts[0], rs[i].name, st)
		}
	}
	return tn.name + ": " + strings.Join(depths, ", ")
}

// sameGroup reads a group created through from back through the others.
func (h *repHarness) sameGroup(from *repReplica, tn *repTenant, g *repGroup, created map[string]any) {
	others := h.live(from)
	defer repReleaseAll(others)
	for _, r := range others {
		code, out, err := h.call(r, tn, "read", "GET", "/v1.0/groups/"+g.id, nil)
		if err != nil {
			h.fail("%v", err)
			return
		}
		h.visChecks.Add(1)
		if code != 200 {
			h.fail("group %s created through %s: GET through %s: status %d: %v", g.name, from.name, r.name, code, out)
			return
		}
		for _, f := range []string{"id", "displayName", "mailNickname", "mailEnabled", "securityEnabled"} {
			if fmt.Sprint(out[f]) != fmt.Sprint(created[f]) {
				h.fail("group %s created through %s: %s = %v through %s, %v through %s", g.name, from.name, f, created[f], from.name, out[f], r.name)
			}
		}
	}
}

func repLicenseBody(add, remove []string) map[string]any {
	adds := []any{}
	for _, s := range add {
		adds = append(adds, map[string]any{"skuId": s, "disabledPlans": []string{}})
	}
	if remove == nil {
		remove = []string{}
	}
	return map[string]any{"addLicenses": adds, "removeLicenses": remove}
}

// randomOp makes one random change (or a visibility check) through a
// random live replica.
func (h *repHarness) randomOp(rng *mrand.Rand) {
	tn := h.tenants[rng.IntN(len(h.tenants))]
	var r *repReplica
	for _, i := range rng.Perm(len(h.replicas)) {
		if h.replicas[i].acquire() {
			r = h.replicas[i]
			break
		}
	}
	if r == nil {
		time.Sleep(10 * time.Millisecond)
		return
	}
	defer r.release()
	tn.mu.Lock()
	g := tn.groups[rng.IntN(len(tn.groups))]
	tn.mu.Unlock()
	sku := repSkus[rng.IntN(len(repSkus))]

	switch n := rng.IntN(100); {
	case n < 12: // group license, added or removed
		body := repLicenseBody([]string{sku}, nil)
		if rng.IntN(2) == 0 {
			body = repLicenseBody(nil, []string{sku})
		}
		if code, _ := h.try(r, tn, "groupLicense", "POST", "/v1.0/groups/"+g.id+"/assignLicense", body); code == 202 {
			h.checkQueued(tn, g, r, "assignLicense")
		}
	case n < 26: // a member added
		u := tn.randomUser(rng)
		code, _ := h.try(r, tn, "memberAdd", "POST", "/v1.0/groups/"+g.id+"/members/$ref",
			map[string]any{"@odata.id": r.url + "/v1.0/directoryObjects/" + u})
		if code == 204 {
			tn.mu.Lock()
			g.add(u)
			tn.mu.Unlock()
		}
	case n < 36: // a member removed
		tn.mu.Lock()
		if len(g.members) == 0 {
			tn.mu.Unlock()
			return
		}
		u := g.members[rng.IntN(len(g.members))]
		tn.mu.Unlock()
		if code, _ := h.try(r, tn, "memberRemove", "DELETE", "/v1.0/groups/"+g.id+"/members/"+u+"/$ref", nil); code == 204 {
			tn.mu.Lock()
			g.remove(u)
			tn.mu.Unlock()
		}
	case n < 48: // a direct license (400 when no seat, a conflict, …)
		u := tn.randomUser(rng)
		body := repLicenseBody([]string{sku}, nil)
		if rng.IntN(3) == 0 {
			body = repLicenseBody(nil, []string{sku})
		}
		h.try(r, tn, "userLicense", "POST", "/v1.0/users/"+u+"/assignLicense", body)
	case n < 53: // seats raised, then read back through another replica
		s := tn.seats[sku]
		s.mu.Lock()
		code, out := h.try(r, tn, "seats", "PATCH", "/allot/v1/subscriptions/"+sku, map[string]any{"seats": s.n + 1 + rng.IntN(5)})
		if code == 200 {
			s.n = repEnabled(out)
			h.sameSeats(r, tn, sku, s.n)
		}
		s.mu.Unlock()
	case n < 58: // a purchase
		s := tn.seats[sku]
		s.mu.Lock()
		if code, out := h.try(r, tn, "purchase", "POST", "/allot/v1/subscriptions/"+sku+"/purchase", map[string]any{"quantity": 1}); code == 200 {
			s.n = repEnabled(out)
			h.sameSeats(r, tn, sku, s.n)
		}
		s.mu.Unlock()
	case n < 70: // usage location
		u := tn.randomUser(rng)
		h.try(r, tn, "location", "PATCH", "/v1.0/users/"+u, map[string]any{"usageLocation": []string{"US", "US", "GB", ""}[rng.IntN(4)]})
	case n < 73: // a user deleted
		tn.mu.Lock()
		if len(tn.deleted) >= repMaxDeletes {
			tn.mu.Unlock()
			return
		}
		u := tn.users[rng.IntN(len(tn.users))]
		tn.mu.Unlock()
		if code, _ := h.try(r, tn, "deleteUser", "DELETE", "/v1.0/users/"+u, nil); code == 204 {
			tn.mu.Lock()
			tn.deleted[u] = true
			for _, g := range tn.groups {
				g.remove(u)
			}
			tn.mu.Unlock()
		}
	case n < 80: // a group reprocessed
		if code, _ := h.try(r, tn, "reprocess", "POST", "/allot/v1/groups/"+g.id+"/reprocess", nil); code == 202 {
			h.checkQueued(tn, g, r, "reprocess")
		}
	case n < 92: // a user created through r, read at once through the others
		nick := fmt.Sprintf("v%05d", h.upn.Add(1))
		loc := []string{"US", "GB"}[rng.IntN(2)]
		id, err := h.createUser(r, tn, "createUser", nick, loc)
		if err != nil {
			h.fail("%v", err)
			return
		}
		tn.mu.Lock()
		tn.users = append(tn.users, id)
		tn.mu.Unlock()
		others := h.live(r)
		for _, o := range others {
			code, out := h.try(o, tn, "read", "GET", "/v1.0/users/"+id+"?$select=id,displayName,userPrincipalName,usageLocation,accountEnabled", nil)
			if code == 0 {
				break
			}
			h.visChecks.Add(1)
			if code != 200 {
				h.fail("user %s created through %s: GET through %s: status %d: %v", nick, r.name, o.name, code, out)
				break
			}
			if out["id"] != id || out["displayName"] != "User "+nick || out["usageLocation"] != loc || out["accountEnabled"] != true ||
				!strings.HasPrefix(fmt.Sprint(out["userPrincipalName"]), nick+"@") {
				h.fail("user %s created through %s, read through %s: %v", nick, r.name, o.name, out)
			}
		}
		repReleaseAll(others)
	default: // reads
		h.try(r, tn, "read", "GET", "/v1.0/groups/"+g.id+"/membersWithLicenseErrors?$top=50", nil)
	}
}

// sameSeats reads a subscription just changed through from back through
// the others: seats only rise, so they must show at least want.
func (h *repHarness) sameSeats(from *repReplica, tn *repTenant, sku string, want int) {
	others := h.live(from)
	defer repReleaseAll(others)
	for _, r := range others {
		code, out := h.try(r, tn, "read", "GET", "/v1.0/subscribedSkus/"+sku, nil)
		if code == 0 {
			return
		}
		h.visChecks.Add(1)
		if code != 200 || repEnabled(out) < want {
			h.fail("tenant %s: seats of %s set to %d through %s; %s answers %d: %v", tn.name, sku, want, from.name, r.name, code, out)
		}
	}
}

func repInt(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// repEnabled is the seats of a subscribedSku (prepaidUnits.enabled) or of
// an Allot subscription (seats).
func repEnabled(out map[string]any) int {
	if pre, ok := out["prepaidUnits"].(map[string]any); ok {
		return repInt(pre["enabled"])
	}
	return repInt(out["seats"])
}

func repCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func repSum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// repWithApp sets the PostgreSQL application_name in dsn, so the test can
// tell the replicas' connections apart in pg_stat_activity.
func repWithApp(t *testing.T, dsn, app string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}

// repStart starts one replica like crashStart, with the small batches of
// this test; it may be called from several goroutines at once.
func repStart(t *testing.T, bin, dsn, logFile string) (*crashServer, error) {
	return startChild(t, bin, dsn, repOpToken, logFile, 0, "--batch-size", repBatchSize, "--batch-pause", repBatchPause)
}

// repLogErrors returns a replica's log lines at level ERROR, or naming a
// PostgreSQL error.
func repLogErrors(file string) []string {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "SQLSTATE") || strings.Contains(l, "panic") {
			out = append(out, l)
		}
	}
	return out
}

// repSerious tells whether logged errors are more than a connection lost
// while the test's own context ended.
func repSerious(lines []string) bool {
	for _, l := range lines {
		if !strings.Contains(l, context.Canceled.Error()) {
			return true
		}
	}
	return false
}
