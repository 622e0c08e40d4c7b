package main

// Page timings of the admin center on a big tenant (docs/PERFORMANCE.md,
// "Admin center page timings"): a measurement, not a test. It fails only
// when it cannot measure; the figures are written out, never judged, since
// a shared or busy machine would make a timing threshold flaky.
//
//	ALLOT_PAGETIMES=100000 go test ./cmd/allot/ -run '^TestPageTimes$' -v -timeout 30m
//
// With ALLOT_PAGETIMES_DB=path the tenant's database is kept there, and a
// later run with the same path and size reuses it instead of building it
// again (the store's new migrations apply to it on open).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/web"
)

// pageTimesErrors is the size of the group whose panel is timed: every
// member but the licenses' 100 in error.
const pageTimesErrors = 10000

func TestPageTimes(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ALLOT_PAGETIMES"))
	if n < 1000 {
		t.Skip("a measurement, not a test: set ALLOT_PAGETIMES to the tenant's users (e.g. 100000) to run it")
	}
	chromiumPath(t)
	loads := 20
	if v, _ := strconv.Atoi(os.Getenv("ALLOT_PAGETIMES_LOADS")); v > 0 {
		loads = v
	}
	ctx := context.Background()
	path := os.Getenv("ALLOT_PAGETIMES_DB")
	if path == "" {
		path = filepath.Join(t.TempDir(), "pagetimes.db")
	}
	// The sidecar names what a kept database holds.
	type kept struct {
		Users         int
		Tenant, Group string
		Errors        int
	}
	var k kept
	if b, err := os.ReadFile(path + ".json"); err == nil {
		if json.Unmarshal(b, &k) != nil || k.Users != n {
			k = kept{}
		}
	}
	if k.Tenant == "" {
		os.Remove(path)
	}
	db, err := store.Open(ctx, store.Config{DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if k.Tenant != "" {
		admin := allot.NewContextWithActor(ctx, allot.Actor{TenantID: k.Tenant, Role: allot.RoleGlobalAdministrator, Name: "bench"})
		g, err := db.Group(admin, k.Group)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("reusing the tenant of %d users in %s", n, path)
		measurePages(t, db, k.Tenant, g.ID, k.Errors, n, loads, true)
		return
	}

	// The tenant of `allot bench`, through the same CSV import, with
	// Office 365 E1 assigned to the all-users group.
	r := &benchReport{Users: n, Groups: 1000, BatchSize: 1000}
	b := &benchRun{ctx: ctx, db: db, r: r, rng: mrand.New(mrand.NewPCG(1, 2)), step: t.Logf}
	start := time.Now()
	if err := b.buildTenant(); err != nil {
		t.Fatal(err)
	}
	if err := b.assignAll(demoE1, true)(); err != nil {
		t.Fatal(err)
	}
	if err := b.drain(); err != nil {
		t.Fatal(err)
	}
	// A group of pageTimesErrors+100 users given Office 365 E5, which has
	// 100 licenses: pageTimesErrors members in error.
	g, err := db.CreateGroup(b.admin, allot.GroupCreate{DisplayName: "Ten thousand errors", MailNickname: "errors10k", SecurityEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	in := &csvio.Import{MembershipsFile: "memberships.csv"}
	for i := range min(pageTimesErrors+100, n) {
		in.Memberships = append(in.Memberships, csvio.MembershipRow{Line: i + 2, Group: "errors10k", User: benchUPN(i)})
	}
	if err := b.importCSV(in); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AssignGroupLicense(b.admin, g.ID, []allot.AssignedLicense{{SkuID: demoE5}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.drain(); err != nil {
		t.Fatal(err)
	}
	errs, err := db.Members(b.admin, g.ID, false, allot.ListOptions{ErrorsOnly: true, Top: 1, Count: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tenant of %d users built and licensed in %.0fs; the group has %d members in error", n, time.Since(start).Seconds(), errs.Count)
	if os.Getenv("ALLOT_PAGETIMES_DB") != "" {
		b, _ := json.Marshal(kept{Users: n, Tenant: b.tenant, Group: g.ID, Errors: errs.Count})
		if err := os.WriteFile(path+".json", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	measurePages(t, db, b.tenant, g.ID, errs.Count, n, loads, false)
}

// measurePages times the admin center's pages on the built tenant.
// A reused database has the account already.
func measurePages(t *testing.T, db *store.DB, tenant, group string, inError, n, loads int, reused bool) {
	const password = "page timings password"
	if _, err := db.CreateAccount(operator, tenant, "pagetimes", "", allot.RoleGlobalAdministrator, password); err != nil && !reused {
		t.Fatal(err)
	}
	h, err := web.New(web.Config{Services: db.Services(), Alerts: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	br := newBrowser(t, srv.URL)
	br.signIn("pagetimes", password)

	e1, e5 := "/billing/licenses/"+demoE1, "/billing/licenses/"+demoE5
	pages := []struct{ name, path string }{
		{"Home", "/"},
		{"Subscriptions", "/billing/licenses"},
		{"Office 365 E1, Users tab", e1},
		{"Office 365 E1, Groups tab", e1 + "/groups"},
		{fmt.Sprintf("group panel, Actions needed (%d errors)", inError), e5 + "/groups/" + group + "?tab=actions"},
		{"Active users", "/users"},
	}
	var out strings.Builder
	fmt.Fprintf(&out, "%d users, %d loads a page after 2 to warm up, %s, %d CPUs, SQLite\n\n", n, loads, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU())
	out.WriteString("| page | first byte p50 | first byte p95 | DOMContentLoaded p50 | DOMContentLoaded p95 | HTML size |\n|---|---|---|---|---|---|\n")
	for _, p := range pages {
		var ttfb, dcl []float64
		size := 0
		for i := range loads + 2 {
			br.open(p.path)
			timing := eval[[]float64](br, `(function(){var n=performance.getEntriesByType('navigation')[0];
				return [n.responseStart - n.startTime, n.domContentLoadedEventEnd - n.startTime, n.transferSize || n.encodedBodySize]})()`)
			if i < 2 {
				continue
			}
			ttfb, dcl = append(ttfb, timing[0]), append(dcl, timing[1])
			size = int(timing[2])
		}
		fmt.Fprintf(&out, "| %s | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %d KB |\n", p.name,
			percentile(ttfb, 50), percentile(ttfb, 95), percentile(dcl, 50), percentile(dcl, 95), size/1024)
	}
	t.Log("\n" + out.String())
	dir := filepath.Dir(artifactsDir(t))
	if err := os.WriteFile(filepath.Join(dir, "pagetimes.md"), []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
