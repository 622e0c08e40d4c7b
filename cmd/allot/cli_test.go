package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/worker"
)

// cliWorld is a real API server (store, worker, api.New) served by
// httptest, with a tenant, its tokens, two products, users and groups.
type cliWorld struct {
	t      *testing.T
	url    string
	admin  string // GlobalAdministrator token
	reader string // GlobalReader token
	c      *client
	users  map[string]string // name → id
	groups map[string]string // name → id
}

// startCLIServer starts a store, its worker and the API on it, all
// stopped when the test ends; pause slows the worker down (one user per
// batch) so that a --wait sees the processing under way.
func startCLIServer(t *testing.T, pause time.Duration) (context.Context, *store.DB, *httptest.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var w *worker.Worker
	db, err := store.Open(ctx, store.Config{DSN: testdb.DSN(t, false), Logger: log, OnEnqueue: func() {
		if w != nil {
			w.Notify()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	batch := 500
	if pause > 0 {
		batch = 1
	}
	w = worker.New(worker.Config{Processor: db, Logger: log, BatchSize: batch, Pause: pause, Poll: 50 * time.Millisecond})
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	srv := httptest.NewServer(api.New(api.Config{Services: db.Services(), Alerts: db, Import: db, Logger: log, OperatorToken: "op-secret"}))
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		db.Close()
	})
	return ctx, db, srv
}

// newCLIWorld starts the server (startCLIServer) with a tenant of five
// users in two groups.
func newCLIWorld(t *testing.T, pause time.Duration) *cliWorld {
	t.Helper()
	_, _, srv := startCLIServer(t, pause)
	op := &client{t: t, base: srv.URL, token: "op-secret"}
	created := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Contoso", "defaultUsageLocation": "US"})
	cw := &cliWorld{t: t, url: srv.URL, admin: created["token"].(map[string]any)["secret"].(string),
		users: map[string]string{}, groups: map[string]string{}}
	cw.c = &client{t: t, base: srv.URL, token: cw.admin}
	cw.reader = cw.c.ok(201, "POST", "/allot/v1/tokens", map[string]any{"name": "reader", "role": "GlobalReader"})["secret"].(string)
	cw.c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE3, "seats": 3})
	cw.c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE1, "seats": 10})
	for _, n := range []string{"ann", "ben", "cat", "dan", "eve"} {
		cw.users[n] = cw.c.ok(201, "POST", "/v1.0/users", map[string]any{"displayName": strings.ToUpper(n[:1]) + n[1:],
			"userPrincipalName": n + "@contoso.example", "accountEnabled": true, "mailNickname": n})["id"].(string)
	}
	cw.group("Sales", "ann", "ben", "cat", "dan", "eve")
	cw.group("Marketing", "ann")
	return cw
}

func (w *cliWorld) group(name string, members ...string) {
	id := w.c.ok(201, "POST", "/v1.0/groups", map[string]any{"displayName": name, "mailNickname": name,
		"mailEnabled": false, "securityEnabled": true})["id"].(string)
	w.groups[name] = id
	for _, m := range members {
		w.c.ok(204, "POST", "/v1.0/groups/"+id+"/members/$ref", map[string]any{"@odata.id": w.url + "/v1.0/directoryObjects/" + w.users[m]})
	}
}

// cliResult is one run of the CLI: what main would print and exit with.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs `allot args…` against the world with the admin token, unless
// args set --token themselves.
func (w *cliWorld) cli(args ...string) cliResult {
	w.t.Helper()
	full := append([]string{}, args...)
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--token") }) {
		full = append(full, "--token", w.admin)
	}
	full = append(full, "--server", w.url)
	return runCLIArgs(full...)
}

func runCLIArgs(args ...string) cliResult {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := 0
	if err := run(ctx, args, &out, &errb); err != nil {
		code = report(err, &errb)
	}
	return cliResult{out.String(), errb.String(), code}
}

// ok runs a command that must succeed.
func (w *cliWorld) ok(args ...string) cliResult {
	w.t.Helper()
	r := w.cli(args...)
	if r.code != 0 {
		w.t.Fatalf("allot %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// fails runs a command that must fail with code and a message containing want.
func (w *cliWorld) fails(code int, want string, args ...string) {
	w.t.Helper()
	r := w.cli(args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		w.t.Fatalf("allot %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
	if r.stdout != "" {
		w.t.Fatalf("allot %s failed but printed %q", strings.Join(args, " "), r.stdout)
	}
}

func (w *cliWorld) jsonList(args ...string) []map[string]any {
	w.t.Helper()
	var out []map[string]any
	r := w.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		w.t.Fatalf("allot %s -o json: %v in %q", strings.Join(args, " "), err, r.stdout)
	}
	return out
}

func (w *cliWorld) jsonObject(args ...string) map[string]any {
	w.t.Helper()
	var out map[string]any
	r := w.ok(append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		w.t.Fatalf("allot %s -o json: %v in %q", strings.Join(args, " "), err, r.stdout)
	}
	return out
}

func (w *cliWorld) csv(args ...string) [][]string {
	w.t.Helper()
	r := w.ok(append(args, "-o", "csv")...)
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		w.t.Fatalf("allot %s -o csv: %v in %q", strings.Join(args, " "), err, r.stdout)
	}
	return recs
}

// product finds a product's row in `allot products -o json`.
func (w *cliWorld) product(part string) map[string]any {
	w.t.Helper()
	for _, p := range w.jsonList("products") {
		if p["skuPartNumber"] == part {
			return p
		}
	}
	w.t.Fatalf("no %s in allot products", part)
	return nil
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

func TestCLIProducts(t *testing.T) {
	w := newCLIWorld(t, 0)
	w.c.ok(200, "POST", "/v1.0/users/"+w.users["ann"]+"/assignLicense", lic(demoE3))

	list := w.jsonList("products")
	if len(list) != 2 || list[0]["skuPartNumber"] != "ENTERPRISEPACK" || list[1]["skuPartNumber"] != "STANDARDPACK" {
		t.Fatalf("products: %v", list)
	}
	e3 := list[0]
	if num(e3["assigned"]) != 1 || num(e3["available"]) != 2 || num(e3["total"]) != 3 || e3["capabilityStatus"] != "Enabled" || e3["skuId"] != demoE3 {
		t.Fatalf("E3 row: %v", e3)
	}

	recs := w.csv("products")
	if want := []string{"skuPartNumber", "displayName", "assigned", "available", "total", "capabilityStatus", "skuId"}; !slices.Equal(recs[0], want) {
		t.Fatalf("csv header %v, want %v", recs[0], want)
	}
	if len(recs) != 3 || !slices.Equal(recs[1][2:5], []string{"1", "2", "3"}) {
		t.Fatalf("csv rows: %v", recs)
	}

	table := w.ok("products").stdout
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "PRODUCT ") || !strings.Contains(lines[1], "ENTERPRISEPACK") {
		t.Fatalf("table:\n%s", table)
	}
	// Aligned: every column starts at the same offset on each line.
	if col := strings.Index(lines[0], "ASSIGNED"); col < 0 || lines[1][col] != '1' || lines[2][col] != '0' {
		t.Fatalf("table columns are not aligned:\n%s", table)
	}
	w.fails(2, `--output must be table, json or csv, got "yaml"`, "products", "-o", "yaml")
	w.fails(2, `unexpected argument "extra"`, "products", "extra")
}

// TestCLIGroupLifecycle: assign a product to a group with too few seats,
// see the errors, buy seats, reprocess, and unassign, all with --wait.
func TestCLIGroupLifecycle(t *testing.T) {
	w := newCLIWorld(t, 0)
	r := w.ok("assign", "--product", "enterprisepack", "--group", "Sales", "--wait", "--poll", "20ms", "-o", "json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatal(err, r.stdout)
	}
	if len(rows) != 1 || rows[0]["id"] != w.groups["Sales"] || rows[0]["state"] != "ProcessingComplete" ||
		num(rows[0]["members"]) != 5 || num(rows[0]["membersWithErrors"]) != 2 || rows[0]["product"] != "ENTERPRISEPACK" {
		t.Fatalf("assign --wait: %v", rows)
	}
	if !strings.Contains(r.stderr, "Sales: processed, 5 members, 2 with license errors") {
		t.Fatalf("assign --wait outcome on stderr: %q", r.stderr)
	}

	st := w.jsonObject("group", "status", "Sales")
	if st["state"] != "ProcessingComplete" || num(st["members"]) != 5 || num(st["membersWithErrors"]) != 2 ||
		len(st["products"].([]any)) != 1 || st["products"].([]any)[0] != "ENTERPRISEPACK" || st["processed"] != nil {
		t.Fatalf("group status: %v", st)
	}
	if tbl := w.ok("group", "status", w.groups["Sales"]).stdout; !strings.Contains(tbl, "Members with errors:") || !strings.Contains(tbl, "ENTERPRISEPACK") {
		t.Fatalf("group status table:\n%s", tbl)
	}

	errs := w.jsonList("group", "errors", "Sales")
	if len(errs) != 2 {
		t.Fatalf("group errors: %v", errs)
	}
	for _, e := range errs {
		if e["error"] != "CountViolation" || e["reason"] != "no seats left for the product" || e["product"] != "ENTERPRISEPACK" ||
			!strings.Contains(e["detail"].(string), "ENTERPRISEPACK") || strings.Contains(e["detail"].(string), demoE3) {
			t.Fatalf("group error row: %v", e)
		}
	}
	if recs := w.csv("group", "errors", "Sales"); len(recs) != 3 || recs[0][0] != "userPrincipalName" || !strings.HasSuffix(recs[1][0], "@contoso.example") {
		t.Fatalf("group errors csv: %v", recs)
	}
	if tbl := w.ok("group", "errors", "Sales").stdout; strings.Count(tbl, "CountViolation") != 2 || !strings.HasPrefix(tbl, "USER ") {
		t.Fatalf("group errors table:\n%s", tbl)
	}

	p := w.jsonObject("purchase", "--product", demoE3, "--seats", "2")
	if num(p["total"]) != 5 || p["skuPartNumber"] != "ENTERPRISEPACK" {
		t.Fatalf("purchase: %v", p)
	}
	r = w.ok("reprocess", "--group", "Sales", "--wait", "--poll=20ms")
	if !strings.Contains(r.stdout, "ProcessingComplete") || !strings.Contains(r.stderr, "no license errors") {
		t.Fatalf("reprocess --wait: %q %q", r.stdout, r.stderr)
	}
	if got := w.ok("group", "errors", "Sales").stdout; !strings.Contains(got, "No member of Sales has a license error") {
		t.Fatalf("group errors after reprocess: %q", got)
	}
	if e3 := w.product("ENTERPRISEPACK"); num(e3["assigned"]) != 5 {
		t.Fatalf("E3 after reprocess: %v", e3)
	}

	w.ok("unassign", "--product", "ENTERPRISEPACK", "--group", "Sales", "--wait", "--poll", "20ms")
	if e3 := w.product("ENTERPRISEPACK"); num(e3["assigned"]) != 0 {
		t.Fatalf("E3 after unassign: %v", e3)
	}
	w.fails(1, "group Sales does not have ENTERPRISEPACK; nothing was changed", "unassign", "--product", "ENTERPRISEPACK", "--group", "Sales")

	if s := w.jsonObject("status"); s["idle"] != true || s["groups"] == nil {
		t.Fatalf("status: %v", s)
	}
	if s := w.ok("status").stdout; !strings.Contains(s, "Worker: idle.") {
		t.Fatalf("status table: %q", s)
	}
}

// TestCLIWaitProgress: with a slow worker, --wait writes progress lines
// (stderr is not a terminal here) before the outcome.
func TestCLIWaitProgress(t *testing.T) {
	w := newCLIWorld(t, 100*time.Millisecond)
	r := w.ok("assign", "--product", "STANDARDPACK", "--group", "Sales", "--wait", "--poll", "5ms")
	if !strings.Contains(r.stderr, "allot: Sales: ProcessingInProgress") || !strings.Contains(r.stderr, " of 5 members") {
		t.Fatalf("no progress lines: %q", r.stderr)
	}
	if !strings.HasSuffix(r.stderr, "allot: Sales: processed, 5 members, no license errors\n") || strings.Contains(r.stderr, "\r") {
		t.Fatalf("outcome: %q", r.stderr)
	}
	bar := progressBar("Sales", groupProgress{state: "ProcessingInProgress", done: 2, total: 4}, 10)
	if !strings.Contains(bar, "█████░░░░░ 2/4 members") {
		t.Fatalf("bar: %q", bar)
	}
}

func TestCLIUsers(t *testing.T) {
	w := newCLIWorld(t, 0)
	cat := catalog.Demo()
	plan := cat.Plans[cat.SKUs[demoE1].Plans[0]]

	rows := w.jsonList("assign", "--product", "STANDARDPACK", "--user", "ann@contoso.example", "--user", w.users["ben"],
		"--disable-plan", strings.ToLower(plan.Name))
	if len(rows) != 2 || rows[0]["userPrincipalName"] != "ann@contoso.example" || rows[1]["id"] != w.users["ben"] ||
		rows[0]["state"] != "Active" || rows[0]["error"] != "" {
		t.Fatalf("assign users: %v", rows)
	}
	u := w.c.ok(200, "GET", "/v1.0/users/"+w.users["ann"]+"?$select=assignedLicenses", nil)
	lics := u["assignedLicenses"].([]any)
	if len(lics) != 1 || lics[0].(map[string]any)["skuId"] != demoE1 ||
		!slices.Equal(lics[0].(map[string]any)["disabledPlans"].([]any), []any{plan.ID}) {
		t.Fatalf("ann's licenses: %v", lics)
	}

	// Too few seats for a direct assignment: the server refuses.
	w.c.ok(200, "PATCH", "/allot/v1/subscriptions/"+demoE3, map[string]any{"seats": 0})
	r := w.cli("assign", "--product", "ENTERPRISEPACK", "--user", "cat@contoso.example")
	if r.code != 1 || !strings.Contains(r.stderr, "allot: user cat@contoso.example: ") {
		t.Fatalf("assign without seats: %+v", r)
	}

	// Marketing's ann waits for a seat; buying one with --user ann gives
	// it to her in the same request.
	w.c.ok(202, "POST", "/v1.0/groups/"+w.groups["Marketing"]+"/assignLicense", lic(demoE3))
	w.c.waitIdle()
	if errs := w.jsonList("group", "errors", "Marketing"); len(errs) != 1 || errs[0]["error"] != "CountViolation" {
		t.Fatalf("Marketing errors: %v", errs)
	}
	p := w.jsonObject("purchase", "--product", "ENTERPRISEPACK", "--seats", "1", "--user", "ann@contoso.example")
	if num(p["assigned"]) != 1 || num(p["total"]) != 1 {
		t.Fatalf("purchase for a user: %v", p)
	}
	rp := w.jsonList("reprocess", "--user", "ann@contoso.example")
	if len(rp) != 1 || !slices.Equal(rp[0]["licenses"].([]any), []any{"ENTERPRISEPACK", "STANDARDPACK"}) || len(rp[0]["errors"].([]any)) != 0 {
		t.Fatalf("reprocess user: %v", rp)
	}

	w.ok("unassign", "--product", "STANDARDPACK", "--user", "ann@contoso.example")
	w.c.waitIdle()
	if e1 := w.product("STANDARDPACK"); num(e1["assigned"]) != 1 {
		t.Fatalf("E1 after unassigning ann: %v", e1)
	}
}

// TestCLIBadInput: every mistake is a clear message and an exit status,
// and changes nothing.
func TestCLIBadInput(t *testing.T) {
	w := newCLIWorld(t, 0)
	w.fails(1, `allot: unknown product "NOPE"`, "assign", "--product", "NOPE", "--group", "Sales")
	w.fails(1, `allot: unknown group "Nobody"`, "assign", "--product", "STANDARDPACK", "--group", "Sales", "--group", "Nobody")
	w.fails(1, `unknown group "00000000-0000-0000-0000-000000000001"`, "group", "status", "00000000-0000-0000-0000-000000000001")
	w.fails(1, `allot: unknown user "zed@contoso.example"`, "assign", "--product", "STANDARDPACK", "--user", "ann@contoso.example", "--user", "zed@contoso.example")
	w.fails(2, `give a user id or a userPrincipalName`, "reprocess", "--user", "ann")
	w.fails(1, `product STANDARDPACK has no service plan "NOPLAN"`, "assign", "--product", "STANDARDPACK", "--group", "Sales", "--disable-plan", "NOPLAN")
	w.fails(2, "--product is required", "assign", "--group", "Sales")
	w.fails(2, "give --group or --user, not both", "assign", "--product", "STANDARDPACK", "--group", "Sales", "--user", "ann@contoso.example")
	many := []string{"assign", "--product", "STANDARDPACK"}
	for range 21 {
		many = append(many, "--group", "Sales")
	}
	w.fails(2, "at most 20 groups at once, 21 given", many...)
	w.fails(2, "flag provided but not defined: -bogus", "products", "--bogus")
	w.fails(2, "purchase: 2 users but only 1 seats", "purchase", "--product", "STANDARDPACK", "--seats", "1", "--user", "a@b.c", "--user", "d@b.c")
	w.fails(2, "group needs a subcommand: status, errors", "group")
	w.fails(2, `unknown command "group bogus"`, "group", "bogus")
	if r := runCLIArgs("completion", "tcsh"); r.code != 2 || !strings.Contains(r.stderr, `completion: unknown shell "tcsh"`) {
		t.Fatalf("completion tcsh: %+v", r)
	}
	// The server's own refusal comes through with Graph's code.
	w.fails(1, "allot: Request_BadRequest: Property 'quantity' must be from 1 to 10000.", "purchase", "--product", "STANDARDPACK", "--seats", "10001")

	// Nothing was assigned by the failed commands.
	if e1 := w.product("STANDARDPACK"); num(e1["assigned"]) != 0 || num(e1["total"]) != 10 {
		t.Fatalf("a failed command changed something: %v", e1)
	}
	g := w.c.ok(200, "GET", "/v1.0/groups/"+w.groups["Sales"]+"?$select=assignedLicenses", nil)
	if len(g["assignedLicenses"].([]any)) != 0 {
		t.Fatalf("Sales got a license from a failed command: %v", g)
	}

	// Authentication and authorization.
	t.Setenv("ALLOT_TOKEN", "")
	if r := runCLIArgs("products", "--server", w.url); r.code != 2 || !strings.Contains(r.stderr, "allot: no token: pass --token or set ALLOT_TOKEN") {
		t.Fatalf("no token: %+v", r)
	}
	w.fails(1, "allot: InvalidAuthenticationToken: ", "products", "--token", "allot_wrong")
	w.fails(1, "allot: Authorization_RequestDenied: Insufficient privileges", "assign", "--product", "STANDARDPACK", "--group", "Sales", "--token", w.reader)
	if r := w.cli("products", "--token", w.reader); r.code != 0 || !strings.Contains(r.stdout, "STANDARDPACK") {
		t.Fatalf("a reader cannot list products: %+v", r)
	}
	// The environment supplies server and token.
	t.Setenv("ALLOT_TOKEN", w.reader)
	t.Setenv("ALLOT_SERVER", w.url)
	if r := runCLIArgs("products", "-o", "csv"); r.code != 0 || !strings.Contains(r.stdout, "STANDARDPACK") {
		t.Fatalf("from the environment: %+v", r)
	}
	if r := runCLIArgs("products", "--server", "ftp://x"); r.code != 2 || !strings.Contains(r.stderr, "--server must be an http(s) URL") {
		t.Fatalf("bad server: %+v", r)
	}
	if r := runCLIArgs("products", "--server", "http://127.0.0.1:1"); r.code != 1 || !strings.Contains(r.stderr, "allot: ConnectionFailed: cannot reach http://127.0.0.1:1") {
		t.Fatalf("unreachable server: %+v", r)
	}
}

// TestCLIListFollowsNextLink: a list longer than a page is read whole.
func TestCLIListFollowsNextLink(t *testing.T) {
	w := newCLIWorld(t, 0)
	c, err := (&clientFlags{server: w.url + "/", token: w.admin}).client()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	err = c.list(context.Background(), "/v1.0/users", map[string][]string{"$top": {"2"}, "$select": {"id"}}, func(raw json.RawMessage) error {
		var u struct{ ID string }
		err := json.Unmarshal(raw, &u)
		ids = append(ids, u.ID)
		return err
	})
	if err != nil || len(ids) != 5 {
		t.Fatalf("list: %v, %d users: %v", err, len(ids), ids)
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 5 {
		t.Fatalf("pages repeated users: %v", ids)
	}
}

func TestCLIHelpAndCompletion(t *testing.T) {
	for _, args := range [][]string{{"help", "assign"}, {"assign", "--help"}, {"assign", "-h"}} {
		r := runCLIArgs(args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: allot assign --product SKU") ||
			!strings.Contains(r.stdout, "Examples:\n  allot assign --product ENTERPRISEPACK --group Sales") ||
			!strings.Contains(r.stdout, "-disable-plan") || !strings.Contains(r.stdout, "-token") {
			t.Fatalf("allot %s: %+v", strings.Join(args, " "), r)
		}
	}
	if r := runCLIArgs("help", "group", "errors"); r.code != 0 || !strings.Contains(r.stdout, "allot group errors Sales -o csv") {
		t.Fatalf("help group errors: %+v", r)
	}
	if r := runCLIArgs("help", "group"); r.code != 0 || !strings.Contains(r.stdout, "allot group status") {
		t.Fatalf("help group: %+v", r)
	}
	if r := runCLIArgs("help"); !strings.Contains(r.stdout, "allot group errors GROUP") {
		t.Fatalf("usage lacks the API commands: %q", r.stdout)
	}
	if r := runCLIArgs("help", "nosuch"); r.code != 2 {
		t.Fatalf("help nosuch: %+v", r)
	}

	words := completions()
	for _, c := range commands {
		parent, _, _ := strings.Cut(c.name, " ")
		if !slices.Contains(words.commands, parent) {
			t.Errorf("completion lacks command %s", parent)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := runCLIArgs("completion", shell)
		if r.code != 0 {
			t.Fatalf("completion %s: %+v", shell, r)
		}
		for _, want := range []string{"products", "assign", "serve", "status errors", "disable-plan", "wait", "output"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("completion %s lacks %q", shell, want)
			}
		}
		// The script must at least parse in its shell, where installed.
		if path, err := exec.LookPath(shell); err == nil {
			cmd := exec.Command(path, "-n")
			if shell == "fish" {
				cmd = exec.Command(path, "--no-execute")
			}
			cmd.Stdin = strings.NewReader(r.stdout)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s rejects its completion script: %v\n%s", shell, err, out)
			}
		}
	}
	// bash: completing "allot group status --w" offers --wait? No: status
	// has no --wait; "allot assign --w" does.
	if _, err := exec.LookPath("bash"); err == nil {
		script := runCLIArgs("completion", "bash").stdout
		for _, tc := range []struct{ line, want, not string }{
			{"allot gr", "group", ""},
			{"allot group e", "errors", ""},
			{"allot assign --dis", "--disable-plan", ""},
			{"allot group status --", "--output", "--wait"},
			{"allot products --output j", "json", ""},
		} {
			prog := script + "\nCOMP_WORDS=(" + tc.line + ")\n"
			if strings.HasSuffix(tc.line, " ") {
				prog += "COMP_WORDS+=('')\n"
			}
			prog += "COMP_CWORD=$((${#COMP_WORDS[@]}-1))\n_allot\necho \"${COMPREPLY[*]}\"\n"
			out, err := exec.Command("bash", "-c", prog).CombinedOutput()
			got := string(out)
			if err != nil || !strings.Contains(got, tc.want) || (tc.not != "" && strings.Contains(got, tc.not)) {
				t.Errorf("bash completion of %q: %v %q; want %q", tc.line, err, got, tc.want)
			}
		}
	}
}
