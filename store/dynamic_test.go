package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
)

func (e *env) dynamicGroup(name, rule string) *allot.Group {
	e.t.Helper()
	g, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{DisplayName: name, MailNickname: name, SecurityEnabled: true,
		GroupTypes: []string{allot.GroupDynamic}, MembershipRule: rule})
	e.must(err)
	return g
}

func (e *env) profiled(upn, loc, dept string) *allot.User {
	e.t.Helper()
	u, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: upn, DisplayName: upn, UsageLocation: loc, AccountEnabled: true,
		Profile: allot.Profile{Department: dept}})
	e.must(err)
	return u
}

func (e *env) setDept(uid, dept string) {
	e.t.Helper()
	_, err := e.db.UpdateUser(e.ctx, uid, allot.UserUpdate{Profile: allot.Profile{Department: dept}, ProfileFields: []string{"department"}})
	e.must(err)
}

// members lists a group's direct member ids, sorted.
func (e *env) members(gid string) []string {
	e.t.Helper()
	page, err := e.db.Members(e.ctx, gid, false, allot.ListOptions{Top: 999})
	e.must(err)
	var out []string
	for _, m := range page.Items {
		if m.User != nil {
			out = append(out, m.User.ID)
		} else {
			out = append(out, m.Group.ID)
		}
	}
	slices.Sort(out)
	return out
}

func (e *env) wantMembers(gid string, want ...string) {
	e.t.Helper()
	slices.Sort(want)
	if got := e.members(gid); !slices.Equal(got, want) {
		e.t.Fatalf("members of %s: got %v, want %v", gid, got, want)
	}
}

func TestDynamicMembership(t *testing.T) {
	e := newEnv(t, "")
	e.sub(skuE3, 10)
	a := e.profiled("a@x", "US", "Sales")
	b := e.profiled("b@x", "DE", "Sales")
	c := e.profiled("c@x", "US", "Engineering")
	g := e.dynamicGroup("sales-us", `(user.department -eq "Sales") -and (user.usageLocation -eq "US")`)
	if g.MembershipRuleProcessingState != allot.RuleOn || g.RuleStatus != allot.RuleNotStarted {
		t.Fatalf("a new dynamic group: state %q status %q", g.MembershipRuleProcessingState, g.RuleStatus)
	}
	e.drain(2)
	e.wantMembers(g.ID, a.ID)
	if g, _ = e.db.Group(e.ctx, g.ID); g.RuleStatus != allot.RuleSucceeded || g.RuleApplied.IsZero() {
		t.Fatalf("after the walk: status %q, applied %v", g.RuleStatus, g.RuleApplied)
	}
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE3), []string{})
	e.must(err)
	e.drain(10)
	rvWant(e, a.ID, skuE3, g.ID, allot.StateActive, allot.NoLicenseError)
	e.check()

	// A change of a user moves it in the same transaction; licensing follows.
	loc := "US"
	_, err = e.db.UpdateUser(e.ctx, c.ID, allot.UserUpdate{UsageLocation: &loc, Profile: allot.Profile{Department: "sales"}, ProfileFields: []string{"department"}})
	e.must(err)
	e.wantMembers(g.ID, a.ID, c.ID) // case-insensitive, as Microsoft's
	e.drain(10)
	rvWant(e, c.ID, skuE3, g.ID, allot.StateActive, allot.NoLicenseError)
	e.setDept(a.ID, "Engineering")
	e.wantMembers(g.ID, c.ID)
	e.drain(10)
	rvNoStates(e, a.ID)
	e.check()

	// Members are the rule's: not added or removed by hand.
	rvCode(t, "add a member by hand", e.db.AddMember(e.ctx, g.ID, b.ID), allot.EINVALID)
	rvCode(t, "remove a member by hand", e.db.RemoveMember(e.ctx, g.ID, c.ID), allot.EINVALID)

	// Paused: nothing moves; resumed: every user is walked again.
	paused, on := allot.RulePaused, allot.RuleOn
	_, err = e.db.UpdateGroup(e.ctx, g.ID, allot.GroupUpdate{MembershipRuleProcessingState: &paused})
	e.must(err)
	_, err = e.db.UpdateUser(e.ctx, b.ID, allot.UserUpdate{UsageLocation: &loc})
	e.must(err)
	e.drain(10)
	e.wantMembers(g.ID, c.ID)
	_, err = e.db.UpdateGroup(e.ctx, g.ID, allot.GroupUpdate{MembershipRuleProcessingState: &on})
	e.must(err)
	e.drain(10)
	e.wantMembers(g.ID, b.ID, c.ID)
	rvWant(e, b.ID, skuE3, g.ID, allot.StateActive, allot.NoLicenseError)
	e.check()

	// A changed rule is applied to every user.
	rule := `user.department -startsWith "Eng"`
	_, err = e.db.UpdateGroup(e.ctx, g.ID, allot.GroupUpdate{MembershipRule: &rule})
	e.must(err)
	e.drain(10)
	e.wantMembers(g.ID, a.ID)
	rvNoStates(e, b.ID)
	e.check()

	// Made static, the group keeps its members, which admins then manage.
	none := []string{}
	_, err = e.db.UpdateGroup(e.ctx, g.ID, allot.GroupUpdate{GroupTypes: &none})
	e.must(err)
	got, err := e.db.Group(e.ctx, g.ID)
	e.must(err)
	if got.MembershipRule != "" || got.MembershipRuleProcessingState != "" || got.RuleStatus != "" {
		t.Fatalf("a static group keeps rule %q, state %q, status %q", got.MembershipRule, got.MembershipRuleProcessingState, got.RuleStatus)
	}
	e.wantMembers(g.ID, a.ID)
	e.must(e.db.AddMember(e.ctx, g.ID, b.ID))
	e.setDept(b.ID, "Nothing") // no rule any more: b stays
	e.wantMembers(g.ID, a.ID, b.ID)

	// Made dynamic again, its members are the rule's, its nested groups go.
	sub := e.group("sub")
	e.must(e.db.AddMember(e.ctx, g.ID, sub.ID))
	dyn, rule := []string{allot.GroupDynamic}, `user.department -eq "Nothing"`
	_, err = e.db.UpdateGroup(e.ctx, g.ID, allot.GroupUpdate{GroupTypes: &dyn, MembershipRule: &rule})
	e.must(err)
	e.drain(10)
	e.wantMembers(g.ID, b.ID)
	e.check()
}

func TestDynamicMembershipRefusals(t *testing.T) {
	e := newEnv(t, "US")
	before := rvSnapshot(e, e.ctx)
	for _, c := range []struct{ name, rule, want string }{
		{"unknown property", `user.departmnt -eq "Sales"`, "column 1"},
		{"bad operator", `user.department -equals "Sales"`, "column 17"},
		{"device rule", `device.deviceOSType -eq "iPad"`, "device"},
		{"time-relative", `user.createdDateTime -ge system.now -minus p30d`, "time"},
		{"unbalanced", `(user.department -eq "Sales"`, "column"},
	} {
		_, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{DisplayName: "x", MailNickname: "x", SecurityEnabled: true,
			GroupTypes: []string{allot.GroupDynamic}, MembershipRule: c.rule})
		rvCode(t, c.name, err, allot.EINVALID)
		if !strings.Contains(allot.ErrorMessage(err), c.want) {
			t.Errorf("%s: %q does not say %q", c.name, allot.ErrorMessage(err), c.want)
		}
	}
	for _, c := range []struct {
		name string
		in   allot.GroupCreate
	}{
		{"dynamic without a rule", allot.GroupCreate{GroupTypes: []string{allot.GroupDynamic}}},
		{"a rule without the type", allot.GroupCreate{MembershipRule: `user.department -eq "x"`}},
		{"a bad state", allot.GroupCreate{GroupTypes: []string{allot.GroupDynamic}, MembershipRule: `user.department -eq "x"`, MembershipRuleProcessingState: "Off"}},
		{"a rule too long", allot.GroupCreate{GroupTypes: []string{allot.GroupDynamic}, MembershipRule: `user.department -eq "` + strings.Repeat("x", 3100) + `"`}},
	} {
		c.in.DisplayName, c.in.MailNickname = "x", "x"
		_, err := e.db.CreateGroup(e.ctx, c.in)
		rvCode(t, c.name, err, allot.EINVALID)
	}
	if after := rvSnapshot(e, e.ctx); after != before {
		t.Fatalf("refused requests changed the tenant:\n%s\n%s", before, after)
	}
}

// TestDynamicMembershipTimeOrdersTheWaitingRoom: the membership time is
// when the rule added the user, so the first user to match takes the seat.
func TestDynamicMembershipTimeOrdersTheWaitingRoom(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE3, 1)
	first := e.profiled("z@x", "", "")
	second := e.profiled("a@x", "", "")
	g := e.dynamicGroup("sales", `user.department -eq "Sales"`)
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE3), []string{})
	e.must(err)
	e.drain(10)
	e.setDept(first.ID, "Sales") // z matches first: it gets the one seat,
	e.setDept(second.ID, "Sales")
	e.drain(10)
	rvWant(e, first.ID, skuE3, g.ID, allot.StateActive, allot.NoLicenseError)
	rvWant(e, second.ID, skuE3, g.ID, allot.StateError, allot.CountViolation)
	// and when it leaves, the seat passes to the one who waits.
	e.setDept(first.ID, "")
	e.drain(10)
	rvWant(e, second.ID, skuE3, g.ID, allot.StateActive, allot.NoLicenseError)
	e.check()
}

// TestDynamicRulesOnPlans: a rule that reads assignedPlans follows the
// plans users hold, and rules and licenses that would loop are refused.
func TestDynamicRulesOnPlans(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE3, 10)
	e.sub(skuAudio, 10)
	staff := e.group("staff")
	u := e.user("u@x", "")
	e.must(e.db.AddMember(e.ctx, staff.ID, u.ID))
	_, err := e.db.AssignGroupLicense(e.ctx, staff.ID, lic(skuE3), []string{})
	e.must(err)
	teams := `user.assignedPlans -any (assignedPlan.servicePlanId -eq "` + pTeams + `" -and assignedPlan.capabilityStatus -eq "Enabled")`
	audio := e.dynamicGroup("audio", teams)
	_, err = e.db.AssignGroupLicense(e.ctx, audio.ID, lic(skuAudio), []string{})
	e.must(err)
	e.drain(10)
	e.wantMembers(audio.ID, u.ID)
	rvWant(e, u.ID, skuAudio, audio.ID, allot.StateActive, allot.NoLicenseError)
	e.check()
	// Teams disabled in staff's E3: u no longer has it, leaves audio and
	// loses Audio Conferencing, all through processing.
	_, err = e.db.AssignGroupLicense(e.ctx, staff.ID, lic(skuE3, pTeams), []string{})
	e.must(err)
	e.drain(10)
	e.wantMembers(audio.ID)
	if st := e.states(u.ID); len(st) != 1 {
		t.Fatalf("u keeps %v", st)
	}
	e.check()

	// The group granting the plan its own rule reads: refused.
	before := rvSnapshot(e, e.ctx)
	_, err = e.db.AssignGroupLicense(e.ctx, audio.ID, lic(skuE3), []string{})
	rvCode(t, "license a group with the plan its rule reads", err, allot.EINVALID)
	if !strings.Contains(allot.ErrorMessage(err), "audio") {
		t.Errorf("the refusal does not name the group: %s", allot.ErrorMessage(err))
	}
	// A loop through two groups: audio reads Teams; loop reads Audio's
	// plan and grants Teams.
	loop := e.dynamicGroup("loop", `user.assignedPlans -any (assignedPlan.servicePlanId -eq "`+pAudio+`")`)
	before = rvSnapshot(e, e.ctx)
	_, err = e.db.AssignGroupLicense(e.ctx, loop.ID, lic(skuE3), []string{})
	rvCode(t, "close a loop through two groups", err, allot.EINVALID)
	if msg := allot.ErrorMessage(err); !strings.Contains(msg, "loop") || !strings.Contains(msg, "audio") {
		t.Errorf("the refusal does not show the loop: %s", msg)
	}
	if after := rvSnapshot(e, e.ctx); after != before {
		t.Fatal("a refused assignment changed the tenant")
	}
	// Nested: a dynamic group reading Teams, nested in a group whose E3
	// (with Teams) reaches nested groups, would license its own members.
	parent := e.group("parent")
	_, err = e.db.AssignGroupLicense(e.ctx, parent.ID, nestedLic(skuE3, true), []string{})
	e.must(err)
	rvCode(t, "nest a dynamic group under licenses its rule reads", e.db.AddMember(e.ctx, parent.ID, audio.ID), allot.EINVALID)
	other := e.group("other")
	e.must(e.db.AddMember(e.ctx, other.ID, audio.ID))
	_, err = e.db.AssignGroupLicense(e.ctx, other.ID, nestedLic(skuE3, true), []string{})
	rvCode(t, "include nested groups over a dynamic group reading the plans", err, allot.EINVALID)
	_, err = e.db.AssignGroupLicense(e.ctx, other.ID, nestedLic(skuE3, false), []string{})
	e.must(err)
	// A rule reading any plan cannot be given to a licensed group.
	anyPlan := `user.assignedPlans -any (assignedPlan.capabilityStatus -eq "Enabled")`
	_, err = e.db.UpdateGroup(e.ctx, audio.ID, allot.GroupUpdate{MembershipRule: &anyPlan})
	rvCode(t, "a rule on any plan for a licensed group", err, allot.EINVALID)
	e.drain(10)
	e.check()
}

// TestDynamicRuleWalkIsResumable: a walk keeps its cursor and progress in
// the queue, batch by batch, and shows them on the group.
func TestDynamicRuleWalkIsResumable(t *testing.T) {
	e := newEnv(t, "US")
	var want []string
	for i := range 7 {
		dept := "Ops"
		if i%2 == 0 {
			dept = "Sales"
		}
		u := e.profiled(string(rune('a'+i))+"@x", "", dept)
		if dept == "Sales" {
			want = append(want, u.ID)
		}
	}
	g := e.dynamicGroup("sales", `user.department -eq "Sales"`)
	n, err := e.db.ProcessBatch(context.Background(), 3)
	e.must(err)
	if n != 3 {
		t.Fatalf("first batch did %d", n)
	}
	got, err := e.db.Group(e.ctx, g.ID)
	e.must(err)
	if got.RuleStatus != allot.RuleRunning || got.RuleDone != 3 || got.RuleTotal != 7 {
		t.Fatalf("mid-walk status %s %d/%d", got.RuleStatus, got.RuleDone, got.RuleTotal)
	}
	st, err := e.db.Status(e.ctx)
	e.must(err)
	if len(st.Groups) != 1 || st.Groups[0].GroupID != g.ID || st.Groups[0].Done != 3 {
		t.Fatalf("status: %+v", st.Groups)
	}
	e.drain(3)
	e.wantMembers(g.ID, want...)
	if len(rvAuditOf(e, "Finish applying membership rule", g.ID)) != 1 {
		t.Fatal("the walk's end is not audited")
	}
}

// TestDynamicPreviewAndEvaluate: a draft rule evaluated clause by clause,
// and its what-if, change nothing.
func TestDynamicPreviewAndEvaluate(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE3, 1)
	a := e.profiled("a@x", "", "Sales")
	b := e.profiled("b@x", "", "Sales")
	e.profiled("c@x", "", "Ops")
	g := e.group("static")
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE3), []string{})
	e.must(err)
	e.drain(10)
	before := rvSnapshot(e, e.ctx)
	evs, err := e.db.EvaluateMembershipRule(e.ctx, "", `(user.department -eq "Sales") -and (user.usageLocation -eq "US")`, []string{a.ID})
	e.must(err)
	d := evs[0].Details
	if evs[0].Result || d.Result || len(d.Children) != 2 || !d.Children[0].Result || d.Children[1].Result {
		t.Fatalf("evaluation: %+v", evs[0])
	}
	_, err = e.db.EvaluateMembershipRule(e.ctx, "", `user.department -eq`, []string{a.ID})
	rvCode(t, "evaluate a bad rule", err, allot.EINVALID)
	p, err := e.db.Preview(e.ctx, []allot.PreviewChange{{Op: allot.PreviewSetMembershipRule, GroupID: g.ID, MembershipRule: `user.department -eq "Sales"`}})
	e.must(err)
	if len(p.Members) != 1 || p.Members[0].Joined != 2 || p.Members[0].Left != 0 {
		t.Fatalf("preview members: %+v", p.Members)
	}
	if p.Totals.Gained != 1 || p.Totals.IntoError != 1 {
		t.Fatalf("preview totals: %+v", p.Totals)
	}
	if after := rvSnapshot(e, e.ctx); after != before {
		t.Fatal("evaluating and previewing changed the tenant")
	}
	_ = b
}

// TestDynamicMembershipFromImport: users.csv moves users in and out of
// dynamic groups as the API does; memberships.csv cannot name one, and
// pruning leaves its members alone.
func TestDynamicMembershipFromImport(t *testing.T) {
	e := newEnv(t, "US")
	g := e.dynamicGroup("sales", `user.department -eq "Sales"`)
	static := e.group("static")
	e.drain(10)
	e.importUsers("userPrincipalName,displayName,department\nann@x,Ann,Sales\nben@x,Ben,Ops\n", false)
	ann, err := e.db.User(e.ctx, "ann@x")
	e.must(err)
	e.wantMembers(g.ID, ann.ID)
	e.importUsers("userPrincipalName,displayName,department\nann@x,Ann,Ops\nben@x,Ben,sales\n", false)
	ben, err := e.db.User(e.ctx, "ben@x")
	e.must(err)
	e.wantMembers(g.ID, ben.ID)

	var errs csvio.Errors
	in := &csvio.Import{MembershipsFile: "memberships.csv", Memberships: csvio.ParseMemberships("memberships.csv", []byte("groupMailNickname,userPrincipalName\nsales,ann@x\n"), &errs)}
	if errs.Len() > 0 {
		t.Fatal(errs.Error())
	}
	rep, err := e.db.ImportCSV(e.ctx, in, false)
	e.must(err)
	if !strings.Contains(rep.Errors.Error(), "memberships.csv:2") || !strings.Contains(rep.Errors.Error(), "dynamic") {
		t.Fatalf("a membership of a dynamic group: %v", rep.Errors.Error())
	}
	e.wantMembers(g.ID, ben.ID)
	in = &csvio.Import{MembershipsFile: "memberships.csv", PruneMemberships: true,
		Memberships: csvio.ParseMemberships("memberships.csv", []byte("groupMailNickname,userPrincipalName\nstatic,ann@x\n"), &errs)}
	rep, err = e.db.ImportCSV(e.ctx, in, false)
	e.must(err)
	if rep.Errors.Len() > 0 {
		t.Fatal(rep.Errors.Error())
	}
	e.wantMembers(g.ID, ben.ID)
	e.wantMembers(static.ID, ann.ID)
}
