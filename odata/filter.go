// Package odata parses the subset of OData v4 query options that Microsoft
// Graph v1.0 accepts on Allot's endpoints ($filter, $select, $top, $count,
// $orderby, $skiptoken, $search) into the domain's types, and builds the
// absolute @odata.nextLink of a page.
//
// Every error returned by this package is an *allot.Error with code
// allot.EINVALID (the request is malformed) or allot.EUNSUPPORTEDQUERY (the
// request is valid OData that Allot does not implement).
package odata

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/allot-dev/allot"
)

// FieldKind is the type of a filterable property.
type FieldKind int

// The kinds of filterable properties.
const (
	String     FieldKind = iota // Edm.String: eq, ne, in, startswith with string literals or null
	Bool                        // Edm.Boolean: eq, ne with true, false or null
	GUID                        // Edm.Guid: eq, ne, in with GUIDs (bare or quoted) or null
	DateTime                    // Edm.DateTimeOffset: eq, ne, ge, gt, le, lt with a bare RFC 3339 time or null
	Collection                  // a collection of objects: any(v:v/p …) over its "Collection/p" fields
	Strings                     // a collection of strings: any(v:v eq '…') or any(v:startswith(v,'…'))
)

// String returns the EDM name of the kind, as used in error messages.
func (k FieldKind) String() string {
	switch k {
	case String:
		return "Edm.String"
	case Bool:
		return "Edm.Boolean"
	case GUID:
		return "Edm.Guid"
	case DateTime:
		return "Edm.DateTimeOffset"
	case Collection, Strings:
		return "Collection"
	}
	return fmt.Sprintf("FieldKind(%d)", int(k))
}

// Limits of ParseFilter.
const (
	MaxFilterLength = 4096 // bytes
	MaxFilterDepth  = 32   // nested parentheses and not operators
)

// LicensesField is the key of the fields map that enables
// assignedLicenses/any(x:x/skuId eq {guid}) and assignedLicenses/$count.
const LicensesField = "assignedLicenses"

// ParseFilter parses a $filter expression into an allot.Expr.
//
// fields maps each filterable property, spelled canonically, to its kind.
// Property names and keywords match case-insensitively; the returned
// Compare.Property is the canonical spelling. The grammar is:
//
//	expr    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" expr ")"
//	        | "startswith(" Property "," string ")" [ ("eq"|"ne") ("true"|"false") ]
//	        | Property ("eq"|"ne") value
//	        | "assignedLicenses/any(" v ":" v "/skuId eq" guid ")"
//	        | "assignedLicenses/$count" ("eq"|"ne") "0"
//
// Values are single-quoted strings (a quote inside is doubled), true, false, null and GUIDs
// (bare or quoted; returned in lower case). Positions in error messages are
// 0-based character offsets into input, as in Microsoft.OData.
func ParseFilter(input string, fields map[string]FieldKind) (allot.Expr, error) {
	if len(input) > MaxFilterLength {
		return nil, allot.Errorf(allot.EINVALID, "Invalid filter clause: the filter is longer than %d bytes.", MaxFilterLength)
	}
	if strings.TrimLeft(input, " \t\r\n") == "" {
		return nil, allot.Errorf(allot.EINVALID, "Invalid filter clause: the filter is empty.")
	}
	if !utf8.ValidString(input) {
		for i, r := range input {
			if r == utf8.RuneError {
				return nil, allot.Errorf(allot.EINVALID, "Invalid filter clause: invalid UTF-8 at position %d.", utf8.RuneCountInString(input[:i]))
			}
		}
	}
	toks, err := lex(input)
	if err != nil {
		return nil, err
	}
	p := &parser{src: input, toks: toks, fields: fields, lower: make(map[string]string, len(fields))}
	for k := range fields {
		lk := strings.ToLower(k)
		if prev, ok := p.lower[lk]; !ok || k < prev {
			p.lower[lk] = k
		}
	}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, p.invalid(t, "unbalanced %s", p.show(t))
		}
		return nil, p.invalid(t, "unexpected %s", p.show(t))
	}
	return x, nil
}

// ---- lexer ----

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tLParen
	tRParen
	tComma
	tSlash
	tColon
)

type token struct {
	kind tokKind
	text string // source text (for tString, with the quotes)
	val  string // tString: the unescaped value
	pos  int    // byte offset into the input
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isDelim(c byte) bool {
	switch c {
	case '(', ')', ',', '/', ':', '\'':
		return true
	}
	return isSpace(c)
}

// lex splits s into tokens. A word is any run of characters that are not
// white space or one of ( ) , / : ' — so identifiers, keywords, numbers and
// bare GUIDs are words, classified by the parser.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '(':
			toks = append(toks, token{kind: tLParen, text: "(", pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tRParen, text: ")", pos: i})
			i++
		case c == ',':
			toks = append(toks, token{kind: tComma, text: ",", pos: i})
			i++
		case c == '/':
			toks = append(toks, token{kind: tSlash, text: "/", pos: i})
			i++
		case c == ':':
			toks = append(toks, token{kind: tColon, text: ":", pos: i})
			i++
		case c == '\'':
			start := i
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, allot.Errorf(allot.EINVALID, "Invalid filter clause: unterminated string literal %s at position %d.",
					clip(s[start:]), utf8.RuneCountInString(s[:start]))
			}
			toks = append(toks, token{kind: tString, text: s[start:i], val: b.String(), pos: start})
		default:
			start := i
			// A word that starts with a digit keeps its colons, so that a
			// time (2024-01-01T00:00:00Z) is one word.
			digit := '0' <= c && c <= '9'
			for i < len(s) && (!isDelim(s[i]) || digit && s[i] == ':') {
				i++
			}
			toks = append(toks, token{kind: tWord, text: s[start:i], pos: start})
		}
	}
	return append(toks, token{kind: tEOF, pos: len(s)}), nil
}

// clip shortens long source text for messages.
func clip(s string) string {
	return shorten(s, 40)
}

// shorten cuts s after max runes (an invalid byte counting as one), and
// says so, so that a message quoting the input stays readable.
func shorten(s string, max int) string {
	n := 0
	for i := range s {
		if n == max {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// ---- parser ----

type parser struct {
	src    string
	toks   []token // always ends with tEOF
	i      int
	fields map[string]FieldKind
	lower  map[string]string // lower-case name → canonical name
	depth  int
	lambda *lambda // the any() being parsed
}

// lambda is the variable of Collection/any(v: …) and what it ranges over.
type lambda struct {
	name, collection string
	kind             FieldKind // Collection or Strings
}

func (p *parser) peek() token { return p.toks[p.i] }

// peekAt returns the token n places ahead, or the final EOF.
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) position(t token) int {
	if t.pos > len(p.src) {
		return utf8.RuneCountInString(p.src)
	}
	return utf8.RuneCountInString(p.src[:t.pos])
}

// show quotes a token for a message.
func (p *parser) show(t token) string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return clip(t.text)
	}
	return "'" + clip(t.text) + "'"
}

func (p *parser) invalid(t token, format string, args ...any) error {
	return allot.Errorf(allot.EINVALID, "Invalid filter clause: %s at position %d.", fmt.Sprintf(format, args...), p.position(t))
}

func (p *parser) unsupported(t token, format string, args ...any) error {
	return allot.Errorf(allot.EUNSUPPORTEDQUERY, "Unsupported filter clause: %s at position %d.", fmt.Sprintf(format, args...), p.position(t))
}

// unexpected reports t where something else was expected.
func (p *parser) unexpected(t token, want string) error {
	if t.kind == tEOF {
		return p.invalid(t, "unexpected end of filter, expected %s", want)
	}
	return p.invalid(t, "expected %s but found %s", want, p.show(t))
}

func isKeyword(t token, kw string) bool { return t.kind == tWord && strings.EqualFold(t.text, kw) }

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return p.invalid(t, "nesting deeper than %d levels at %s", MaxFilterDepth, p.show(t))
	}
	return nil
}

func (p *parser) parseOr() (allot.Expr, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "or") {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &allot.Or{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseAnd() (allot.Expr, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "and") {
		p.next()
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = &allot.And{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseUnary() (allot.Expr, error) {
	if t := p.peek(); isKeyword(t, "not") {
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &allot.Not{X: x}, nil
	}
	return p.parsePrimary()
}

// operators that are valid OData but not supported by Allot.
var unsupportedOps = map[string]bool{
	"has": true, "add": true, "sub": true, "mul": true, "div": true, "divby": true, "mod": true,
}

// keywords that can never start a primary expression.
var binaryKeywords = map[string]bool{"and": true, "or": true, "eq": true, "ne": true,
	"ge": true, "gt": true, "le": true, "lt": true, "in": true}

// orderOps compare times.
var orderOps = map[string]bool{"ge": true, "gt": true, "le": true, "lt": true}

func (p *parser) parsePrimary() (allot.Expr, error) {
	t := p.peek()
	switch t.kind {
	case tLParen:
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, p.unexpected(c, "')'")
		}
		p.depth--
		return x, nil
	case tWord:
		lw := strings.ToLower(t.text)
		if binaryKeywords[lw] || unsupportedOps[lw] {
			return nil, p.invalid(t, "unexpected %s", p.show(t))
		}
		if p.peekAt(1).kind == tLParen {
			return p.parseCall()
		}
		return p.parseComparison()
	case tEOF:
		return nil, p.invalid(t, "unexpected end of filter")
	}
	return nil, p.invalid(t, "unexpected %s", p.show(t))
}

// parseCall parses startswith(Property,'text'), optionally compared with
// true or false.
func (p *parser) parseCall() (allot.Expr, error) {
	name := p.next()
	p.next() // (
	if !strings.EqualFold(name.text, "startswith") {
		return nil, p.unsupported(name, "function %s is not supported", p.show(name))
	}
	pt := p.peek()
	canon, kind, err := p.propertyRef()
	if err != nil {
		return nil, err
	}
	if kind != String {
		return nil, p.invalid(pt, "startswith needs a string property but %s is %s", p.show(pt), kind)
	}
	if c := p.next(); c.kind != tComma {
		return nil, p.unexpected(c, "','")
	}
	vt := p.next()
	if vt.kind != tString {
		return nil, p.unexpected(vt, "a string literal")
	}
	if c := p.next(); c.kind != tRParen {
		return nil, p.unexpected(c, "')'")
	}
	var x allot.Expr = &allot.Compare{Property: canon, Op: "startswith", Value: vt.val}
	// startswith(...) eq true / ne false and the like.
	if op := p.peek(); isKeyword(op, "eq") || isKeyword(op, "ne") {
		p.next()
		bt := p.next()
		if !isKeyword(bt, "true") && !isKeyword(bt, "false") {
			return nil, p.unexpected(bt, "true or false")
		}
		if isKeyword(op, "eq") != isKeyword(bt, "true") {
			x = &allot.Not{X: x}
		}
	}
	return x, nil
}

// property resolves a property name token against the fields map.
func (p *parser) property(t token) (string, FieldKind, error) {
	if t.kind != tWord {
		return "", 0, p.unexpected(t, "a property name")
	}
	canon, ok := p.lower[strings.ToLower(t.text)]
	if !ok {
		if isLiteral(t.text) {
			return "", 0, p.invalid(t, "expected a property name but found %s", p.show(t))
		}
		return "", 0, p.invalid(t, "unknown property %s", p.show(t))
	}
	kind := p.fields[canon]
	if canon == LicensesField {
		return "", 0, p.invalid(t, "%s is a collection; use assignedLicenses/any(x:x/skuId eq {skuId}) or assignedLicenses/$count", p.show(t))
	}
	if kind == Collection || kind == Strings {
		return "", 0, p.invalid(t, "%s is a collection; use %s/any(x:…)", p.show(t), canon)
	}
	if kind != String && kind != Bool && kind != GUID && kind != DateTime {
		return "", 0, p.unsupported(t, "property %s cannot be filtered", p.show(t))
	}
	return canon, kind, nil
}

// propertyRef reads a property: a name, a path such as
// signInActivity/lastSignInDateTime, or inside any() the lambda variable
// (an element of a collection of strings) or v/property.
func (p *parser) propertyRef() (string, FieldKind, error) {
	t := p.peek()
	if t.kind != tWord {
		p.next()
		return "", 0, p.unexpected(t, "a property name")
	}
	if l := p.lambda; l != nil {
		if t.text == l.name {
			p.next()
			if p.peek().kind != tSlash {
				if l.kind == Strings {
					return l.collection, String, nil
				}
				return "", 0, p.invalid(t, "%s is an object of %s; use %s/property", p.show(t), l.collection, clip(l.name))
			}
			p.next()
			sub := p.next()
			if l.kind == Strings || sub.kind != tWord {
				return "", 0, p.unexpected(sub, "a property of "+l.collection)
			}
			canon, ok := p.lower[strings.ToLower(l.collection+"/"+sub.text)]
			if !ok {
				return "", 0, p.invalid(sub, "unknown property %s on %s", p.show(sub), l.collection)
			}
			return canon, p.fields[canon], nil
		}
		if _, ok := p.lower[strings.ToLower(t.text)]; ok {
			return "", 0, p.unsupported(t, "inside any() only the lambda variable '%s' can be used, not %s", clip(l.name), p.show(t))
		}
	}
	// A path names a property of a single object (signInActivity/…); the
	// properties of a collection's elements are reached through any().
	if p.peekAt(1).kind == tSlash && p.isPath(t) {
		canon := p.lower[strings.ToLower(t.text+"/"+p.peekAt(2).text)]
		if k := p.fields[strings.SplitN(canon, "/", 2)[0]]; k != Collection && k != Strings {
			p.next()
			p.next()
			p.next()
			return canon, p.fields[canon], nil
		}
	}
	p.next()
	canon, kind, err := p.property(t)
	if err != nil {
		return "", 0, err
	}
	if c := p.peek(); c.kind == tSlash {
		return "", 0, p.unsupported(c, "property paths such as '%s/…' are not supported", canon)
	}
	return canon, kind, nil
}

func (p *parser) parseComparison() (allot.Expr, error) {
	pt := p.peek()
	if p.peekAt(1).kind == tSlash && p.lambda == nil {
		if _, ok := p.fields[LicensesField]; ok && strings.EqualFold(pt.text, LicensesField) {
			return p.parseLicenses()
		}
		canon, ok := p.lower[strings.ToLower(pt.text)]
		if !ok && !p.isPath(pt) {
			if isLiteral(pt.text) {
				return nil, p.invalid(pt, "expected a property name but found %s", p.show(pt))
			}
			return nil, p.invalid(pt, "unknown property %s", p.show(pt))
		}
		if seg := p.peekAt(2); seg.kind == tWord && (strings.EqualFold(seg.text, "any") || strings.EqualFold(seg.text, "all")) {
			if k := p.fields[canon]; ok && (k == Collection || k == Strings) && strings.EqualFold(seg.text, "any") {
				return p.parseLambda(canon, k)
			}
			return nil, p.unsupported(seg, "lambda operator %s over '%s' is not supported", p.show(seg), clip(pt.text))
		}
	}
	canon, kind, err := p.propertyRef()
	if err != nil {
		return nil, err
	}
	ot := p.peek()
	op, err := p.operator()
	if err != nil {
		return nil, err
	}
	switch {
	case orderOps[op] && kind != DateTime:
		return nil, p.unsupported(ot, "operator %s is not supported on %s property '%s'", p.show(ot), kind, canon)
	case op == "in" && kind != String && kind != GUID:
		return nil, p.unsupported(ot, "operator in is not supported on %s property '%s'", kind, canon)
	case op == "in":
		return p.parseIn(canon, kind)
	}
	vt := p.next()
	v, err := p.value(vt, canon, kind)
	if err != nil {
		return nil, err
	}
	if v == nil && orderOps[op] {
		return nil, p.invalid(vt, "'%s' cannot be compared with null by %s", canon, op)
	}
	return &allot.Compare{Property: canon, Op: op, Value: v}, nil
}

// isPath reports whether t starts a property path that fields names.
func (p *parser) isPath(t token) bool {
	_, ok := p.lower[strings.ToLower(t.text+"/"+p.peekAt(2).text)]
	return ok && p.peekAt(2).kind == tWord
}

// parseIn parses the list of "Property in (v1, v2, …)".
func (p *parser) parseIn(canon string, kind FieldKind) (allot.Expr, error) {
	if o := p.next(); o.kind != tLParen {
		return nil, p.unexpected(o, "'('")
	}
	var vals []any
	for {
		vt := p.next()
		v, err := p.value(vt, canon, kind)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, p.invalid(vt, "null cannot be in the list of 'in'")
		}
		vals = append(vals, v)
		if len(vals) > MaxInValues {
			return nil, p.invalid(vt, "more than %d values in the list of 'in'", MaxInValues)
		}
		c := p.next()
		if c.kind == tRParen {
			return &allot.Compare{Property: canon, Op: "in", Value: vals}, nil
		}
		if c.kind != tComma {
			return nil, p.unexpected(c, "',' or ')'")
		}
	}
}

// MaxInValues bounds the list of the in operator (Graph's limit is 15 on
// many properties; Allot allows more, but not without end).
const MaxInValues = 100

// parseLambda parses Collection/any(v: condition).
func (p *parser) parseLambda(canon string, kind FieldKind) (allot.Expr, error) {
	p.next() // collection
	p.next() // /
	p.next() // any
	open := p.next()
	if open.kind != tLParen {
		return nil, p.unexpected(open, "'('")
	}
	v := p.next()
	if v.kind == tRParen {
		return nil, p.unsupported(v, "%s/any() without a lambda is not supported", canon)
	}
	if v.kind != tWord || !isIdent(v.text) {
		return nil, p.unexpected(v, "a lambda variable name")
	}
	if c := p.next(); c.kind != tColon {
		return nil, p.unexpected(c, "':'")
	}
	if err := p.enter(open); err != nil {
		return nil, err
	}
	p.lambda = &lambda{name: v.text, collection: canon, kind: kind}
	cond, err := p.parseOr()
	p.lambda = nil
	if err != nil {
		return nil, err
	}
	if c := p.next(); c.kind != tRParen {
		return nil, p.unexpected(c, "')'")
	}
	p.depth--
	return &allot.Any{Collection: canon, Cond: cond}, nil
}

// operator reads a comparison operator.
func (p *parser) operator() (string, error) {
	t := p.next()
	if t.kind == tWord {
		lw := strings.ToLower(t.text)
		if lw == "eq" || lw == "ne" || lw == "in" || orderOps[lw] {
			return lw, nil
		}
		if unsupportedOps[lw] {
			return "", p.unsupported(t, "operator %s is not supported", p.show(t))
		}
	}
	return "", p.unexpected(t, "an operator ('eq', 'ne', 'in', 'ge', 'gt', 'le' or 'lt')")
}

// value reads the literal compared with property canon of the given kind.
func (p *parser) value(t token, canon string, kind FieldKind) (any, error) {
	switch t.kind {
	case tString:
		switch kind {
		case String:
			return t.val, nil
		case GUID:
			if id, ok := allot.ParseID(t.val); ok {
				return id, nil
			}
			return nil, p.invalid(t, "%s is not a valid GUID for property '%s'", p.show(t), canon)
		case DateTime:
			return nil, p.invalid(t, "property '%s' is %s: write the time without quotes (2024-01-31T00:00:00Z), not %s", canon, kind, p.show(t))
		}
		return nil, p.invalid(t, "property '%s' is %s and cannot be compared with the string %s", canon, kind, p.show(t))
	case tWord:
		lw := strings.ToLower(t.text)
		switch {
		case lw == "null":
			return nil, nil
		case lw == "true" || lw == "false":
			if kind == Bool {
				return lw == "true", nil
			}
		case allot.IsID(t.text):
			if kind == GUID {
				return lw, nil
			}
		case kind == DateTime && isNumber(t.text):
			if at, ok := parseTime(t.text); ok {
				return at, nil
			}
			return nil, p.invalid(t, "%s is not a valid Edm.DateTimeOffset for property '%s'", p.show(t), canon)
		default:
			if _, ok := p.lower[lw]; ok {
				return nil, p.unsupported(t, "comparing property '%s' with property %s is not supported", canon, p.show(t))
			}
			if !isNumber(t.text) {
				return nil, p.unexpected(t, "a literal value")
			}
		}
		return nil, p.invalid(t, "property '%s' is %s and cannot be compared with %s", canon, kind, p.show(t))
	}
	return nil, p.unexpected(t, "a literal value")
}

// parseTime reads an Edm.DateTimeOffset (RFC 3339) or an Edm.Date, which
// is midnight UTC.
func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// parseLicenses parses assignedLicenses/any(x:x/skuId eq {guid}) and
// assignedLicenses/$count eq|ne 0.
func (p *parser) parseLicenses() (allot.Expr, error) {
	p.next() // assignedLicenses
	p.next() // /
	seg := p.next()
	switch {
	case isKeyword(seg, "$count"):
		return p.parseLicenseCount()
	case isKeyword(seg, "any"):
		return p.parseAnyLicense()
	case isKeyword(seg, "all"):
		return nil, p.unsupported(seg, "the lambda operator %s is not supported on assignedLicenses; use any", p.show(seg))
	case seg.kind == tWord && (strings.EqualFold(seg.text, "skuId") || strings.EqualFold(seg.text, "disabledPlans")):
		return nil, p.invalid(seg, "assignedLicenses is a collection; use assignedLicenses/any(x:x/%s …) instead of %s", clip(seg.text), p.show(seg))
	default:
		return nil, p.unexpected(seg, "any or $count after 'assignedLicenses/'")
	}
}

// parseLicenseCount parses the rest of assignedLicenses/$count eq|ne 0.
func (p *parser) parseLicenseCount() (allot.Expr, error) {
	ot := p.peek()
	op, err := p.operator()
	if err != nil {
		return nil, err
	}
	if op != "eq" && op != "ne" {
		return nil, p.unsupported(ot, "assignedLicenses/$count can only be compared with 0 by eq or ne, not %s", p.show(ot))
	}
	vt := p.next()
	if vt.kind != tWord || !isNumber(vt.text) {
		return nil, p.invalid(vt, "assignedLicenses/$count must be compared with 0, not %s", p.show(vt))
	}
	if !isZero(vt.text) {
		return nil, p.unsupported(vt, "assignedLicenses/$count can only be compared with 0 ('%s 0'), not %s", op, p.show(vt))
	}
	return &allot.LicenseCount{Op: op, N: 0}, nil
}

// parseAnyLicense parses the rest of assignedLicenses/any(x:x/skuId eq
// {guid}), the only lambda Graph supports on licenses.
func (p *parser) parseAnyLicense() (allot.Expr, error) {
	open := p.next()
	if open.kind != tLParen {
		return nil, p.unexpected(open, "'('")
	}
	v := p.next()
	if v.kind == tRParen {
		return nil, p.unsupported(v, "assignedLicenses/any() without a lambda is not supported; use assignedLicenses/$count ne 0")
	}
	if v.kind != tWord || !isIdent(v.text) {
		return nil, p.unexpected(v, "a lambda variable name")
	}
	if c := p.next(); c.kind != tColon {
		return nil, p.unexpected(c, "':'")
	}
	ref := p.next()
	if ref.kind != tWord || !strings.EqualFold(ref.text, v.text) {
		if ref.kind == tWord && (p.peek().kind == tLParen || isKeyword(ref, "not")) {
			return nil, p.unsupported(ref, "only %s/skuId eq {skuId} is supported inside any(), not %s", clip(v.text), p.show(ref))
		}
		if ref.kind == tWord && isIdent(ref.text) {
			return nil, p.invalid(ref, "expected the lambda variable '%s' but found %s", clip(v.text), p.show(ref))
		}
		return nil, p.unexpected(ref, fmt.Sprintf("'%s/skuId'", clip(v.text)))
	}
	if c := p.next(); c.kind != tSlash {
		return nil, p.unexpected(c, fmt.Sprintf("'%s/skuId'", clip(v.text)))
	}
	prop := p.next()
	switch {
	case isKeyword(prop, "skuId"):
	case isKeyword(prop, "disabledPlans"):
		return nil, p.unsupported(prop, "filtering on %s is not supported; only skuId", p.show(prop))
	case prop.kind == tWord:
		return nil, p.invalid(prop, "unknown property %s on assignedLicenses", p.show(prop))
	default:
		return nil, p.unexpected(prop, "'skuId'")
	}
	ot := p.peek()
	op, err := p.operator()
	if err != nil {
		return nil, err
	}
	if op != "eq" {
		return nil, p.unsupported(ot, "only eq is supported inside assignedLicenses/any(), not %s", p.show(ot))
	}
	vt := p.next()
	sku, err := p.value(vt, "skuId", GUID)
	if err != nil {
		return nil, err
	}
	if sku == nil {
		return nil, p.invalid(vt, "skuId cannot be null")
	}
	c := p.next()
	if c.kind != tRParen {
		if isKeyword(c, "and") || isKeyword(c, "or") {
			return nil, p.unsupported(c, "only a single %s/skuId eq {skuId} is supported inside any(), not %s", clip(v.text), p.show(c))
		}
		return nil, p.unexpected(c, "')'")
	}
	return &allot.AnyLicense{SkuID: sku.(string)}, nil
}

// ---- classification ----

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// isNumber reports whether s looks like an OData numeric literal.
func isNumber(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	return s != "" && '0' <= s[0] && s[0] <= '9'
}

// isZero reports whether s is an integer literal equal to zero.
func isZero(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// isLiteral reports whether a word is a literal rather than a name.
func isLiteral(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "null":
		return true
	}
	return allot.IsID(s) || isNumber(s)
}
