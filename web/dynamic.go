package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/dynrule"
)

// Dynamic membership groups (docs/DYNAMIC-GROUPS.md): New dynamic group,
// the rule editor of a group (a builder of property/operator/value rows and
// the rule's text), Validate rules, the what-if preview of a new rule, Save,
// Pause/Resume, and turning a group's membership dynamic or assigned.
//
// The builder and the text are one form. Without script, a button copies
// one side into the other on the server (dynrule.Build, Rule.Flat); the
// script does the same as the user types, through the same handler. Each
// side is sent with what it said when the page was drawn (text_was,
// builder_was), so that Validate, Preview and Save use the side that was
// edited, and refuse to guess when both were.

// maxRuleRows bounds the builder's rows; a longer rule is edited as text.
const maxRuleRows = 50

type ruleRow struct {
	Property, Operator, Value string
}

// builderProperty is a property the builder offers, with its operators
// for the script to narrow the operator list to.
type builderProperty struct {
	Name, Kind string
	Ops        string // space-separated
}

type ruleEditor struct {
	Action string // where the form posts
	Cancel string
	New    bool // the New dynamic group page
	Name   string
	Nick   string

	GroupID     string
	GroupName   string
	Static      bool // saving makes the group dynamic
	MemberCount int
	State       string // of a dynamic group: On or Paused

	Text        string
	Join        string // "-and" or "-or"
	Rows        []ruleRow
	Flat        bool // the builder can show Text
	TextWas     string
	BuilderWas  string
	Properties  []builderProperty
	Operators   []string
	Error       string // the rule's or the form's, e.g. a bad rule with its column
	BuilderNote string // why the builder shows nothing
	Notice      string

	Users    string // the Validate rules box as typed
	Results  []ruleResult
	Preview  *rulePreview
	Confirm  *confirmData
	MaxUsers int
}

type ruleResult struct {
	Name, UPN string
	Result    bool
	Tree      []ruleNode
}

// ruleNode is a clause of the evaluation tree, flattened with its depth
// for the template.
type ruleNode struct {
	Expression string
	Result     bool
	Depth      int
}

type rulePreview struct {
	Joined, Left int
	Data         *previewData
}

var builderOperators = []string{"-eq", "-ne", "-startsWith", "-notStartsWith", "-endsWith", "-notEndsWith",
	"-contains", "-notContains", "-match", "-notMatch", "-in", "-notIn", "-le", "-ge"}

// builderProperties are the properties a flat rule can compare: all but
// assignedPlans, which only -any and -all take.
func builderProperties() []builderProperty {
	var out []builderProperty
	for _, p := range dynrule.PropertyList() {
		ops := slices.DeleteFunc(slices.Clone(p.Operators), func(o string) bool { return o == "-any" || o == "-all" })
		if len(ops) == 0 {
			continue
		}
		out = append(out, builderProperty{Name: p.Name, Kind: p.Kind, Ops: strings.Join(ops, " ")})
	}
	return out
}

func isDynamic(g *allot.Group) bool {
	return g.MembershipRuleProcessingState != "" || slices.Contains(g.GroupTypes, allot.GroupDynamic)
}

func groupURL(id string) string { return "/groups/" + url.PathEscape(id) }

// builderKey is what the builder says, to tell whether it was edited. It
// is JSON, since the page carries it in an attribute, which would not keep
// control characters.
func builderKey(join string, rows []ruleRow) string {
	if len(rows) == 0 {
		return ""
	}
	b, _ := json.Marshal(struct {
		J string
		R []ruleRow
	}{normJoin(join), rows})
	return string(b)
}

func normJoin(j string) string {
	if strings.EqualFold(strings.TrimPrefix(j, "-"), "or") {
		return "-or"
	}
	return "-and"
}

// rowsFromForm reads the builder's rows; a row without a property is left out.
func rowsFromForm(f url.Values) []ruleRow {
	props, ops, vals := f["property"], f["operator"], f["value"]
	var rows []ruleRow
	for i := range props {
		r := ruleRow{Property: strings.TrimSpace(props[i])}
		if i < len(ops) {
			r.Operator = ops[i]
		}
		if i < len(vals) {
			r.Value = vals[i]
		}
		rows = append(rows, r)
	}
	return rows
}

// setText shows text in the builder too, when it is flat.
func (e *ruleEditor) setText(text string) {
	e.Text = text
	e.Rows, e.Flat, e.BuilderNote = nil, true, ""
	if strings.TrimSpace(text) == "" {
		e.Rows = []ruleRow{{Operator: "-eq"}}
		return
	}
	r, err := dynrule.Parse(text)
	if err != nil {
		e.Flat, e.BuilderNote = false, "The builder shows the rule once its text is valid."
		return
	}
	join, clauses, ok := r.Flat()
	if !ok || len(clauses) > maxRuleRows {
		e.Flat, e.BuilderNote = false, "This rule can only be edited as text: the builder shows rules that compare user properties joined by one And or Or."
		return
	}
	if join != "" {
		e.Join = join
	}
	for _, c := range clauses {
		e.Rows = append(e.Rows, ruleRow{Property: c.Property, Operator: c.Operator, Value: c.Value})
	}
}

// built is the builder's rule text, or the reason it has none.
func (e *ruleEditor) built() (string, error) {
	clauses := make([]dynrule.Clause, len(e.Rows))
	for i, r := range e.Rows {
		if r.Property == "" {
			return "", fmt.Errorf("row %d has no property", i+1)
		}
		clauses[i] = dynrule.Clause{Property: r.Property, Operator: r.Operator, Value: r.Value}
	}
	join := e.Join
	if len(clauses) == 1 {
		join = ""
	}
	text, err := dynrule.Build(join, clauses)
	if err != nil {
		return "", fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "dynrule: "))
	}
	return text, nil
}

// synced marks both sides as they are now.
func (e *ruleEditor) synced() {
	e.TextWas = e.Text
	e.BuilderWas = ""
	if e.Flat {
		e.BuilderWas = builderKey(e.Join, e.Rows)
	}
}

// editorFromForm reads the form as sent, without syncing anything.
func (s *server) editorFromForm(f url.Values) *ruleEditor {
	e := &ruleEditor{Text: f.Get("rule"), Join: normJoin(f.Get("join")), Flat: f.Get("builder") == "1",
		TextWas: f.Get("text_was"), BuilderWas: f.Get("builder_was"), Users: f.Get("users"),
		Name: strings.TrimSpace(f.Get("displayName")), Nick: strings.TrimSpace(f.Get("mailNickname"))}
	if e.Flat {
		e.Rows = rowsFromForm(f)
		if len(e.Rows) > maxRuleRows {
			e.Rows = e.Rows[:maxRuleRows]
		}
	}
	return e
}

// rule is the rule the form means: the side edited since the page was
// drawn, or an error that says what to do.
func (e *ruleEditor) rule() (string, error) {
	textEdited := e.Text != e.TextWas
	builderEdited := e.Flat && builderKey(e.Join, e.Rows) != e.BuilderWas
	switch {
	case builderEdited && textEdited:
		return "", fmt.Errorf("both the rule builder and the rule text were changed: select Update text from builder or Update builder from text first")
	case builderEdited:
		text, err := e.built()
		if err != nil {
			return "", fmt.Errorf("the rule builder's %w", err)
		}
		e.Text = text
		return text, nil
	}
	text := strings.TrimSpace(e.Text)
	if text == "" {
		return "", fmt.Errorf("enter a rule, with the builder or as text")
	}
	return text, nil
}

// fillEditor adds what every rendering of the editor needs.
func (s *server) fillEditor(e *ruleEditor) {
	e.Properties, e.Operators, e.MaxUsers = builderProperties(), builderOperators, allot.MaxBatch
	e.Join = normJoin(e.Join)
	if e.Flat && len(e.Rows) == 0 {
		e.Rows = []ruleRow{{Operator: "-eq"}}
	}
}

// --- The editor's GETs and POSTs ---
//
// Only Save (and Create group) posts. Validate, Preview, the builder's
// Update, Add row and Remove buttons are GETs of the editor with the form
// in the query (formmethod="get"; a rule is at most 3,072 characters), so
// that their results are pages of their own: reload draws them again and
// sends nothing. A refused Save comes back to such a GET, with the reason
// in the flash.

// editorState reports whether a GET of the editor carries a form.
func editorState(q url.Values) bool {
	return q.Has("rule") || q.Has("builder") || q.Has("action")
}

// editorQuery is the form as sent, for a GET of the editor: without the
// token or the confirmation, with the action asked (none for "").
func editorQuery(f url.Values, action string) url.Values {
	q := url.Values{}
	for k, v := range f {
		if k != csrfField && k != "action" && k != "confirm" {
			q[k] = v
		}
	}
	if action != "" {
		q.Set("action", action)
	}
	return q
}

// --- New dynamic group ---

func (s *server) newDynamicGroup(w http.ResponseWriter, r *http.Request) error {
	if dropToken(w, r) {
		return nil
	}
	q := r.URL.Query()
	if !editorState(q) {
		e := &ruleEditor{New: true}
		e.setText("")
		e.synced()
		return s.renderEditor(w, r, http.StatusOK, e)
	}
	e := s.editorFromForm(q)
	e.New = true
	if err := s.editorAction(r, e, nil, q.Get("action")); err != nil {
		return err
	}
	return s.renderEditor(w, r, statusOf400(e), e)
}

func (s *server) newDynamicGroupPost(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	e := s.editorFromForm(f)
	e.New = true
	action := f.Get("action")
	if r.URL.Query().Get("fragment") == "sync" {
		if err := s.editorAction(r, e, nil, action); err != nil {
			return err
		}
		return s.syncFragment(w, r, e)
	}
	if action != "save" { // a page drawn when these buttons posted
		return redirectTo(w, r, "/groups/new?"+editorQuery(f, action).Encode())
	}
	refuse := func(text string) error {
		return s.redirect(w, r, "/groups/new?"+editorQuery(f, "").Encode(), flash{Kind: "error", Text: text})
	}
	rule, err := e.rule()
	if err != nil {
		return refuse(sentence(err.Error()))
	}
	if e.Name == "" || e.Nick == "" {
		return refuse("Enter a name and a mail nickname for the group.")
	}
	g, err := s.svc.Groups.CreateGroup(r.Context(), allot.GroupCreate{DisplayName: e.Name, MailNickname: e.Nick, SecurityEnabled: true,
		GroupTypes: []string{allot.GroupDynamic}, MembershipRule: rule, MembershipRuleProcessingState: allot.RuleOn})
	if err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			return err
		}
		return refuse("The group was not created: " + plainMessage(err))
	}
	return s.redirect(w, r, groupURL(g.ID), flash{Kind: "success", Text: fmt.Sprintf("Dynamic group %s created. Its rule is being applied to the organization's users; members appear as it runs.", g.DisplayName)})
}

// --- Edit rule ---

func (s *server) ruleGroup(r *http.Request) (*allot.Group, error) {
	return s.svc.Groups.Group(r.Context(), r.PathValue("id"))
}

func (s *server) editorOfGroup(r *http.Request, g *allot.Group) (*ruleEditor, error) {
	e := &ruleEditor{GroupID: g.ID, GroupName: g.DisplayName, Static: !isDynamic(g), State: g.MembershipRuleProcessingState}
	if e.Static {
		m, err := s.svc.Groups.Members(r.Context(), g.ID, false, allot.ListOptions{Top: 1, Count: true})
		if err != nil {
			return nil, err
		}
		e.MemberCount = m.Count
	}
	return e, nil
}

// groupEditor is the editor of the group g with the form f, as sent.
func (s *server) groupEditor(r *http.Request, g *allot.Group, f url.Values) (*ruleEditor, error) {
	e, err := s.editorOfGroup(r, g)
	if err != nil {
		return nil, err
	}
	form := s.editorFromForm(f)
	form.GroupID, form.GroupName, form.Static, form.MemberCount, form.State = e.GroupID, e.GroupName, e.Static, e.MemberCount, e.State
	return form, nil
}

func (s *server) editRule(w http.ResponseWriter, r *http.Request) error {
	if dropToken(w, r) {
		return nil
	}
	g, err := s.ruleGroup(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if !editorState(q) {
		e, err := s.editorOfGroup(r, g)
		if err != nil {
			return err
		}
		e.setText(g.MembershipRule)
		e.synced()
		return s.renderEditor(w, r, http.StatusOK, e)
	}
	e, err := s.groupEditor(r, g, q)
	if err != nil {
		return err
	}
	if err := s.editorAction(r, e, g, q.Get("action")); err != nil {
		return err
	}
	return s.renderEditor(w, r, statusOf400(e), e)
}

func (s *server) editRulePost(w http.ResponseWriter, r *http.Request) error {
	g, err := s.ruleGroup(r)
	if err != nil {
		return err
	}
	f := r.PostForm
	e, err := s.groupEditor(r, g, f)
	if err != nil {
		return err
	}
	action := f.Get("action")
	if r.URL.Query().Get("fragment") == "sync" {
		if err := s.editorAction(r, e, g, action); err != nil {
			return err
		}
		return s.syncFragment(w, r, e)
	}
	if action != "save" { // a page drawn when these buttons posted
		return redirectTo(w, r, groupURL(g.ID)+"/rule?"+editorQuery(f, action).Encode())
	}
	return s.saveRule(w, r, e, g)
}

// editorAction does what a GET of the editor asks (or the script's live
// sync): nothing of it changes anything stored.
func (s *server) editorAction(r *http.Request, e *ruleEditor, g *allot.Group, action string) error {
	switch action {
	case "from-builder":
		if !e.Flat {
			e.Error = "This rule can only be edited as text."
			break
		}
		text, err := e.built()
		if err != nil {
			e.Error = sentence("The rule builder's " + err.Error())
			break
		}
		e.Text = text
		e.synced()
		e.Notice = "The rule text now says what the builder says."
	case "from-text":
		e.setText(e.Text)
		if _, err := dynrule.Parse(e.Text); err != nil && strings.TrimSpace(e.Text) != "" {
			e.Error = sentence("The rule is not valid: " + err.Error())
		}
		e.synced()
	case "add-row":
		if !e.Flat {
			break
		}
		if len(e.Rows) >= maxRuleRows {
			e.Error = fmt.Sprintf("The builder takes at most %d rows; edit a longer rule as text.", maxRuleRows)
			break
		}
		e.Rows = append(e.Rows, ruleRow{Operator: "-eq"})
	case "validate":
		s.validateRule(r, e)
	case "preview":
		if g != nil {
			return s.previewRule(r, e, g)
		}
	case "save":
		// Asked by a Save that needs a confirmation first: an assigned
		// group's members are replaced by the rule's.
		if g != nil && e.Static {
			s.confirmConvert(e, g)
		}
	case "":
	default:
		i, err := strconv.Atoi(strings.TrimPrefix(action, "remove-row-"))
		if !strings.HasPrefix(action, "remove-row-") || err != nil || i < 0 || i >= len(e.Rows) {
			return badRequest("Unknown action.")
		}
		e.Rows = slices.Delete(e.Rows, i, i+1)
	}
	return nil
}

func statusOf400(e *ruleEditor) int {
	if e.Error != "" {
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// sentence capitalises a message and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// syncFragment answers the script's live sync: the text, the builder's
// rows as HTML, and the fields that record both.
func (s *server) syncFragment(w http.ResponseWriter, r *http.Request, e *ruleEditor) error {
	s.fillEditor(e)
	t := s.pages["rule"]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "rule-builder", e); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]string{"text": e.Text, "builder": buf.String(),
		"textWas": e.TextWas, "builderWas": e.BuilderWas, "error": e.Error})
}

// parseUserList reads the Validate rules box: user names or ids separated
// by commas, spaces or lines.
func parseUserList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		if !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, f) }) {
			out = append(out, f)
		}
	}
	return out
}

func (s *server) validateRule(r *http.Request, e *ruleEditor) {
	rule, err := e.rule()
	if err != nil {
		e.Error = sentence(err.Error())
		return
	}
	typed := parseUserList(e.Users)
	switch {
	case len(typed) == 0:
		e.Error = "Enter the usernames of the users to validate the rule for."
		return
	case len(typed) > allot.MaxBatch:
		e.Error = fmt.Sprintf("You can validate a rule for up to %d users at a time, and %d are entered.", allot.MaxBatch, len(typed))
		return
	}
	var users []*allot.User
	var missing []string
	for _, n := range typed {
		u, err := s.svc.Users.User(r.Context(), n)
		switch {
		case allot.ErrorCode(err) == allot.ENOTFOUND:
			missing = append(missing, n)
		case err != nil:
			e.Error = "The rule was not validated: " + plainMessage(err)
			return
		default:
			users = append(users, u)
		}
	}
	if len(missing) > 0 {
		e.Error = "No user is named " + names(missing, allot.MaxBatch) + "."
		return
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	evals, err := s.svc.Groups.EvaluateMembershipRule(r.Context(), e.GroupID, rule, ids)
	if err != nil {
		e.Error = "The rule is not valid: " + plainMessage(err)
		return
	}
	byID := map[string]*allot.User{}
	for _, u := range users {
		byID[u.ID] = u
	}
	for _, ev := range evals {
		res := ruleResult{Result: ev.Result}
		if u := byID[ev.UserID]; u != nil {
			res.Name, res.UPN = u.DisplayName, u.UserPrincipalName
		}
		res.Tree = flattenDetail(nil, ev.Details, 0)
		e.Results = append(e.Results, res)
	}
}

func flattenDetail(out []ruleNode, d allot.RuleDetail, depth int) []ruleNode {
	// The stylesheet indents six levels; deeper clauses line up with the sixth.
	out = append(out, ruleNode{Expression: d.Expression, Result: d.Result, Depth: min(depth, 6)})
	for _, c := range d.Children {
		out = flattenDetail(out, c, depth+1)
	}
	return out
}

// previewRule shows what saving the rule would do, or why it cannot.
func (s *server) previewRule(r *http.Request, e *ruleEditor, g *allot.Group) error {
	rule, err := e.rule()
	if err != nil {
		e.Error = sentence(err.Error())
		return nil
	}
	p, err := s.svc.Preview.Preview(r.Context(), []allot.PreviewChange{{Op: allot.PreviewSetMembershipRule, GroupID: g.ID, MembershipRule: rule}})
	if err != nil {
		if code := allot.ErrorCode(err); code == allot.EINVALID || code == allot.ECONFLICT || code == allot.ENOTFOUND || code == allot.EFORBIDDEN {
			e.Error = "No preview: " + plainMessage(err)
			return nil
		}
		return err
	}
	rp := &rulePreview{Data: s.previewRows(r, p)}
	for _, m := range p.Members {
		if m.GroupID == g.ID {
			rp.Joined, rp.Left = m.Joined, m.Left
		}
	}
	e.Preview = rp
	return nil
}

// confirmConvert is the dialog before a rule makes an assigned group
// dynamic, with the rule as it will be saved.
func (s *server) confirmConvert(e *ruleEditor, g *allot.Group) {
	rule, err := e.rule()
	if err != nil {
		e.Error = sentence(err.Error())
		return
	}
	text := fmt.Sprintf("%s will get dynamic membership: the users its rule matches become its members.", g.DisplayName)
	if e.MemberCount > 0 {
		text += fmt.Sprintf(" Its %s will be replaced by them, and members can no longer be added or removed by hand.", plural(e.MemberCount, "current member", "current members"))
	}
	e.Confirm = &confirmData{Title: "Change to dynamic membership", Action: groupURL(g.ID) + "/rule", Text: text, Items: []string{rule},
		Confirm: "Change membership", Cancel: groupURL(g.ID) + "/rule", CancelLabel: "Cancel", Danger: true, ConfirmField: "confirm",
		Fields: []field{{"action", "save"}, {"rule", rule}, {"text_was", ""}}}
}

func (s *server) saveRule(w http.ResponseWriter, r *http.Request, e *ruleEditor, g *allot.Group) error {
	back := groupURL(g.ID) + "/rule?"
	refuse := func(text string) error {
		return s.redirect(w, r, back+editorQuery(r.PostForm, "").Encode(), flash{Kind: "error", Text: text})
	}
	rule, err := e.rule()
	if err != nil {
		return refuse(sentence(err.Error()))
	}
	if e.Static && r.PostForm.Get("confirm") != "1" {
		// Turning a group dynamic replaces its members: ask first.
		return redirectTo(w, r, back+editorQuery(r.PostForm, "save").Encode())
	}
	up := allot.GroupUpdate{MembershipRule: &rule}
	if e.Static {
		types := append(slices.Clone(g.GroupTypes), allot.GroupDynamic)
		up.GroupTypes = &types
	}
	if _, err := s.svc.Groups.UpdateGroup(r.Context(), g.ID, up); err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			return err
		}
		return refuse("Nothing was saved: " + plainMessage(err))
	}
	text := "Membership rule saved. It is being applied to the organization's users; members change as it runs."
	switch {
	case e.Static:
		text = "The group now has dynamic membership. Its rule is being applied to the organization's users; members change as it runs."
	case g.MembershipRuleProcessingState == allot.RulePaused:
		text = "Membership rule saved. Processing is paused: members change once you resume it."
	}
	return s.redirect(w, r, groupURL(g.ID), flash{Kind: "success", Text: text})
}

func (s *server) renderEditor(w http.ResponseWriter, r *http.Request, status int, e *ruleEditor) error {
	s.fillEditor(e)
	title := "New dynamic group"
	e.Action, e.Cancel = "/groups/new", "/groups"
	if !e.New {
		title = "Edit membership rule – " + e.GroupName
		e.Action, e.Cancel = groupURL(e.GroupID)+"/rule", groupURL(e.GroupID)
	}
	s.render(w, r, status, "rule", s.newView(w, r, title, "groups", e))
	return nil
}

// --- Pause, resume, and assigned membership ---

func (s *server) ruleState(w http.ResponseWriter, r *http.Request) error {
	g, err := s.ruleGroup(r)
	if err != nil {
		return err
	}
	if !isDynamic(g) {
		return badRequest("This group's membership is assigned: it has no rule to pause or resume.")
	}
	state, text := allot.RulePaused, "Rule processing paused: members stay as they are until you resume it."
	switch r.PostForm.Get("state") {
	case allot.RulePaused:
	case allot.RuleOn:
		state, text = allot.RuleOn, "Rule processing resumed: the rule is being applied to the organization's users again."
	default:
		return badRequest("Choose On or Paused.")
	}
	if _, err := s.svc.Groups.UpdateGroup(r.Context(), g.ID, allot.GroupUpdate{MembershipRuleProcessingState: &state}); err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			return err
		}
		return s.redirect(w, r, groupURL(g.ID), flash{Kind: "error", Text: "Nothing was changed: " + plainMessage(err)})
	}
	return s.redirect(w, r, groupURL(g.ID), flash{Kind: "success", Text: text})
}

// toAssignedConfirm is the dialog before a dynamic group's membership
// becomes assigned (GET /groups/{id}/membership).
func (s *server) toAssignedConfirm(w http.ResponseWriter, r *http.Request) error {
	g, err := s.ruleGroup(r)
	if err != nil {
		return err
	}
	if !isDynamic(g) {
		return s.redirect(w, r, groupURL(g.ID), flash{Kind: "info", Text: "This group's membership is assigned already."})
	}
	d, err := s.loadGroup(r, g)
	if err != nil {
		return err
	}
	d.Confirm = &confirmData{Title: "Change to assigned membership", Action: groupURL(g.ID) + "/membership",
		Text:    fmt.Sprintf("%s will keep its %s, but its rule is removed: members are then added and removed by hand.", g.DisplayName, plural(d.MemberCount, "current member", "current members")),
		Confirm: "Change membership", Cancel: groupURL(g.ID), CancelLabel: "Cancel", ConfirmField: "confirm", Danger: true}
	s.render(w, r, http.StatusOK, "group", s.newView(w, r, g.DisplayName, "groups", d))
	return nil
}

// toAssigned turns a dynamic group's membership assigned; its members
// stay. Without confirm=1 it sends to the dialog.
func (s *server) toAssigned(w http.ResponseWriter, r *http.Request) error {
	g, err := s.ruleGroup(r)
	if err != nil {
		return err
	}
	if !isDynamic(g) {
		return s.redirect(w, r, groupURL(g.ID), flash{Kind: "info", Text: "This group's membership is assigned already."})
	}
	if r.PostForm.Get("confirm") != "1" {
		return redirectTo(w, r, groupURL(g.ID)+"/membership")
	}
	types := slices.DeleteFunc(slices.Clone(g.GroupTypes), func(t string) bool { return t == allot.GroupDynamic })
	if _, err := s.svc.Groups.UpdateGroup(r.Context(), g.ID, allot.GroupUpdate{GroupTypes: &types}); err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			return err
		}
		return s.redirect(w, r, groupURL(g.ID), flash{Kind: "error", Text: "Nothing was changed: " + plainMessage(err)})
	}
	return s.redirect(w, r, groupURL(g.ID), flash{Kind: "success", Text: "The group now has assigned membership; its members stayed."})
}

// ruleFacts is the Membership rule section of a dynamic group's page.
type ruleFacts struct {
	Rule, State, Status, Progress, Applied string
	Paused                                 bool
}

func ruleFactsOf(g *allot.Group) *ruleFacts {
	if !isDynamic(g) {
		return nil
	}
	f := &ruleFacts{Rule: g.MembershipRule, State: g.MembershipRuleProcessingState, Paused: g.MembershipRuleProcessingState == allot.RulePaused,
		Applied: formatTime(g.RuleApplied)}
	switch g.RuleStatus {
	case allot.RuleRunning:
		f.Status = "Running"
		if g.RuleTotal > 0 {
			f.Progress = fmt.Sprintf("%d of %d users", g.RuleDone, g.RuleTotal)
		}
	case allot.RuleNotStarted:
		f.Status = "Not started"
	default:
		f.Status = "Succeeded"
	}
	return f
}
