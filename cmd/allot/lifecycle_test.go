package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// Figures of TestGracefulShutdownResumes.
const (
	lcUsers     = 305    // not a multiple of the batch, so every batch of the walk has members
	lcSeats     = 265    // fewer than the members: the waiting room is part of the walk
	lcBatch     = "10"   // 31 batches
	lcPause     = "25ms" // paused: the walk lasts over a second
	lcOpToken   = "op-lifecycle"
	lcHTTPWait  = 20 * time.Second
	lcExitWait  = 30 * time.Second
	lcDrainWait = 120 * time.Second
)

// lcStart starts `allot serve` as a child process on dsn with small,
// paused batches, appending its log to logFile.
func lcStart(t *testing.T, bin, dsn, logFile string, n int, flags ...string) *crashServer {
	t.Helper()
	if flags == nil {
		flags = []string{"--batch-size", lcBatch, "--batch-pause", lcPause}
	}
	s, err := startChild(t, bin, dsn, lcOpToken, logFile, n, flags...)
	if err != nil {
		t.Fatalf("server start %d: %v", n, err)
	}
	return s
}

// lcLogOf returns the log lines of start n.
func lcLogOf(t *testing.T, file string, n int) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), fmt.Sprintf("=== start %d\n", n))
	if !ok {
		t.Fatalf("no start %d in %s", n, file)
	}
	rest, _, _ = strings.Cut(rest, "=== start ")
	return strings.Split(strings.TrimRight(rest, "\n"), "\n")
}

var (
	lcBatchLine = regexp.MustCompile(`msg="processed batch" users=(\d+)`)
	lcTimes     = regexp.MustCompile(`^time=(\S+) .* duration_ms=(\d+)`)
)

// lcBatchTimes reads when a "processed batch" line was logged and how long
// the batch took.
func lcBatchTimes(line string) (at time.Time, took time.Duration, ok bool) {
	m := lcTimes.FindStringSubmatch(line)
	if m == nil {
		return at, 0, false
	}
	at, err := time.Parse(time.RFC3339Nano, m[1])
	ms, _ := strconv.Atoi(m[2])
	return at, time.Duration(ms+1) * time.Millisecond, err == nil
}

// TestGracefulShutdownResumes builds the real binary, gives it a group of
// 305 users to license in small, paused batches, and sends SIGTERM while
// the walk is in progress and clients are calling it. The server must stop
// taking requests (no client ever gets a 5xx or a cut-off answer), finish
// the batch in hand rather than abandon it (the progress it committed is
// exactly the sum of the batches it logged, and no batch failed), and exit
// with status 0. A second start must resume the walk from its committed
// progress — not from the start — and drain the queue, after which the
// seats are exact, the walk was started and finished once, and
// `allot check` finds every invariant holding.
func TestGracefulShutdownResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped with -short")
	}
	began := time.Now()
	dir := t.TempDir()
	bin := crashBuild(t, dir)
	dsn := testdb.DSN(t, false)
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
	srv := lcStart(t, bin, dsn, logFile, 1)
	httpc := &http.Client{Timeout: lcHTTPWait, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * crashWorkers}}
	t.Cleanup(httpc.CloseIdleConnections)
	op := &crashClient{http: httpc, base: srv.url, token: lcOpToken}
	created := op.must(t, 201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Lifecycle", "defaultUsageLocation": "US"})
	tok, _ := created["token"].(map[string]any)
	ten, _ := created["tenant"].(map[string]any)
	secret, _ := tok["secret"].(string)
	tenantID, _ := ten["id"].(string)
	c := &crashClient{http: httpc, base: srv.url, token: secret}
	c.must(t, 201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": crashSkuE1, "seats": lcSeats})
	group, _ := c.must(t, 201, "POST", "/v1.0/groups", map[string]any{
		"displayName": "Everyone", "mailNickname": "everyone", "mailEnabled": false, "securityEnabled": true})["id"].(string)
	crashParallel(t, lcUsers, func(i int) error {
		name := fmt.Sprintf("lc%04d", i)
		out, err := c.expect(201, "POST", "/v1.0/users", map[string]any{
			"displayName": name, "userPrincipalName": name + "@lifecycle.example", "accountEnabled": true})
		if err != nil {
			return err
		}
		id, _ := out["id"].(string)
		_, err = c.expect(204, "POST", "/v1.0/groups/"+group+"/members/$ref",
			map[string]any{"@odata.id": c.base + "/v1.0/directoryObjects/" + id})
		return err
	})
	seeded := time.Since(began)
	// Clients keep calling until the server has shut down.
	var (
		stopLoad          atomic.Bool
		served, refused   atomic.Int64
		refusedWhileAlive atomic.Int64
		loadMu            sync.Mutex
		loadErrs          []string
		wg                sync.WaitGroup
	)
	loadClient := &http.Client{Timeout: lcHTTPWait, Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(func() { stopLoad.Store(true); wg.Wait() })
	for k := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stopLoad.Load(); i++ {
				path := "/allot/v1/status"
				if (i+k)%2 == 1 {
					path = "/v1.0/users?$top=50&$select=id,assignedLicenses"
				}
				req, _ := http.NewRequest("GET", srv.url+path, nil)
				req.Header.Set("Authorization", "Bearer "+secret)
				resp, err := loadClient.Do(req)
				if err != nil {
					refused.Add(1)
					select {
					case <-srv.done:
					default:
						refusedWhileAlive.Add(1)
					}
					time.Sleep(2 * time.Millisecond)
					continue
				}
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				var v map[string]any
				switch {
				case resp.StatusCode != 200:
					loadMu.Lock()
					loadErrs = append(loadErrs, fmt.Sprintf("GET %s during shutdown: %d %s", path, resp.StatusCode, body))
					loadMu.Unlock()
				case rerr != nil || json.Unmarshal(body, &v) != nil:
					loadMu.Lock()
					loadErrs = append(loadErrs, fmt.Sprintf("GET %s during shutdown: a cut-off answer (%v): %q", path, rerr, body))
					loadMu.Unlock()
				default:
					served.Add(1)
				}
			}
		}()
	}
	c.must(t, 202, "POST", "/v1.0/groups/"+group+"/assignLicense", map[string]any{
		"addLicenses": []any{map[string]any{"skuId": crashSkuE1, "disabledPlans": []string{}}}, "removeLicenses": []string{}})

	// Wait until the walk has committed its first batch, then SIGTERM.
	var doneBefore int
	for deadline := time.Now().Add(60 * time.Second); doneBefore < 1; time.Sleep(time.Millisecond) {
		st, err := c.status()
		if err != nil {
			t.Fatal(err)
		}
		doneBefore = -1
		for _, g := range st.Groups {
			if g.ID == group {
				doneBefore = g.Done
			}
		}
		if doneBefore < 0 {
			t.Fatalf("the group's walk ended before the SIGTERM (status %+v): raise lcUsers or lcPause", st)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the walk did not start within a minute: %+v", st)
		}
	}

	// Connections the test's client dialed but never used would hold the
	// HTTP drain for 5 s (net/http counts a new connection as active that
	// long); close them, so that the drain lasts as long as the requests.
	httpc.CloseIdleConnections()
	sigterm := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.done:
	case <-time.After(lcExitWait):
		t.Fatalf("the server did not exit within %v of SIGTERM", lcExitWait)
	}
	stopLoad.Store(true)
	wg.Wait()
	if srv.err != nil {
		t.Fatalf("after SIGTERM the server exited with %v, want status 0", srv.err)
	}
	for _, e := range loadErrs {
		t.Error(e)
	}
	// After exit nothing listens.
	if _, err := loadClient.Get(srv.url + "/healthz"); err == nil {
		t.Error("the address still answers after the server exited")
	}

	// The first run's log: batches logged, none failed, a clean stop.
	var logged int
	inHand := false // a batch began before the SIGTERM and ended after it (an observation, not a condition)
	for _, l := range lcLogOf(t, logFile, 1) {
		if m := lcBatchLine.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			logged += n
			if at, took, ok := lcBatchTimes(l); ok && at.After(sigterm) && at.Add(-took).Before(sigterm) {
				inHand = true
			}
		}
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "processing batch failed") || strings.Contains(l, "panic") {
			t.Errorf("server log: %s", l)
		}
	}
	if lines := lcLogOf(t, logFile, 1); !strings.Contains(lines[len(lines)-1], `msg=stopped`) {
		t.Errorf("the last line of the first run is %q, want the stop", lines[len(lines)-1])
	}
	// The committed progress is exactly what the worker logged: the batch in
	// hand at the SIGTERM was finished and logged, or never begun.
	db := lcOpen(t, dsn)
	doneAtExit, total, pending := lcProgress(t, db, tenantID, group)
	db.Close()
	if !pending {
		// Possible while serve.go lets the worker run until the HTTP
		// drain ends (see TestShutdownStopsWorkerPromptly).
		doneAtExit = lcUsers
		t.Logf("the walk ran to its end during the shutdown: nothing left to resume")
	}
	t.Logf("SIGTERM at %d of %d members (a batch in hand: %v); at exit %d committed, %d logged", doneBefore, total, inHand, doneAtExit, logged)
	if doneAtExit < doneBefore {
		t.Fatalf("committed progress went back from %d to %d", doneBefore, doneAtExit)
	}
	if doneAtExit != logged {
		t.Fatalf("%d members committed but %d logged as processed: a batch was lost or half-done at shutdown", doneAtExit, logged)
	}

	// The second start resumes from the committed progress and drains.
	srv = lcStart(t, bin, dsn, logFile, 2)
	c.base = srv.url
	if st, err := c.status(); err != nil {
		t.Fatal(err)
	} else {
		for _, g := range st.Groups {
			if g.ID == group && g.Done < doneAtExit {
				t.Fatalf("after the restart the walk is at %d, behind the %d committed: it started over", g.Done, doneAtExit)
			}
		}
	}
	for deadline := time.Now().Add(lcDrainWait); ; time.Sleep(20 * time.Millisecond) {
		st, err := c.status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not idle %v after the restart: %+v", lcDrainWait, st)
		}
	}
	sku := c.must(t, 200, "GET", "/v1.0/subscribedSkus/"+crashSkuE1, nil)
	if got, _ := sku["consumedUnits"].(float64); int(got) != lcSeats {
		t.Errorf("consumedUnits %v, want %d", sku["consumedUnits"], lcSeats)
	}
	errs := c.must(t, 200, "GET", "/v1.0/groups/"+group+"/membersWithLicenseErrors?$top=999&$count=true", nil)
	if n, _ := errs["@odata.count"].(float64); int(n) != lcUsers-lcSeats {
		t.Errorf("%v members in error, want %d", errs["@odata.count"], lcUsers-lcSeats)
	}
	var started, finished int
	audit := c.must(t, 200, "GET", "/allot/v1/audit?targetId="+group+"&$top=999", nil)
	for _, v := range audit["value"].([]any) {
		switch v.(map[string]any)["activity"] {
		case "Start applying group based license to users":
			started++
		case "Finish applying group based license to users":
			finished++
		}
	}
	if started != 1 || finished != 1 {
		t.Errorf("the walk was started %d and finished %d times in the audit log; want once each", started, finished)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.done:
		if srv.err != nil {
			t.Errorf("second run after SIGTERM: %v, want status 0", srv.err)
		}
	case <-time.After(lcExitWait):
		t.Fatalf("the idle server did not exit within %v of SIGTERM", lcExitWait)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "--db", dsn}, &out, io.Discard); err != nil {
		t.Fatalf("allot check: %v\n%s", err, out.String())
	}
	t.Logf("requests during shutdown: %d served whole, %d refused (%d while the process was still finishing)",
		served.Load(), refused.Load(), refusedWhileAlive.Load())
	t.Logf("time: seeding %v, total %v", seeded.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// lcOpen opens the test's database directly, beside or without a server.
func lcOpen(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// lcProgress reads the walk's committed progress straight from the
// database: done and total of the group's work item, and whether there
// still is one (found is false once the walk has finished).
func lcProgress(t *testing.T, db *store.DB, tenantID, group string) (done, total int, found bool) {
	t.Helper()
	st, err := db.Status(allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tenantID, Role: allot.RoleGlobalReader}))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range st.Groups {
		if g.GroupID == group {
			return g.Done, g.Total, true
		}
	}
	return 0, 0, false
}

// TestShutdownStopsWorkerPromptly: SIGTERM ends processing after the batch
// in hand, even while a slow client keeps the HTTP drain waiting. A client
// holds a request open (its body half sent) across the SIGTERM; the walk
// left at that moment needs at least two seconds of paused batches; the
// client is let go after four. Had the worker gone on while HTTP drained,
// the walk would have finished: it must still be pending at exit.
func TestShutdownStopsWorkerPromptly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped with -short")
	}
	const users, batch, hold = 200, 4, 4 * time.Second
	dir := t.TempDir()
	bin := crashBuild(t, dir)
	dsn := testdb.DSN(t, false)
	logFile := filepath.Join(dir, "server.log")
	t.Cleanup(func() {
		if t.Failed() {
			crashLogTail(t, logFile, 30)
		}
	})
	srv := lcStart(t, bin, dsn, logFile, 1, "--batch-size", strconv.Itoa(batch), "--batch-pause", "40ms")
	httpc := &http.Client{Timeout: lcHTTPWait, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * crashWorkers}}
	t.Cleanup(httpc.CloseIdleConnections)
	op := &crashClient{http: httpc, base: srv.url, token: lcOpToken}
	created := op.must(t, 201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Drain", "defaultUsageLocation": "US"})
	secret, _ := created["token"].(map[string]any)["secret"].(string)
	tenantID, _ := created["tenant"].(map[string]any)["id"].(string)
	c := &crashClient{http: httpc, base: srv.url, token: secret}
	c.must(t, 201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": crashSkuE1, "seats": users})
	group, _ := c.must(t, 201, "POST", "/v1.0/groups", map[string]any{
		"displayName": "Everyone", "mailNickname": "everyone", "mailEnabled": false, "securityEnabled": true})["id"].(string)
	crashParallel(t, users, func(i int) error {
		name := fmt.Sprintf("dr%04d", i)
		out, err := c.expect(201, "POST", "/v1.0/users", map[string]any{"displayName": name, "userPrincipalName": name + "@drain.example"})
		if err != nil {
			return err
		}
		id, _ := out["id"].(string)
		_, err = c.expect(204, "POST", "/v1.0/groups/"+group+"/members/$ref", map[string]any{"@odata.id": c.base + "/v1.0/directoryObjects/" + id})
		return err
	})
	db := lcOpen(t, dsn) // beside the server, to watch the walk once HTTP is closed
	defer db.Close()
	c.must(t, 202, "POST", "/v1.0/groups/"+group+"/assignLicense", map[string]any{
		"addLicenses": []any{map[string]any{"skuId": crashSkuE1, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	var doneBefore int
	for deadline := time.Now().Add(60 * time.Second); doneBefore < 1; time.Sleep(time.Millisecond) {
		d, _, ok := lcProgress(t, db, tenantID, group)
		if !ok {
			t.Fatal("the walk ended before the SIGTERM")
		}
		doneBefore = d
		if time.Now().After(deadline) {
			t.Fatal("the walk did not start within a minute")
		}
	}

	// The slow client: a request whose body never finishes arriving.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// With Expect: 100-continue the server says when the handler starts
	// reading the body: from then on the request is in flight.
	fmt.Fprintf(conn, "POST /v1.0/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: 500\r\nExpect: 100-continue\r\n\r\n", secret)
	conn.SetReadDeadline(time.Now().Add(lcHTTPWait))
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("slow client: %q, %v; want 100 Continue", line, err)
	}
	fmt.Fprint(conn, `{"displayName":`)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	finished := false
	for until := time.Now().Add(hold); time.Now().Before(until); time.Sleep(50 * time.Millisecond) {
		if _, _, ok := lcProgress(t, db, tenantID, group); !ok {
			finished = true
			break
		}
	}
	conn.Close() // let the drain end
	select {
	case <-srv.done:
	case <-time.After(lcExitWait):
		t.Fatalf("the server did not exit within %v of the slow client leaving", lcExitWait)
	}
	if srv.err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", srv.err)
	}
	doneAtExit, total, pending := lcProgress(t, db, tenantID, group)
	if finished || !pending {
		t.Fatalf("SIGTERM came at %d of %d members, yet the worker went on until the walk was finished while a slow request "+
			"held the HTTP drain: cmd/allot/serve.go stops the worker only after srv.Shutdown returns. "+
			"Stop the worker when the signal arrives, alongside the HTTP drain (see docs/RELIABILITY.md)", doneBefore, users)
	}
	t.Logf("SIGTERM at %d of %d members; at exit %d (%d batches of %d after the SIGTERM was sent)",
		doneBefore, total, doneAtExit, (doneAtExit-doneBefore+batch-1)/batch, batch)
}
