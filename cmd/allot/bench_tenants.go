package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
	"github.com/jackc/pgx/v5"
)

// `allot bench --tenants N --replicas R,…` measures what several replicas
// give a deployment of several tenants. One tenant's writes are serialised
// by its advisory lock (store.claimTenant), so a single tenant never goes
// faster with more replicas; N tenants can, with up to N replicas, each
// holding one tenant's lock at a time. The replicas are real `allot serve`
// processes on one database, woken by LISTEN/NOTIFY (store.Listen), as in a
// deployment; this process only builds the tenants, sends the requests an
// administrator would, and watches the queue.

type tenantsBenchConfig struct {
	dbArg, replicas, serveBin, jsonOut string
	tenants, users, batch, runs        int
	keep                               bool
}

// tenantsReport is what `allot bench --replicas` measures: one entry per
// replica count (the median of the runs) and every run.
type tenantsReport struct {
	Database       string         `json:"database"`
	Tenants        int            `json:"tenants"`
	UsersPerTenant int            `json:"usersPerTenant"`
	BatchSize      int            `json:"batchSize"` // 0: serve's default
	Cores          int            `json:"cores"`
	SetupSeconds   float64        `json:"setupSeconds"`
	Median         []*replicasRun `json:"median"`
	Runs           []*replicasRun `json:"runs"`
}

// replicasRun is one measurement with a number of replicas: a product
// assigned to every tenant's group at once, until every tenant's queue is
// empty, and removed again.
type replicasRun struct {
	Replicas             int     `json:"replicas"`
	AssignSeconds        float64 `json:"assignSeconds"`
	AssignUsersPerSecond float64 `json:"assignUsersPerSecond"`
	// SpeedUp is AssignUsersPerSecond over that of the fewest replicas
	// measured (1 when the list has it).
	SpeedUp float64 `json:"speedUp"`
	// TenantSeconds is when each tenant's queue emptied, from the start.
	TenantSeconds []float64 `json:"tenantSeconds"`
	// ReplicaUsers is how many users each replica's worker evaluated
	// during the assignment (allot_batch_users_total).
	ReplicaUsers []int `json:"replicaUsers"`
	// Batches and BatchSeconds are the replicas' batches during the
	// assignment and their summed time (allot_batch_duration_seconds):
	// BatchSeconds over AssignSeconds is how many batches were in hand
	// at once on average, which more replicas raise only if the tenants'
	// locks let them work side by side.
	Batches      int     `json:"batches"`
	BatchSeconds float64 `json:"batchSeconds"`
	// JoinedSeconds is when each replica was first seen holding a
	// tenant's lock, from the start (PostgreSQL, polled every 25 ms): the
	// requests all go through the first replica, so the others start on
	// PostgreSQL's notification alone.
	JoinedSeconds []float64 `json:"joinedSeconds"`
	// ReplicaCPUSeconds is the CPU time the replicas used during the
	// assignment; MachineBusy the share of all cores busy meanwhile, with
	// PostgreSQL and whatever else runs on the machine.
	ReplicaCPUSeconds float64 `json:"replicaCpuSeconds"`
	// PostgresCPUSeconds is the CPU time of the replicas' PostgreSQL
	// backends meanwhile, when the server runs on this machine.
	PostgresCPUSeconds float64 `json:"postgresCpuSeconds"`
	MachineBusy        float64 `json:"machineBusy"`
	LoadAverage        float64 `json:"loadAverage1m"` // at the start of the assignment
	// ConsumedSeats is each tenant's E1 seats after the assignment.
	ConsumedSeats          []int   `json:"consumedSeats"`
	UnassignSeconds        float64 `json:"unassignSeconds"`
	UnassignUsersPerSecond float64 `json:"unassignUsersPerSecond"`
}

// parseReplicas reads --replicas: one count or a comma-separated list.
func parseReplicas(s string) ([]int, error) {
	if s == "" {
		return []int{1}, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 64 {
			return nil, fmt.Errorf("--replicas %q: want a number from 1 to 64, or a list such as 1,2,4", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func cmdBenchTenants(ctx context.Context, c tenantsBenchConfig, stdout io.Writer) error {
	counts, err := parseReplicas(c.replicas)
	if err != nil {
		return err
	}
	if c.tenants < 1 || c.users < 10 || c.runs < 1 {
		return fmt.Errorf("--tenants must be at least 1, --users at least 10 and --runs at least 1")
	}
	if !store.IsPostgres(c.dbArg) && slices.Max(counts) > 1 {
		return fmt.Errorf("--replicas above 1 needs --db postgres://…: replicas share one PostgreSQL database; a SQLite file belongs to one process")
	}
	bin := c.serveBin
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return fmt.Errorf("the allot executable to start replicas from: %w (give --serve-bin)", err)
		}
	}
	dsn, kind, cleanup, err := benchDSN(ctx, c.dbArg)
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Fprintf(stdout, "bench: database kept at %s\n", dsn)
	} else {
		defer cleanup()
	}
	logDir, err := os.MkdirTemp("", "allot-bench-replicas-")
	if err != nil {
		return err
	}
	tb := &tenantsBench{ctx: ctx, dsn: dsn, bin: bin, batch: c.batch, logDir: logDir,
		opToken: randomSecret(), app: "allot-bench-" + randomSecret()[3:11], http: &http.Client{Timeout: 2 * time.Minute},
		step: func(format string, args ...any) { fmt.Fprintf(stdout, "bench: "+format+"\n", args...) }}
	rep := &tenantsReport{Database: kind, Tenants: c.tenants, UsersPerTenant: c.users, BatchSize: c.batch, Cores: runtime.NumCPU()}
	err = tb.run(c, counts, rep)
	tb.http.CloseIdleConnections()
	if tb.db != nil {
		tb.db.Close()
	}
	if err != nil {
		return fmt.Errorf("%w (replica logs in %s)", err, logDir)
	}
	if c.keep {
		fmt.Fprintf(stdout, "bench: replica logs kept in %s\n", logDir)
	} else {
		os.RemoveAll(logDir)
	}
	printTenantsBench(stdout, rep, c.runs)
	if c.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		return os.WriteFile(c.jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

// tenantsBench is the tenants of one `allot bench --replicas` and what it
// needs to start replicas on their database.
type tenantsBench struct {
	ctx     context.Context
	dsn     string
	bin     string
	batch   int // --batch-size for serve; 0: its default
	logDir  string
	opToken string // the replicas' operator token, for their /metrics
	http    *http.Client
	step    func(format string, args ...any)
	db      *store.DB
	pg      *pgx.Conn // PostgreSQL only: to find the replicas' backends
	app     string    // the prefix of the replicas' application_name
	tenants []*benchRun
	tokens  []string // each tenant's Global Administrator token
}

func (tb *tenantsBench) run(c tenantsBenchConfig, counts []int, rep *tenantsReport) error {
	var err error
	if tb.db, err = store.Open(tb.ctx, store.Config{DSN: tb.dsn}); err != nil {
		return err
	}
	if store.IsPostgres(tb.dsn) {
		if tb.pg, err = pgx.Connect(tb.ctx, tb.dsn); err != nil {
			return err
		}
		defer tb.pg.Close(context.WithoutCancel(tb.ctx))
	}
	start := time.Now()
	if err := tb.build(c.tenants, c.users); err != nil {
		return err
	}
	// The first run starts as the later ones do (measure): vacuumed, with
	// statistics taken since the tables last changed.
	if err := tb.maintain("VACUUM (ANALYZE)"); err != nil {
		return err
	}
	rep.SetupSeconds = time.Since(start).Seconds()
	tb.step("%d tenants of %d users built in %.1fs", c.tenants, c.users, rep.SetupSeconds)
	// Runs go round the replica counts (1,2,4,1,2,4…) rather than repeating
	// each in a row, so that a slow spell of a shared machine spreads over
	// all of them.
	for run := range c.runs {
		for _, n := range counts {
			if c.runs > 1 {
				tb.step("run %d of %d, %d replica(s)", run+1, c.runs, n)
			}
			r, err := tb.measure(n)
			if err != nil {
				return fmt.Errorf("%d replica(s): %w", n, err)
			}
			rep.Runs = append(rep.Runs, r)
		}
	}
	rep.Median = medianReplicas(rep.Runs, counts)
	return nil
}

// build makes the tenants as the single-tenant bench does (subscriptions,
// CSV import, the same users in error), each with one group of every user,
// several at once on a machine with the cores for it.
func (tb *tenantsBench) build(n, users int) error {
	tb.tenants = make([]*benchRun, n)
	tb.tokens = make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, max(1, runtime.NumCPU()/2))
	var wg sync.WaitGroup
	for i := range n {
		b := &benchRun{ctx: tb.ctx, db: tb.db, name: fmt.Sprintf("Bench %d", i+1),
			r: &benchReport{Users: users, Groups: 1}, rng: mrand.New(mrand.NewPCG(1, 2)),
			step: func(format string, args ...any) { tb.step("tenant %d: "+format, append([]any{i + 1}, args...)...) }}
		tb.tenants[i] = b
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if errs[i] = b.buildTenant(); errs[i] != nil {
				return
			}
			tb.tokens[i], _, errs[i] = tb.db.CreateToken(operator, b.tenant, allot.RoleGlobalAdministrator, "bench-replicas", 0)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The direct licenses queued work of their own, which is not part of
	// what the replicas are timed on.
	return tb.tenants[0].drain()
}

// measure starts n replicas, assigns Office 365 E1 to every tenant's group
// at once and waits for every queue to empty, checks the invariants,
// removes E1 the same way, checks again and stops the replicas.
func (tb *tenantsBench) measure(n int) (*replicasRun, error) {
	reps, err := tb.startReplicas(n)
	defer func() {
		for _, r := range reps {
			r.stop()
		}
	}()
	if err != nil {
		return nil, err
	}
	users := len(tb.tenants) * tb.tenants[0].r.Users
	r := &replicasRun{Replicas: n}
	assign, err := tb.timedAll(reps, true)
	if err != nil {
		return nil, fmt.Errorf("assign: %w", err)
	}
	r.AssignSeconds, r.TenantSeconds, r.JoinedSeconds = assign.seconds, assign.tenants, assign.joined
	r.AssignUsersPerSecond = float64(users) / r.AssignSeconds
	r.ReplicaCPUSeconds, r.PostgresCPUSeconds, r.MachineBusy, r.LoadAverage = assign.replicaCPU, assign.postgresCPU, assign.busy, assign.load
	tb.step("%d replica(s): E1 assigned to %d × %d users in %.2fs (%.0f users/s; CPU of the replicas %.1fs and of their PostgreSQL backends %.1fs, machine %.0f%% busy, load %.2f)",
		n, len(tb.tenants), tb.tenants[0].r.Users, r.AssignSeconds, r.AssignUsersPerSecond, r.ReplicaCPUSeconds, r.PostgresCPUSeconds, 100*r.MachineBusy, r.LoadAverage)
	for _, b := range tb.tenants {
		sub, err := tb.db.Subscription(b.admin, demoE1)
		if err != nil {
			return nil, err
		}
		r.ConsumedSeats = append(r.ConsumedSeats, sub.ConsumedUnits)
	}
	if err := tb.check("assign"); err != nil {
		return nil, err
	}
	// Read after the check: a worker counts its batch once it has
	// committed it, a moment after the queue is seen empty.
	for i, rp := range reps {
		m, err := tb.metrics(rp)
		if err != nil {
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		r.ReplicaUsers = append(r.ReplicaUsers, int(m["allot_batch_users_total"]))
		r.Batches += int(m[`allot_batch_duration_seconds_count{result="ok"}`])
		r.BatchSeconds += m[`allot_batch_duration_seconds_sum{result="ok"}`]
	}
	tb.step("%d replica(s): users each evaluated %v in %d batches (%.0f users a batch, %.2f batches in hand at once); replicas first held a tenant's lock after %s s; tenants' queues emptied after %s s",
		n, r.ReplicaUsers, r.Batches, float64(users)/float64(max(1, r.Batches)), r.BatchSeconds/r.AssignSeconds, fmtSeconds(r.JoinedSeconds), fmtSeconds(r.TenantSeconds))
	unassign, err := tb.timedAll(reps, false)
	if err != nil {
		return nil, fmt.Errorf("unassign: %w", err)
	}
	r.UnassignSeconds = unassign.seconds
	r.UnassignUsersPerSecond = float64(users) / r.UnassignSeconds
	tb.step("%d replica(s): E1 removed in %.2fs (%.0f users/s)", n, r.UnassignSeconds, r.UnassignUsersPerSecond)
	for _, b := range tb.tenants {
		if sub, err := tb.db.Subscription(b.admin, demoE1); err != nil {
			return nil, err
		} else if sub.ConsumedUnits != 0 {
			return nil, fmt.Errorf("tenant %s: %d E1 seats still consumed after the removal", b.name, sub.ConsumedUnits)
		}
	}
	if err := tb.check("unassign"); err != nil {
		return nil, err
	}
	for i, rp := range reps {
		if err := rp.stop(); err != nil {
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
	}
	// The next run starts on the same footing as this one, whatever
	// autovacuum has done meanwhile with the rows the removal left dead.
	return r, tb.maintain("VACUUM")
}

// stepResult is one timed change of every tenant.
type stepResult struct {
	seconds                 float64
	tenants                 []float64
	joined                  []float64 // when each replica first held a tenant's lock
	replicaCPU, postgresCPU float64
	busy, load              float64
}

// timedAll sends every tenant's assignLicense (add or remove E1 on its
// group) at once, all through the first replica, so that the others learn
// of the work only from PostgreSQL's notification (store.Listen); it
// polls the database until every tenant's queue is empty, and watches when
// each replica first holds a tenant's lock.
func (tb *tenantsBench) timedAll(reps []*benchReplica, add bool) (*stepResult, error) {
	res := &stepResult{tenants: make([]float64, len(tb.tenants)), load: loadAverage(), joined: make([]float64, len(reps))}
	cpu0, pg0 := replicasCPU(reps), tb.backendsCPU()
	busy0, total0 := machineCPU()
	body := `{"addLicenses":[{"skuId":"` + demoE1 + `","disabledPlans":[]}],"removeLicenses":[]}`
	if !add {
		body = `{"addLicenses":[],"removeLicenses":["` + demoE1 + `"]}`
	}
	start := time.Now()
	errs := make([]error, len(tb.tenants))
	posted := make([]chan struct{}, len(tb.tenants))
	for i, b := range tb.tenants {
		posted[i] = make(chan struct{})
		go func() {
			defer close(posted[i])
			errs[i] = tb.post(reps[0], tb.tokens[i], "/v1.0/groups/"+b.all+"/assignLicense", body)
		}()
	}
	// Wait for the requests however the step ends: the next step must not
	// find one still in flight.
	defer func() {
		for _, p := range posted {
			<-p
		}
	}()
	left, unseen := len(tb.tenants), len(reps)
	var err error
	for left > 0 {
		if tb.pg != nil && unseen > 0 {
			if unseen, err = tb.lockHolders(reps, res.joined, start); err != nil {
				return nil, err
			}
		}
		for i, b := range tb.tenants {
			if res.tenants[i] != 0 {
				continue
			}
			select {
			case <-posted[i]:
				if errs[i] != nil {
					return nil, errs[i]
				}
			default:
				continue // not queued yet: its queue is empty but not done
			}
			st, err := tb.db.Status(b.admin)
			if err != nil {
				return nil, err
			}
			if st.Idle {
				res.tenants[i] = time.Since(start).Seconds()
				left--
			}
		}
		if left == 0 {
			break
		}
		for i, rp := range reps {
			select {
			case <-rp.done:
				return nil, fmt.Errorf("replica %d exited: %v (log %s)", i+1, rp.err, rp.log)
			default:
			}
		}
		select {
		case <-tb.ctx.Done():
			return nil, tb.ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	res.seconds = time.Since(start).Seconds()
	res.replicaCPU = replicasCPU(reps) - cpu0
	for pid, t := range tb.backendsCPU() {
		res.postgresCPU += t - pg0[pid] // a backend started meanwhile had none
	}
	if busy1, total1 := machineCPU(); total1 > total0 {
		res.busy = (busy1 - busy0) / (total1 - total0)
	}
	for _, b := range tb.tenants {
		g, err := b.db.Group(b.admin, b.all)
		if err != nil {
			return nil, err
		}
		if g.ProcessingState != allot.ProcessingComplete {
			return nil, fmt.Errorf("tenant %s: group is %s after its queue emptied", b.name, g.ProcessingState)
		}
	}
	return res, nil
}

// lockHolders notes, in joined, when each replica not seen before holds a
// tenant's advisory lock (its worker has claimed a tenant, or for the
// first replica, also a request), and returns how many are still unseen.
func (tb *tenantsBench) lockHolders(reps []*benchReplica, joined []float64, start time.Time) (int, error) {
	rows, err := tb.pg.Query(tb.ctx, `SELECT DISTINCT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE $1`, tb.app+"-%")
	if err != nil {
		return 0, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	at := time.Since(start).Seconds()
	for _, name := range names {
		for i := range reps {
			if name == tb.replicaApp(i, len(reps)) && joined[i] == 0 {
				joined[i] = at
			}
		}
	}
	unseen := 0
	for _, j := range joined {
		if j == 0 {
			unseen++
		}
	}
	return unseen, nil
}

func (tb *tenantsBench) replicaApp(i, n int) string { return fmt.Sprintf("%s-%dof%d", tb.app, i+1, n) }

func (tb *tenantsBench) post(rp *benchReplica, token, path, body string) error {
	req, err := http.NewRequestWithContext(tb.ctx, http.MethodPost, rp.url+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := tb.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// check runs `allot check`'s invariants on the whole database. Its
// queries join the 100,000s of state rows just written or removed, and
// their plans go wrong (minutes instead of seconds) on statistics from
// before; a deployment's autovacuum catches up in its own time, the bench
// does not wait for it.
func (tb *tenantsBench) check(after string) error {
	start := time.Now()
	if err := tb.maintain("ANALYZE"); err != nil {
		return err
	}
	v, err := tb.db.Check(tb.ctx)
	if err != nil {
		return fmt.Errorf("check after %s: %w", after, err)
	}
	if len(v) > 0 {
		var lines []string
		for _, x := range v[:min(len(v), 5)] {
			lines = append(lines, fmt.Sprintf("%+v", x))
		}
		return fmt.Errorf("check after %s: %d violation(s): %s", after, len(v), strings.Join(lines, "; "))
	}
	tb.step("check after %s: sound (%.1fs)", after, time.Since(start).Seconds())
	return nil
}

// maintain runs VACUUM or ANALYZE on every table of the bench's schema
// (PostgreSQL only).
func (tb *tenantsBench) maintain(command string) error {
	if tb.pg == nil {
		return nil
	}
	return maintainSchema(tb.ctx, tb.pg, command)
}

// maintainSchema runs command (VACUUM, ANALYZE) on every table of the
// connection's current schema.
func maintainSchema(ctx context.Context, conn *pgx.Conn, command string) error {
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := conn.Exec(ctx, command+" "+pgx.Identifier{t}.Sanitize()); err != nil {
			return fmt.Errorf("%s %s: %w", command, t, err)
		}
	}
	return nil
}

// benchReplica is one `allot serve` child process.
type benchReplica struct {
	cmd  *exec.Cmd
	url  string
	log  string
	done chan struct{} // closed once the process has been waited for
	err  error         // Wait's result, once done is closed
	once sync.Once
	serr error
}

// startReplicas starts n replicas at once and waits until each listens.
func (tb *tenantsBench) startReplicas(n int) ([]*benchReplica, error) {
	reps := make([]*benchReplica, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = tb.startReplica(n, i)
		}()
	}
	wg.Wait()
	var out []*benchReplica
	for _, r := range reps {
		if r != nil {
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

func (tb *tenantsBench) startReplica(n, i int) (*benchReplica, error) {
	dsn := tb.dsn
	if store.IsPostgres(dsn) {
		// Each replica's connections are told apart in pg_stat_activity.
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		q.Set("application_name", tb.replicaApp(i, n))
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	r := &benchReplica{log: filepath.Join(tb.logDir, fmt.Sprintf("replica-%dof%d.log", i+1, n)), done: make(chan struct{})}
	logf, err := os.OpenFile(r.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", dsn}
	if tb.batch > 0 {
		args = append(args, "--batch-size", strconv.Itoa(tb.batch))
	}
	r.cmd = exec.Command(tb.bin, args...)
	// Through the environment, not the command line, where ps shows it.
	r.cmd.Env = append(os.Environ(), "ALLOT_OPERATOR_TOKEN="+tb.opToken)
	r.cmd.Stderr = logf
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		line, _ := br.ReadString('\n')
		lines <- line
		io.Copy(io.Discard, br)
	}()
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	select {
	case line := <-lines:
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "http://") {
				r.url = f
			}
		}
		if r.url == "" {
			r.stop()
			return nil, fmt.Errorf("replica %d: unexpected first line %q (log %s)", i+1, line, r.log)
		}
		return r, nil
	case <-time.After(time.Minute):
		r.stop()
		return nil, fmt.Errorf("replica %d printed nothing in a minute (log %s)", i+1, r.log)
	}
}

// stop asks the replica to shut down as an orchestrator would (SIGTERM)
// and kills it if it has not exited in 30 s; an exit other than a clean
// one is the error.
func (r *benchReplica) stop() error {
	r.once.Do(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-r.done:
			case <-time.After(30 * time.Second):
				r.cmd.Process.Kill()
				<-r.done
				r.serr = fmt.Errorf("did not exit within 30 s of SIGTERM (log %s)", r.log)
				return
			}
		}
		if r.err != nil {
			r.serr = fmt.Errorf("exited with %v (log %s)", r.err, r.log)
		}
	})
	return r.serr
}

// metrics reads the replica's processing metrics, by series.
func (tb *tenantsBench) metrics(r *benchReplica) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(tb.ctx, http.MethodGet, r.url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tb.opToken)
	resp, err := tb.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "allot_batch_") {
			if i := strings.LastIndexByte(line, ' '); i > 0 {
				out[line[:i]], _ = strconv.ParseFloat(line[i+1:], 64)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if _, ok := out["allot_batch_users_total"]; !ok {
		return nil, fmt.Errorf("GET /metrics: no allot_batch_users_total")
	}
	return out, nil
}

// replicasCPU is the CPU time the replicas have used so far, in seconds,
// from /proc (0 where there is none).
func replicasCPU(reps []*benchReplica) float64 {
	var sum float64
	for _, r := range reps {
		sum += procCPU(r.cmd.Process.Pid)
	}
	return sum
}

// backendsCPU is the CPU time so far of each PostgreSQL backend serving a
// replica of this bench, by process id, when the server runs on this
// machine (none otherwise).
func (tb *tenantsBench) backendsCPU() map[int]float64 {
	out := map[int]float64{}
	if tb.pg == nil {
		return out
	}
	rows, err := tb.pg.Query(tb.ctx, `SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1`, tb.app+"-%")
	if err != nil {
		return out
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return out
	}
	for _, pid := range pids {
		out[int(pid)] = procCPU(int(pid))
	}
	return out
}

// procCPU is a process's CPU time so far, in seconds, from /proc (0 where
// there is none).
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which may hold spaces: utime and
	// stime are the 14th and 15th of the line.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ, 100 on every Linux
}

// machineCPU is the busy and total CPU time of the whole machine so far,
// in clock ticks, from /proc/stat (0, 0 where there is none).
func machineCPU() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		if i >= 8 {
			break // guest time is already counted in user time
		}
		total += x
		if i != 3 && i != 4 { // idle, iowait
			busy += x
		}
	}
	return busy, total
}

func fmtSeconds(xs []float64) string {
	var out []string
	for _, x := range xs {
		out = append(out, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(out, " / ")
}

// loadAverage is the machine's 1-minute load average (0 where unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	x, _ := strconv.ParseFloat(f[0], 64)
	return x
}

// medianReplicas gives each replica count the run whose assignment time
// is the median of its runs, with the median removal time, and the
// speed-up over the fewest replicas.
func medianReplicas(runs []*replicasRun, counts []int) []*replicasRun {
	var out []*replicasRun
	seen := map[int]bool{}
	for _, n := range counts {
		if seen[n] {
			continue
		}
		seen[n] = true
		var mine []*replicasRun
		var assign, unassign []float64
		for _, r := range runs {
			if r.Replicas == n {
				mine = append(mine, r)
				assign = append(assign, r.AssignSeconds)
				unassign = append(unassign, r.UnassignSeconds)
			}
		}
		med := percentile(assign, 50)
		for _, r := range mine {
			if r.AssignSeconds == med {
				m := *r
				m.UnassignSeconds = percentile(unassign, 50)
				m.UnassignUsersPerSecond = r.UnassignUsersPerSecond * r.UnassignSeconds / m.UnassignSeconds
				out = append(out, &m)
				break
			}
		}
	}
	base := out[0]
	for _, m := range out {
		if m.Replicas < base.Replicas {
			base = m
		}
	}
	for _, m := range out {
		m.SpeedUp = m.AssignUsersPerSecond / base.AssignUsersPerSecond
	}
	for _, r := range runs {
		r.SpeedUp = r.AssignUsersPerSecond / base.AssignUsersPerSecond
	}
	return out
}

func printTenantsBench(w io.Writer, rep *tenantsReport, runs int) {
	batch := "serve's default batches"
	if rep.BatchSize > 0 {
		batch = fmt.Sprintf("batches of %d", rep.BatchSize)
	}
	fmt.Fprintf(w, "\nAllot bench on %s: %d tenants × %d users (one group each), %s, %d cores; median of %d run(s)\n\n",
		rep.Database, rep.Tenants, rep.UsersPerTenant, batch, rep.Cores, runs)
	fmt.Fprintf(w, "  %-8s  %-24s  %-8s  %-9s  %-7s  %-8s  %-9s  %-17s  %-6s  %s\n",
		"replicas", "assign E1 → queues empty", "speed-up", "remove E1", "joined", "in hand", "machine", "CPU replicas / PG", "load", "users per replica")
	for _, m := range rep.Median {
		var share []string
		for _, u := range m.ReplicaUsers {
			share = append(share, strconv.Itoa(u))
		}
		fmt.Fprintf(w, "  %-8d  %-24s  %-8s  %-9s  %-7s  %-8s  %-9s  %-17s  %-6.2f  %s\n", m.Replicas,
			fmt.Sprintf("%.2f s (%.0f users/s)", m.AssignSeconds, m.AssignUsersPerSecond),
			fmt.Sprintf("%.2f×", m.SpeedUp),
			fmt.Sprintf("%.2f s", m.UnassignSeconds),
			fmt.Sprintf("%.2f s", slices.Max(append([]float64{0}, m.JoinedSeconds...))),
			fmt.Sprintf("%.2f", m.BatchSeconds/m.AssignSeconds),
			fmt.Sprintf("%.0f%% busy", 100*m.MachineBusy),
			fmt.Sprintf("%.1f s / %.1f s", m.ReplicaCPUSeconds, m.PostgresCPUSeconds),
			m.LoadAverage, strings.Join(share, " / "))
	}
	fmt.Fprintf(w, "\n  joined: when the last replica first held a tenant's lock (the requests go through the first one)\n")
	fmt.Fprintf(w, "  in hand: batches being processed at once, on average (their summed time over the wall time)\n")
	fmt.Fprintf(w, "  building the tenants (not part of the figures): %.1f s\n\n", rep.SetupSeconds)
}
