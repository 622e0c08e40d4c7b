package dynrule

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/allot-dev/allot"
)

var noUser = &allot.User{}

// Match reports whether the subject satisfies the rule.
func (r *Rule) Match(s Subject) bool {
	u := s.User
	if u == nil {
		u = noUser
	}
	return eval(r.Root, u, s.Plans, "", nil)
}

// eval evaluates e; item is the current value of a string collection and
// plan the current plan, inside -any/-all.
func eval(e Expr, u *allot.User, plans []AssignedPlan, item string, plan *AssignedPlan) bool {
	switch x := e.(type) {
	case *And:
		for _, o := range x.Operands {
			if !eval(o, u, plans, item, plan) {
				return false
			}
		}
		return true
	case *Or:
		for _, o := range x.Operands {
			if eval(o, u, plans, item, plan) {
				return true
			}
		}
		return false
	case *Not:
		return !eval(x.X, u, plans, item, plan)
	case *Compare:
		return x.eval(u, item, plan)
	case *Quantifier:
		if x.prop.kind == kPlans {
			for i := range plans {
				if eval(x.Cond, u, plans, "", &plans[i]) != x.all {
					return !x.all
				}
			}
			return x.all
		}
		for _, v := range x.prop.strs(u) {
			if eval(x.Cond, u, plans, v, nil) != x.all {
				return !x.all
			}
		}
		return x.all
	}
	return false
}

func (c *Compare) eval(u *allot.User, item string, plan *AssignedPlan) bool {
	null := c.Value.Kind == NullValue
	var r bool
	switch c.prop.kind {
	case kString:
		var s string
		switch c.prop.src {
		case srcUser:
			s = c.prop.str(u)
		case srcItem:
			s = item
		case srcPlan:
			if plan != nil {
				switch c.prop.plan {
				case planServicePlanID:
					s = plan.ServicePlanID
				case planCapabilityStatus:
					s = plan.CapabilityStatus
				case planService:
					s = plan.Service
				}
			}
		}
		if null {
			r = s == ""
		} else {
			r = c.test(s)
		}
	case kStrings:
		list := c.prop.strs(u)
		if null {
			r = len(list) == 0
			break
		}
		for _, s := range list {
			if c.test(s) {
				r = true
				break
			}
		}
	case kBool:
		v, isNull := c.prop.boolv(u)
		if null {
			r = isNull
		} else {
			r = !isNull && v == c.Value.Bool
		}
	case kDate:
		var t time.Time
		if c.prop.src == srcPlan {
			if plan != nil {
				t = plan.AssignedDateTime
			}
		} else {
			t = c.prop.date(u)
		}
		if null || t.IsZero() {
			// An unset date equals null and compares with nothing else.
			r = null && t.IsZero()
			break
		}
		t = t.UTC()
		if c.Value.Day {
			y, m, d := t.Date()
			t = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		} else {
			t = t.Truncate(time.Second)
		}
		switch c.op {
		case opEq:
			r = t.Equal(c.Value.Time)
		case opLe:
			r = !t.After(c.Value.Time)
		case opGe:
			r = !t.Before(c.Value.Time)
		}
	}
	return r != c.neg
}

// test applies c's positive operator to one string.
func (c *Compare) test(s string) bool {
	switch c.op {
	case opEq:
		n, ok := prefixFold(s, c.lower)
		return ok && n == len(s)
	case opStarts:
		_, ok := prefixFold(s, c.lower)
		return ok
	case opEnds:
		return suffixFold(s, c.lower)
	case opContains:
		return containsFold(s, c.lower)
	case opMatch:
		return c.re.MatchString(s)
	case opIn:
		return c.in(s)
	}
	return false
}

// in reports whether s is one of c's list, ignoring case.
func (c *Compare) in(s string) bool {
	if c.set != nil {
		var buf [128]byte
		if len(s) <= len(buf) {
			ascii := true
			for i := 0; i < len(s); i++ {
				b := s[i]
				if b >= utf8.RuneSelf {
					ascii = false
					break
				}
				if 'A' <= b && b <= 'Z' {
					b += 'a' - 'A'
				}
				buf[i] = b
			}
			if ascii {
				_, ok := c.set[string(buf[:len(s)])]
				return ok
			}
		}
	}
	for _, v := range c.list {
		if n, ok := prefixFold(s, v); ok && n == len(s) {
			return true
		}
	}
	return false
}

// lowerString maps each rune of s to lower case, as the fold helpers
// compare.
func lowerString(s string) string { return strings.Map(unicode.ToLower, s) }

// prefixFold reports whether s starts with low (lowered by lowerString),
// ignoring case, and how many bytes of s it spans.
func prefixFold(s, low string) (int, bool) {
	i := 0
	for _, want := range low {
		if i >= len(s) {
			return 0, false
		}
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if r != want && unicode.ToLower(r) != want {
			return 0, false
		}
		i += size
	}
	return i, true
}

// suffixFold reports whether s ends with low, ignoring case.
func suffixFold(s, low string) bool {
	i := len(s)
	for j := len(low); j > 0; {
		want, wsize := utf8.DecodeLastRuneInString(low[:j])
		j -= wsize
		if i == 0 {
			return false
		}
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if r != want && unicode.ToLower(r) != want {
			return false
		}
		i -= size
	}
	return true
}

// containsFold reports whether s contains low, ignoring case.
func containsFold(s, low string) bool {
	if low == "" {
		return true
	}
	for i := 0; i < len(s); {
		if _, ok := prefixFold(s[i:], low); ok {
			return true
		}
		if s[i] < utf8.RuneSelf {
			i++
		} else {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
	}
	return false
}

// Explain evaluates the rule as Graph's evaluateDynamicMembership details
// it: the whole rule, with each operand of -and and -or as a child
// (recursively); a -not over -and or -or has that as its one child; a
// comparison or an -any/-all is a leaf.
func (r *Rule) Explain(s Subject) Detail {
	u := s.User
	if u == nil {
		u = noUser
	}
	d := r.explain(r.Root, u, s.Plans)
	d.Expression = strings.TrimSpace(r.Text)
	return d
}

func (r *Rule) explain(e Expr, u *allot.User, plans []AssignedPlan) Detail {
	start, end := e.Span()
	d := Detail{Expression: r.Text[start:end], Result: eval(e, u, plans, "", nil)}
	var kids []Expr
	switch x := e.(type) {
	case *And:
		kids = x.Operands
	case *Or:
		kids = x.Operands
	case *Not:
		switch x.X.(type) {
		case *And, *Or:
			kids = []Expr{x.X}
		}
	}
	for _, k := range kids {
		d.Children = append(d.Children, r.explain(k, u, plans))
	}
	return d
}
