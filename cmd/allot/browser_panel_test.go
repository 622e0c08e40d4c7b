package main

// Browser tests of the group panel's counts, progress bars and tools for
// big groups (docs/ADMIN-CENTER.md), and the paused fixture that makes
// every In progress state of the browser tests deterministic.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/allot-dev/allot/store"
	"github.com/chromedp/chromedp"
)

// newPausedFixture is newFixture whose server processes nothing: its worker
// sleeps for a day after its first batch (--batch-pause), and that batch is
// spent on a warm-up tenant before the test's tenant has any work. The test
// then processes through its own handle on the database (step, settle), so
// a walk stops exactly where the test wants it, whatever the machine's load.
func newPausedFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, "--batch-size", "1", "--batch-pause", "24h")
	op := &client{t: t, base: f.srv.url, token: "op-secret"}
	created := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Warm-up"})
	warm := &client{t: t, base: f.srv.url, token: created["token"].(map[string]any)["secret"].(string)}
	warm.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE1, "seats": 1})
	g := warm.ok(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Warm-up", "mailNickname": "warmup", "mailEnabled": false, "securityEnabled": true})["id"].(string)
	warm.ok(202, "POST", "/v1.0/groups/"+g+"/assignLicense", lic(demoE1))
	warm.waitIdle() // the worker's one batch is done: it sleeps from now on
	db, err := store.Open(context.Background(), store.Config{DSN: f.srv.db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	return f
}

// step processes one batch of up to n users.
func (f *fixture) step(n int) {
	f.c.t.Helper()
	if f.db == nil {
		f.c.t.Fatal("step needs a paused fixture")
	}
	if _, err := f.db.ProcessBatch(context.Background(), n); err != nil {
		f.c.t.Fatal(err)
	}
}

// settle processes until nothing is left: through the test's handle in a
// paused fixture, else by waiting for the server's worker.
func (f *fixture) settle() {
	f.c.t.Helper()
	if f.db == nil {
		f.c.waitIdle()
		return
	}
	for {
		n, err := f.db.ProcessBatch(context.Background(), 500)
		if err != nil {
			f.c.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// members adds n users named prefix0000… with a location to a group.
func (f *fixture) members(group, prefix string, n int) {
	f.c.t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			name := fmt.Sprintf("%s%04d", prefix, i)
			id := f.c.ok(201, "POST", "/v1.0/users", map[string]any{"displayName": name, "userPrincipalName": name + "@fabrikam.example",
				"accountEnabled": true, "mailNickname": name, "usageLocation": "US"})["id"].(string)
			f.c.ok(204, "POST", "/v1.0/groups/"+group+"/members/$ref", map[string]any{"@odata.id": f.srv.url + "/v1.0/directoryObjects/" + id})
		}()
	}
	wg.Wait()
}

// TestBrowserGroupPanelProgress: a walk of a 30-member group that the test
// stops at 10: the panel says In progress with a bar at 10 of 30 and
// counts that add up, at 1280×800 and on a phone; the walk ends and the
// panel follows by itself (counts, status, rows); then search, the filter
// by error kind, select all with the limit of 20, the sticky toolbar,
// removing a member and adding one, and an unassignment's progress.
func TestBrowserGroupPanelProgress(t *testing.T) {
	f := newPausedFixture(t)
	f.c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE3, "seats": 25})
	team := f.group("Big Team")
	f.members(team, "member", 30)
	f.user("zed", "") // no location: a second kind of error
	f.c.ok(204, "POST", "/v1.0/groups/"+team+"/members/$ref", map[string]any{"@odata.id": f.srv.url + "/v1.0/directoryObjects/" + f.users["zed"]})
	f.c.ok(202, "POST", "/v1.0/groups/"+team+"/assignLicense", lic(demoE3))
	b := f.browser(t)
	f.signIn(b, "gloria.global")

	// Queued: In progress, waiting to start.
	b.open(f.panel(demoE3, "Big Team", "success"))
	b.wantText("#panel-status", "In progress")
	b.wantText("#panel-progress", "waiting to start")
	// Ten members done: the bar moves without a reload.
	b.do(chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	f.step(10)
	b.waitFor("the bar at 10 of 31", func() bool { return strings.Contains(b.text("#panel-progress"), "10 of 31 users") })
	if v := eval[int](b, `document.querySelector("#panel-progress progress").value`); v != 10 {
		b.fatal("the bar's value is %d, want 10", v)
	}
	b.wantText("#tab-success", "Successfully assigned (10)")
	b.wantText("#tab-actions", "Actions needed (0)")
	b.wantText("#panel-pending", "21 members have no result for this product yet")
	b.wantText("#panel-seats", "10 of 25 licenses assigned")
	b.shot("31-group-panel-in-progress")
	b.phone(true)
	b.shot("32-phone-group-panel-in-progress")
	b.phone(false)

	// The walk ends: status, counts and rows follow by themselves.
	f.settle()
	b.waitFor("the end of the walk", func() bool { return strings.Contains(b.text("#panel-status"), "Errors & issues") })
	if !eval[bool](b, `window.notReloaded === true`) {
		b.fatal("the page was reloaded")
	}
	b.wantText("#tab-success", "Successfully assigned (25)")
	b.wantText("#tab-actions", "Actions needed (6)")
	b.wantAbsent("#panel-progress", "a finished walk keeps its bar")
	b.waitFor("the rows of the finished walk", func() bool { return b.count("#member-rows tr[data-user]") == 25 })

	// Search and the error filter.
	b.press("#tab-actions")
	b.wantText("#error-kinds", "All errors (6)", "Not enough licenses (5)", "Usage location not specified or not allowed (1)")
	b.press(`#error-kinds a[data-kind="ProhibitedInUsageLocationViolation"]`)
	if got := b.count("#member-rows tr[data-user]"); got != 1 {
		b.fatal("the location filter lists %d users", got)
	}
	b.wantText("#member-rows", "zed", "User usage location not specified")
	b.shot("33-group-panel-error-filter")
	// Who of member0020…member0029 got a seat depends on the order they
	// joined in; the two tabs together list the ten.
	b.press("#tab-success")
	b.do(chromedp.SetValue(chromedp.ID("member-search"), "MEMBER002"))
	b.press("#member-search-button")
	found := b.count("#member-rows tr[data-user]")
	b.press("#tab-actions") // the search stays
	found += b.count("#member-rows tr[data-user]")
	if found != 10 {
		b.fatal("searching member002 finds %d users in the two tabs, want 10", found)
	}
	if names := eval[[]string](b, `Array.from(document.querySelectorAll("#member-rows tr[data-user] th")).map(function(e){return e.innerText})`); len(names) > 0 && !strings.HasPrefix(names[0], "member002") {
		b.fatal("the search lists %v", names)
	}
	b.shot("38-group-panel-search")
	b.press("#tab-success")
	b.press("#member-search-clear")

	// Select all: 25 checked, and plainly too many for a button.
	b.click("#select-all-members")
	b.wantText("#members-form [data-selected-count]", "25 selected — select at most 20")
	b.wantText("#select-limit", "at most 20 users at a time")
	// The toolbar stays at the top of the panel while the list scrolls.
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector(".panel-body").scrollTop = 100000`))
	top := eval[float64](b, `document.querySelector("#members-toolbar").getBoundingClientRect().top - document.querySelector(".panel-body").getBoundingClientRect().top`)
	if top < -1 || top > 16 { // stuck at the panel body's edge (its padding at most)
		b.fatal("the toolbar is %.0f px from the top of the scrolled panel", top)
	}
	b.wantPresent("#reprocess")
	b.shot("34-group-panel-select-all-sticky-toolbar")
	b.phone(true)
	b.shot("35-phone-group-panel-select-all")
	b.phone(false)
	b.press("#reprocess")
	b.wantText("#flash", "You can select up to 20 users at a time, and 25 are selected.")

	// Remove from group, then add back: the article's "remove the user
	// from the group" done here.
	b.open(f.panel(demoE3, "Big Team", "actions"))
	b.selectUser(f.users["zed"])
	b.press("#remove-member")
	b.wantText("#flash", "Removed 1 user from the group: zed.")
	f.settle()
	b.open(f.panel(demoE3, "Big Team", "actions"))
	b.wantText("#tab-actions", "Actions needed (5)")
	b.wantText("#panel-members", "30 members")
	b.do(chromedp.SetValue(chromedp.ID("add-member"), "zed@fabrikam.example"))
	b.press("#add-member-button")
	b.wantText("#flash", "zed is now a member of the group")
	b.wantText("#panel-members", "31 members")
	b.wantText("#panel-status", "In progress")

	// Unassign the product from the group: the Groups tab shows the
	// licenses being removed until the walk is over.
	f.settle()
	b.open("/billing/licenses/" + demoE3 + "/groups")
	b.wantText(rowOf("group", team)+" .members", "31")
	b.click(checkboxOf("group", team))
	b.press("#unassign-groups")
	b.press("#confirm-yes")
	b.wantText("#flash", "Office 365 E3 is unassigned from 1 group: Big Team.")
	b.wantText("#product-progress", "Big Team", "Removing licenses from members", "waiting to start")
	f.step(7)
	b.waitFor("the removal at 7 of 31", func() bool { return strings.Contains(b.text("#product-progress"), "7 of 31 users") })
	b.shot("36-groups-tab-removing-licenses")
	b.phone(true)
	b.shot("37-phone-groups-tab-removing-licenses")
	b.phone(false)
	f.settle()
	b.waitFor("the end of the removal", func() bool { return !b.has("#product-progress") })
	if sku := f.c.ok(200, "GET", "/v1.0/subscribedSkus/"+demoE3, nil); sku["consumedUnits"].(float64) != 0 {
		t.Fatalf("E3 seats not released: %v", sku["consumedUnits"])
	}
}
