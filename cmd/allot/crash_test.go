package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testdb"
)

// Figures of TestCrashResume (queued work survives kill -9).
const (
	crashSkuE1   = "18181a46-0d4e-45cd-891e-60aabd171b4e" // Office 365 E1 (STANDARDPACK)
	crashUsers   = 2000
	crashSeats   = 1500 // fewer than users: the waiting room is exercised
	crashWorkers = 8    // concurrent clients while seeding
	crashOpToken = "op"
)

// TestCrashResume builds the real binary, gives it a group of 2,000 users
// to license, and kills it with SIGKILL again and again while the queue is
// being processed (and while further changes are queued), restarting it on
// the same database each time. In the end the queue must drain, the seat
// counts and waiting room must be exact, a SIGTERM must stop the server
// cleanly, and `allot check` must find every invariant holding.
//
// ALLOT_CRASH_KILLS sets the number of kills (default 20); ALLOT_CRASH_SEED
// replays a run.
func TestCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	began := time.Now()
	kills := 20
	if v := os.Getenv("ALLOT_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("ALLOT_CRASH_KILLS=%q: want a positive integer", v)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ALLOT_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ALLOT_CRASH_SEED=%q: %v", v, err)
		}
		seed = n
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.Logf("seed %d (replay with ALLOT_CRASH_SEED=%d), %d kills", seed, seed, kills)

	dir := t.TempDir()
	bin := crashBuild(t, dir)
	dbFile := testdb.DSN(t, false) // a file, or a fresh PostgreSQL schema
	logFile := filepath.Join(dir, "server.log")
	t.Cleanup(func() {
		if t.Failed() {
			crashLogTail(t, logFile, 40)
		}
	})
	if raced, _ := crashRaceBuild(); raced {
		t.Cleanup(func() {
			if b, _ := os.ReadFile(logFile); bytes.Contains(b, []byte("WARNING: DATA RACE")) {
				t.Errorf("the server reported a data race (see %s)", logFile)
			}
		})
	}

	starts := 0
	start := func() *crashServer {
		t.Helper()
		starts++
		return crashStart(t, bin, dbFile, logFile, starts)
	}
	srv := start()

	httpc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * crashWorkers}}
	t.Cleanup(httpc.CloseIdleConnections)
	op := &crashClient{http: httpc, base: srv.url, token: crashOpToken}
	created := op.must(t, 201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "T"})
	tok, _ := created["token"].(map[string]any)
	secret, _ := tok["secret"].(string)
	if secret == "" {
		t.Fatalf("no token secret in %v", created)
	}
	c := &crashClient{http: httpc, base: srv.url, token: secret}
	seats := crashSeats
	c.must(t, 201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": crashSkuE1, "seats": seats})

	// Users and the group's membership, with several clients at once.
	users := make([]string, crashUsers)
	crashParallel(t, crashUsers, func(i int) error {
		name := fmt.Sprintf("u%04d", i)
		out, err := c.expect(201, "POST", "/v1.0/users", map[string]any{
			"displayName": "User " + name, "userPrincipalName": name + "@crash.example", "mailNickname": name,
			"accountEnabled": true, "usageLocation": "US"})
		if err != nil {
			return err
		}
		id, _ := out["id"].(string)
		if id == "" {
			return fmt.Errorf("user %s: no id in %v", name, out)
		}
		users[i] = id
		return nil
	})
	group, _ := c.must(t, 201, "POST", "/v1.0/groups", map[string]any{
		"displayName": "Everyone", "mailNickname": "everyone", "mailEnabled": false, "securityEnabled": true})["id"].(string)
	if group == "" {
		t.Fatal("no group id")
	}
	addMember := func(uid string) error {
		_, err := c.expect(204, "POST", "/v1.0/groups/"+group+"/members/$ref",
			map[string]any{"@odata.id": c.base + "/v1.0/directoryObjects/" + uid})
		return err
	}
	removeMember := func(uid string) error {
		_, err := c.expect(204, "DELETE", "/v1.0/groups/"+group+"/members/"+uid+"/$ref", nil)
		return err
	}
	crashParallel(t, crashUsers, func(i int) error { return addMember(users[i]) })
	members := make(map[string]bool, crashUsers)
	for _, u := range users {
		members[u] = true
	}
	seeded := time.Since(began)
	c.must(t, 202, "POST", "/v1.0/groups/"+group+"/assignLicense", map[string]any{
		"addLicenses": []any{map[string]any{"skuId": crashSkuE1, "disabledPlans": []string{}}}, "removeLicenses": []string{}})

	// The kills. Before some of them another change is made, so that kills
	// also land in the work it queues; one is always made when the restarted
	// server has nothing left to do.
	var (
		midBefore   int // status said non-idle just before the kill
		midAfter    int // status said non-idle right after the restart: work was pending at the kill
		midWalk     int // a group walk was in progress (started, not finished) just before the kill
		resumed     int // after the restart a group walk went on from a committed cursor (done > 0)
		readded     int // members added back after a removal (a walk may meet them twice)
		changes     int
		changeKinds = map[string]int{}
		removed     []string
		idle        = false
	)
	change := func() {
		t.Helper()
		kind := []string{"remove", "add", "seats", "reprocess"}[changes%4]
		if kind == "add" && len(removed) == 0 {
			kind = "seats"
		}
		changes++
		changeKinds[kind]++
		switch kind {
		case "remove":
			cur := make([]string, 0, len(members))
			for _, u := range users {
				if members[u] {
					cur = append(cur, u)
				}
			}
			k := 10 + rng.IntN(21)
			for _, j := range rng.Perm(len(cur))[:k] {
				if err := removeMember(cur[j]); err != nil {
					t.Fatal(err)
				}
				delete(members, cur[j])
				removed = append(removed, cur[j])
			}
		case "add":
			for _, u := range removed {
				if err := addMember(u); err != nil {
					t.Fatal(err)
				}
				members[u] = true
			}
			readded += len(removed)
			removed = nil
		case "seats":
			// Only ever raised: lowering below the consumed count takes no
			// license away (docs/RULES.md §2.3.4), which would blur the final figures.
			seats += 10 + rng.IntN(21)
			c.must(t, 200, "PATCH", "/allot/v1/subscriptions/"+crashSkuE1, map[string]any{"seats": seats})
		case "reprocess":
			c.must(t, 202, "POST", "/allot/v1/groups/"+group+"/reprocess", nil)
		}
	}
	for i := 0; i < kills; i++ {
		if i%2 == 1 || idle {
			change()
		}
		time.Sleep(time.Duration(rng.IntN(151)) * time.Millisecond)
		if st, err := c.status(); err == nil {
			if st.Idle {
				t.Logf("kill %d: the server was idle", i+1)
			} else {
				midBefore++
			}
			for _, g := range st.Groups {
				if g.State == "ProcessingInProgress" && g.Done < g.Total {
					midWalk++
					break
				}
			}
		} else {
			t.Logf("kill %d: status: %v", i+1, err)
		}
		srv.kill(t)
		httpc.CloseIdleConnections()
		srv = start()
		op.base, c.base = srv.url, srv.url
		st, err := c.status()
		if err != nil {
			t.Fatalf("after restart %d: %v", i+1, err)
		}
		idle = st.Idle
		if !idle {
			midAfter++
		}
		for _, g := range st.Groups {
			if g.State == "ProcessingInProgress" && g.Done > 0 {
				resumed++
				break
			}
		}
	}
	killed := time.Since(began)

	// After the last restart the work must drain by itself.
	deadline := time.Now().Add(120 * time.Second)
	for {
		st, err := c.status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not idle 120 s after the last restart: %+v", st)
		}
		time.Sleep(25 * time.Millisecond)
	}
	drained := time.Since(began)

	// The seats and the waiting room are exact.
	want := min(seats, len(members))
	sku := c.must(t, 200, "GET", "/v1.0/subscribedSkus/"+crashSkuE1, nil)
	if got, _ := sku["consumedUnits"].(float64); int(got) != want {
		t.Errorf("consumedUnits = %v, want min(seats %d, members %d) = %d", sku["consumedUnits"], seats, len(members), want)
	}
	if pre, _ := sku["prepaidUnits"].(map[string]any); pre != nil {
		if got, _ := pre["enabled"].(float64); int(got) != seats {
			t.Errorf("prepaidUnits.enabled = %v, want %d", pre["enabled"], seats)
		}
	}
	inError := map[string]bool{}
	next := "/v1.0/groups/" + group + "/membersWithLicenseErrors?$top=999"
	for pages := 0; next != ""; pages++ {
		if pages > 50 {
			t.Fatal("membersWithLicenseErrors: too many pages")
		}
		page := c.must(t, 200, "GET", next, nil)
		vals, _ := page["value"].([]any)
		for _, v := range vals {
			m, _ := v.(map[string]any)
			id, _ := m["id"].(string)
			if inError[id] {
				t.Errorf("membersWithLicenseErrors lists %s twice", id)
			}
			if !members[id] {
				t.Errorf("membersWithLicenseErrors lists %s, not a member", id)
			}
			inError[id] = true
		}
		next, _ = page["@odata.nextLink"].(string)
	}
	if got, want := len(inError), max(0, len(members)-seats); got != want {
		t.Errorf("membersWithLicenseErrors has %d users, want members %d - seats %d = %d", got, len(members), seats, want)
	}

	// Each walk was started and finished exactly once in the audit log,
	// however often it was interrupted: a rolled-back batch leaves no trace.
	var started, finished int
	next = "/allot/v1/audit?targetId=" + group + "&$top=999"
	for pages := 0; next != ""; pages++ {
		if pages > 50 {
			t.Fatal("audit: too many pages")
		}
		page := c.must(t, 200, "GET", next, nil)
		vals, _ := page["value"].([]any)
		for _, v := range vals {
			e, _ := v.(map[string]any)
			switch e["activity"] {
			case "Start applying group based license to users":
				started++
			case "Finish applying group based license to users":
				finished++
				after, _ := e["after"].(map[string]any)
				l, _ := after["licensed"].(float64)
				f, _ := after["failed"].(float64)
				if n := int(l + f); n > crashUsers+readded {
					t.Errorf("a walk reports %d users licensed or failed, more than the %d members it could meet: %v", n, crashUsers+readded, after)
				}
			}
		}
		next, _ = page["@odata.nextLink"].(string)
	}
	if started == 0 || started != finished {
		t.Errorf("audit: %d walks started, %d finished; want the same, at least one", started, finished)
	}

	// A SIGTERM stops the server gracefully, then the invariants hold.
	srv.terminate(t)
	var out bytes.Buffer
	chk := exec.Command(bin, "check", "--db", dbFile)
	chk.Stdout, chk.Stderr = &out, &out
	if err := crashRun(chk, 60*time.Second); err != nil {
		t.Errorf("allot check: %v\n%s", err, out.String())
	} else if !strings.Contains(out.String(), "ok: every invariant holds") {
		t.Errorf("allot check said %q", out.String())
	}

	t.Logf("users %d, members at the end %d, seats %d (consumed %d, waiting %d)", crashUsers, len(members), seats, want, len(inError))
	t.Logf("kills %d: %d with status non-idle just before the kill, %d with work still pending after the restart, %d during a group walk, %d walks resumed from a committed cursor", kills, midBefore, midAfter, midWalk, resumed)
	t.Logf("group walks %d (each started and finished once in the audit log)", finished)
	t.Logf("changes between kills %d %v; server starts %d", changes, changeKinds, starts)
	t.Logf("time: seeding %v, kills done at %v, idle at %v, total %v",
		seeded.Round(time.Millisecond), killed.Round(time.Millisecond), drained.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if midAfter < (kills+1)/2 {
		t.Errorf("only %d of %d kills landed while work was pending; lower --batch-size or raise --batch-pause", midAfter, kills)
	}
}

// crashRaceBuild tells whether the test binary was built with -race, so the
// server is built the same way.
func crashRaceBuild() (bool, bool) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false, false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true", true
		}
	}
	return false, true
}

func crashBuild(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "allot")
	args := []string{"build", "-o", bin}
	if raced, _ := crashRaceBuild(); raced {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := crashRun(cmd, 5*time.Minute); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return bin
}

// crashRun runs cmd to its end, killing it past the timeout.
func crashRun(cmd *exec.Cmd, timeout time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s: still running after %v, killed", cmd.Path, timeout)
	}
}

// crashServer is one run of `allot serve` as a child process.
type crashServer struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{} // closed when the process has been waited for
	err  error         // Wait's result, once done is closed
}

func crashStart(t *testing.T, bin, dbFile, logFile string, n int) *crashServer {
	t.Helper()
	s, err := startChild(t, bin, dbFile, crashOpToken, logFile, n, "--batch-size", "50", "--batch-pause", "20ms")
	if err != nil {
		t.Fatalf("server start %d: %v", n, err)
	}
	return s
}

// startChild starts `allot serve` as a child process on dsn with flags,
// appending its log to logFile, and waits for its first line to learn its
// URL. It does not fail the test itself, so it may run in goroutines; the
// process is killed when the test ends.
func startChild(t testing.TB, bin, dsn, opToken, logFile string, n int, flags ...string) (*crashServer, error) {
	logf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "=== start %d\n", n)
	pr, pw, err := os.Pipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", dsn, "--operator-token", opToken}, flags...)...)
	cmd.Stdout, cmd.Stderr = pw, logf
	err = cmd.Start()
	pw.Close()
	logf.Close()
	if err != nil {
		pr.Close()
		return nil, err
	}
	s := &crashServer{cmd: cmd, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			cmd.Process.Kill()
			<-s.done
		}
	})
	lines := make(chan string, 1)
	go func() {
		defer pr.Close()
		line, _ := bufio.NewReader(pr).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, pr)
	}()
	var line string
	select {
	case line = <-lines:
	case <-s.done:
		return nil, fmt.Errorf("exited at start: %v", s.err)
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("printed no line in 30 s")
	}
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "http://") {
			s.url = f
		}
	}
	if !strings.HasPrefix(line, "Allot listening on ") || s.url == "" {
		return nil, fmt.Errorf("unexpected first line %q", line)
	}
	return s, nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *crashServer) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("killed server did not exit in 10 s")
	}
}

// terminate sends SIGTERM; the server must exit with status 0 within 20 s.
func (s *crashServer) terminate(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("server after SIGTERM: %v, want exit status 0", s.err)
		}
	case <-time.After(20 * time.Second):
		t.Error("server did not exit within 20 s of SIGTERM")
	}
}

// crashParallel runs f(0..n-1) on crashWorkers goroutines and fails the
// test on the first error.
func crashParallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	idx := make(chan int)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	deadline := time.After(60 * time.Second)
feed:
	for i := range n {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		select {
		case idx <- i:
		case <-deadline:
			mu.Lock()
			if first == nil {
				first = errors.New("seeding took more than 60 s")
			}
			mu.Unlock()
			break feed
		}
	}
	close(idx)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// crashClient is a bearer-token JSON client safe for concurrent use; it
// returns errors rather than failing the test, so goroutines can use it.
type crashClient struct {
	http  *http.Client
	base  string
	token string
}

func (c *crashClient) do(method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	url := path
	if !strings.HasPrefix(path, "http://") {
		url = c.base + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			return 0, nil, fmt.Errorf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return resp.StatusCode, out, nil
}

func (c *crashClient) expect(want int, method, path string, body any) (map[string]any, error) {
	code, out, err := c.do(method, path, body)
	if err != nil {
		return nil, err
	}
	if code != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %v", method, path, code, want, out)
	}
	return out, nil
}

func (c *crashClient) must(t *testing.T, want int, method, path string, body any) map[string]any {
	t.Helper()
	out, err := c.expect(want, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type crashStatus struct {
	QueueDepth int  `json:"queueDepth"`
	Idle       bool `json:"idle"`
	Groups     []struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Done  int    `json:"done"`
		Total int    `json:"total"`
	} `json:"groups"`
}

func (c *crashClient) status() (crashStatus, error) {
	var st crashStatus
	out, err := c.expect(200, "GET", "/allot/v1/status", nil)
	if err != nil {
		return st, err
	}
	b, _ := json.Marshal(out)
	err = json.Unmarshal(b, &st)
	return st, err
}

func crashLogTail(t *testing.T, file string, n int) {
	b, err := os.ReadFile(file)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	t.Logf("last lines of the server log %s:\n%s", file, strings.Join(lines, "\n"))
}
