package catalog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/allot-dev/allot"
)

// Rules are the licensing rules that Microsoft's product list lacks —
// which plans provision a mailbox, conflict, depend on others, or are
// available only in some countries — read from a rules file
// (docs/CATALOG.md, "Rules files"). A rules file is lines of words:
//
//	# Exchange plans that give the user a mailbox
//	mailbox EXCHANGE_S_STANDARD EXCHANGE_S_ENTERPRISE
//	conflict EXCHANGE_S_STANDARD EXCHANGE_S_DESKLESS
//	depends SHAREPOINTWAC on SHAREPOINTSTANDARD or SHAREPOINTENTERPRISE
//	available MCOPSTN1 in US GB CA
//
// It is line-based rather than JSON so that each rule can carry the comment
// saying where it comes from, and so that every error names its line.
type Rules struct {
	name      string
	mailbox   []word
	conflicts [][]word
	depends   []dependRule
	available []availableRule
}

// word is one word of a rules file with its place, for errors.
type word struct {
	text   string
	quoted bool // a quoted word is never a keyword
	line   int
	col    int
}

type dependRule struct {
	plan  word
	group []word
}

type availableRule struct {
	plans     []word
	countries []word
}

// ruleKeywords are the rules a line may start with.
var ruleKeywords = []string{"mailbox", "conflict", "depends", "available"}

// ParseRules reads a rules file; name is how errors call it (a path, or
// "rules"). It checks the syntax only: plans are looked up when the rules
// are applied to a catalog. Errors are *allot.Error with code
// allot.EINVALID, placed as name:line:column.
func ParseRules(name string, r io.Reader) (*Rules, error) {
	if name == "" {
		name = "rules"
	}
	if r == nil {
		return nil, invalidf("%s: nothing to read", name)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, invalidf("%s: reading the rules: %v", name, err)
	}
	data = bytes.TrimPrefix(data, bom)
	if !utf8.Valid(data) {
		return nil, invalidf("%s: the file is not valid UTF-8", name)
	}
	rs := &Rules{name: name}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for n := 1; sc.Scan(); n++ {
		words, err := rs.split(sc.Text(), n)
		if err != nil {
			return nil, err
		}
		if len(words) == 0 {
			continue
		}
		if err := rs.line(words); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// errorf places an error at w.
func (rs *Rules) errorf(w word, format string, args ...any) error {
	return invalidf("%s:%d:%d: "+format, append([]any{rs.name, w.line, w.col}, args...)...)
}

// split cuts a line into words: runs of characters other than spaces and
// tabs, or "quoted text" (for plan names with spaces). A # outside quotes
// starts a comment.
func (rs *Rules) split(line string, n int) ([]word, error) {
	line = strings.TrimSuffix(line, "\r")
	var words []word
	runes := []rune(line)
	for i := 0; i < len(runes); {
		c := runes[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '#':
			return words, nil
		case c == '"':
			end := slices.Index(runes[i+1:], '"')
			if end < 0 {
				return nil, rs.errorf(word{line: n, col: i + 1}, "the quote is not closed on this line")
			}
			text := string(runes[i+1 : i+1+end])
			if strings.TrimSpace(text) == "" {
				return nil, rs.errorf(word{line: n, col: i + 1}, "empty quoted word")
			}
			words = append(words, word{text: text, quoted: true, line: n, col: i + 1})
			i += end + 2
		default:
			start := i
			for i < len(runes) && runes[i] != ' ' && runes[i] != '\t' && runes[i] != '#' && runes[i] != '"' {
				if runes[i] < ' ' || runes[i] == 0x7f {
					return nil, rs.errorf(word{line: n, col: i + 1}, "control character %q", runes[i])
				}
				i++
			}
			words = append(words, word{text: string(runes[start:i]), line: n, col: start + 1})
		}
	}
	return words, nil
}

// line reads one rule.
func (rs *Rules) line(words []word) error {
	kw := words[0]
	args := words[1:]
	if kw.quoted || !slices.Contains(ruleKeywords, kw.text) {
		hint := ""
		for _, k := range ruleKeywords {
			if strings.EqualFold(strings.TrimSuffix(kw.text, "s"), strings.TrimSuffix(k, "s")) {
				hint = fmt.Sprintf(" (did you mean %q?)", k)
			}
		}
		return rs.errorf(kw, "unknown rule %q%s; a line starts with one of %s", kw.text, hint, strings.Join(ruleKeywords, ", "))
	}
	switch kw.text {
	case "mailbox":
		if len(args) == 0 {
			return rs.errorf(kw, "mailbox names no plan; write: mailbox PLAN [PLAN...]")
		}
		if err := rs.noKeywords(args); err != nil {
			return err
		}
		rs.mailbox = append(rs.mailbox, args...)
	case "conflict":
		if len(args) < 2 {
			return rs.errorf(kw, "conflict needs at least two plans; write: conflict PLAN PLAN [PLAN...]")
		}
		if err := rs.noKeywords(args); err != nil {
			return err
		}
		rs.conflicts = append(rs.conflicts, args)
	case "depends":
		// depends PLAN on PLAN [or PLAN]...
		const form = "write: depends PLAN on PLAN [or PLAN...]"
		if len(args) < 3 {
			return rs.errorf(kw, "depends is incomplete; %s", form)
		}
		if isKeyword(args[0], "on", "or") {
			return rs.errorf(args[0], "expected the plan that depends, found %q; %s", args[0].text, form)
		}
		if !isKeyword(args[1], "on") {
			return rs.errorf(args[1], "expected \"on\" after the plan, found %q; %s", args[1].text, form)
		}
		d := dependRule{plan: args[0]}
		rest := args[2:]
		for i, w := range rest {
			if i%2 == 1 {
				if !isKeyword(w, "or") {
					return rs.errorf(w, "expected \"or\" between the plans of which one is needed, found %q; several needs are several depends lines", w.text)
				}
				continue
			}
			if isKeyword(w, "on", "or") {
				return rs.errorf(w, "expected a plan, found %q; %s", w.text, form)
			}
			d.group = append(d.group, w)
		}
		if len(rest)%2 == 0 {
			last := rest[len(rest)-1]
			return rs.errorf(last, "a plan must follow \"or\"; %s", form)
		}
		rs.depends = append(rs.depends, d)
	case "available":
		// available PLAN [PLAN...] in CC [CC...]
		const form = "write: available PLAN [PLAN...] in CC [CC...]"
		in := slices.IndexFunc(args, func(w word) bool { return isKeyword(w, "in") })
		switch {
		case in < 0:
			return rs.errorf(kw, "available lacks \"in\" before the country codes; %s", form)
		case in == 0:
			return rs.errorf(args[0], "available names no plan before \"in\"; %s", form)
		case in == len(args)-1:
			return rs.errorf(args[in], "available names no country after \"in\"; %s", form)
		}
		a := availableRule{plans: args[:in], countries: args[in+1:]}
		if err := rs.noKeywords(a.plans); err != nil {
			return err
		}
		var seen []string
		for _, c := range a.countries {
			up := strings.ToUpper(c.text)
			if c.quoted || !isCountryCode(up) {
				return rs.errorf(c, "%q is not a two-letter country code (ISO 3166-1 alpha-2, e.g. \"US\")", c.text)
			}
			if slices.Contains(seen, up) {
				return rs.errorf(c, "country %q is listed twice", up)
			}
			seen = append(seen, up)
		}
		rs.available = append(rs.available, a)
	}
	return nil
}

// noKeywords refuses an unquoted rule keyword where a plan is expected: it
// is almost always two rules run together on one line.
func (rs *Rules) noKeywords(ws []word) error {
	for _, w := range ws {
		if isKeyword(w, append([]string{"on", "or", "in"}, ruleKeywords...)...) {
			return rs.errorf(w, "expected a plan, found %q (one rule a line; quote a plan named %q)", w.text, w.text)
		}
	}
	return nil
}

func isKeyword(w word, kws ...string) bool {
	return !w.quoted && slices.Contains(kws, w.text)
}

// Apply returns a copy of c whose plans have these rules — and only these:
// the rules c had are replaced. listName names c's source in errors ("plan
// "FOO" is not in plans.csv"). A plan is named as in a catalog file: by
// name (case-sensitive) or by id. Errors are placed at the rule's word:
// an unknown plan, a plan listed twice in one rule, a plan conflicting with
// or depending on itself, a plan whose availability is given twice, the
// same dependency given twice, and a dependency that the conflict rules
// make impossible (every plan of the group conflicts with the plan).
func (rs *Rules) Apply(c *allot.Catalog, listName string) (*allot.Catalog, error) {
	if c == nil {
		return nil, invalidf("%s: no catalog to apply the rules to", rs.name)
	}
	if listName == "" {
		listName = "the catalog"
	}
	a := newApplier(rs, c, listName)
	for _, step := range []func() error{a.mailboxes, a.conflicts, a.depends, a.availability} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return a.catalog(), nil
}

// applier is one Apply in progress: c's plans by name, the copies of them
// that receive the rules, and where each rule was given, for the checks
// between rules.
type applier struct {
	rs       *Rules
	c        *allot.Catalog
	listName string
	byName   map[string]string // plan name → id
	byFold   map[string]string // lower-case plan name → name, to suggest the right case
	plans    map[string]*allot.ServicePlan

	conflictAt map[[2]string]word // each pair's first conflict rule (see pair)
}

func newApplier(rs *Rules, c *allot.Catalog, listName string) *applier {
	a := &applier{rs: rs, c: c, listName: listName,
		byName: make(map[string]string, len(c.Plans)), byFold: make(map[string]string, len(c.Plans)),
		plans: make(map[string]*allot.ServicePlan, len(c.Plans)), conflictAt: map[[2]string]word{}}
	// Copies of every plan without rules; SKUs are shared, being unchanged.
	for id, p := range c.Plans {
		a.byName[p.Name] = id
		a.byFold[strings.ToLower(p.Name)] = p.Name
		a.plans[id] = &allot.ServicePlan{ID: p.ID, Name: p.Name, FriendlyName: p.FriendlyName, Service: p.Service}
	}
	return a
}

// resolve is the id of the plan w names, by id or by name.
func (a *applier) resolve(w word) (string, error) {
	if id, ok := allot.ParseID(w.text); ok {
		if a.c.Plans[id] == nil {
			return "", a.rs.errorf(w, "plan id %s is not in %s", id, a.listName)
		}
		return id, nil
	}
	if id, ok := a.byName[w.text]; ok {
		return id, nil
	}
	if n, ok := a.byFold[strings.ToLower(w.text)]; ok {
		return "", a.rs.errorf(w, "plan %q is not in %s; names are case-sensitive: did you mean %q?", w.text, a.listName, n)
	}
	return "", a.rs.errorf(w, "plan %q is not in %s", w.text, a.listName)
}

// resolveAll resolves the plans of one rule, which may not repeat one.
func (a *applier) resolveAll(ws []word) ([]string, error) {
	ids := make([]string, len(ws))
	for i, w := range ws {
		id, err := a.resolve(w)
		if err != nil {
			return nil, err
		}
		if j := slices.Index(ids[:i], id); j >= 0 {
			return nil, a.rs.errorf(w, "plan %q is listed twice in this rule (as %q at column %d)", w.text, ws[j].text, ws[j].col)
		}
		ids[i] = id
	}
	return ids, nil
}

func (a *applier) mailboxes() error {
	for _, w := range a.rs.mailbox {
		id, err := a.resolve(w)
		if err != nil {
			return err
		}
		a.plans[id].ProvisionsMailbox = true // repeating a mailbox plan is harmless
	}
	return nil
}

// pair is the key of a conflict between two plans, in either order.
func pair(x, y string) [2]string {
	if x > y {
		x, y = y, x
	}
	return [2]string{x, y}
}

func (a *applier) conflicts() error {
	for _, ws := range a.rs.conflicts {
		ids, err := a.resolveAll(ws)
		if err != nil {
			return err
		}
		for i, x := range ids {
			for _, y := range ids[i+1:] {
				k := pair(x, y)
				if _, dup := a.conflictAt[k]; dup {
					continue // Microsoft's lists overlap; a pair may come twice
				}
				a.conflictAt[k] = ws[0]
				a.plans[x].ConflictsWith = append(a.plans[x].ConflictsWith, y)
			}
		}
	}
	return nil
}

// depends applies the dependencies, after the conflicts, which it checks
// them against.
func (a *applier) depends() error {
	type groupAt struct {
		ids  []string
		line int
	}
	dependsAt := map[string][]groupAt{}
	for _, d := range a.rs.depends {
		id, err := a.resolve(d.plan)
		if err != nil {
			return err
		}
		group, err := a.resolveAll(d.group)
		if err != nil {
			return err
		}
		if k := slices.Index(group, id); k >= 0 {
			return a.rs.errorf(d.group[k], "a plan cannot depend on itself (%q is %q)", d.group[k].text, d.plan.text)
		}
		sorted := slices.Sorted(slices.Values(group))
		for _, g := range dependsAt[id] {
			if slices.Equal(g.ids, sorted) {
				return a.rs.errorf(d.plan, "this dependency of %q is already given on line %d", d.plan.text, g.line)
			}
		}
		dependsAt[id] = append(dependsAt[id], groupAt{sorted, d.plan.line})
		if err := a.checkSatisfiable(d, id, group); err != nil {
			return err
		}
		a.plans[id].DependsOn = append(a.plans[id].DependsOn, group)
	}
	return nil
}

// checkSatisfiable refuses a dependency of plan id on group that the
// conflicts make impossible. Conflicts count only between different SKUs,
// and a dependency is met by another unit only through another SKU: so a
// plan that conflicts with every plan it could depend on is unusable.
func (a *applier) checkSatisfiable(d dependRule, id string, group []string) error {
	var where []string
	for _, g := range group {
		w, ok := a.conflictAt[pair(id, g)]
		if !ok {
			return nil
		}
		where = append(where, fmt.Sprint(w.line))
	}
	them := "every one of them"
	if len(group) == 1 {
		them = "it"
	}
	return a.rs.errorf(d.plan, "plan %q depends on %s but conflicts with %s (conflict rule on line %s): it could never be enabled beside a plan it needs",
		d.plan.text, quoteWords(d.group, " or "), them, strings.Join(slices.Compact(where), ", "))
}

func (a *applier) availability() error {
	availableAt := map[string]int{}
	for _, r := range a.rs.available {
		ids, err := a.resolveAll(r.plans)
		if err != nil {
			return err
		}
		countries := make([]string, len(r.countries))
		for i, cw := range r.countries {
			countries[i] = strings.ToUpper(cw.text)
		}
		for i, id := range ids {
			if line, dup := availableAt[id]; dup {
				return a.rs.errorf(r.plans[i], "the availability of plan %q is already given on line %d; list all of its countries in one rule", r.plans[i].text, line)
			}
			availableAt[id] = r.plans[i].line
			a.plans[id].AvailableIn = slices.Clone(countries)
		}
	}
	return nil
}

// catalog is the catalog of the plans with their rules and c's SKUs.
func (a *applier) catalog() *allot.Catalog {
	list := slices.SortedFunc(maps.Values(a.plans), func(x, y *allot.ServicePlan) int { return strings.Compare(x.ID, y.ID) })
	return allot.NewCatalog(list, slices.Collect(maps.Values(a.c.SKUs)))
}

func quoteWords(ws []word, sep string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = fmt.Sprintf("%q", w.text)
	}
	return strings.Join(q, sep)
}

// Import builds a catalog from Microsoft's published product list and,
// when rules is not nil, a rules file: `allot catalog import`. The names
// are how errors call the files ("plans.csv:4031: …", "rules:12:5: …").
// Errors are *allot.Error with code allot.EINVALID.
func Import(listName string, list io.Reader, rulesName string, rules io.Reader) (*allot.Catalog, error) {
	if listName == "" {
		listName = "csv"
	}
	c, err := parseMicrosoftCSV(csvPlace(listName), list)
	if err != nil {
		return nil, err
	}
	if rules == nil {
		return c, nil
	}
	rs, err := ParseRules(rulesName, rules)
	if err != nil {
		return nil, err
	}
	return rs.Apply(c, listName)
}
