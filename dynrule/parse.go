package dynrule

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// scope is what a clause's property may be.
type scope uint8

const (
	scopeUser  scope = iota // user.<name>
	scopeItem               // _ (in -any/-all over a string collection)
	scopePlans              // assignedPlan.<field>
)

type parser struct {
	src     string
	toks    []token
	pos     int
	depth   int
	clauses int
}

// Parse parses a user membership rule. On error it returns an *Error.
func Parse(text string) (*Rule, error) {
	r, err := parse(text)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func parse(text string) (*Rule, *Error) {
	if n := utf8.RuneCountInString(text); n > MaxLength {
		return nil, &Error{Col: MaxLength + 1, Msg: "the rule is longer than 3072 characters"}
	}
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{src: text, toks: toks}
	if toks[0].kind == tEOF {
		return nil, p.errTok(toks[0], "the rule is empty")
	}
	root, err := p.parseOr(scopeUser, nil)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, p.errTok(t, "unbalanced parentheses: this ) closes nothing")
		}
		if isOpNamed(t, "plus", "minus") {
			return nil, p.errTok(t, timeRelative)
		}
		return nil, p.errTok(t, "expected -and or -or, found %s", t.describe(text))
	}
	r := &Rule{Text: text, Root: root}
	r.analyse()
	return r, nil
}

const (
	timeRelative  = "time-relative rules are not supported: membership would change without any event"
	deviceRules   = "device rules are not supported: Allot has no devices"
	memberOfRules = "rules on group membership are not supported"
	managerRules  = "rules on managers and direct reports are not supported: Allot has no managers"
)

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) errTok(t token, format string, args ...any) *Error {
	return errAt(p.src, t.start, format, args...)
}

// isOpNamed reports whether t is -name or a bare word name, for one of names.
func isOpNamed(t token, names ...string) bool {
	if t.kind != tOp && t.kind != tWord {
		return false
	}
	for _, n := range names {
		if strings.EqualFold(t.text, n) {
			return true
		}
	}
	return false
}

func (p *parser) enter(t token) *Error {
	if p.depth++; p.depth > MaxDepth {
		return p.errTok(t, "the rule nests deeper than %d levels", MaxDepth)
	}
	return nil
}

// parseOr parses a -or b -or c; q is the quantifier whose condition it is.
func (p *parser) parseOr(sc scope, q *Quantifier) (Expr, *Error) {
	x, err := p.parseAnd(sc, q)
	if err != nil {
		return nil, err
	}
	if !isOpNamed(p.peek(), "or") {
		return x, nil
	}
	or := &Or{Operands: []Expr{x}}
	for isOpNamed(p.peek(), "or") {
		p.next()
		y, err := p.parseAnd(sc, q)
		if err != nil {
			return nil, err
		}
		or.Operands = append(or.Operands, y)
	}
	or.start, _ = x.Span()
	_, or.end = or.Operands[len(or.Operands)-1].Span()
	return or, nil
}

func (p *parser) parseAnd(sc scope, q *Quantifier) (Expr, *Error) {
	x, err := p.parseUnary(sc, q)
	if err != nil {
		return nil, err
	}
	if !isOpNamed(p.peek(), "and") {
		return x, nil
	}
	and := &And{Operands: []Expr{x}}
	for isOpNamed(p.peek(), "and") {
		p.next()
		y, err := p.parseUnary(sc, q)
		if err != nil {
			return nil, err
		}
		and.Operands = append(and.Operands, y)
	}
	and.start, _ = x.Span()
	_, and.end = and.Operands[len(and.Operands)-1].Span()
	return and, nil
}

func (p *parser) parseUnary(sc scope, q *Quantifier) (Expr, *Error) {
	t := p.peek()
	if !isOpNamed(t, "not") {
		return p.parsePrimary(sc, q)
	}
	p.next()
	if err := p.enter(t); err != nil {
		return nil, err
	}
	x, err := p.parseUnary(sc, q)
	if err != nil {
		return nil, err
	}
	p.depth--
	_, end := x.Span()
	return &Not{X: x, span: span{t.start, end}}, nil
}

func (p *parser) parsePrimary(sc scope, q *Quantifier) (Expr, *Error) {
	t := p.peek()
	switch t.kind {
	case tLParen:
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		x, err := p.parseOr(sc, q)
		if err != nil {
			return nil, err
		}
		c := p.next()
		if c.kind != tRParen {
			if c.kind == tEOF {
				return nil, p.errTok(t, "unbalanced parentheses: this ( is never closed")
			}
			if isOpNamed(c, "plus", "minus") {
				return nil, p.errTok(c, timeRelative)
			}
			return nil, p.errTok(c, "expected -and, -or or ), found %s", c.describe(p.src))
		}
		p.depth--
		setSpan(x, t.start, c.end)
		return x, nil
	case tWord:
		if strings.EqualFold(t.text, "direct") && p.pos+1 < len(p.toks) && strings.EqualFold(p.toks[p.pos+1].text, "reports") {
			return nil, p.errTok(t, managerRules)
		}
		return p.parseClause(sc, q)
	case tEOF:
		return nil, p.errTok(t, "unexpected end of the rule: expected a property")
	case tRParen:
		return nil, p.errTok(t, "unbalanced parentheses: expected a property, found )")
	case tOp:
		if isOpNamed(t, "plus", "minus") {
			return nil, p.errTok(t, timeRelative)
		}
	}
	return nil, p.errTok(t, "expected a property such as user.department, found %s", t.describe(p.src))
}

// setSpan widens x's span to the parentheses around it.
func setSpan(x Expr, start, end int) {
	switch x := x.(type) {
	case *And:
		x.span = span{start, end}
	case *Or:
		x.span = span{start, end}
	case *Not:
		x.span = span{start, end}
	case *Compare:
		x.span = span{start, end}
	case *Quantifier:
		x.span = span{start, end}
	}
}

// resolve finds the property a clause names.
func (p *parser) resolve(t token, sc scope, q *Quantifier) (*property, *Error) {
	name := t.text
	low := strings.ToLower(name)
	switch sc {
	case scopeItem:
		if name == "_" {
			return itemProp, nil
		}
		return nil, p.errTok(t, "inside user.%s %s (…), compare _ (each value), as in _ -startsWith \"smtp:\"", q.Property, q.Operator)
	case scopePlans:
		if f, ok := strings.CutPrefix(low, "assignedplan."); ok {
			if pp := planPropsLower[f]; pp != nil {
				return pp, nil
			}
			return nil, p.errTok(t, "unknown property %s: an assigned plan has servicePlanId, capabilityStatus, service and assignedDateTime", clip(name))
		}
		return nil, p.errTok(t, "inside user.assignedPlans %s (…), compare assignedPlan.servicePlanId, assignedPlan.capabilityStatus, assignedPlan.service or assignedPlan.assignedDateTime", q.Operator)
	}
	switch {
	case name == "_":
		return nil, p.errTok(t, "_ may be used only inside -any or -all over a string collection such as user.proxyAddresses")
	case strings.HasPrefix(low, "assignedplan."):
		return nil, p.errTok(t, "%s may be used only inside user.assignedPlans -any (…) or -all (…)", clip(name))
	case strings.HasPrefix(low, "device."):
		return nil, p.errTok(t, deviceRules)
	case strings.HasPrefix(low, "system."):
		return nil, p.errTok(t, timeRelative)
	case strings.HasPrefix(low, "group."):
		return nil, p.errTok(t, memberOfRules)
	case !strings.HasPrefix(low, "user."):
		return nil, p.errTok(t, "unknown property %s: properties are written user.<name>, as in user.department", clip(name))
	}
	rest := low[len("user."):]
	if pr := userProps[rest]; pr != nil {
		return pr, nil
	}
	switch {
	case rest == "memberof":
		return nil, p.errTok(t, memberOfRules)
	case rest == "manager" || rest == "directreports":
		return nil, p.errTok(t, managerRules)
	case strings.HasPrefix(rest, "extension_"):
		return nil, p.errTok(t, "custom extension properties are not supported: use user.extensionAttribute1 … user.extensionAttribute15")
	case unsupportedProps[rest] != "":
		return nil, p.errTok(t, "user.%s is not supported: Allot does not store it", unsupportedProps[rest])
	}
	if s := suggest(name[len("user."):]); s != "" {
		return nil, p.errTok(t, "unknown property %s (did you mean user.%s?)", clip(name), s)
	}
	return nil, p.errTok(t, "unknown property %s", clip(name))
}

// parseClause parses property operator value, or collection -any/-all cond.
func (p *parser) parseClause(sc scope, q *Quantifier) (Expr, *Error) {
	pt := p.next()
	prop, err := p.resolve(pt, sc, q)
	if err != nil {
		return nil, err
	}
	display := pt.text
	if sc == scopeUser {
		display = "user." + prop.name
	}
	ot := p.next()
	if ot.kind != tOp && ot.kind != tWord {
		return nil, p.errTok(ot, "expected an operator such as -eq after %s, found %s", display, ot.describe(p.src))
	}
	low := strings.ToLower(ot.text)
	if low == "any" || low == "all" {
		return p.parseQuantifier(pt, ot, prop, display)
	}
	cop, ok := compareOps[low]
	if !ok {
		switch low {
		case "not":
			return nil, p.errTok(ot, "-not is not a comparison: use -ne, -notContains, -notIn …")
		case "plus", "minus":
			return nil, p.errTok(ot, timeRelative)
		case "and", "or":
			return nil, p.errTok(ot, "expected an operator such as -eq after %s, found %s", display, ot.describe(p.src))
		}
		if ot.kind == tWord {
			return nil, p.errTok(ot, "expected an operator such as -eq after %s, found %s", display, ot.describe(p.src))
		}
		return nil, p.errTok(ot, "unknown operator -%s", clip(ot.text))
	}
	if prop.kind == kPlans {
		return nil, p.errTok(ot, "user.assignedPlans is a collection of plans: use -any or -all, as in user.assignedPlans -any (assignedPlan.servicePlanId -eq \"…\")")
	}
	if !hasOp(opsOf(prop.kind), cop.name) {
		return nil, p.errTok(ot, "%s does not apply to %s, %s: use one of %s", cop.name, display, kindWords[prop.kind], strings.Join(opsOf(prop.kind), ", "))
	}
	c := &Compare{Property: prop.name, Operator: cop.name, prop: prop, op: cop.op, neg: cop.neg}
	if p.clauses++; p.clauses > MaxClauses {
		return nil, p.errTok(pt, "the rule has more than %d comparisons", MaxClauses)
	}
	end, err := p.parseValue(c, ot, display)
	if err != nil {
		return nil, err
	}
	c.span = span{pt.start, end}
	return c, nil
}

func hasOp(ops []string, name string) bool {
	for _, o := range ops {
		if o == name {
			return true
		}
	}
	return false
}

func (p *parser) parseQuantifier(pt, ot token, prop *property, display string) (Expr, *Error) {
	name := "-" + strings.ToLower(ot.text)
	if prop.kind != kStrings && prop.kind != kPlans {
		return nil, p.errTok(ot, "%s applies only to collections (user.proxyAddresses, user.otherMails, user.businessPhones, user.assignedPlans); %s is %s", name, display, kindWords[prop.kind])
	}
	q := &Quantifier{Property: prop.name, Operator: name, all: name == "-all", prop: prop}
	sc := scopeItem
	if prop.kind == kPlans {
		sc = scopePlans
	}
	var cond Expr
	var err *Error
	if t := p.peek(); t.kind == tLParen {
		cond, err = p.parsePrimary(sc, q)
	} else if t.kind == tWord {
		cond, err = p.parseClause(sc, q)
	} else {
		return nil, p.errTok(t, "expected a condition in parentheses after %s %s, found %s", display, name, t.describe(p.src))
	}
	if err != nil {
		return nil, err
	}
	q.Cond = cond
	_, end := cond.Span()
	q.span = span{pt.start, end}
	return q, nil
}

// parseValue parses c's value and returns the offset after it.
func (p *parser) parseValue(c *Compare, ot token, display string) (int, *Error) {
	if c.op == opIn {
		return p.parseList(c, ot)
	}
	vt := p.next()
	if vt.kind != tString && vt.kind != tWord {
		if vt.kind == tLBrack {
			return 0, p.errTok(vt, "a list of values takes -in or -notIn")
		}
		return 0, p.errTok(vt, "expected a value after %s, found %s", c.Operator, vt.describe(p.src))
	}
	v := Value{Text: p.src[vt.start:vt.end], Str: vt.text, quoted: vt.kind == tString}
	low := strings.ToLower(vt.text)
	if !v.quoted {
		switch {
		case low == "null":
			v.Kind = NullValue
		case strings.HasPrefix(low, "system."), low == "$now":
			return 0, p.errTok(vt, timeRelative)
		case strings.HasPrefix(low, "user."), strings.HasPrefix(low, "device."), strings.HasPrefix(low, "assignedplan."), low == "_":
			return 0, p.errTok(vt, "a value must be a constant: comparing two properties is not supported")
		case low == "$null":
			v.Kind = NullValue
		}
	}
	if v.Kind == NullValue && c.op != opEq {
		return 0, p.errTok(vt, "null may be compared only with -eq or -ne")
	}
	if t := p.peek(); isOpNamed(t, "plus", "minus") {
		return 0, p.errTok(t, timeRelative)
	}
	c.Value = v
	if v.Kind == NullValue {
		return vt.end, nil
	}
	switch c.prop.kind {
	case kBool:
		switch low {
		case "true", "false":
			c.Value.Kind, c.Value.Bool = BoolValue, low == "true"
		default:
			return 0, p.errTok(vt, "%s takes true, false or null, not %s", display, clip(c.Value.Text))
		}
	case kDate:
		tm, day, ok := parseDate(vt.text)
		if !ok {
			return 0, p.errTok(vt, "%s is not a date: write ISO 8601, as in \"2024-01-01\" or \"2024-01-01T00:00:00Z\"", clip(c.Value.Text))
		}
		c.Value.Kind, c.Value.Time, c.Value.Day = DateValue, tm, day
	default:
		c.Value.Kind = StringValue
		c.lower = lowerString(vt.text)
		if c.op == opMatch {
			if utf8.RuneCountInString(vt.text) > MaxPattern {
				return 0, p.errTok(vt, "the regular expression is longer than %d characters", MaxPattern)
			}
			re, err := compileRegexp(vt.text)
			if err != nil {
				return 0, p.errTok(vt, "%s", err)
			}
			c.re = re
		}
	}
	return vt.end, nil
}

// compileRegexp compiles a -match pattern, ignoring case, refusing
// patterns whose program is too large to run cheaply on every user.
func compileRegexp(pattern string) (*regexp.Regexp, error) {
	re, err := syntax.Parse(pattern, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return nil, fmt.Errorf("bad regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, fmt.Errorf("bad regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	if len(prog.Inst) > MaxPatternInsts {
		return nil, fmt.Errorf("the regular expression is too complex: simplify its repetitions")
	}
	return regexp.Compile("(?i)" + pattern)
}

// parseList parses ["a", "b"] after -in or -notIn.
func (p *parser) parseList(c *Compare, ot token) (int, *Error) {
	open := p.next()
	if open.kind != tLBrack {
		return 0, p.errTok(open, "%s takes a list of values, as in [\"a\",\"b\"]; found %s", c.Operator, open.describe(p.src))
	}
	v := Value{Kind: ListValue, List: []string{}}
	for first := true; ; first = false {
		t := p.next()
		if t.kind == tRBrack && first {
			v.Text = p.src[open.start:t.end]
			c.Value = v
			return t.end, nil
		}
		switch t.kind {
		case tString, tWord:
			if t.kind == tWord && strings.HasPrefix(strings.ToLower(t.text), "system.") {
				return 0, p.errTok(t, timeRelative)
			}
		case tEOF:
			return 0, p.errTok(open, "unterminated list: a closing ] is missing")
		default:
			return 0, p.errTok(t, "expected a value in the list, found %s", t.describe(p.src))
		}
		if len(v.List) == MaxListValues {
			return 0, p.errTok(t, "the list has more than %d values", MaxListValues)
		}
		v.List = append(v.List, t.text)
		c.list = append(c.list, lowerString(t.text))
		sep := p.next()
		switch sep.kind {
		case tComma:
			continue
		case tRBrack:
			v.Text = p.src[open.start:sep.end]
			c.Value = v
			if len(c.list) > 8 {
				c.set = make(map[string]struct{}, len(c.list))
				for _, s := range c.list {
					c.set[s] = struct{}{}
				}
			}
			return sep.end, nil
		case tEOF:
			return 0, p.errTok(open, "unterminated list: a closing ] is missing")
		default:
			return 0, p.errTok(sep, "expected , or ] in the list, found %s", sep.describe(p.src))
		}
	}
}

// parseDate parses an ISO 8601 date or date and time; day reports a date
// alone.
func parseDate(s string) (t time.Time, day bool, ok bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), false, true
		}
	}
	return time.Time{}, false, false
}

// analyse fills what the rule reads.
func (r *Rule) analyse() {
	fields := map[string]bool{}
	ids := map[string]bool{}
	var walk func(e Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case *And:
			for _, o := range x.Operands {
				walk(o)
			}
		case *Or:
			for _, o := range x.Operands {
				walk(o)
			}
		case *Not:
			walk(x.X)
		case *Compare:
			if x.prop.src == srcUser {
				fields[x.prop.field] = true
			}
		case *Quantifier:
			fields[x.prop.field] = true
			if x.prop.kind == kPlans {
				r.readsPlans = true
				pinned := pinnedIDs(x.Cond, ids)
				if x.all || !pinned {
					r.planAny = true
				}
			}
			walk(x.Cond)
		}
	}
	walk(r.Root)
	for f := range fields {
		r.properties = append(r.properties, f)
	}
	sort.Strings(r.properties)
	for id := range ids {
		r.planIDs = append(r.planIDs, id)
	}
	sort.Strings(r.planIDs)
}

// pinnedIDs adds to ids the servicePlanIds cond compares with -eq or -in,
// and reports whether every plan satisfying cond has one of them.
func pinnedIDs(e Expr, ids map[string]bool) bool {
	switch x := e.(type) {
	case *And:
		pinned := false
		for _, o := range x.Operands {
			if pinnedIDs(o, ids) {
				pinned = true
			}
		}
		return pinned
	case *Or:
		pinned := true
		for _, o := range x.Operands {
			if !pinnedIDs(o, ids) {
				pinned = false
			}
		}
		return pinned
	case *Not:
		pinnedIDs(x.X, map[string]bool{})
		return false
	case *Compare:
		if x.prop.src != srcPlan || x.prop.plan != planServicePlanID || x.neg {
			return false
		}
		switch {
		case x.op == opEq && x.Value.Kind == StringValue:
			ids[x.lower] = true
			return true
		case x.op == opIn:
			for _, v := range x.list {
				ids[v] = true
			}
			return true
		}
	}
	return false
}
