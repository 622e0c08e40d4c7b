package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/web"
)

// skuAudio is Microsoft 365 Audio Conferencing (MCOMEETADV) of the demo
// catalog: a second product for one group.
const skuAudio = "0c266dff-15dd-4b49-8397-2bb16070ed52"

var tabCountRe = regexp.MustCompile(`id="tab-(success|actions)"[^>]*>[^(]*\((\d+)\)`)

// panelCounts reads the two tabs' counts of a panel page.
func panelCounts(t *testing.T, p page) (ok, failed int) {
	t.Helper()
	got := map[string]int{}
	for _, m := range tabCountRe.FindAllStringSubmatch(p.body, -1) {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(got) != 2 {
		t.Fatalf("no tab counts in the panel (status %d)", p.status)
	}
	return got["success"], got["actions"]
}

// storeCounts counts the members with the product Active and in Error
// from the group, as the store holds them.
func (e *env) storeCounts(group, sku string) (ok, failed int) {
	e.t.Helper()
	page, err := e.db.Members(e.ga, group, false, allot.ListOptions{Top: 999, WithLicensing: true})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range page.Items {
		for _, st := range o.User.States {
			if st.Source == group && st.SkuID == sku {
				if st.State == allot.StateActive {
					ok++
				} else {
					failed++
				}
			}
		}
	}
	return ok, failed
}

// TestGroupPanelDescribesOneProduct: a group with two products. Each
// product's panel counts its own states only, its counts add up to the
// members while a walk runs, the walk shows as In progress with done of
// total, the error column holds this product's errors, and the other
// product's errors are one link away.
func TestGroupPanelDescribesOneProduct(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	e.must(e.db.AddSubscription(e.ga, skuAudio, 1))
	mk := e.groups["Marketing"]
	e.must(e.db.AssignGroupLicense(e.ga, mk, []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	e.must(e.db.AssignGroupLicense(e.ga, mk, []allot.AssignedLicense{{SkuID: skuAudio, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	b, _ := e.signIn(allot.RoleGlobalReader)
	for _, sku := range []string{skuE1, skuAudio} {
		panel := "/billing/licenses/" + sku + "/groups/" + mk
		ok, failed := panelCounts(t, b.get(panel))
		wantOK, wantFailed := e.storeCounts(mk, sku)
		if ok != wantOK || failed != wantFailed {
			t.Errorf("%s: the panel says %d assigned, %d with errors; the store holds %d and %d", sku, ok, failed, wantOK, wantFailed)
		}
		if ok+failed != 3 {
			t.Errorf("%s: %d + %d is not the 3 members", sku, ok, failed)
		}
	}
	// Audio has one seat: two members wait for it, which on E1 is Other.
	audio := b.get("/billing/licenses/" + skuAudio + "/groups/" + mk + "?tab=actions")
	wantIn(t, audio, "Not enough licenses", `id="other-products"`, "Office 365 E1 (")
	e1 := b.get("/billing/licenses/" + skuE1 + "/groups/" + mk + "?tab=actions")
	if cells := regexp.MustCompile(`<td class="error-words">([^<]*)</td>`).FindAllStringSubmatch(e1.body, -1); len(cells) == 0 {
		t.Fatal("E1's Actions needed lists nobody")
	} else {
		for _, c := range cells {
			if c[1] == "" || strings.HasPrefix(c[1], "Not enough licenses") {
				t.Errorf("E1's panel shows the error %q, which is Audio Conferencing's", c[1])
			}
		}
	}

	// Reprocess the whole group: one member done of three, the counts of
	// that moment still adding up, the bar and the live region active.
	e.must(nil, e.db.ReprocessGroup(e.ga, mk))
	p := b.get("/billing/licenses/" + skuE1 + "/groups/" + mk + "?tab=success")
	wantIn(t, p, "In progress", "waiting to start", `data-live-active="1"`)
	if _, err := e.db.ProcessBatch(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	p = b.get("/billing/licenses/" + skuE1 + "/groups/" + mk + "?tab=success")
	wantIn(t, p, "In progress", "1 of 3 users", `<progress max="3" value="1"`, `data-live-active="1"`)
	ok, failed := panelCounts(t, p)
	if ok+failed > 3 {
		t.Errorf("mid-walk: %d + %d is more than the 3 members", ok, failed)
	}
	live := b.get("/billing/licenses/" + skuE1 + "/groups/" + mk + "?tab=success&fragment=live")
	if live.status != http.StatusOK || strings.Contains(live.body, "<html") || !strings.Contains(live.body, "1 of 3 users") {
		t.Fatalf("live fragment: %d %q", live.status, live.body)
	}
	e.drain()
	live = b.get("/billing/licenses/" + skuE1 + "/groups/" + mk + "?tab=success&fragment=live")
	wantIn(t, live, `data-live-active="0"`, "Errors &amp; issues")
	if strings.Contains(live.body, "<progress") {
		t.Error("a finished walk still has a progress bar")
	}
}

// TestGroupPanelBigGroups: search, the error filter with counts per kind,
// one order across pages, select all, member counts, and members added
// and removed from the panel (not for a dynamic group).
func TestGroupPanelBigGroups(t *testing.T) {
	e := newEnv(t, web.Config{PageSize: 2}, false)
	mk := e.groups["Marketing"]
	for _, name := range []string{"zoe", "dan", "yuri", "eve", "mia"} {
		u, err := e.db.CreateUser(e.ga, allot.UserCreate{UserPrincipalName: name + "@contoso.example", DisplayName: name, UsageLocation: "US", AccountEnabled: true})
		if err != nil {
			t.Fatal(err)
		}
		e.users[name] = u.ID
		e.must(nil, e.db.AddMember(e.ga, mk, u.ID))
	}
	e.must(e.db.SetSeats(e.ga, skuE1, 100))
	e.must(e.db.AssignGroupLicense(e.ga, mk, []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	b, token := e.signIn(allot.RoleGlobalAdministrator)
	panel := groupsTab() + "/" + mk

	// Pages of two, in name order, nobody twice.
	var names []string
	rowName := regexp.MustCompile(`<th scope="row"><a href="/users/[^"]+">([^<]+)</a>`)
	next := panel + "?tab=success"
	for next != "" {
		p := b.get(next)
		for _, m := range rowName.FindAllStringSubmatch(p.body, -1) {
			names = append(names, m[1])
		}
		next = ""
		if m := regexp.MustCompile(`href="([^"]+)" data-load-more`).FindStringSubmatch(p.body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	want := []string{"alice", "carol", "dan", "eve", "mia", "yuri", "zoe"}
	if !slices.Equal(names, want) {
		t.Fatalf("pages list %v, want %v", names, want)
	}

	// Search by name and by user name.
	p := b.get(panel + "?tab=success&q=YUR")
	if got := rowName.FindAllStringSubmatch(p.body, -1); len(got) != 1 || got[0][1] != "yuri" {
		t.Fatalf("search yur lists %v", got)
	}
	wantIn(t, p, "1 user matches")
	wantIn(t, b.get(panel+"?tab=actions&q=bob@contoso"), "bob")

	// The filter by error kind, with its counts; a kind nobody has lists nobody.
	p = b.get(panel + "?tab=actions")
	wantIn(t, p, `id="error-kinds"`, "All errors (1)", "Usage location not specified or not allowed (1)")
	p = b.get(panel + "?tab=actions&kind=" + string(allot.CountViolation))
	if strings.Contains(p.body, `tr data-user="`+e.users["bob"]+`"`) {
		t.Error("the Not enough licenses filter lists bob, whose error is his location")
	}
	// Select all, and the limit said plainly; the toolbar stays in view.
	wantIn(t, p, `data-select-all aria-label="Select all users on this page"`, "at most 20 users at a time", "sticky-toolbar")

	// Member counts: the Groups tab and the suggestions.
	wantIn(t, b.get(groupsTab()), `<td class="num members">8</td>`)
	wantIn(t, b.get(groupsTab()+"/assign"), "8 members", "0 members")

	// The Users tab's search.
	p = b.get("/billing/licenses/" + skuE1 + "?q=zo")
	if got := rowName.FindAllStringSubmatch(p.body, -1); len(got) != 1 || got[0][1] != "zoe" {
		t.Fatalf("the Users tab's search zo lists %v", got)
	}

	// Remove from group, then add back by user name; the removed member's
	// license goes with its evaluation.
	p = b.follow(b.post(panel+"/action", url.Values{"csrf_token": {token}, "action": {"remove-member"}, "tab": {"actions"}, "user": {e.users["bob"]}}))
	wantIn(t, p, "Removed 1 user from the group: bob.")
	e.drain()
	if ok, failed := e.storeCounts(mk, skuE1); ok+failed != 7 {
		t.Fatalf("after removing bob the group licenses %d users", ok+failed)
	}
	p = b.follow(b.post(panel+"/action", url.Values{"csrf_token": {token}, "action": {"add-member"}, "tab": {"success"}, "member": {"bob@contoso.example"}}))
	wantIn(t, p, "bob is now a member of the group")
	p = b.follow(b.post(panel+"/action", url.Values{"csrf_token": {token}, "action": {"add-member"}, "tab": {"success"}, "member": {"a"}}))
	wantIn(t, p, "Several users match")

	// A License Administrator may not change members.
	lb, ltoken := e.signIn(allot.RoleLicenseAdministrator)
	if st := lb.post(panel+"/action", url.Values{"csrf_token": {ltoken}, "action": {"remove-member"}, "user": {e.users["bob"]}}).status; st != http.StatusForbidden {
		t.Fatalf("a License Administrator's Remove from group: %d, want 403", st)
	}
	if strings.Contains(lb.get(panel).body, `id="remove-member"`) {
		t.Error("a License Administrator is offered Remove from group")
	}

	// A dynamic group's members are the rule's: no buttons, and refused.
	dyn, err := e.db.CreateGroup(e.ga, allot.GroupCreate{DisplayName: "Everyone in US", MailNickname: "everyoneus", SecurityEnabled: true,
		GroupTypes: []string{allot.GroupDynamic}, MembershipRule: `user.usageLocation -eq "US"`, MembershipRuleProcessingState: allot.RuleOn})
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.db.AssignGroupLicense(e.ga, dyn.ID, []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	dpanel := groupsTab() + "/" + dyn.ID
	p = b.get(dpanel)
	wantIn(t, p, "Members are managed by the group")
	if strings.Contains(p.body, `id="remove-member"`) || strings.Contains(p.body, `id="add-member-form"`) {
		t.Error("a dynamic group's panel offers to change its members")
	}
	p = b.follow(b.post(dpanel+"/action", url.Values{"csrf_token": {token}, "action": {"remove-member"}, "tab": {"success"}, "user": {e.users["alice"]}}))
	wantIn(t, p, "Not removed", "dynamic membership")
}

// TestProgressOfUnassignAndPurchase: unassigning a group shows its
// licenses being removed until the walk ends; bought licenses show how
// many of the waiting users got one.
func TestProgressOfUnassignAndPurchase(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	mk := e.groups["Marketing"]
	e.must(e.db.SetSeats(e.ga, skuE1, 1))
	e.must(e.db.AssignGroupLicense(e.ga, mk, []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	// One seat, two members with a location: one waits.
	room, err := e.db.WaitingRoom(e.ga, skuE1, 0, 10)
	if err != nil || room.Total != 1 {
		t.Fatalf("waiting room %+v, %v", room, err)
	}

	bb, btoken := e.signIn(allot.RoleBillingAdministrator)
	panel := groupsTab() + "/" + mk
	p := bb.post(panel+"/purchase", url.Values{"csrf_token": {btoken}, "quantity": {"2"}})
	done := p.header.Get("Location")
	if !strings.Contains(done, "/purchased?of=1") {
		t.Fatalf("Buy went to %q", done)
	}
	p = bb.follow(p)
	wantIn(t, p, "Giving the bought licenses to users waiting for one", "0 of 1 users", `id="purchase-live"`, `data-live-active="1"`)
	e.drain()
	p = bb.get(done + "&fragment=live")
	wantIn(t, p, "1 of 1 users", `data-live-active="0"`, "has it")

	lb, ltoken := e.signIn(allot.RoleLicenseAdministrator)
	lb.follow(lb.post(groupsTab()+"/unassign", url.Values{"csrf_token": {ltoken}, "group": {mk}, "confirm": {"1"}}))
	p = lb.get(groupsTab())
	wantIn(t, p, `id="product-progress"`, "Removing licenses from members", `data-progress-group="`+mk+`"`, `data-live-active="1"`)
	if _, err := e.db.ProcessBatch(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	wantIn(t, lb.get(groupsTab()+"?fragment=live"), "1 of 3 users")
	e.drain()
	p = lb.get(groupsTab() + "?fragment=live")
	if p.status != http.StatusOK || strings.Contains(p.body, "product-progress") || !strings.Contains(p.body, `data-live-active="0"`) {
		t.Fatalf("after the walk the Groups tab still shows progress (%d)", p.status)
	}
	// The answer carries the product's counts, which the script swaps in
	// with the bar: nobody holds E1 once the walk is over.
	wantIn(t, p, `id="product-summary" data-live-part><span><strong>0</strong> assigned`)
}

// TestGroupsTabCountsThisProduct: a product's Groups tab gives each group's
// status on that product, with the number of its members in error on it.
func TestGroupsTabCountsThisProduct(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	for _, g := range []string{"Marketing", "Sales"} {
		e.must(e.db.AssignGroupLicense(e.ga, e.groups[g], []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	}
	e.drain()
	b, _ := e.signIn(allot.RoleGlobalReader)
	p := b.get(groupsTab())
	rows := regexp.MustCompile(`(?s)<tr[^>]*>.*?</tr>`).FindAllString(p.body, -1)
	var marketing, sales string
	for _, r := range rows {
		switch {
		case strings.Contains(r, ">Marketing<"):
			marketing = r
		case strings.Contains(r, ">Sales<"):
			sales = r
		}
	}
	// bob has no usage location: one member of Marketing in error on E1.
	if !strings.Contains(marketing, "Errors &amp; issues") || !strings.Contains(marketing, "1 user in error") {
		t.Errorf("Marketing's row: %s", marketing)
	}
	if !strings.Contains(sales, "All licenses assigned") {
		t.Errorf("Sales's row: %s", sales)
	}
}
