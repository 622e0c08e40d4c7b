package main

// `allot group create` and `allot group rule …`: groups with dynamic
// membership, whose members are the users a membership rule matches
// (docs/DYNAMIC-GROUPS.md), over POST/PATCH /v1.0/groups,
// POST /allot/v1/groups/validateRule and POST /allot/v1/preview.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/allot-dev/allot"
)

// ruleGroupBody is a group as the rule commands read it.
type ruleGroupBody struct {
	ID                             string   `json:"id"`
	DisplayName                    string   `json:"displayName"`
	MailNickname                   string   `json:"mailNickname"`
	GroupTypes                     []string `json:"groupTypes"`
	MembershipRule                 *string  `json:"membershipRule"`
	MembershipRuleProcessingState  *string  `json:"membershipRuleProcessingState"`
	MembershipRuleProcessingStatus *struct {
		Status                string  `json:"status"`
		LastMembershipUpdated *string `json:"lastMembershipUpdated"`
		UsersProcessed        *int    `json:"usersProcessed"`
		UsersTotal            *int    `json:"usersTotal"`
	} `json:"membershipRuleProcessingStatus"`
}

const ruleGroupSelect = "id,displayName,mailNickname,groupTypes,membershipRule,membershipRuleProcessingState,membershipRuleProcessingStatus"

func (g *ruleGroupBody) dynamic() bool { return slices.Contains(g.GroupTypes, allot.GroupDynamic) }

func (g *ruleGroupBody) ref() groupRef { return groupRef{g.ID, g.DisplayName} }

func (e *cliEnv) ruleGroup(ctx context.Context, id string) (*ruleGroupBody, error) {
	var g ruleGroupBody
	err := e.c.get(ctx, "/v1.0/groups/"+url.PathEscape(id), url.Values{"$select": {ruleGroupSelect}}, &g)
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// showRuleGroup prints one group's membership: the rule, its state and
// processing status, and the members.
func (e *cliEnv) showRuleGroup(ctx context.Context, g *ruleGroupBody) error {
	members, err := e.count(ctx, "/v1.0/groups/"+url.PathEscape(g.ID)+"/members/microsoft.graph.user")
	if err != nil {
		return err
	}
	membership := "Assigned"
	var rule, state, status, processed, total, updated any // unknown, or not dynamic
	if g.dynamic() {
		membership = "Dynamic"
		if g.MembershipRule != nil {
			rule = *g.MembershipRule
		}
		if g.MembershipRuleProcessingState != nil {
			state = *g.MembershipRuleProcessingState
		}
		if s := g.MembershipRuleProcessingStatus; s != nil {
			status = s.Status
			if s.UsersProcessed != nil && s.UsersTotal != nil {
				processed, total = *s.UsersProcessed, *s.UsersTotal
			}
			if s.LastMembershipUpdated != nil {
				updated = *s.LastMembershipUpdated
			}
		}
	}
	t := newTable("id", "Group ID", "displayName", "Group", "mailNickname", "Nickname", "membership", "Membership",
		"membershipRule", "Rule", "state", "Rule processing", "status", "Rule status",
		"usersProcessed", "Users processed", "usersTotal", "Users to process",
		"lastMembershipUpdated", "Members updated", "members", "Members")
	t.single = true
	t.add(g.ID, g.DisplayName, g.MailNickname, membership, rule, state, status, processed, total, updated, members)
	return t.write(e.stdout, e.format)
}

// addRuleWaitFlag registers --wait (and --poll) on a command that applies a
// rule.
func addRuleWaitFlag(fs *flag.FlagSet, e *cliEnv) *bool {
	wait := fs.Bool("wait", false, "wait until the rule has been applied to every user and licensing is idle, showing progress on stderr")
	addPollFlag(fs, e)
	return wait
}

func defineGroupCreate(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	name := fs.String("name", "", "the group's display `name`")
	nick := fs.String("nickname", "", "its `mailNickname` (default: the name's letters and digits, in lower case)")
	rule := fs.String("rule", "", "a membership `rule`: the group is dynamic, its members the users the rule matches")
	paused := fs.Bool("paused", false, "with --rule: create the rule paused, applied to no one until allot group rule resume")
	wait := addRuleWaitFlag(fs, e)
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		*name = strings.TrimSpace(*name)
		switch {
		case *name == "":
			return usagef("group create: --name is required")
		case *paused && *rule == "":
			return usagef("group create: --paused is for a group with --rule")
		case *wait && *rule == "":
			return usagef("group create: --wait is for a group with --rule; an assigned group is ready at once")
		case *wait && *paused:
			return usagef("group create: --wait waits for the rule to be applied, which a paused rule is not")
		}
		if *nick == "" {
			if *nick = nickname(*name); *nick == "" {
				return usagef("group create: the name %q has no letter or digit to make a mailNickname of: give --nickname", *name)
			}
		}
		body := map[string]any{"displayName": *name, "mailNickname": *nick, "mailEnabled": false, "securityEnabled": true}
		if *rule != "" {
			state := allot.RuleOn
			if *paused {
				state = allot.RulePaused
			}
			body["groupTypes"] = []string{allot.GroupDynamic}
			body["membershipRule"] = *rule
			body["membershipRuleProcessingState"] = state
		}
		var made struct{ ID string }
		if err := e.c.post(ctx, "/v1.0/groups", body, &made); err != nil {
			return ruleError(err, *rule)
		}
		return e.afterRuleChange(ctx, made.ID, *wait)
	}
}

// afterRuleChange waits if asked, then shows the group.
func (e *cliEnv) afterRuleChange(ctx context.Context, id string, wait bool) error {
	g, err := e.ruleGroup(ctx, id)
	if err != nil {
		return err
	}
	if wait {
		if err := e.waitRule(ctx, g.ref()); err != nil {
			return err
		}
		if g, err = e.ruleGroup(ctx, id); err != nil {
			return err
		}
	}
	return e.showRuleGroup(ctx, g)
}

// ruleActions are the actions of `allot group rule`, with the flags each
// takes besides --server, --token and --output.
var ruleActions = []struct {
	name  string
	flags []string
}{
	{"show", nil},
	{"set", []string{"rule", "yes", "wait", "poll"}},
	{"pause", nil},
	{"resume", []string{"wait", "poll"}},
	{"validate", []string{"rule", "user"}},
	{"preview", []string{"rule"}},
	{"remove", nil},
}

func ruleActionNames() []string {
	var out []string
	for _, a := range ruleActions {
		out = append(out, a.name)
	}
	return out
}

// defineGroupRule is `allot group rule ACTION …`: one command whose first
// argument is the action, since the command table has two levels.
func defineGroupRule(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	f := &ruleFlags{}
	fs.StringVar(&f.rule, "rule", "", "set, validate, preview: the membership `rule`")
	fs.BoolVar(&f.yes, "yes", false, "set: confirm giving a rule to a group with assigned membership, whose members it replaces")
	fs.Var(&f.users, "user", fmt.Sprintf("validate: a `user` to evaluate the rule for, by id or userPrincipalName; repeat for several (up to %d)", allot.MaxBatch))
	fs.BoolVar(&f.wait, "wait", false, "set, resume: wait until the rule has been applied to every user and licensing is idle, showing progress on stderr")
	addPollFlag(fs, e)
	return func(ctx context.Context, pos []string) error {
		if len(pos) == 0 {
			return usagef("group rule needs an action: %s (see `allot help group rule`)", strings.Join(ruleActionNames(), ", "))
		}
		action, args := pos[0], pos[1:]
		i := slices.IndexFunc(ruleActions, func(a struct {
			name  string
			flags []string
		}) bool {
			return a.name == action
		})
		if i < 0 {
			return usagef("group rule: unknown action %q; use %s", action, strings.Join(ruleActionNames(), ", "))
		}
		verb := "group rule " + action
		var wrong []string
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "server", "token", "output", "o", "help":
			default:
				if !slices.Contains(ruleActions[i].flags, fl.Name) {
					wrong = append(wrong, "--"+fl.Name)
				}
			}
		})
		if len(wrong) > 0 {
			return usagef("%s does not take %s", verb, strings.Join(wrong, ", "))
		}
		if slices.Contains(ruleActions[i].flags, "rule") && strings.TrimSpace(f.rule) == "" {
			return usagef("%s: --rule is required", verb)
		}
		if action == "validate" {
			if err := noArgs(args); err != nil {
				return err
			}
			return e.validateRule(ctx, f.rule, f.users)
		}
		name, err := oneGroupArg(verb, args)
		if err != nil {
			return err
		}
		r := &resolver{c: e.c}
		ref, err := r.group(ctx, name)
		if err != nil {
			return err
		}
		g, err := e.ruleGroup(ctx, ref.ID)
		if err != nil {
			return err
		}
		switch action {
		case "show":
			return e.showRuleGroup(ctx, g)
		case "set":
			return e.setRule(ctx, g, f)
		case "preview":
			return e.previewRule(ctx, r, g, f.rule)
		}
		if !g.dynamic() {
			return failf("%s: group %s has assigned membership and no rule (give it one with `allot group rule set`)", verb, g.DisplayName)
		}
		var body map[string]any
		switch action {
		case "pause":
			body = map[string]any{"membershipRuleProcessingState": allot.RulePaused}
		case "resume":
			body = map[string]any{"membershipRuleProcessingState": allot.RuleOn}
		case "remove":
			// The members the rule gave stay, as assigned members.
			types := slices.DeleteFunc(slices.Clone(g.GroupTypes), func(t string) bool { return t == allot.GroupDynamic })
			body = map[string]any{"groupTypes": types}
		}
		if err := e.c.patch(ctx, "/v1.0/groups/"+url.PathEscape(g.ID), body, nil); err != nil {
			return err
		}
		return e.afterRuleChange(ctx, g.ID, f.wait)
	}
}

type ruleFlags struct {
	rule  string
	yes   bool
	users multiFlag
	wait  bool
}

// setRule gives g the rule: a new rule for a dynamic group; for an
// assigned one, with --yes, dynamic membership with the rule on.
func (e *cliEnv) setRule(ctx context.Context, g *ruleGroupBody, f *ruleFlags) error {
	body := map[string]any{"membershipRule": f.rule}
	if !g.dynamic() {
		if !f.yes {
			members, err := e.count(ctx, "/v1.0/groups/"+url.PathEscape(g.ID)+"/members")
			if err != nil {
				return err
			}
			return usagef("group rule set: %s has assigned membership; a rule replaces its %d members with the users the rule matches "+
				"(see `allot group rule preview`). Give --yes to go ahead", g.DisplayName, members)
		}
		body["groupTypes"] = append(slices.Clone(g.GroupTypes), allot.GroupDynamic)
		body["membershipRuleProcessingState"] = allot.RuleOn
	}
	if err := e.c.patch(ctx, "/v1.0/groups/"+url.PathEscape(g.ID), body, nil); err != nil {
		return ruleError(err, f.rule)
	}
	return e.afterRuleChange(ctx, g.ID, f.wait)
}

// ruleDetailBody is Graph's membershipRuleEvaluationDetails.
type ruleDetailBody struct {
	Expression       string           `json:"expression"`
	ExpressionResult bool             `json:"expressionResult"`
	Details          []ruleDetailBody `json:"expressionEvaluationDetails"`
}

// validateRuleBody is the answer of POST /allot/v1/groups/validateRule.
type validateRuleBody struct {
	MembershipRule string `json:"membershipRule"`
	Valid          bool   `json:"valid"`
	Results        []struct {
		UserID  string         `json:"userId"`
		Result  bool           `json:"membershipRuleEvaluationResult"`
		Details ruleDetailBody `json:"membershipRuleEvaluationDetails"`
	} `json:"results"`
}

// validateRule checks a rule and evaluates it for users.
func (e *cliEnv) validateRule(ctx context.Context, rule string, users []string) error {
	if len(users) > allot.MaxBatch {
		return usagef("group rule validate: at most %d users at once, %d given", allot.MaxBatch, len(users))
	}
	us, err := (&resolver{c: e.c}).users(ctx, users)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.c.post(ctx, "/allot/v1/groups/validateRule", map[string]any{"membershipRule": rule, "userIds": userIDs(us)}, &raw); err != nil {
		return ruleError(err, rule)
	}
	var v validateRuleBody
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("group rule validate: unexpected answer: %v", err)
	}
	upn := map[string]string{}
	for _, u := range us {
		upn[strings.ToLower(u.ID)] = u.UPN
	}
	switch e.format {
	case formatJSON:
		// The API's answer, with each user's userPrincipalName.
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			return err
		}
		if rs, ok := out["results"].([]any); ok {
			for _, r := range rs {
				if m, ok := r.(map[string]any); ok {
					id, _ := m["userId"].(string)
					m["userPrincipalName"] = upn[strings.ToLower(id)]
				}
			}
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		_, err := fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	case formatCSV:
		t := newTable("userPrincipalName", "USER", "userId", "USER ID", "result", "RESULT")
		for _, r := range v.Results {
			t.add(upn[strings.ToLower(r.UserID)], r.UserID, r.Result)
		}
		return t.write(e.stdout, e.format)
	}
	fmt.Fprintln(e.stdout, "OK: the rule is valid.")
	for _, r := range v.Results {
		name := upn[strings.ToLower(r.UserID)]
		if name == "" {
			name = r.UserID
		}
		verdict := "is not a member"
		if r.Result {
			verdict = "is a member"
		}
		fmt.Fprintf(e.stdout, "\n%s %s %s\n", mark(r.Result), name, verdict)
		writeRuleDetail(e.stdout, r.Details, 1)
	}
	return nil
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// writeRuleDetail prints a clause and, indented below it, the clauses it is
// made of.
func writeRuleDetail(w io.Writer, d ruleDetailBody, depth int) {
	fmt.Fprintf(w, "%s%s %s\n", strings.Repeat("    ", depth), mark(d.ExpressionResult), oneLine(d.Expression))
	for _, c := range d.Details {
		writeRuleDetail(w, c, depth+1)
	}
}

// ruleColumn finds the column a server's message about a rule names.
var ruleColumn = regexp.MustCompile(`\bcolumn (\d+)\b`)

// ruleError adds to the server's refusal of a rule the line of the rule
// it is about, with a caret under the column the message names.
func ruleError(err error, rule string) error {
	ae, ok := err.(*apiError)
	if !ok || ae.Status != http.StatusBadRequest || rule == "" {
		return err
	}
	m := ruleColumn.FindStringSubmatch(ae.Message)
	if m == nil {
		return err
	}
	col, _ := strconv.Atoi(m[1])
	// The server counts columns in the rule without its surrounding
	// spaces, as it keeps it.
	return failf("%s\n%s", ae.Error(), caretAt(strings.TrimSpace(rule), col))
}

// caretAt is the line of rule holding character col (1-based, counted
// over the whole rule, line breaks included) and a caret under it, each
// indented by two spaces. A column past the end points after the last
// character.
func caretAt(rule string, col int) string {
	runes := []rune(rule)
	pos := min(max(col-1, 0), len(runes))
	start := pos
	for start > 0 && runes[start-1] != '\n' {
		start--
	}
	end := pos
	for end < len(runes) && runes[end] != '\n' {
		end++
	}
	line := strings.NewReplacer("\t", " ", "\r", " ").Replace(string(runes[start:end]))
	return "  " + line + "\n  " + strings.Repeat(" ", utf8.RuneCountInString(string(runes[start:pos]))) + "^"
}

// previewRule shows what giving g the rule would do: the members who
// join and leave, then the seats and users, as every preview prints them.
func (e *cliEnv) previewRule(ctx context.Context, r *resolver, g *ruleGroupBody, rule string) error {
	body := map[string]any{"changes": []any{map[string]any{"op": allot.PreviewSetMembershipRule, "groupId": g.ID, "membershipRule": rule}}}
	return ruleError(e.preview(ctx, r, body), rule)
}

// waitRule polls until the group's rule has been applied to every user
// and the tenant's processing is idle (the members the rule added or
// removed are licensed), drawing progress on stderr, then reports the
// group's members and those in error as `--wait` does for groups.
func (e *cliEnv) waitRule(ctx context.Context, g groupRef) error {
	tty := isTerminal(e.stderr)
	poll := e.poll
	if poll <= 0 {
		poll = defaultPoll
	}
	plainEvery := 10 * poll
	var last string
	var lastLine time.Time
	drawn := false
	endBar := func() {
		if drawn {
			fmt.Fprintf(e.stderr, "\r\033[K")
		}
	}
	for {
		body, err := e.ruleGroup(ctx, g.ID)
		if err != nil {
			endBar()
			return err
		}
		st, err := e.status(ctx)
		if err != nil {
			endBar()
			return err
		}
		applied := !body.dynamic() || body.MembershipRuleProcessingState == nil || *body.MembershipRuleProcessingState != allot.RuleOn ||
			(body.MembershipRuleProcessingStatus != nil && body.MembershipRuleProcessingStatus.Status == allot.RuleSucceeded)
		if applied && st.Idle {
			break
		}
		var text string
		switch s := body.MembershipRuleProcessingStatus; {
		case !applied && s != nil && s.UsersProcessed != nil && s.UsersTotal != nil:
			text = fmt.Sprintf("applying the rule, %d of %d users", *s.UsersProcessed, *s.UsersTotal)
		case !applied:
			text = "rule queued"
		default:
			text = fmt.Sprintf("rule applied; licensing, %d item(s) queued", st.QueueDepth)
		}
		switch {
		case tty:
			fmt.Fprintf(e.stderr, "\r%s: %s\033[K", g.Name, text)
			drawn = true
		case text != last && time.Since(lastLine) >= plainEvery || lastLine.IsZero():
			fmt.Fprintf(e.stderr, "allot: %s: %s\n", g.Name, text)
			lastLine = time.Now()
		}
		last = text
		select {
		case <-ctx.Done():
			endBar()
			return ctx.Err()
		case <-time.After(poll):
		}
	}
	endBar()
	_, err := e.waitGroup(ctx, g)
	return err
}
