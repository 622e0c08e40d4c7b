// Package dynrule parses and evaluates Microsoft Entra dynamic membership
// rules for users, such as
//
//	(user.department -eq "Sales") -and (user.usageLocation -eq "US")
//	user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled")
//
// with Microsoft's semantics: names, operators, keywords and string
// comparisons ignore case; operators may be written with or without their
// hyphen; an empty string property equals null. Rules Allot cannot honour
// (device rules, memberOf, Direct Reports, system.now) are refused with an
// *Error, never accepted and ignored.
//
// A parsed Rule is immutable and safe for concurrent use; Match does not
// allocate.
package dynrule

import (
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/allot-dev/allot"
)

// Limits on rules.
const (
	MaxLength  = 3072 // characters of rule text (Microsoft's limit)
	MaxDepth   = 32   // nested parentheses and -not
	MaxClauses = 256  // comparisons in a rule
	MaxPattern = 512  // characters of a -match pattern
	// MaxPatternInsts caps the compiled size of a -match pattern, so that
	// matching stays cheap (x{1000} is a thousand copies of x).
	MaxPatternInsts = 2000
	MaxListValues   = 1000 // values of an -in list
)

// Error is a rule that does not parse.
type Error struct {
	Col int    // 1-based column, in characters, where the problem is
	Msg string // what is wrong
}

func (e *Error) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Msg) }

// errAt returns an Error at byte offset off of src.
func errAt(src string, off int, format string, args ...any) *Error {
	off = min(max(off, 0), len(src))
	return &Error{Col: utf8.RuneCountInString(src[:off]) + 1, Msg: fmt.Sprintf(format, args...)}
}

// Rule is a parsed membership rule.
type Rule struct {
	Text string // as given to Parse
	Root Expr

	readsPlans bool
	planIDs    []string
	planAny    bool
	properties []string
}

// Expr is a node of a rule: *And, *Or, *Not, *Compare or *Quantifier.
type Expr interface {
	// Span is where the node is in Rule.Text, in bytes, parentheses
	// around it included.
	Span() (start, end int)
	isExpr()
}

type span struct{ start, end int }

func (s span) Span() (int, int) { return s.start, s.end }
func (span) isExpr()            {}

// And is true when all its operands are (a -and b -and c).
type And struct {
	Operands []Expr
	span
}

// Or is true when one of its operands is.
type Or struct {
	Operands []Expr
	span
}

// Not negates X (-not X).
type Not struct {
	X Expr
	span
}

// Quantifier is user.<collection> -any (cond) or -all (cond). In Cond, _
// is the item of a string collection and assignedPlan.<field> a field of
// an assigned plan.
type Quantifier struct {
	Property string // e.g. "proxyAddresses", "assignedPlans"
	Operator string // "-any" or "-all"
	Cond     Expr
	span
	all  bool
	prop *property
}

// ValueKind is what a comparison compares with.
type ValueKind uint8

const (
	StringValue ValueKind = iota // Str
	BoolValue                    // Bool
	NullValue                    // null
	DateValue                    // Time (Str as written)
	ListValue                    // List, of -in and -notIn
)

// Value is the right-hand side of a comparison.
type Value struct {
	Kind   ValueKind
	Text   string // as written in the rule
	Str    string // StringValue, DateValue: the text, unquoted and unescaped
	Bool   bool
	Time   time.Time // DateValue, in UTC
	Day    bool      // DateValue: a date without a time, compared by day
	List   []string  // ListValue: the values, unquoted
	quoted bool
}

// Compare is one clause: Property Operator Value.
type Compare struct {
	Property string // e.g. "department", "_", "assignedPlan.servicePlanId"
	Operator string // canonical, e.g. "-startsWith"
	Value    Value
	span

	prop  *property
	op    op   // the positive form of Operator
	neg   bool // Operator is the negation of op
	lower string
	list  []string // lowered -in values
	set   map[string]struct{}
	re    *regexp.Regexp
}

// op is a comparison, in its positive form.
type op uint8

const (
	opEq op = iota
	opStarts
	opEnds
	opContains
	opMatch
	opIn
	opLe
	opGe
)

// compareOps are the comparison operators by lower-case name (without
// hyphen): canonical spelling, positive form, negated.
var compareOps = map[string]struct {
	name string
	op   op
	neg  bool
}{
	"eq":            {"-eq", opEq, false},
	"ne":            {"-ne", opEq, true},
	"startswith":    {"-startsWith", opStarts, false},
	"notstartswith": {"-notStartsWith", opStarts, true},
	"endswith":      {"-endsWith", opEnds, false},
	"notendswith":   {"-notEndsWith", opEnds, true},
	"contains":      {"-contains", opContains, false},
	"notcontains":   {"-notContains", opContains, true},
	"match":         {"-match", opMatch, false},
	"notmatch":      {"-notMatch", opMatch, true},
	"in":            {"-in", opIn, false},
	"notin":         {"-notIn", opIn, true},
	"le":            {"-le", opLe, false},
	"ge":            {"-ge", opGe, false},
}

// AssignedPlan is a service plan assigned to a user, as Graph's
// assignedPlans lists it.
type AssignedPlan struct {
	ServicePlanID    string
	Service          string
	CapabilityStatus string // "Enabled", "Suspended", "Deleted", ...
	AssignedDateTime time.Time
}

// Subject is what a rule is evaluated against.
type Subject struct {
	User  *allot.User
	Plans []AssignedPlan // the user's assigned plans
}

// Detail is Graph's expressionEvaluationDetails: an expression, its result,
// and the results of its operands.
type Detail struct {
	Expression string
	Result     bool
	Children   []Detail
}

// ReadsPlans reports whether the rule reads user.assignedPlans.
func (r *Rule) ReadsPlans() bool { return r.readsPlans }

// PlanIDs returns the servicePlanIds the rule compares assigned plans with
// (-eq and -in), sorted and lower case. any is true when the rule's result
// may depend on assigned plans with other ids too (-all, or an -any whose
// condition does not pin servicePlanId); when any is false, only changes to
// plans with these ids can change the rule's result.
func (r *Rule) PlanIDs() (ids []string, any bool) {
	return append([]string(nil), r.planIDs...), r.planAny
}

// Properties returns the Graph names of the user properties the rule reads,
// sorted: aliases resolved as allot names them (mobile is mobilePhone,
// physicalDeliveryOfficeName officeLocation, telephoneNumber
// businessPhones, dirSyncEnabled onPremisesSyncEnabled, objectId id), and
// "assignedPlans" when it reads assigned plans.
func (r *Rule) Properties() []string { return append([]string(nil), r.properties...) }
