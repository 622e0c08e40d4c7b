package dynrule

import (
	"fmt"
	"strings"
)

// Clause is one comparison of a flat rule, as a rule builder shows it.
type Clause struct {
	Property string // as PropertyList names it, e.g. "department"
	Operator string // canonical, e.g. "-eq"
	Value    string // as typed: Sales, true, null, 2024-01-01; for -in and -notIn the list, as in ["a","b"]
}

// Flat returns the rule as a list of comparisons of user properties joined
// by one operator ("-and", "-or", or "" for a single comparison); ok is
// false for any other rule (-not, -any/-all, mixed -and and -or, or a
// comparison with the string "null", which a builder cannot tell from
// null). Nested parentheses with the same operator are flattened.
func (r *Rule) Flat() (join string, clauses []Clause, ok bool) {
	var operands []Expr
	switch x := r.Root.(type) {
	case *Compare:
		c, ok := flatClause(x)
		if !ok {
			return "", nil, false
		}
		return "", []Clause{c}, true
	case *And:
		join, operands = "-and", flatten(x)
	case *Or:
		join, operands = "-or", flatten(x)
	default:
		return "", nil, false
	}
	for _, o := range operands {
		cmp, isCmp := o.(*Compare)
		if !isCmp {
			return "", nil, false
		}
		c, ok := flatClause(cmp)
		if !ok {
			return "", nil, false
		}
		clauses = append(clauses, c)
	}
	return join, clauses, true
}

// flatten returns the operands of an And or Or, with those of nested nodes
// of the same type in place.
func flatten(e Expr) []Expr {
	var out []Expr
	switch x := e.(type) {
	case *And:
		for _, o := range x.Operands {
			if _, same := o.(*And); same {
				out = append(out, flatten(o)...)
			} else {
				out = append(out, o)
			}
		}
	case *Or:
		for _, o := range x.Operands {
			if _, same := o.(*Or); same {
				out = append(out, flatten(o)...)
			} else {
				out = append(out, o)
			}
		}
	}
	return out
}

func flatClause(c *Compare) (Clause, bool) {
	if c.prop.src != srcUser {
		return Clause{}, false
	}
	out := Clause{Property: c.Property, Operator: c.Operator}
	switch v := c.Value; v.Kind {
	case NullValue:
		out.Value = "null"
	case BoolValue:
		out.Value = fmt.Sprint(v.Bool)
	case ListValue:
		out.Value = formatList(v.List)
	default:
		if c.op == opEq && strings.EqualFold(strings.TrimSpace(v.Str), "null") {
			return Clause{}, false
		}
		out.Value = v.Str
	}
	return out, true
}

func formatList(vs []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(v))
	}
	b.WriteByte(']')
	return b.String()
}

// Build writes a rule from clauses joined by join ("-and", "-or", or ""
// for a single clause), the inverse of Flat: values are quoted and escaped
// as needed, and the result parses back to the same clauses. A value
// "null" with -eq or -ne is null.
func Build(join string, clauses []Clause) (string, error) {
	switch strings.ToLower(strings.TrimPrefix(join, "-")) {
	case "and":
		join = "-and"
	case "or":
		join = "-or"
	case "":
		join = ""
	default:
		return "", fmt.Errorf("dynrule: unknown join %q: use -and or -or", join)
	}
	switch {
	case len(clauses) == 0:
		return "", fmt.Errorf("dynrule: a rule needs a clause")
	case len(clauses) > 1 && join == "":
		return "", fmt.Errorf("dynrule: %d clauses need -and or -or", len(clauses))
	}
	parts := make([]string, len(clauses))
	for i, c := range clauses {
		s, err := buildClause(c)
		if err != nil {
			return "", fmt.Errorf("dynrule: clause %d: %w", i+1, err)
		}
		if len(clauses) > 1 {
			s = "(" + s + ")"
		}
		parts[i] = s
	}
	text := strings.Join(parts, " "+join+" ")
	if _, err := Parse(text); err != nil {
		return "", fmt.Errorf("dynrule: %w", err)
	}
	return text, nil
}

func buildClause(c Clause) (string, error) {
	name, _ := cutFold(strings.TrimSpace(c.Property), "user.")
	prop := userProps[strings.ToLower(name)]
	if prop == nil {
		return "", fmt.Errorf("unknown property %q", c.Property)
	}
	cop, ok := compareOps[strings.ToLower(strings.TrimPrefix(strings.TrimSpace(c.Operator), "-"))]
	if !ok {
		return "", fmt.Errorf("unknown operator %q", c.Operator)
	}
	if !hasOp(opsOf(prop.kind), cop.name) {
		return "", fmt.Errorf("%s does not apply to user.%s, %s: use one of %s", cop.name, prop.name, kindWords[prop.kind], strings.Join(opsOf(prop.kind), ", "))
	}
	var value string
	switch {
	case cop.op == opIn:
		toks, err := lex(c.Value)
		if err != nil {
			return "", fmt.Errorf("%s takes a list, as in [\"a\",\"b\"]: %w", cop.name, err)
		}
		var vs []string
		ok := len(toks) >= 3 && toks[0].kind == tLBrack && toks[len(toks)-2].kind == tRBrack
		for i := 1; ok && i < len(toks)-2; i++ {
			t := toks[i]
			if i%2 == 1 {
				ok = t.kind == tString || t.kind == tWord
				vs = append(vs, t.text)
			} else {
				ok = t.kind == tComma && i < len(toks)-3
			}
		}
		if !ok {
			return "", fmt.Errorf("%s takes a list, as in [\"a\",\"b\"], not %q", cop.name, c.Value)
		}
		value = formatList(vs)
	case cop.op == opEq && strings.EqualFold(strings.TrimSpace(c.Value), "null"):
		value = "null"
	case prop.kind == kBool:
		switch v := strings.ToLower(strings.TrimSpace(c.Value)); v {
		case "true", "false":
			value = v
		default:
			return "", fmt.Errorf("user.%s takes true or false, not %q", prop.name, c.Value)
		}
	default:
		value = quote(c.Value)
	}
	text := "user." + prop.name + " " + cop.name + " " + value
	if _, err := Parse(text); err != nil {
		return "", err
	}
	return text, nil
}

// cutFold is strings.CutPrefix ignoring ASCII case.
func cutFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
