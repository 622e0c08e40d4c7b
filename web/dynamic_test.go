package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/web"
)

// Dynamic membership in the admin center (web/dynamic.go): the New
// dynamic group page, the rule editor's builder and text, Validate rules,
// Preview, Save, Pause/Resume and the change of membership type.

// hiddenOf is the value of the form field name as the page drew it.
func hiddenOf(t testing.TB, p page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no field %s on the page (status %d)", name, p.status)
	}
	return html.UnescapeString(m[1])
}

// textareaOf is the text of the textarea whose id is id.
func textareaOf(t testing.TB, p page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<textarea id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</textarea>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no textarea %s on the page (status %d)", id, p.status)
	}
	return html.UnescapeString(m[1])
}

// editorForm is the rule editor's form as the page drew it, with
// csrf_token; the caller changes what a user would.
func editorForm(t testing.TB, p page, token string) url.Values {
	t.Helper()
	f := url.Values{"csrf_token": {token}, "rule": {textareaOf(t, p, "rule")},
		"text_was": {hiddenOf(t, p, "text_was")}, "builder_was": {hiddenOf(t, p, "builder_was")}}
	if strings.Contains(p.body, `name="builder" value="1"`) {
		f.Set("builder", "1")
		sel := regexp.MustCompile(`(?s)<option value="([^"]*)"[^>]*? selected>`)
		join := regexp.MustCompile(`(?s)<select id="join" name="join">(.*?)</select>`).FindStringSubmatch(p.body)
		f.Set("join", sel.FindStringSubmatch(join[1])[1])
		for _, row := range regexp.MustCompile(`(?s)<tr data-row="\d+">(.*?)</tr>`).FindAllStringSubmatch(p.body, -1) {
			selects := regexp.MustCompile(`(?s)<select[^>]*>(.*?)</select>`).FindAllStringSubmatch(row[1], -1)
			prop := ""
			if m := sel.FindStringSubmatch(selects[0][1]); m != nil {
				prop = m[1]
			}
			f.Add("property", prop)
			f.Add("operator", sel.FindStringSubmatch(selects[1][1])[1])
			f.Add("value", html.UnescapeString(regexp.MustCompile(`name="value" value="([^"]*)"`).FindStringSubmatch(row[1])[1]))
		}
	}
	return f
}

func (e *env) group(id string) *allot.Group {
	e.t.Helper()
	g, err := e.db.Group(e.ga, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

// memberNames lists a group's direct members by display name, sorted.
func (e *env) memberNames(id string) []string {
	e.t.Helper()
	page, err := e.db.Members(e.ga, id, false, allot.ListOptions{Top: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range page.Items {
		if m.User != nil {
			out = append(out, m.User.DisplayName)
		}
	}
	slices.Sort(out)
	return out
}

// newDynamic creates a dynamic group through the store, its rule applied.
func (e *env) newDynamic(name, rule string) string {
	e.t.Helper()
	g, err := e.db.CreateGroup(e.ga, allot.GroupCreate{DisplayName: name, MailNickname: strings.ToLower(name), SecurityEnabled: true,
		GroupTypes: []string{allot.GroupDynamic}, MembershipRule: rule})
	if err != nil {
		e.t.Fatal(err)
	}
	e.drain()
	return g.ID
}

const usRule = `user.usageLocation -eq "US"`

// TestDynamicGroupCreate: a Group Administrator creates a dynamic group
// from the Groups page; its members are the users the rule matches, shown
// read-only; a bad rule is refused with its column and creates nothing; a
// Global Reader is offered nothing and refused.
func TestDynamicGroupCreate(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	b, token := e.signIn(allot.RoleGroupAdministrator)
	wantIn(t, b.get("/groups"), `id="new-dynamic-group"`)
	p := b.get("/groups/new")
	wantIn(t, p, "New dynamic group", `id="rule-rows"`, `id="validate-users"`)

	form := editorForm(t, p, token)
	form.Set("displayName", "US staff")
	form.Set("mailNickname", "usstaff")
	form.Set("action", "save")

	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("rule", `user.usageLocation -eq "US" -and`)
	p = b.post("/groups/new", bad)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/groups/new?") {
		t.Fatalf("a bad rule: status %d to %q, want 303 back to the form", p.status, p.header.Get("Location"))
	}
	p = b.follow(p)
	wantIn(t, p, `class="flash flash-error"`, "column", `value="US staff"`)
	if got := textareaOf(t, p, "rule"); got != bad.Get("rule") {
		t.Fatalf("the refused rule shows %q, want what was typed", got)
	}
	if page, err := e.db.ListGroups(e.ga, allot.ListOptions{Top: 10, Count: true}); err != nil || page.Count != 2 {
		t.Fatalf("after a bad rule the tenant has %d groups (%v)", page.Count, err)
	}

	form.Set("rule", usRule)
	res := b.post("/groups/new", form)
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/groups/") {
		t.Fatalf("create: %d %s %s", res.status, res.header.Get("Location"), res.body)
	}
	id := strings.TrimPrefix(res.header.Get("Location"), "/groups/")
	wantIn(t, b.get(res.header.Get("Location")), "Dynamic group US staff created", `id="membership-rule"`, html.EscapeString(usRule))
	g := e.group(id)
	if g.MembershipRule != usRule || g.MembershipRuleProcessingState != allot.RuleOn || !slices.Contains(g.GroupTypes, allot.GroupDynamic) {
		t.Fatalf("created %+v", g)
	}
	e.drain()
	p = b.get("/groups/" + id)
	wantIn(t, p, "Members (1)", "alice@contoso.example", "Members are managed by the rule", `data-status="Succeeded"`, `data-state="On"`, `id="edit-rule"`)
	if strings.Contains(p.body, "bob@contoso.example") || strings.Contains(p.body, `id="to-dynamic"`) {
		t.Fatal("the dynamic group's page lists bob or offers dynamic membership")
	}
	list := b.get("/groups")
	row := list.body[strings.Index(list.body, `data-group="`+id+`"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, `data-membership="dynamic"`) {
		t.Fatalf("the Groups list shows no Dynamic badge: %s", row)
	}
	mkt := list.body[strings.Index(list.body, `data-group="`+e.groups["Marketing"]+`"`):]
	if mkt = mkt[:strings.Index(mkt, "</tr>")]; !strings.Contains(mkt, "Assigned") {
		t.Fatalf("Marketing's row: %s", mkt)
	}

	// A Global Reader: no buttons, and the pages and forms refused.
	rb, rtoken := e.signIn(allot.RoleGlobalReader)
	p = rb.get("/groups/" + id)
	wantIn(t, p, "Members are managed by the rule")
	for _, w := range []string{`id="new-dynamic-group"`, `id="edit-rule"`, `id="pause-rule"`, `id="to-assigned"`} {
		if strings.Contains(p.body+rb.get("/groups").body, w) {
			t.Errorf("a Global Reader is offered %s", w)
		}
	}
	if got := rb.get("/groups/new").status; got != http.StatusForbidden {
		t.Errorf("New dynamic group for a reader: %d", got)
	}
	form.Set("csrf_token", rtoken)
	for path, f := range map[string]url.Values{
		"/groups/new":                   form,
		"/groups/" + id + "/rule":       form,
		"/groups/" + id + "/rule/state": {"csrf_token": {rtoken}, "state": {"Paused"}},
		"/groups/" + id + "/membership": {"csrf_token": {rtoken}, "confirm": {"1"}},
	} {
		if got := rb.post(path, f).status; got != http.StatusForbidden {
			t.Errorf("a reader's POST %s: %d", path, got)
		}
	}
	if g := e.group(id); g.MembershipRuleProcessingState != allot.RuleOn || !slices.Contains(g.GroupTypes, allot.GroupDynamic) {
		t.Fatalf("a reader changed the group: %+v", g)
	}
}

// TestDynamicRuleBuilderAndText: the builder's rows and the text follow
// each other on the server; Save uses the side that was edited, refuses
// when both were; a rule that is not flat is edited as text only.
func TestDynamicRuleBuilderAndText(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	id := e.newDynamic("Dyn", usRule)
	b, token := e.signIn(allot.RoleGroupAdministrator)
	edit := "/groups/" + id + "/rule"
	p := b.get(edit)
	wantIn(t, p, `<option value="usageLocation" data-ops="`, `value="US"`)
	if !regexp.MustCompile(`<option value="usageLocation"[^>]* selected>`).MatchString(p.body) {
		t.Fatal("the builder's row does not show usageLocation")
	}

	// Text → builder.
	f := editorForm(t, p, token)
	f.Set("rule", `(user.department -eq "Sales") -or (user.usageLocation -in ["GB","FR"])`)
	f.Set("action", "from-text")
	p = b.get(edit + "?" + f.Encode())
	if to := p.header.Get("Location"); p.status != http.StatusSeeOther || strings.Contains(to, "csrf_token") || !strings.Contains(to, "action=from-text") {
		t.Fatalf("from-text with the token: %d to %q, want 303 to the same GET without the token", p.status, to)
	}
	if p = b.follow(p); p.status != http.StatusOK {
		t.Fatalf("from-text: %d %s", p.status, p.body)
	}
	wantIn(t, p, `value="-or" selected`, `value="Sales"`, `value="[&#34;GB&#34;,&#34;FR&#34;]"`)
	if n := strings.Count(p.body, `<tr data-row=`); n != 2 {
		t.Fatalf("the builder shows %d rows, want 2", n)
	}

	// Builder → text: a row changed, then Update text from builder.
	f = editorForm(t, p, token)
	f["value"][0] = "Marketing"
	f.Set("join", "-and")
	f.Set("action", "from-builder")
	p = b.get(edit + "?" + f.Encode())
	p = b.follow(p)
	want := `(user.department -eq "Marketing") -and (user.usageLocation -in ["GB","FR"])`
	if got := textareaOf(t, p, "rule"); got != want {
		t.Fatalf("text from the builder: %q, want %q", got, want)
	}

	// Add a row and remove another, without script.
	f = editorForm(t, p, token)
	f.Set("action", "add-row")
	p = b.follow(b.get(edit + "?" + f.Encode()))
	if n := strings.Count(p.body, `<tr data-row=`); n != 3 {
		t.Fatalf("after Add row: %d rows", n)
	}
	f = editorForm(t, p, token)
	f.Set("action", "remove-row-0")
	f.Del("csrf_token")
	p = b.get(edit + "?" + f.Encode())
	if n := strings.Count(p.body, `<tr data-row=`); n != 2 {
		t.Fatalf("after Remove: %d rows", n)
	}

	// Save after editing the builder only: the builder's rule is saved.
	f = editorForm(t, p, token)
	f["property"][1], f["operator"][1], f["value"][1] = "usageLocation", "-eq", "US"
	f.Set("action", "save")
	res := b.post(edit, f)
	if res.status != http.StatusSeeOther {
		t.Fatalf("save from the builder: %d %s", res.status, res.body)
	}
	if g := e.group(id); g.MembershipRule != `(user.usageLocation -in ["GB","FR"]) -and (user.usageLocation -eq "US")` {
		t.Fatalf("saved %q", g.MembershipRule)
	}
	wantIn(t, b.follow(res), "Membership rule saved")
	e.drain()
	if got := e.memberNames(id); len(got) != 0 {
		t.Fatalf("members of an impossible rule: %v", got)
	}

	// Save after editing the text only: the text is saved.
	p = b.get(edit)
	f = editorForm(t, p, token)
	f.Set("rule", `user.usageLocation -eq "GB"`)
	f.Set("action", "save")
	if res := b.post(edit, f); res.status != http.StatusSeeOther {
		t.Fatalf("save from the text: %d %s", res.status, res.body)
	}
	e.drain()
	if got := e.memberNames(id); !slices.Equal(got, []string{"carol"}) {
		t.Fatalf("members after the text's rule: %v", got)
	}

	// Both edited: refused, nothing saved.
	p = b.get(edit)
	f = editorForm(t, p, token)
	f.Set("rule", usRule)
	f["value"][0] = "FR"
	f.Set("action", "save")
	p = b.post(edit, f)
	if p.status != http.StatusSeeOther {
		t.Fatalf("both edited: %d", p.status)
	}
	wantIn(t, b.follow(p), "Both the rule builder and the rule text were changed", `class="flash flash-error"`)
	if g := e.group(id); g.MembershipRule != `user.usageLocation -eq "GB"` {
		t.Fatalf("saved %q", g.MembershipRule)
	}

	// A rule that is not flat: the builder says so, the text still saves.
	f = editorForm(t, b.get(edit), token)
	f.Set("rule", `-not (user.usageLocation -eq "GB")`)
	f.Set("action", "from-text")
	p = b.follow(b.post(edit, f)) // a page drawn when the button posted: sent to the GET
	wantIn(t, p, "This rule can only be edited as text")
	if strings.Contains(p.body, `id="rule-rows"`) {
		t.Fatal("the builder shows rows of a rule it cannot show")
	}
	f = editorForm(t, p, token)
	f.Set("action", "save")
	if res := b.post(edit, f); res.status != http.StatusSeeOther {
		t.Fatalf("save a text-only rule: %d %s", res.status, res.body)
	}
	e.drain()
	if got := e.memberNames(id); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("members of the -not rule: %v", got)
	}
}

// TestDynamicValidateRules: Validate rules shows each user's result and
// the clause tree; a bad rule shows its column and changes nothing.
func TestDynamicValidateRules(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	id := e.newDynamic("Dyn", usRule)
	b, token := e.signIn(allot.RoleGroupAdministrator)
	edit := "/groups/" + id + "/rule"
	f := editorForm(t, b.get(edit), token)
	f.Set("rule", `(user.usageLocation -eq "US") -or (user.displayName -startsWith "car")`)
	f.Set("users", "alice@contoso.example, bob@contoso.example\n"+e.users["carol"])
	f.Set("action", "validate")
	f.Del("csrf_token")
	p := b.get(edit + "?" + f.Encode())
	if p.status != http.StatusOK {
		t.Fatalf("validate: %d %s", p.status, p.body)
	}
	wantIn(t, p, `id="validate-results"`, "Validation results")
	results := regexp.MustCompile(`(?s)<li class="rule-result" data-result="(true|false)">.*?<strong>(\w+)</strong>(.*?)</ul>`).FindAllStringSubmatch(p.body, -1)
	got := map[string]string{}
	for _, r := range results {
		got[r[2]] = r[1]
		if !strings.Contains(r[3], "user.usageLocation -eq") || !strings.Contains(r[3], `data-ok="`) {
			t.Fatalf("%s's clause tree: %s", r[2], r[3])
		}
	}
	if got["alice"] != "true" || got["bob"] != "false" || got["carol"] != "true" {
		t.Fatalf("results %v", got)
	}
	bob := p.body[strings.Index(p.body, "<strong>bob</strong>"):]
	bob = bob[:strings.Index(bob, "</ul>")]
	if strings.Contains(bob, `data-ok="true"`) || !strings.Contains(bob, "✗") {
		t.Fatalf("bob's tree should be all false: %s", bob)
	}

	// A bad rule: the error with its column, nothing validated or saved.
	f.Set("rule", `(user.usageLocation -eq "US") -or (user.nope -eq "x")`)
	p = b.get(edit + "?" + f.Encode())
	if p.status != http.StatusBadRequest {
		t.Fatalf("a bad rule: %d", p.status)
	}
	wantIn(t, p, `id="rule-error"`, "column")
	if strings.Contains(p.body, `id="validate-results"`) {
		t.Fatal("a bad rule shows results")
	}
	f.Set("action", "save")
	f.Set("csrf_token", token)
	if p := b.post(edit, f); p.status != http.StatusSeeOther || !strings.Contains(b.follow(p).body, "column") {
		t.Fatalf("saving a bad rule: %d", p.status)
	}
	if g := e.group(id); g.MembershipRule != usRule {
		t.Fatalf("a bad rule was saved: %q", g.MembershipRule)
	}

	// Unknown users and too many are said so.
	f.Set("rule", usRule)
	f.Set("action", "validate")
	f.Set("users", "nobody@contoso.example")
	wantIn(t, b.follow(b.get(edit+"?"+f.Encode())), "No user is named nobody@contoso.example.")
	many := make([]string, 21)
	for i := range many {
		many[i] = "u" + strings.Repeat("x", i) + "@contoso.example"
	}
	f.Set("users", strings.Join(many, ","))
	wantIn(t, b.follow(b.get(edit+"?"+f.Encode())), "up to 20 users at a time, and 21 are entered")
}

// TestDynamicPauseResume: Pause and Resume change the processing state the
// page shows; a paused rule's new text changes no members until resumed.
func TestDynamicPauseResume(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	id := e.newDynamic("Dyn", usRule)
	b, token := e.signIn(allot.RoleGroupAdministrator)
	p := b.follow(b.post("/groups/"+id+"/rule/state", url.Values{"csrf_token": {token}, "state": {"Paused"}}))
	wantIn(t, p, "Rule processing paused", `data-state="Paused"`, `id="resume-rule"`)
	if g := e.group(id); g.MembershipRuleProcessingState != allot.RulePaused {
		t.Fatalf("state %q", g.MembershipRuleProcessingState)
	}
	f := editorForm(t, b.get("/groups/"+id+"/rule"), token)
	f.Set("rule", `user.usageLocation -eq "GB"`)
	f.Set("action", "save")
	wantIn(t, b.follow(b.post("/groups/"+id+"/rule", f)), "Processing is paused")
	e.drain()
	if got := e.memberNames(id); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("a paused rule changed the members: %v", got)
	}
	p = b.follow(b.post("/groups/"+id+"/rule/state", url.Values{"csrf_token": {token}, "state": {"On"}}))
	wantIn(t, p, "Rule processing resumed", `id="pause-rule"`)
	e.drain()
	if got := e.memberNames(id); !slices.Equal(got, []string{"carol"}) {
		t.Fatalf("members after resuming: %v", got)
	}
	if p := b.post("/groups/"+e.groups["Sales"]+"/rule/state", url.Values{"csrf_token": {token}, "state": {"Paused"}}); p.status != http.StatusBadRequest {
		t.Fatalf("pausing an assigned group: %d", p.status)
	}
}

// TestDynamicConvertAndPreview: Preview tells who would join and the
// seats; Save on an assigned group asks first, then replaces its members
// with the rule's; Change to assigned membership keeps them.
func TestDynamicConvertAndPreview(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	mkt := e.groups["Marketing"]
	e.must(e.db.AssignGroupLicense(e.ga, mkt, []allot.AssignedLicense{{SkuID: skuKiosk, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	b, token := e.signIn(allot.RoleGlobalAdministrator)
	wantIn(t, b.get("/groups/"+mkt), `id="to-dynamic"`, "Assigned membership")
	edit := "/groups/" + mkt + "/rule"
	p := b.get(edit)
	wantIn(t, p, `id="convert-warning"`, "its 3 current members will be replaced by")

	f := editorForm(t, p, token)
	f.Set("rule", usRule)
	f.Set("action", "preview")
	p = b.post(edit, f)
	if p.status != http.StatusSeeOther {
		t.Fatalf("a posted preview: %d, want 303 to its GET", p.status)
	}
	p = b.follow(p)
	if p.status != http.StatusOK {
		t.Fatalf("preview: %d %s", p.status, p.body)
	}
	// Marketing: alice (US), bob, carol hold Kiosk's two seats... alice
	// stays, the other two leave.
	wantIn(t, p, `id="rule-preview"`, "Nothing has been saved yet", `id="preview-members"`, "<strong>0</strong> users would join the group and <strong>2</strong> would leave it")
	if g := e.group(mkt); isDyn(g) {
		t.Fatal("the preview changed the group")
	}
	if got := e.memberNames(mkt); len(got) != 3 {
		t.Fatalf("the preview changed the members: %v", got)
	}

	// Save: the dialog first.
	f.Set("action", "save")
	p = b.post(edit, f)
	if p.status != http.StatusSeeOther {
		t.Fatalf("save of an assigned group: %d, want 303 to the dialog", p.status)
	}
	p = b.follow(p)
	wantIn(t, p, `id="confirm-dialog"`, "Change to dynamic membership", "Its 3 current members will be replaced", `name="confirm" value="1"`)
	if isDyn(e.group(mkt)) {
		t.Fatal("the dialog changed the group")
	}
	confirm := url.Values{"csrf_token": {token}, "action": {"save"}, "rule": {usRule}, "text_was": {""}, "confirm": {"1"}}
	wantIn(t, b.follow(b.post(edit, confirm)), "The group now has dynamic membership")
	e.drain()
	if g := e.group(mkt); !isDyn(g) || g.MembershipRule != usRule {
		t.Fatalf("after converting: %+v", g)
	}
	if got := e.memberNames(mkt); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("members after converting: %v", got)
	}

	// Back to assigned: asked, then done; the members stay.
	wantIn(t, b.get("/groups/"+mkt), `<form method="get" action="/groups/`+mkt+`/membership">`)
	p = b.get("/groups/" + mkt + "/membership")
	wantIn(t, p, "Change to assigned membership", "will keep its 1 current member", `name="confirm" value="1"`)
	if p := b.post("/groups/"+mkt+"/membership", url.Values{"csrf_token": {token}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/groups/"+mkt+"/membership" {
		t.Fatalf("a POST without confirm: %d to %q, want 303 to the dialog", p.status, p.header.Get("Location"))
	}
	if !isDyn(e.group(mkt)) {
		t.Fatal("the dialog changed the group")
	}
	wantIn(t, b.follow(b.post("/groups/"+mkt+"/membership", url.Values{"csrf_token": {token}, "confirm": {"1"}})), "The group now has assigned membership")
	if g := e.group(mkt); isDyn(g) || g.MembershipRule != "" {
		t.Fatalf("after converting back: %+v", g)
	}
	if got := e.memberNames(mkt); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("members after converting back: %v", got)
	}
}

func isDyn(g *allot.Group) bool {
	return slices.Contains(g.GroupTypes, allot.GroupDynamic) || g.MembershipRuleProcessingState != ""
}
