package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/csvio"
	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/worker"
	"github.com/jackc/pgx/v5"
)

// benchReport is what `allot bench` measures; it is printed as a table and
// written as JSON.
type benchReport struct {
	Database  string `json:"database"`
	WalksOnly bool   `json:"walksOnly,omitempty"`
	// The all-users group's members in the order its walks take them,
	// read before any step moves a member: the physical limit's rows.
	walk              []string
	Users             int     `json:"users"`
	Groups            int     `json:"groups"`
	Memberships       int     `json:"memberships"`
	BatchSize         int     `json:"batchSize"` // 0: sized as allot serve sizes them
	MeanWalkBatch     float64 `json:"meanWalkBatchUsers"`
	SetupSeconds      float64 `json:"setupSeconds"`
	AssignSeconds     float64 `json:"assignSeconds"`
	UnassignSeconds   float64 `json:"unassignSeconds"`
	ShortSeconds      float64 `json:"shortSeatsSeconds"`
	Waiting           int     `json:"waitingUsers"`
	BuySeconds        float64 `json:"buySeatsSeconds"`
	MemberP50Ms       float64 `json:"membershipChangeP50Ms"`
	MemberP99Ms       float64 `json:"membershipChangeP99Ms"`
	ListP50Ms         float64 `json:"list999P50Ms"`
	ListP99Ms         float64 `json:"list999P99Ms"`
	WalkPatchP50Ms    float64 `json:"patchDuringWalkP50Ms"`
	WalkPatchP99Ms    float64 `json:"patchDuringWalkP99Ms"`
	WalkPatchMaxMs    float64 `json:"patchDuringWalkMaxMs"`
	WalkPatches       int     `json:"patchesDuringWalk"`
	StateRows         int     `json:"stateRows"`
	PhysicalSeconds   float64 `json:"physicalLimitSeconds"`
	PhysicalSeqSecs   float64 `json:"physicalLimitSequentialIdsSeconds"`
	RatioToPhysical   float64 `json:"ratioToPhysicalLimit"`
	PeakRSSMiB        float64 `json:"peakRssMiB"`
	PeakAnonMiB       float64 `json:"peakAnonMiB"`
	GoMaxProcs        int     `json:"gomaxprocs"`
	GOGC              int     `json:"gogc"`
	ProcessingUsersPS float64 `json:"assignUsersPerSecond"`
	// Dynamic membership (docs/DYNAMIC-GROUPS.md): a rule turned On that
	// matches every user, through the walk and the licensing of its
	// members; the ratio to AssignSeconds (target ≤ 2×); one user's
	// attribute change to membership and state written; the rule changed
	// to match nobody.
	RuleOnSeconds     float64 `json:"ruleOnSeconds"`
	RuleRatioToAssign float64 `json:"ruleRatioToAssign"`
	AttrP50Ms         float64 `json:"attributeChangeP50Ms"`
	AttrP99Ms         float64 `json:"attributeChangeP99Ms"`
	RuleOffSeconds    float64 `json:"ruleOffSeconds"`
}

func cmdBench(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("bench")
	users := fs.Int("users", 100000, "users in the tenant; one group holds them all")
	groups := fs.Int("groups", 1000, "groups in the tenant")
	dbArg := fs.String("db", "", "empty: a new SQLite file; or a postgres://… URL (a new schema is made in it and dropped)")
	batch := fs.Int("batch-size", 0, "users per processing transaction; 0: as allot serve sizes them (up to its --batch-size, near 100 ms each)")
	samples := fs.Int("samples", 200, "membership changes to time")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of every measured step to this file")
	keep := fs.Bool("keep", false, "keep the database (its path or URL is printed) for inspection, and with --replicas their logs")
	runs := fs.Int("runs", 1, "repeat the whole measurement on fresh databases and report medians")
	tenants := fs.Int("tenants", 1, "measure this many tenants, each with one group of --users members, licensed at once and processed by --replicas")
	replicas := fs.String("replicas", "", "measure N tenants processed by this many `allot serve` processes on one database instead: a number or a list (1,2,4); above 1 needs PostgreSQL")
	walksOnly := fs.Bool("walks-only", false, "time only the group-wide steps (assign, unassign, short of seats, buying seats) and the physical limit")
	serveBin := fs.String("serve-bin", "", "with --replicas: the allot executable to start the replicas from (default: this one)")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	tuneGC()
	if *replicas != "" || *tenants != 1 {
		return cmdBenchTenants(ctx, tenantsBenchConfig{dbArg: *dbArg, tenants: *tenants, users: *users, replicas: *replicas,
			batch: *batch, runs: *runs, serveBin: *serveBin, keep: *keep, jsonOut: *jsonOut}, stdout)
	}
	if *users < 100 || *groups < 2 || *runs < 1 {
		return fmt.Errorf("--users must be at least 100, --groups at least 2 and --runs at least 1")
	}
	stopAnon := sampleAnonPeak()
	defer stopAnon()
	var reports []*benchReport
	for run := range *runs {
		if *runs > 1 {
			fmt.Fprintf(stdout, "bench: run %d of %d\n", run+1, *runs)
		}
		r, err := benchOnce(ctx, *dbArg, &benchReport{Users: *users, Groups: *groups, BatchSize: *batch, WalksOnly: *walksOnly}, *samples, *keep, *cpuProfile, stdout)
		if err != nil {
			return err
		}
		reports = append(reports, r)
	}
	r := medianReport(reports)
	printBench(stdout, r, len(reports))
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"median": r, "runs": reports}, "", "  ")
		return os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

// benchOnce measures one run on a fresh database; r holds the run's
// shape (users, groups, batch size, walks only) and receives the figures.
func benchOnce(ctx context.Context, dbArg string, r *benchReport, samples int, keep bool, cpuProfile string, stdout io.Writer) (*benchReport, error) {
	dsn, kind, cleanup, err := benchDSN(ctx, dbArg)
	if err != nil {
		return nil, err
	}
	if keep {
		fmt.Fprintf(stdout, "bench: database kept at %s\n", dsn)
	} else {
		defer cleanup()
	}
	r.Database, r.GoMaxProcs, r.GOGC = kind, runtime.GOMAXPROCS(0), debug.SetGCPercent(-1)
	debug.SetGCPercent(r.GOGC) // read back: SetGCPercent is the only getter
	if err := runBench(ctx, dsn, r, samples, cpuProfile, stdout); err != nil {
		return nil, err
	}
	// The physical limit: the same state rows bulk-inserted into a fresh
	// database of the same kind by a minimal program, in the order the
	// walk wrote them; and, as before 2026-12-07, rows whose user ids
	// follow one another. The users' ids are random, as Graph's are, so
	// each index led by the user takes its inserts all over its B-tree:
	// in a tenant of a million that costs far more than appending.
	walk := r.walk
	seq := make([]string, len(walk))
	for i := range seq {
		seq[i] = benchID(1, i)
	}
	for _, l := range []struct {
		ids []string
		to  *float64
	}{{walk, &r.PhysicalSeconds}, {seq, &r.PhysicalSeqSecs}} {
		pdsn, _, pcleanup, err := benchDSN(ctx, dbArg)
		if err != nil {
			return nil, err
		}
		phys, err := physicalLimit(ctx, pdsn, l.ids, r.StateRows)
		pcleanup()
		if err != nil {
			return nil, fmt.Errorf("physical limit: %w", err)
		}
		*l.to = phys.Seconds()
	}
	// Dropped at once: a million ids kept by every run would count in
	// the later runs' peak RSS.
	r.walk = nil
	r.RatioToPhysical = r.AssignSeconds / r.PhysicalSeconds
	r.PeakRSSMiB = peakRSS()
	r.PeakAnonMiB = float64(anonPeakKiB.Load()) / 1024
	return r, nil
}

// medianReport takes each figure's median over the runs.
func medianReport(rs []*benchReport) *benchReport {
	out := *rs[0]
	med := func(get func(*benchReport) float64) float64 {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, get(r))
		}
		return percentile(xs, 50)
	}
	out.SetupSeconds = med(func(r *benchReport) float64 { return r.SetupSeconds })
	out.AssignSeconds = med(func(r *benchReport) float64 { return r.AssignSeconds })
	out.UnassignSeconds = med(func(r *benchReport) float64 { return r.UnassignSeconds })
	out.ShortSeconds = med(func(r *benchReport) float64 { return r.ShortSeconds })
	out.BuySeconds = med(func(r *benchReport) float64 { return r.BuySeconds })
	out.MemberP50Ms = med(func(r *benchReport) float64 { return r.MemberP50Ms })
	out.MemberP99Ms = med(func(r *benchReport) float64 { return r.MemberP99Ms })
	out.ListP50Ms = med(func(r *benchReport) float64 { return r.ListP50Ms })
	out.ListP99Ms = med(func(r *benchReport) float64 { return r.ListP99Ms })
	out.WalkPatchP50Ms = med(func(r *benchReport) float64 { return r.WalkPatchP50Ms })
	out.WalkPatchP99Ms = med(func(r *benchReport) float64 { return r.WalkPatchP99Ms })
	out.WalkPatchMaxMs = med(func(r *benchReport) float64 { return r.WalkPatchMaxMs })
	out.PhysicalSeconds = med(func(r *benchReport) float64 { return r.PhysicalSeconds })
	out.PhysicalSeqSecs = med(func(r *benchReport) float64 { return r.PhysicalSeqSecs })
	out.RatioToPhysical = med(func(r *benchReport) float64 { return r.RatioToPhysical })
	out.MeanWalkBatch = med(func(r *benchReport) float64 { return r.MeanWalkBatch })
	out.PeakRSSMiB = med(func(r *benchReport) float64 { return r.PeakRSSMiB })
	out.PeakAnonMiB = med(func(r *benchReport) float64 { return r.PeakAnonMiB })
	out.ProcessingUsersPS = med(func(r *benchReport) float64 { return r.ProcessingUsersPS })
	out.RuleOnSeconds = med(func(r *benchReport) float64 { return r.RuleOnSeconds })
	out.RuleRatioToAssign = med(func(r *benchReport) float64 { return r.RuleRatioToAssign })
	out.AttrP50Ms = med(func(r *benchReport) float64 { return r.AttrP50Ms })
	out.AttrP99Ms = med(func(r *benchReport) float64 { return r.AttrP99Ms })
	out.RuleOffSeconds = med(func(r *benchReport) float64 { return r.RuleOffSeconds })
	return &out
}

func benchDSN(ctx context.Context, arg string) (dsn, kind string, cleanup func(), err error) {
	if !store.IsPostgres(arg) {
		dir, err := os.MkdirTemp("", "allot-bench-")
		if err != nil {
			return "", "", nil, err
		}
		return filepath.Join(dir, "bench.db"), "sqlite", func() { os.RemoveAll(dir) }, nil
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "allot_bench_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, arg)
	if err != nil {
		return "", "", nil, err
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		return "", "", nil, err
	}
	u, _ := url.Parse(arg)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), "postgres", func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	}, nil
}

func runBench(ctx context.Context, dsn string, r *benchReport, samples int, cpuProfile string, log io.Writer) error {
	db, err := store.Open(ctx, store.Config{DSN: dsn})
	if err != nil {
		return err
	}
	defer db.Close()
	b := &benchRun{ctx: ctx, db: db, r: r, rng: mrand.New(mrand.NewPCG(1, 2)),
		step: func(format string, args ...any) { fmt.Fprintf(log, "bench: "+format+"\n", args...) }}
	if r.BatchSize <= 0 {
		b.sizer = worker.NewSizer(0, 0)
	}
	if err := b.buildTenant(); err != nil {
		return err
	}
	if err := settle(ctx, dsn, b.step); err != nil {
		return err
	}
	if r.walk, err = walkOrder(ctx, dsn, b.tenant, b.all); err != nil {
		return err
	}
	if len(r.walk) == 0 {
		return errors.New("the all-users group has no user members")
	}
	// The profile covers every measured step, not the building.
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	steps := []func() error{
		b.measureAssign,
		func() error { return b.measureMembershipChange(samples) },
		b.measureList,
		b.measureUnassign,
		func() error { return b.measureDynamic(samples) },
		b.measureShortOfSeats,
		b.measureBuySeats,
		b.measurePatchDuringWalk,
	}
	if r.WalksOnly {
		steps = []func() error{b.measureAssign, b.measureUnassign, b.measureShortOfSeats, b.measureBuySeats}
	}
	for _, measure := range steps {
		if err := measure(); err != nil {
			return err
		}
	}
	return nil
}

// settle leaves a PostgreSQL database as autovacuum would a minute after
// the tenant was built: vacuumed (index-only scans then read no table
// pages) and with statistics of every table (the many-tenants bench
// starts so too). Not part of the figures.
func settle(ctx context.Context, dsn string, step func(string, ...any)) error {
	if !strings.HasPrefix(dsn, "postgres") {
		return nil
	}
	start := time.Now()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := maintainSchema(ctx, conn, "VACUUM (ANALYZE)"); err != nil {
		return err
	}
	step("vacuumed and analyzed in %.1fs", time.Since(start).Seconds())
	return nil
}

// benchRun is one run's tenant, built on a fresh database, and what its
// steps need of it.
type benchRun struct {
	ctx    context.Context
	db     *store.DB
	r      *benchReport
	rng    *mrand.Rand // seeded: every run builds and changes the same tenant
	step   func(format string, args ...any)
	name   string // the tenant's display name; empty: Bench
	tenant string
	admin  context.Context // the tenant's Global Administrator
	users  []string        // the users' ids, by number
	all    string          // the id of the group that holds every user
	// sizer sizes batches as allot serve's worker does, unless the bench
	// was given a batch size; one for the run, as a worker has one.
	sizer *worker.Sizer
	// batches and batchUsers count drain's batches and their users.
	batches, batchUsers int
	// walkBatches and walkUsers count those of the timed steps.
	walkBatches, walkUsers int
}

// benchChunk is how many users one import loads, so that building a
// tenant of millions stays small in memory.
const benchChunk = 20000

// buildTenant makes the bench tenant: its subscriptions, then r.Groups
// groups and r.Users users through the CSV import, every user in the
// all-users group g0 and one other group (none when r.Groups is 1), every
// 50th without a usage location, every 1000th with an address another
// user has, and every 200th with Exchange Kiosk directly.
func (b *benchRun) buildTenant() error {
	start := time.Now()
	name := b.name
	if name == "" {
		name = "Bench"
	}
	t, err := b.db.CreateTenant(operator, allot.Tenant{DisplayName: name})
	if err != nil {
		return err
	}
	b.tenant = t.ID
	b.admin = allot.NewContextWithActor(b.ctx, allot.Actor{TenantID: t.ID, Role: allot.RoleGlobalAdministrator, Name: "bench"})
	n := b.r.Users
	for sku, seats := range map[string]int{demoE1: n + 1000, demoE3: n * 7 / 10, demoKiosk: n, demoE5: 100} {
		if _, err := b.db.AddSubscription(b.admin, sku, seats); err != nil {
			return err
		}
	}
	if err := b.importGroups(); err != nil {
		return err
	}
	for from := 0; from < n; from += benchChunk {
		if err := b.importUsers(from, min(from+benchChunk, n)); err != nil {
			return err
		}
	}
	if err := b.lookUpIDs(); err != nil {
		return err
	}
	// Exchange Kiosk conflicts with E1's Exchange Online (Plan 1).
	for i := 3; i < n; i += 200 {
		if _, err := b.db.AssignUserLicense(b.admin, b.users[i], []allot.AssignedLicense{{SkuID: demoKiosk}}, nil); err != nil {
			return fmt.Errorf("direct Kiosk: %w", err)
		}
	}
	b.r.SetupSeconds = time.Since(start).Seconds()
	b.step("tenant of %d users, %d groups, %d memberships built in %.1fs", n, b.r.Groups, b.r.Memberships, b.r.SetupSeconds)
	return nil
}

func (b *benchRun) importGroups() error {
	in := &csvio.Import{GroupsFile: "groups.csv"}
	security := true
	for g := range b.r.Groups {
		in.Groups = append(in.Groups, csvio.GroupRow{Line: g + 2, MailNickname: benchNickname(g),
			DisplayName: fmt.Sprintf("Group %04d", g), SecurityEnabled: &security})
	}
	return b.importCSV(in)
}

// importUsers imports users from to to-1 with their memberships.
func (b *benchRun) importUsers(from, to int) error {
	locations := []string{"US", "GB", "DE", "FR", "NL", "US", "CA", "IN", "US", "AU"}
	in := &csvio.Import{UsersFile: "users.csv", MembershipsFile: "memberships.csv"}
	enabled := true
	for i := from; i < to; i++ {
		loc := locations[i%len(locations)]
		if i%50 == 7 {
			loc = "" // no usage location and no tenant default
		}
		addr := fmt.Sprintf("user%d@bench.example", i)
		if i%1000 == 999 {
			addr = fmt.Sprintf("user%d@bench.example", i-1) // a duplicate address
		}
		upn := benchUPN(i)
		in.Users = append(in.Users, csvio.UserRow{Line: len(in.Users) + 2, UserPrincipalName: upn, DisplayName: fmt.Sprintf("User %07d", i),
			UsageLocation: &loc, ProxyAddresses: &[]string{"SMTP:" + addr}, AccountEnabled: &enabled})
		in.Memberships = append(in.Memberships, csvio.MembershipRow{Line: len(in.Memberships) + 2, Group: benchNickname(0), User: upn})
		if b.r.Groups > 1 {
			in.Memberships = append(in.Memberships, csvio.MembershipRow{Line: len(in.Memberships) + 2, Group: benchNickname(1 + b.rng.IntN(b.r.Groups-1)), User: upn})
		}
	}
	b.r.Memberships += len(in.Memberships)
	return b.importCSV(in)
}

func (b *benchRun) importCSV(in *csvio.Import) error {
	rep, err := b.db.ImportCSV(b.admin, in, false)
	if err != nil {
		return err
	}
	if rep.Errors.Len() > 0 {
		return fmt.Errorf("import: %w", &rep.Errors)
	}
	return nil
}

// lookUpIDs reads the ids the import gave the users and the all-users
// group, which the steps address them by.
func (b *benchRun) lookUpIDs() error {
	byUPN := make(map[string]string, b.r.Users)
	for opt := (allot.ListOptions{Top: allot.MaxPageSize}); ; {
		page, err := b.db.ListUsers(b.admin, opt)
		if err != nil {
			return err
		}
		for _, u := range page.Items {
			byUPN[u.UserPrincipalName] = u.ID
		}
		if opt.After = page.NextCursor; opt.After == "" {
			break
		}
	}
	b.users = make([]string, b.r.Users)
	for i := range b.users {
		if b.users[i] = byUPN[benchUPN(i)]; b.users[i] == "" {
			return fmt.Errorf("user %s was not imported", benchUPN(i))
		}
	}
	// By name, not from the first page of the list: with more groups than
	// a page holds, g0 is anywhere in id order.
	groups, err := b.db.ListGroups(b.admin, allot.ListOptions{Top: 1,
		Filter: &allot.Compare{Property: "mailNickname", Op: "eq", Value: benchNickname(0)}})
	if err != nil {
		return err
	}
	if len(groups.Items) == 0 {
		return fmt.Errorf("group %s was not imported", benchNickname(0))
	}
	b.all = groups.Items[0].ID
	return nil
}

func benchUPN(i int) string      { return fmt.Sprintf("u%d@bench.example", i) }
func benchNickname(g int) string { return fmt.Sprintf("g%d", g) }

// drain processes the queue until it is empty.
func (b *benchRun) drain() error {
	for {
		n := b.r.BatchSize
		if b.sizer != nil {
			n = b.sizer.Size()
		}
		start := time.Now()
		k, err := b.db.ProcessBatch(b.ctx, n)
		if err != nil || k == 0 {
			return err
		}
		if b.sizer != nil {
			b.sizer.Done(k, time.Since(start))
		}
		b.batches, b.batchUsers = b.batches+1, b.batchUsers+k
	}
}

// timed makes a change and processes what it queued, and returns how long
// that took; the all-users group must then be processed.
func (b *benchRun) timed(what string, change func() error) (float64, error) {
	start := time.Now()
	if err := change(); err != nil {
		return 0, err
	}
	batches, users := b.batches, b.batchUsers
	if err := b.drain(); err != nil {
		return 0, err
	}
	b.walkBatches += b.batches - batches
	b.walkUsers += b.batchUsers - users
	b.r.MeanWalkBatch = float64(b.walkUsers) / float64(max(b.walkBatches, 1))
	g, err := b.db.Group(b.admin, b.all)
	if err != nil {
		return 0, err
	}
	if g.ProcessingState != allot.ProcessingComplete {
		return 0, fmt.Errorf("%s: group is %s after the queue drained", what, g.ProcessingState)
	}
	d := time.Since(start).Seconds()
	b.step("%s: %.2fs", what, d)
	// Not part of the figure: speed counts only with every invariant kept.
	checked := time.Now()
	v, err := b.db.Check(b.ctx)
	if err != nil {
		return 0, err
	}
	if len(v) > 0 {
		return 0, fmt.Errorf("%s: allot check found %d violations, the first: %s: %s", what, len(v), v[0].Rule, v[0].Detail)
	}
	b.step("allot check after it: clean (%.1fs)", time.Since(checked).Seconds())
	return d, nil
}

// assignAll assigns (add) or removes a product of the all-users group.
func (b *benchRun) assignAll(sku string, add bool) func() error {
	return func() error {
		var err error
		if add {
			_, err = b.db.AssignGroupLicense(b.admin, b.all, []allot.AssignedLicense{{SkuID: sku}}, nil)
		} else {
			_, err = b.db.AssignGroupLicense(b.admin, b.all, nil, []string{sku})
		}
		return err
	}
}

func (b *benchRun) measureAssign() (err error) {
	r := b.r
	if r.AssignSeconds, err = b.timed("assign Office 365 E1 to the all-users group", b.assignAll(demoE1, true)); err != nil {
		return err
	}
	r.ProcessingUsersPS = float64(r.Users) / r.AssignSeconds
	r.StateRows, err = b.db.CountStates(b.admin)
	return err
}

// measureMembershipChange times a membership change of the licensed group
// until its state is written: a member leaves, then joins again.
func (b *benchRun) measureMembershipChange(samples int) error {
	var lat []float64
	for range samples / 2 {
		uid := b.users[b.rng.IntN(b.r.Users)]
		for _, op := range []func(context.Context, string, string) error{b.db.RemoveMember, b.db.AddMember} {
			start := time.Now()
			if err := op(b.admin, b.all, uid); err != nil {
				return err
			}
			if err := b.drain(); err != nil {
				return err
			}
			lat = append(lat, float64(time.Since(start).Microseconds())/1000)
		}
	}
	b.r.MemberP50Ms, b.r.MemberP99Ms = percentile(lat, 50), percentile(lat, 99)
	b.step("membership change to state written: p50 %.2fms p99 %.2fms (%d samples)", b.r.MemberP50Ms, b.r.MemberP99Ms, len(lat))
	return nil
}

// benchBase is the base URL of the bench's in-process API.
const benchBase = "http://bench.invalid"

// api is the API on the bench's store, and a token of role for it.
func (b *benchRun) api(role allot.Role, name string) (http.Handler, string, error) {
	secret, _, err := b.db.CreateToken(operator, b.tenant, role, name, 0)
	if err != nil {
		return nil, "", err
	}
	h := api.New(api.Config{Services: b.db.Services(), BaseURL: benchBase, Logger: slog.New(slog.DiscardHandler)})
	return h, secret, nil
}

// measureList times listing 999 users with their
// licenseAssignmentStates through the API, page after page.
func (b *benchRun) measureList() error {
	h, secret, err := b.api(allot.RoleGlobalReader, "bench")
	if err != nil {
		return err
	}
	var lat []float64
	next := "/v1.0/users?$top=999&$select=id,displayName,licenseAssignmentStates"
	for next != "" && len(lat) < 200 {
		req := httptest.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		lat = append(lat, float64(time.Since(start).Microseconds())/1000)
		if rec.Code != 200 {
			return fmt.Errorf("list users: %d %s", rec.Code, rec.Body.String())
		}
		var page struct {
			Next string `json:"@odata.nextLink"`
		}
		json.Unmarshal(rec.Body.Bytes(), &page)
		next = strings.TrimPrefix(page.Next, benchBase)
	}
	b.r.ListP50Ms, b.r.ListP99Ms = percentile(lat, 50), percentile(lat, 99)
	b.step("list 999 users with licenseAssignmentStates: p50 %.2fms p99 %.2fms (%d pages)", b.r.ListP50Ms, b.r.ListP99Ms, len(lat))
	return nil
}

func (b *benchRun) measureUnassign() (err error) {
	b.r.UnassignSeconds, err = b.timed("unassign E1 from the group", b.assignAll(demoE1, false))
	return err
}

// measureDynamic times a dynamic group licensed with E1 whose rule, which
// matches every user, is turned On: the walk of every user, then the
// licensing of the members it added, as measureAssign licenses the
// all-users group. Then one user's attribute change, which moves it out
// and back in, to membership and state written; then the rule changed to
// match nobody, which takes the licenses back.
func (b *benchRun) measureDynamic(samples int) error {
	r := b.r
	g, err := b.db.CreateGroup(b.admin, allot.GroupCreate{DisplayName: "Everyone (dynamic)", MailNickname: "everyone-dynamic", SecurityEnabled: true,
		GroupTypes: []string{allot.GroupDynamic}, MembershipRule: `user.accountEnabled -eq true`, MembershipRuleProcessingState: allot.RulePaused})
	if err != nil {
		return err
	}
	if _, err := b.db.AssignGroupLicense(b.admin, g.ID, []allot.AssignedLicense{{SkuID: demoE1}}, nil); err != nil {
		return err
	}
	if err := b.drain(); err != nil {
		return err
	}
	converge := func(what string, change allot.GroupUpdate, members int) (float64, error) {
		start := time.Now()
		if _, err := b.db.UpdateGroup(b.admin, g.ID, change); err != nil {
			return 0, err
		}
		if err := b.drain(); err != nil {
			return 0, err
		}
		d := time.Since(start).Seconds()
		page, err := b.db.Members(b.admin, g.ID, false, allot.ListOptions{Top: 1, Count: true})
		if err != nil {
			return 0, err
		}
		if page.Count != members {
			return 0, fmt.Errorf("%s: %d members after the queue drained, want %d", what, page.Count, members)
		}
		b.step("%s: %.2fs", what, d)
		return d, nil
	}
	on := allot.RuleOn
	if r.RuleOnSeconds, err = converge("dynamic rule matching every user turned On → licensed", allot.GroupUpdate{MembershipRuleProcessingState: &on}, r.Users); err != nil {
		return err
	}
	r.RuleRatioToAssign = r.RuleOnSeconds / r.AssignSeconds
	var lat []float64
	for range samples / 2 {
		uid := b.users[b.rng.IntN(r.Users)]
		for _, enabled := range []bool{false, true} {
			start := time.Now()
			if _, err := b.db.UpdateUser(b.admin, uid, allot.UserUpdate{AccountEnabled: &enabled}); err != nil {
				return err
			}
			if err := b.drain(); err != nil {
				return err
			}
			lat = append(lat, float64(time.Since(start).Microseconds())/1000)
		}
	}
	r.AttrP50Ms, r.AttrP99Ms = percentile(lat, 50), percentile(lat, 99)
	b.step("attribute change → membership and state written: p50 %.2fms p99 %.2fms (%d samples)", r.AttrP50Ms, r.AttrP99Ms, len(lat))
	none := `user.accountEnabled -eq false`
	r.RuleOffSeconds, err = converge("dynamic rule changed to match nobody → licenses removed", allot.GroupUpdate{MembershipRule: &none}, 0)
	return err
}

// measureShortOfSeats assigns E3, which has seats for 70% of the users:
// the others wait.
func (b *benchRun) measureShortOfSeats() (err error) {
	if b.r.ShortSeconds, err = b.timed("assign Office 365 E3 with seats for 70%", b.assignAll(demoE3, true)); err != nil {
		return err
	}
	sub, err := b.db.Subscription(b.admin, demoE3)
	if err != nil {
		return err
	}
	b.r.Waiting = b.r.Users - sub.ConsumedUnits
	return nil
}

func (b *benchRun) measureBuySeats() (err error) {
	b.r.BuySeconds, err = b.timed("buy the missing E3 seats", func() error {
		_, err := b.db.SetSeats(b.admin, demoE3, b.r.Users+1000)
		return err
	})
	return err
}

// measurePatchDuringWalk times user PATCHes through the API while the real
// worker (batch sizes kept to its time target, as in allot serve) walks the
// all-users group to unassign E3: the latency an admin sees while a big
// group is processed (docs/RELIABILITY.md, writers take turns).
func (b *benchRun) measurePatchDuringWalk() error {
	r := b.r
	h, secret, err := b.api(allot.RoleUserAdministrator, "bench-patch")
	if err != nil {
		return err
	}
	if err := b.assignAll(demoE3, false)(); err != nil {
		return err
	}
	wctx, stop := context.WithCancel(b.ctx)
	w := worker.New(worker.Config{Processor: b.db, BatchSize: r.BatchSize, Logger: slog.New(slog.DiscardHandler)})
	walked := make(chan error, 1)
	start := time.Now()
	go func() { walked <- w.Run(wctx) }()
	defer func() { stop(); <-walked }()
	rng := mrand.New(mrand.NewPCG(3, 4))
	var lat []float64
	for {
		g, err := b.db.Group(b.admin, b.all)
		if err != nil {
			return err
		}
		if g.ProcessingState == allot.ProcessingComplete {
			break
		}
		loc := []string{"US", "GB"}[len(lat)%2]
		req := httptest.NewRequest(http.MethodPatch, "/v1.0/users/"+b.users[rng.IntN(r.Users)], strings.NewReader(`{"usageLocation":"`+loc+`"}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(rec, req)
		lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
		if rec.Code != http.StatusNoContent {
			return fmt.Errorf("PATCH during the walk: %d %s", rec.Code, rec.Body.String())
		}
		time.Sleep(20 * time.Millisecond) // an admin's pace, not a flood
	}
	r.WalkPatches = len(lat)
	r.WalkPatchP50Ms, r.WalkPatchP99Ms, r.WalkPatchMaxMs = percentile(lat, 50), percentile(lat, 99), percentile(lat, 100)
	b.step("user PATCH during a %d-member walk (%.1fs): p50 %.2fms p99 %.2fms max %.2fms (%d PATCHes)",
		r.Users, time.Since(start).Seconds(), r.WalkPatchP50Ms, r.WalkPatchP99Ms, r.WalkPatchMaxMs, len(lat))
	return nil
}

// benchID makes readable deterministic GUIDs, for the rows of the
// physical limit.
func benchID(kind, i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i)
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// walkOrder lists the members of the tenant's group in the order a group
// walk takes them (store/nested.go).
func walkOrder(ctx context.Context, dsn, tenant, group string) ([]string, error) {
	driver, source, q := "sqlite", "file:"+dsn+"?mode=ro", `SELECT member_id FROM memberships WHERE tenant_id = ? AND group_id = ?
		AND member_kind = 'user' ORDER BY added_at, member_id`
	if store.IsPostgres(dsn) {
		driver, source, q = "pgx", dsn, strings.NewReplacer("tenant_id = ?", "tenant_id = $1", "group_id = ?", "group_id = $2").Replace(q)
	}
	raw, err := sql.Open(driver, source)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	rows, err := raw.QueryContext(ctx, q, tenant, group)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// physicalLimit bulk-inserts rows state rows into Allot's license_states
// table of a fresh database the fastest plain way: multi-row INSERTs in one
// transaction on SQLite, COPY on PostgreSQL; committed, as processing's are.
// Each of ids holds E1, in order; rows beyond them hold other SKUs.
func physicalLimit(ctx context.Context, dsn string, ids []string, rows int) (time.Duration, error) {
	db, err := store.Open(ctx, store.Config{DSN: dsn}) // the same schema and indexes
	if err != nil {
		return 0, err
	}
	db.Close()
	row := func(i int) []any {
		sku := demoE1
		if i >= len(ids) {
			sku = benchID(3, i/len(ids))
		}
		return []any{"tenant", ids[i%len(ids)], sku, benchID(2, 0), "Active", "None", "[]", "Assigned through group " + benchID(2, 0) + ".", "2026-01-01T00:00:00.000000000Z", ""}
	}
	if store.IsPostgres(dsn) {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return 0, err
		}
		defer conn.Close(ctx)
		start := time.Now()
		_, err = conn.CopyFrom(ctx, pgx.Identifier{"license_states"},
			[]string{"tenant_id", "user_id", "sku_id", "source", "state", "error", "disabled_plans", "detail", "updated_at", "waiting_since"},
			pgx.CopyFromSlice(rows, func(i int) ([]any, error) { return row(i), nil }))
		return time.Since(start), err
	}
	raw, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	start := time.Now()
	tx, err := raw.Begin()
	if err != nil {
		return 0, err
	}
	const per = 90
	for i := 0; i < rows; i += per {
		var sb strings.Builder
		sb.WriteString("INSERT INTO license_states (tenant_id, user_id, sku_id, source, state, error, disabled_plans, detail, updated_at, waiting_since) VALUES ")
		var args []any
		for j := i; j < min(i+per, rows); j++ {
			if j > i {
				sb.WriteString(",")
			}
			sb.WriteString("(?,?,?,?,?,?,?,?,?,?)")
			args = append(args, row(j)...)
		}
		if _, err := tx.Exec(sb.String(), args...); err != nil {
			tx.Rollback()
			return 0, err
		}
	}
	err = tx.Commit()
	return time.Since(start), err
}

// anonPeakKiB is the largest RssAnon sampleAnonPeak has seen. A SQLite
// database is read through a memory map, whose pages count in VmHWM but
// are the kernel's page cache, which read calls would have filled too and
// which it reclaims under pressure; the memory Allot itself holds is the
// anonymous part. The kernel keeps no peak of it, hence the sampling.
var anonPeakKiB atomic.Int64

// sampleAnonPeak samples RssAnon every 50 ms until the returned function
// is called.
func sampleAnonPeak() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := procStatusKiB("RssAnon:"); kb > anonPeakKiB.Load() {
				anonPeakKiB.Store(kb)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// procStatusKiB reads one of /proc/self/status's kB fields.
func procStatusKiB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb
		}
	}
	return 0
}

// peakRSS is the process's peak resident set (VmHWM), in MiB.
func peakRSS() float64 { return float64(procStatusKiB("VmHWM:")) / 1024 }

func printBench(w io.Writer, r *benchReport, runs int) {
	batches := fmt.Sprintf("batches of %d", r.BatchSize)
	if r.BatchSize <= 0 {
		batches = fmt.Sprintf("batches sized as allot serve's (at most %d, near %v; the walks' mean %.0f)", worker.DefaultBatchSize, worker.DefaultBatchTime, r.MeanWalkBatch)
	}
	fmt.Fprintf(w, "\nAllot bench on %s: %d users, %d groups, %d memberships, %s, GOMAXPROCS %d, GOGC %d; median of %d run(s)\n\n", r.Database, r.Users, r.Groups, r.Memberships, batches, r.GoMaxProcs, r.GOGC, runs)
	rows := [][2]string{
		{"assign E1 to the all-users group → ProcessingComplete", fmt.Sprintf("%.2f s (%.0f users/s)", r.AssignSeconds, r.ProcessingUsersPS)},
		{"physical limit: bulk-insert the same state rows", fmt.Sprintf("%.2f s (%d rows)", r.PhysicalSeconds, r.StateRows)},
		{"ratio to the physical limit", fmt.Sprintf("%.2f×", r.RatioToPhysical)},
		{"  with sequential user ids (the limit before 2026-12)", fmt.Sprintf("%.2f s (ratio %.2f×)", r.PhysicalSeqSecs, r.AssignSeconds/r.PhysicalSeqSecs)},
		{"unassign E1 from the group → complete", fmt.Sprintf("%.2f s", r.UnassignSeconds)},
		{"assign E3 with seats for 70% → complete", fmt.Sprintf("%.2f s (%d users left without E3)", r.ShortSeconds, r.Waiting)},
		{"buy the missing E3 seats → complete", fmt.Sprintf("%.2f s", r.BuySeconds)},
		{"membership change → state written, p50 / p99", fmt.Sprintf("%.2f / %.2f ms", r.MemberP50Ms, r.MemberP99Ms)},
		{"dynamic rule matching all turned On → licensed", fmt.Sprintf("%.2f s (%.2f× the assignment)", r.RuleOnSeconds, r.RuleRatioToAssign)},
		{"user attribute change → membership and state, p50 / p99", fmt.Sprintf("%.2f / %.2f ms", r.AttrP50Ms, r.AttrP99Ms)},
		{"dynamic rule changed to match nobody → unlicensed", fmt.Sprintf("%.2f s", r.RuleOffSeconds)},
		{"list 999 users with licenseAssignmentStates, p50 / p99", fmt.Sprintf("%.2f / %.2f ms", r.ListP50Ms, r.ListP99Ms)},
		{"user PATCH while the group is walked, p50 / p99 / max", fmt.Sprintf("%.2f / %.2f / %.2f ms (%d)", r.WalkPatchP50Ms, r.WalkPatchP99Ms, r.WalkPatchMaxMs, r.WalkPatches)},
		{"peak RSS (of the whole process so far)", fmt.Sprintf("%.0f MiB", r.PeakRSSMiB)},
		{"  peak of the process's own memory (RssAnon; the rest is mapped files)", fmt.Sprintf("%.0f MiB", r.PeakAnonMiB)},
		{"building the tenant (not part of the figures)", fmt.Sprintf("%.1f s", r.SetupSeconds)},
	}
	if r.WalksOnly {
		rows = append(rows[:7], rows[len(rows)-3:]...)
	}
	for _, row := range rows {
		fmt.Fprintf(w, "  %-58s %s\n", row[0], row[1])
	}
	fmt.Fprintln(w)
}
