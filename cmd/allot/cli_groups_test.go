package main

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

const salesRule = `(user.department -eq "Sales") -and (user.accountEnabled -eq true)`

// TestCLIDynamicGroup creates a dynamic group, validates rules, pauses and
// resumes it, previews a rule, converts an assigned group and makes the
// dynamic one assigned again, all with `allot group …` against a real
// server. Every wait is --wait's: the rule applied and the queue idle.
func TestCLIDynamicGroup(t *testing.T) {
	w := newCLIWorld(t, 0)
	// ann, ben and cat are in Sales, ben's account is disabled; dan is in
	// Support, eve has no department.
	for n, body := range map[string]map[string]any{
		"ann": {"department": "Sales"}, "ben": {"department": "Sales", "accountEnabled": false},
		"cat": {"department": "Sales"}, "dan": {"department": "Support"},
	} {
		w.c.ok(204, "PATCH", "/v1.0/users/"+w.users[n], body)
	}

	// validate: the rule is OK; ann matches, ben does not, and why.
	r := w.ok("group", "rule", "validate", "--rule", salesRule, "--user", "ann@contoso.example", "--user", w.users["ben"])
	for _, want := range []string{
		"OK: the rule is valid.\n",
		"\n✓ ann@contoso.example is a member\n    ✓ ",
		"\n✗ ben@contoso.example is not a member\n    ✗ ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("validate: no %q in\n%s", want, r.stdout)
		}
	}
	// ben's tree: the department clause true, accountEnabled false, one
	// level below the whole rule.
	_, ben, _ := strings.Cut(r.stdout, "✗ ben@contoso.example")
	if !regexp.MustCompile(`\n        ✓ [^\n]*department[^\n]*\n`).MatchString(ben) ||
		!regexp.MustCompile(`\n        ✗ [^\n]*accountEnabled[^\n]*\n`).MatchString(ben) {
		t.Fatalf("validate: ben's clauses are not indented under the rule:\n%s", r.stdout)
	}
	if r := w.ok("group", "rule", "validate", "--rule", salesRule); r.stdout != "OK: the rule is valid.\n" {
		t.Fatalf("validate without users: %q", r.stdout)
	}
	v := w.jsonObject("group", "rule", "validate", "--rule", salesRule, "--user", "cat@contoso.example")
	res := v["results"].([]any)
	if v["valid"] != true || len(res) != 1 || res[0].(map[string]any)["userPrincipalName"] != "cat@contoso.example" ||
		res[0].(map[string]any)["membershipRuleEvaluationResult"] != true {
		t.Fatalf("validate -o json: %v", v)
	}
	if rows := w.csv("group", "rule", "validate", "--rule", salesRule, "--user", "ben@contoso.example"); len(rows) != 2 || rows[1][2] != "no" {
		t.Fatalf("validate -o csv: %v", rows)
	}

	// A bad rule: the server's message, and a caret under its column.
	bad := `(user.department -eq "Sales") -and (user.nosuchthing -eq "x")`
	r = w.cli("group", "rule", "validate", "--rule", bad)
	checkCaret(t, r, bad)
	r = w.cli("group", "create", "--name", "Broken", "--rule", "  "+bad)
	checkCaret(t, r, bad)

	// create: dynamic, applied with --wait; ann and cat are members.
	r = w.ok("group", "create", "--name", "Sales Team", "--rule", salesRule, "--wait", "--poll", "20ms", "-o", "json")
	var g map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
		t.Fatal(err, r.stdout)
	}
	if g["membership"] != "Dynamic" || g["membershipRule"] != salesRule || g["state"] != "On" || g["status"] != "Succeeded" ||
		num(g["members"]) != 2 || g["mailNickname"] != "salesteam" || g["lastMembershipUpdated"] == nil {
		t.Fatalf("group create --rule --wait: %v", g)
	}
	if !strings.Contains(r.stderr, "Sales Team: processed, 2 members, no license errors") {
		t.Fatalf("group create --wait outcome: %q", r.stderr)
	}
	team := g["id"].(string)
	w.groups["Sales Team"] = team
	if got := memberNames(w, team); !slices.Equal(got, []string{"ann", "cat"}) {
		t.Fatalf("Sales Team members %v", got)
	}
	// Its members cannot be changed by hand.
	w.c.ok(400, "POST", "/v1.0/groups/"+team+"/members/$ref", map[string]any{"@odata.id": w.url + "/v1.0/directoryObjects/" + w.users["eve"]})
	w.ok("assign", "--product", "STANDARDPACK", "--group", "Sales Team", "--wait", "--poll", "20ms")

	// pause: dan moving to Sales does not join; resume --wait applies the
	// rule again and licenses him.
	if p := w.jsonObject("group", "rule", "pause", "Sales Team"); p["state"] != "Paused" {
		t.Fatalf("pause: %v", p)
	}
	w.c.ok(204, "PATCH", "/v1.0/users/"+w.users["dan"], map[string]any{"department": "Sales"})
	w.c.waitIdle()
	if got := memberNames(w, team); !slices.Equal(got, []string{"ann", "cat"}) {
		t.Fatalf("paused Sales Team members %v", got)
	}
	tbl := w.ok("group", "rule", "show", team).stdout
	for _, want := range []string{"Membership:", "Dynamic", "Rule processing:", "Paused", "Rule:", "accountEnabled"} {
		if !strings.Contains(tbl, want) {
			t.Fatalf("rule show: no %q in\n%s", want, tbl)
		}
	}
	p := w.jsonObject("group", "rule", "resume", "Sales Team", "--wait", "--poll", "20ms")
	if p["state"] != "On" || p["status"] != "Succeeded" || num(p["members"]) != 3 {
		t.Fatalf("resume --wait: %v", p)
	}
	if e1 := w.product("STANDARDPACK"); num(e1["assigned"]) != 3 {
		t.Fatalf("STANDARDPACK after resume: %v", e1)
	}

	// preview: dropping the accountEnabled clause adds ben, and his seat.
	r = w.ok("group", "rule", "preview", "Sales Team", "--rule", `user.department -eq "Sales"`)
	for _, want := range []string{"Members Sales Team: 1 join, 0 leave\n", "Seats STANDARDPACK: consumed 3 -> 4 (+1)", "ben@contoso.example"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("rule preview: no %q in\n%s", want, r.stdout)
		}
	}
	pj := w.jsonObject("group", "rule", "preview", "Sales Team", "--rule", `user.department -eq "Sales"`)
	if m := pj["members"].([]any); len(m) != 1 || num(m[0].(map[string]any)["joined"]) != 1 || m[0].(map[string]any)["groupId"] != team {
		t.Fatalf("rule preview -o json: %v", pj)
	}
	if rows := w.csv("group", "rule", "preview", "Sales Team", "--rule", `user.department -eq "Sales"`); len(rows) != 2 || rows[1][0] != "ben@contoso.example" {
		t.Fatalf("rule preview -o csv: %v", rows)
	}
	r = w.cli("group", "rule", "preview", "Sales Team", "--rule", bad)
	checkCaret(t, r, bad)
	if got := memberNames(w, team); len(got) != 3 {
		t.Fatalf("a preview changed the members: %v", got)
	}

	// set: the new rule, applied.
	p = w.jsonObject("group", "rule", "set", "Sales Team", "--rule", `user.department -eq "Sales"`, "--wait", "--poll", "20ms")
	if p["membershipRule"] != `user.department -eq "Sales"` || num(p["members"]) != 4 {
		t.Fatalf("rule set --wait: %v", p)
	}
	if e1 := w.product("STANDARDPACK"); num(e1["assigned"]) != 4 {
		t.Fatalf("STANDARDPACK after rule set: %v", e1)
	}

	// set on an assigned group replaces its members: only with --yes.
	w.fails(2, "Marketing has assigned membership; a rule replaces its 1 members", "group", "rule", "set", "Marketing", "--rule", `user.department -eq "Support"`)
	w.fails(1, "group Marketing has assigned membership and no rule", "group", "rule", "pause", "Marketing")
	w.fails(1, "group Marketing has assigned membership and no rule", "group", "rule", "remove", "Marketing")
	p = w.jsonObject("group", "rule", "set", "Marketing", "--rule", `user.department -eq "Support"`, "--yes", "--wait", "--poll", "20ms")
	if p["membership"] != "Dynamic" || p["state"] != "On" || num(p["members"]) != 0 {
		t.Fatalf("rule set --yes on an assigned group: %v", p)
	}

	// remove: assigned again, with the members the rule gave.
	p = w.jsonObject("group", "rule", "remove", "Sales Team")
	if p["membership"] != "Assigned" || p["membershipRule"] != nil || p["state"] != nil || num(p["members"]) != 4 {
		t.Fatalf("rule remove: %v", p)
	}
	w.c.ok(204, "POST", "/v1.0/groups/"+team+"/members/$ref", map[string]any{"@odata.id": w.url + "/v1.0/directoryObjects/" + w.users["eve"]})

	// An assigned group.
	r = w.ok("group", "create", "--name", "Finance")
	if !strings.Contains(r.stdout, "Membership:") || !strings.Contains(r.stdout, "Assigned") || strings.Contains(r.stdout, "Rule:") {
		t.Fatalf("group create (assigned):\n%s", r.stdout)
	}
	if got := w.jsonObject("group", "create", "--name", "Paused Sales", "--rule", salesRule, "--paused"); got["state"] != "Paused" || num(got["members"]) != 0 {
		t.Fatalf("group create --paused: %v", got)
	}

	// Usage errors.
	w.fails(2, "--name is required", "group", "create")
	w.fails(2, "--paused is for a group with --rule", "group", "create", "--name", "X", "--paused")
	w.fails(2, "--wait is for a group with --rule", "group", "create", "--name", "X", "--wait")
	w.fails(2, "group rule needs an action: show, set, pause, resume, validate, preview, remove", "group", "rule")
	w.fails(2, `group rule: unknown action "bogus"`, "group", "rule", "bogus", "Sales")
	w.fails(2, "group rule validate does not take --yes", "group", "rule", "validate", "--rule", salesRule, "--yes")
	w.fails(2, "group rule pause does not take --rule", "group", "rule", "pause", "Sales Team", "--rule", salesRule)
	w.fails(2, "group rule set: --rule is required", "group", "rule", "set", "Sales Team")
	w.fails(2, `unexpected argument "Sales"`, "group", "rule", "validate", "Sales", "--rule", salesRule)
	w.fails(2, "group rule show: give a group", "group", "rule", "show")
	w.fails(1, "Authorization_RequestDenied", "group", "create", "--name", "Nope", "--token", w.reader)
	if r := runCLIArgs("help", "group", "rule"); r.code != 0 || !strings.Contains(r.stdout, "validate --rule RULE") {
		t.Fatalf("help group rule: %+v", r)
	}
}

// checkCaret checks a refused rule: exit 1, nothing on stdout, the
// server's message naming a column, then the rule with a caret under
// that column.
func checkCaret(t *testing.T, r cliResult, rule string) {
	t.Helper()
	m := regexp.MustCompile(`column (\d+)`).FindStringSubmatch(r.stderr)
	if r.code != 1 || r.stdout != "" || m == nil {
		t.Fatalf("bad rule: %+v", r)
	}
	col, _ := strconv.Atoi(m[1])
	want := "\n  " + rule + "\n  " + strings.Repeat(" ", col-1) + "^\n"
	if !strings.HasSuffix(r.stderr, want) {
		t.Fatalf("bad rule: want the caret %q at the end of %q", want, r.stderr)
	}
	// The column is where the unknown property starts.
	if i := strings.Index(rule, "user.nosuchthing"); col-1 < i || col-1 > i+len("user.") {
		t.Fatalf("bad rule: column %d, the unknown property is at %d: %q", col, i+1, r.stderr)
	}
}

// memberNames are the world's users in group id, by name, sorted.
func memberNames(w *cliWorld, id string) []string {
	w.t.Helper()
	var out []string
	for _, m := range w.c.ok(200, "GET", "/v1.0/groups/"+id+"/members?$select=id", nil)["value"].([]any) {
		for n, uid := range w.users {
			if uid == m.(map[string]any)["id"] {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestCLIDemoDynamicGroup: the demo's "Sales (dynamic)" has, once its
// rule has been applied, exactly the demo's enabled users of the Sales
// department, each licensed for Teams Phone (or in error for want of a
// usage location).
func TestCLIDemoDynamicGroup(t *testing.T) {
	ctx, db, srv := startCLIServer(t, 0)
	signIns, err := seedDemo(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var admin string
	for _, s := range signIns {
		if s.role == allot.RoleGlobalAdministrator {
			admin = s.token
		}
	}
	w := &cliWorld{t: t, url: srv.URL, admin: admin, c: &client{t: t, base: srv.URL, token: admin}}

	// The rule is applied by the worker: wait for it as the CLI does.
	g := w.jsonObject("group", "rule", "resume", "Sales (dynamic)", "--wait", "--poll", "20ms")
	if g["membershipRule"] != demoDynamicRule || g["state"] != "On" || g["status"] != "Succeeded" {
		t.Fatalf("Sales (dynamic): %v", g)
	}
	id := g["id"].(string)

	c, err := (&clientFlags{server: srv.URL, token: admin}).client()
	if err != nil {
		t.Fatal(err)
	}
	type user struct {
		ID, UserPrincipalName, Department, UsageLocation string
		AccountEnabled                                   bool
	}
	var want []string
	located := map[string]bool{}
	err = c.list(ctx, "/v1.0/users", url.Values{"$select": {"id,userPrincipalName,department,usageLocation,accountEnabled"}}, func(raw json.RawMessage) error {
		var u user
		err := json.Unmarshal(raw, &u)
		if u.Department == "Sales" && u.AccountEnabled {
			want = append(want, u.ID)
			located[u.ID] = u.UsageLocation != ""
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = c.list(ctx, "/v1.0/groups/"+id+"/members", url.Values{"$select": {"id"}}, func(raw json.RawMessage) error {
		var m struct{ ID string }
		err := json.Unmarshal(raw, &m)
		got = append(got, m.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	slices.Sort(got)
	// 40 users of 200 are in Sales, and 5 of them are disabled.
	if len(want) != 35 || !slices.Equal(got, want) || num(g["members"]) != 35 {
		t.Fatalf("Sales (dynamic) has %d members, want the %d enabled Sales users:\n got %v\nwant %v", len(got), len(want), got, want)
	}

	// Each member has Teams Phone from the group: active, or in error
	// only for want of a usage location.
	var noLocation int
	for _, u := range got {
		var states []licenseStateBody
		err := c.list(ctx, "/allot/v1/users/"+u+"/licenseStates", nil, func(raw json.RawMessage) error {
			var s licenseStateBody
			err := json.Unmarshal(raw, &s)
			if s.SkuID == demoTeamsFon && s.AssignedByGroup != nil && strings.EqualFold(*s.AssignedByGroup, id) {
				states = append(states, s)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(states) != 1:
			t.Fatalf("member %s has %d Teams Phone licenses from the group", u, len(states))
		case located[u] && states[0].State != allot.StateActive:
			t.Fatalf("member %s: %+v", u, states[0])
		case !located[u]:
			noLocation++
			if states[0].Error != string(allot.ProhibitedInUsageLocationViolation) {
				t.Fatalf("member %s without a usage location: %+v", u, states[0])
			}
		}
	}
	st := w.jsonObject("group", "status", "Sales (dynamic)")
	if num(st["membersWithErrors"]) != noLocation || noLocation == 0 || st["state"] != allot.ProcessingComplete {
		t.Fatalf("group status: %v (members without a location: %d)", st, noLocation)
	}
	for _, p := range w.jsonList("products") {
		if p["skuId"] == demoTeamsFon && num(p["assigned"]) != len(got)-noLocation {
			t.Fatalf("Teams Phone: %v, want %d assigned", p, len(got)-noLocation)
		}
	}
}
