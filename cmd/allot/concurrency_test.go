package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SKUs of the demo catalog that the concurrency tests use, chosen so that
// random operations meet every kind of rule.
const (
	ccE1      = "18181a46-0d4e-45cd-891e-60aabd171b4e" // STANDARDPACK: Exchange (Plan 1) mailbox, SharePoint, Teams
	ccE3      = "6fd2c87f-b296-42f0-b197-1e91e994b900" // ENTERPRISEPACK: Exchange (Plan 2) mailbox
	ccKiosk   = "80b2d799-d2ba-4d2a-8842-fb0d0f3a4b82" // EXCHANGEDESKLESS: conflicts with Exchange (Plan 1)
	ccExoP1   = "4b9405b0-7788-4568-add1-99614e613b69" // EXCHANGESTANDARD: Exchange (Plan 1) mailbox
	ccAudio   = "0c266dff-15dd-4b49-8397-2bb16070ed52" // MCOMEETADV: depends on Teams (MCOSTANDARD)
	ccCalling = "0dab259f-bf13-4952-b7f8-7db8f131b28d" // MCOPSTN1: only in some countries
)

var ccSkus = []string{ccE1, ccE3, ccKiosk, ccExoP1, ccAudio, ccCalling}

// ccEnvInt reads a positive integer from the environment, or def.
func ccEnvInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// ccTenant creates a tenant through the real server and returns a Global
// Administrator client for it.
func ccTenant(t *testing.T, srv *server, httpc *http.Client, body map[string]any) *crashClient {
	t.Helper()
	op := &crashClient{http: httpc, base: srv.url, token: "op-secret"}
	created := op.must(t, 201, "POST", "/allot/v1/tenants", body)
	tok, _ := created["token"].(map[string]any)
	secret, _ := tok["secret"].(string)
	if secret == "" {
		t.Fatalf("no token in %v", created)
	}
	return &crashClient{http: httpc, base: srv.url, token: secret}
}

func ccUser(t *testing.T, c *crashClient, name, loc string, proxy ...string) string {
	t.Helper()
	body := map[string]any{"displayName": name, "userPrincipalName": name + "@cc.example", "accountEnabled": true, "mailNickname": name}
	if loc != "" {
		body["usageLocation"] = loc
	}
	if proxy != nil {
		body["proxyAddresses"] = proxy
	}
	id, _ := c.must(t, 201, "POST", "/v1.0/users", body)["id"].(string)
	if id == "" {
		t.Fatalf("user %s: no id", name)
	}
	return id
}

func ccLicense(add []string, remove []string) map[string]any {
	adds := []any{}
	for _, s := range add {
		adds = append(adds, map[string]any{"skuId": s, "disabledPlans": []string{}})
	}
	if remove == nil {
		remove = []string{}
	}
	return map[string]any{"addLicenses": adds, "removeLicenses": remove}
}

// ccWaitIdle waits, at most a minute, for the tenant's queue to drain.
func ccWaitIdle(t *testing.T, c *crashClient) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, err := c.status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processing not idle after a minute: %+v", st)
		}
	}
}

// ccCheck stops the server and runs `allot check` on its database.
func ccCheck(t *testing.T, srv *server) {
	t.Helper()
	srv.stop()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "--db", srv.db}, &out, io.Discard); err != nil {
		t.Fatalf("allot check: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok: every invariant holds") {
		t.Fatalf("allot check said %q", out.String())
	}
}

// TestLastSeatGoesToExactlyOne: with one seat left, 50 users ask for it at
// the same instant through the real server; exactly one gets it (200), the
// 49 others get Graph's 400 with its count message and keep nothing, and
// consumedUnits is exact. Three rounds, a purchased seat each.
func TestLastSeatGoesToExactlyOne(t *testing.T) {
	const contenders, rounds = 50, 3
	srv := startServer(t)
	httpc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * contenders, MaxConnsPerHost: 0}}
	t.Cleanup(httpc.CloseIdleConnections)
	c := ccTenant(t, srv, httpc, map[string]any{"displayName": "Last seat", "defaultUsageLocation": "US"})
	seats := 3
	c.must(t, 201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": ccE1, "seats": seats})
	for i := range seats - 1 {
		u := ccUser(t, c, fmt.Sprintf("holder%d", i), "US")
		c.must(t, 200, "POST", "/v1.0/users/"+u+"/assignLicense", ccLicense([]string{ccE1}, nil))
	}
	var waiting []string
	for i := range contenders {
		waiting = append(waiting, ccUser(t, c, fmt.Sprintf("contender%02d", i), "US"))
	}
	wantMessage := "Subscription with SKU " + ccE1 + " does not have any available licenses."
	holders := seats - 1
	for round := 1; round <= rounds; round++ {
		if round > 1 {
			seats++
			sub := c.must(t, 200, "POST", "/allot/v1/subscriptions/"+ccE1+"/purchase", map[string]any{"quantity": 1})
			if sub["available"] != float64(1) {
				t.Fatalf("round %d: after buying a seat %v are available, want 1", round, sub["available"])
			}
			waiting = append(waiting, ccUser(t, c, fmt.Sprintf("late%d", round), "US"))
		}
		type result struct {
			user   string
			status int
			body   map[string]any
			err    error
		}
		results := make([]result, len(waiting))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, u := range waiting {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				code, body, err := c.do("POST", "/v1.0/users/"+u+"/assignLicense", ccLicense([]string{ccE1}, nil))
				results[i] = result{u, code, body, err}
			}()
		}
		close(start)
		wg.Wait()

		var winners, losers []string
		for _, r := range results {
			switch {
			case r.err != nil:
				t.Fatalf("round %d: %v", round, r.err)
			case r.status == 200:
				winners = append(winners, r.user)
			case r.status == 400 && errorCodeFrom(r.body) == "Request_BadRequest":
				if msg := errMessageFrom(r.body); msg != wantMessage {
					t.Errorf("round %d: message %q, want %q", round, msg, wantMessage)
				}
				losers = append(losers, r.user)
			default:
				t.Fatalf("round %d: user %s got %d %v", round, r.user, r.status, r.body)
			}
		}
		if len(winners) != 1 || len(losers) != len(waiting)-1 {
			t.Fatalf("round %d: %d users got the last seat and %d were refused; want exactly 1 and %d", round, len(winners), len(losers), len(waiting)-1)
		}
		holders++
		sku := c.must(t, 200, "GET", "/v1.0/subscribedSkus/"+ccE1, nil)
		if sku["consumedUnits"] != float64(holders) {
			t.Fatalf("round %d: consumedUnits %v, want %d", round, sku["consumedUnits"], holders)
		}
		if pre, _ := sku["prepaidUnits"].(map[string]any); pre["enabled"] != float64(seats) {
			t.Fatalf("round %d: prepaidUnits %v, want %d enabled", round, pre, seats)
		}
		for _, u := range append(losers, winners...) {
			got := c.must(t, 200, "GET", "/v1.0/users/"+u+"?$select=id,assignedLicenses,licenseAssignmentStates", nil)
			lics, _ := got["assignedLicenses"].([]any)
			states, _ := got["licenseAssignmentStates"].([]any)
			isWinner := u == winners[0]
			if isWinner && (len(lics) != 1 || len(states) != 1) || !isWinner && (len(lics) != 0 || len(states) != 0) {
				t.Fatalf("round %d: user %s (winner %v) has %v", round, u, isWinner, got)
			}
		}
		waiting = losers
	}
	ccWaitIdle(t, c)
	ccCheck(t, srv)
}

func errMessageFrom(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// ccOp is one kind of random operation and the statuses it may answer:
// 2xx when it applies, 400 when a rule refuses it, 404 when another client
// deleted its object first. Anything else, a 5xx above all, fails the test.
type ccOp struct {
	name string
	ok   []int
	do   func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error)
}

// ccWorld is what the clients share: the ids made so far (deleted ones
// stay in the lists, so that operations also meet deleted objects).
type ccWorld struct {
	mu     sync.Mutex
	users  []string
	groups []string
	n      int
}

func (w *ccWorld) pick(rng *rand.Rand, xs *[]string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return (*xs)[rng.IntN(len(*xs))]
}

func (w *ccWorld) add(xs *[]string, id string) {
	w.mu.Lock()
	*xs = append(*xs, id)
	w.mu.Unlock()
}

func (w *ccWorld) next() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	return w.n
}

var ccLocations = []any{"US", "GB", "FR", "JP", nil}

// ccAddresses is a small pool so that users and groups contend for addresses.
var ccAddresses = []string{"shared1@cc.example", "shared2@cc.example", "shared3@cc.example"}

func ccRandomSkus(rng *rand.Rand, max int) []string {
	n := 1 + rng.IntN(max)
	var out []string
	for _, i := range rng.Perm(len(ccSkus))[:n] {
		out = append(out, ccSkus[i])
	}
	return out
}

var ccOps = []ccOp{
	{"assign user", []int{200, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		return c.do("POST", "/v1.0/users/"+w.pick(rng, &w.users)+"/assignLicense", ccLicense(ccRandomSkus(rng, 2), nil))
	}},
	{"unassign user", []int{200, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		return c.do("POST", "/v1.0/users/"+w.pick(rng, &w.users)+"/assignLicense", ccLicense(nil, ccRandomSkus(rng, 1)))
	}},
	{"assign group", []int{202, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		return c.do("POST", "/v1.0/groups/"+w.pick(rng, &w.groups)+"/assignLicense", ccLicense(ccRandomSkus(rng, 2), nil))
	}},
	{"unassign group", []int{202, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		return c.do("POST", "/v1.0/groups/"+w.pick(rng, &w.groups)+"/assignLicense", ccLicense(nil, ccRandomSkus(rng, 1)))
	}},
	{"batch assign", []int{202, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		return c.do("POST", "/allot/v1/groups/assignLicense", map[string]any{
			"groupIds": []string{w.pick(rng, &w.groups), w.pick(rng, &w.groups)}, "skuId": ccRandomSkus(rng, 1)[0], "disabledPlans": []string{}})
	}},
	{"add member", []int{204, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		member := w.pick(rng, &w.users)
		if rng.IntN(8) == 0 {
			member = w.pick(rng, &w.groups) // nested groups are kept and ignored
		}
		return c.do("POST", "/v1.0/groups/"+w.pick(rng, &w.groups)+"/members/$ref",
			map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + member})
	}},
	{"remove member", []int{204, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		return c.do("DELETE", "/v1.0/groups/"+w.pick(rng, &w.groups)+"/members/"+w.pick(rng, &w.users)+"/$ref", nil)
	}},
	{"purchase", []int{200, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		body := map[string]any{"quantity": 1 + rng.IntN(2)}
		if rng.IntN(2) == 0 {
			body["userIds"] = []string{w.pick(rng, &w.users)}
		}
		return c.do("POST", "/allot/v1/subscriptions/"+ccRandomSkus(rng, 1)[0]+"/purchase", body)
	}},
	{"set seats", []int{200, 400}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		// Lowering below the consumed count is allowed and takes nothing away.
		return c.do("PATCH", "/allot/v1/subscriptions/"+ccRandomSkus(rng, 1)[0], map[string]any{"seats": rng.IntN(12)})
	}},
	{"edit user", []int{204, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		body := map[string]any{"usageLocation": ccLocations[rng.IntN(len(ccLocations))]}
		switch rng.IntN(3) {
		case 0:
			body["proxyAddresses"] = []string{"smtp:" + ccAddresses[rng.IntN(len(ccAddresses))]}
		case 1:
			body["proxyAddresses"] = nil
		}
		return c.do("PATCH", "/v1.0/users/"+w.pick(rng, &w.users), body)
	}},
	{"edit group", []int{204, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		addrs := []string{}
		if rng.IntN(2) == 0 {
			addrs = append(addrs, "SMTP:"+ccAddresses[rng.IntN(len(ccAddresses))])
		}
		return c.do("PATCH", "/v1.0/groups/"+w.pick(rng, &w.groups), map[string]any{"proxyAddresses": addrs, "mailEnabled": len(addrs) > 0})
	}},
	{"create user", []int{201, 400}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		name := fmt.Sprintf("new%04d", w.next())
		code, body, err := c.do("POST", "/v1.0/users", map[string]any{"displayName": name, "userPrincipalName": name + "@cc.example",
			"accountEnabled": true, "usageLocation": ccLocations[rng.IntN(len(ccLocations)-1)]})
		if id, _ := body["id"].(string); code == 201 && id != "" {
			w.add(&w.users, id)
		}
		return code, body, err
	}},
	{"delete user", []int{204, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		return c.do("DELETE", "/v1.0/users/"+w.pick(rng, &w.users), nil)
	}},
	{"create group", []int{201, 400}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		name := fmt.Sprintf("g%04d", w.next())
		code, body, err := c.do("POST", "/v1.0/groups", map[string]any{"displayName": name, "mailNickname": name,
			"mailEnabled": false, "securityEnabled": true})
		if id, _ := body["id"].(string); code == 201 && id != "" {
			w.add(&w.groups, id)
		}
		return code, body, err
	}},
	{"delete group", []int{204, 400, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		return c.do("DELETE", "/v1.0/groups/"+w.pick(rng, &w.groups), nil) // 400 while licensed
	}},
	{"reprocess user", []int{200, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		return c.do("POST", "/v1.0/users/"+w.pick(rng, &w.users)+"/reprocessLicenseAssignment", nil)
	}},
	{"reprocess group", []int{202, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		return c.do("POST", "/allot/v1/groups/"+w.pick(rng, &w.groups)+"/reprocess", nil)
	}},
	{"read", []int{200, 404}, func(c *crashClient, w *ccWorld, rng *rand.Rand) (int, map[string]any, error) {
		switch rng.IntN(4) {
		case 0:
			return c.do("GET", "/v1.0/users/"+w.pick(rng, &w.users)+"?$select=id,assignedLicenses,licenseAssignmentStates", nil)
		case 1:
			return c.do("GET", "/v1.0/groups/"+w.pick(rng, &w.groups)+"/membersWithLicenseErrors", nil)
		case 2:
			return c.do("GET", "/v1.0/subscribedSkus", nil)
		}
		return c.do("GET", "/allot/v1/status", nil)
	}},
}

// TestConcurrentClients: many clients make random changes at once through
// the real server — direct and group assignment and removal, memberships,
// purchases and seat changes, user and group edits, creations and
// deletions, reprocessing — and none may ever get a 5xx or an answer its
// operation cannot have. When processing is idle, every subscription's
// consumedUnits equals the users holding it (counted through the API) and
// `allot check` finds every invariant of docs/RULES.md §2.3.8 holding.
//
// The clients stop after ALLOT_CONCURRENCY_OPS operations each (default
// 200) or ALLOT_CONCURRENCY_SECONDS (default 8), whichever comes first, but
// never before 20 operations each: how many ran is reported, never judged.
// ALLOT_CONCURRENCY_SEED replays the random choices (not the timing).
func TestConcurrentClients(t *testing.T) {
	const clients, minOps = 8, 20
	opsPerClient := ccEnvInt(t, "ALLOT_CONCURRENCY_OPS", 200)
	duration := time.Duration(ccEnvInt(t, "ALLOT_CONCURRENCY_SECONDS", 8)) * time.Second
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ALLOT_CONCURRENCY_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ALLOT_CONCURRENCY_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with ALLOT_CONCURRENCY_SEED=%d), %d clients × at most %d operations or %v", seed, seed, clients, opsPerClient, duration)
	began := time.Now()

	srv := startServer(t, "--batch-size", "7")
	httpc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * clients}}
	t.Cleanup(httpc.CloseIdleConnections)
	// No default location: users without one meet the location rule.
	c := ccTenant(t, srv, httpc, map[string]any{"displayName": "Concurrency"})
	for _, sku := range ccSkus {
		c.must(t, 201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": sku, "seats": 6})
	}
	w := &ccWorld{}
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range 24 {
		var proxy []string
		if i%4 == 0 {
			proxy = []string{"smtp:" + ccAddresses[i%len(ccAddresses)]}
		}
		loc, _ := ccLocations[i%len(ccLocations)].(string)
		w.users = append(w.users, ccUser(t, c, fmt.Sprintf("seed%02d", i), loc, proxy...))
	}
	for i := range 5 {
		name := fmt.Sprintf("team%d", i)
		g, _ := c.must(t, 201, "POST", "/v1.0/groups", map[string]any{"displayName": name, "mailNickname": name, "mailEnabled": false, "securityEnabled": true})["id"].(string)
		w.groups = append(w.groups, g)
		for _, j := range rng.Perm(len(w.users))[:8] {
			c.must(t, 204, "POST", "/v1.0/groups/"+g+"/members/$ref", map[string]any{"@odata.id": c.base + "/v1.0/directoryObjects/" + w.users[j]})
		}
	}
	for i, g := range w.groups[:3] {
		c.must(t, 202, "POST", "/v1.0/groups/"+g+"/assignLicense", ccLicense([]string{ccSkus[i]}, nil))
	}

	type tally struct {
		counts map[string]map[int]int
		errs   []string
	}
	tallies := make([]tally, clients)
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for k := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(k)+2))
			tl := tally{counts: map[string]map[int]int{}}
			for i := 0; i < opsPerClient && (i < minOps || time.Now().Before(deadline)); i++ {
				op := ccOps[rng.IntN(len(ccOps))]
				code, body, err := op.do(c, w, rng)
				if err != nil {
					tl.errs = append(tl.errs, fmt.Sprintf("%s: %v", op.name, err))
					continue
				}
				if tl.counts[op.name] == nil {
					tl.counts[op.name] = map[int]int{}
				}
				tl.counts[op.name][code]++
				switch {
				case !containsInt(op.ok, code):
					tl.errs = append(tl.errs, fmt.Sprintf("%s: status %d (allowed %v): %v", op.name, code, op.ok, body))
				case code >= 400 && (errorCodeFrom(body) == "" || errMessageFrom(body) == ""):
					tl.errs = append(tl.errs, fmt.Sprintf("%s: %d without Graph's error envelope: %v", op.name, code, body))
				}
			}
			tallies[k] = tl
		}()
	}
	wg.Wait()
	ran := time.Since(began)
	total := map[string]map[int]int{}
	ops := 0
	for _, tl := range tallies {
		for _, e := range tl.errs {
			t.Error(e)
		}
		for name, m := range tl.counts {
			if total[name] == nil {
				total[name] = map[int]int{}
			}
			for code, n := range m {
				total[name][code] += n
				ops += n
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	ccWaitIdle(t, c)
	// Seats: consumedUnits = the users holding the SKU, counted from the
	// users' assignedLicenses (direct or through a group).
	holders := map[string]int{}
	next := "/v1.0/users?$select=id,assignedLicenses&$top=999"
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("too many pages of users")
		}
		page := c.must(t, 200, "GET", next, nil)
		for _, v := range page["value"].([]any) {
			for _, l := range v.(map[string]any)["assignedLicenses"].([]any) {
				holders[l.(map[string]any)["skuId"].(string)]++
			}
		}
		next, _ = page["@odata.nextLink"].(string)
	}
	skus := c.must(t, 200, "GET", "/v1.0/subscribedSkus", nil)["value"].([]any)
	if len(skus) != len(ccSkus) {
		t.Fatalf("%d subscriptions, want %d", len(skus), len(ccSkus))
	}
	var seatLines []string
	for _, v := range skus {
		s := v.(map[string]any)
		id := s["skuId"].(string)
		if got := int(s["consumedUnits"].(float64)); got != holders[id] {
			t.Errorf("SKU %s: consumedUnits %d, but %d users hold it", id, got, holders[id])
		}
		seatLines = append(seatLines, fmt.Sprintf("%s %v/%v", s["skuPartNumber"], s["consumedUnits"], s["prepaidUnits"].(map[string]any)["enabled"]))
	}
	ccCheck(t, srv)

	names := make([]string, 0, len(total))
	for n := range total {
		names = append(names, n)
	}
	sort.Strings(names)
	var lines []string
	for _, n := range names {
		lines = append(lines, fmt.Sprintf("%s %v", n, total[n]))
	}
	t.Logf("%d operations by %d clients in %v; seats consumed/owned: %s", ops, clients, ran.Round(time.Millisecond), strings.Join(seatLines, ", "))
	t.Logf("statuses per operation:\n  %s", strings.Join(lines, "\n  "))
	t.Logf("total %v", time.Since(began).Round(time.Millisecond))
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
