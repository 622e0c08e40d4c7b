package odata_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// userFields is a /users-like set of filterable properties.
var userFields = map[string]odata.FieldKind{
	"displayName":                       odata.String,
	"userPrincipalName":                 odata.String,
	"usageLocation":                     odata.String,
	"proxyAddresses":                    odata.String,
	"accountEnabled":                    odata.Bool,
	"hasMembersWithLicenseErrors":       odata.Bool,
	"id":                                odata.GUID,
	"assignedLicenses":                  odata.GUID,
	"createdDateTime":                   odata.DateTime,
	"signInActivity/lastSignInDateTime": odata.DateTime,
	"assignedPlans":                     odata.Collection,
	"assignedPlans/servicePlanId":       odata.GUID,
	"assignedPlans/capabilityStatus":    odata.String,
	"otherMails":                        odata.Strings,
}

// noLicenseFields lacks assignedLicenses.
var noLicenseFields = map[string]odata.FieldKind{
	"displayName": odata.String,
	"id":          odata.GUID,
}

const sku = "6fd2c87f-b296-42f0-b197-1e91e994b900"

func cmp(p, op string, v any) *allot.Compare { return &allot.Compare{Property: p, Op: op, Value: v} }
func and(l, r allot.Expr) *allot.And         { return &allot.And{Left: l, Right: r} }
func or(l, r allot.Expr) *allot.Or           { return &allot.Or{Left: l, Right: r} }
func not(x allot.Expr) *allot.Not            { return &allot.Not{X: x} }

var (
	a = cmp("displayName", "eq", "a")
	b = cmp("usageLocation", "eq", "b")
	c = cmp("accountEnabled", "eq", true)
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  allot.Expr
	}{
		// comparisons
		{"Eq", "displayName eq 'Alice'", cmp("displayName", "eq", "Alice")},
		{"In", "displayName in ('a', 'b')", cmp("displayName", "in", []any{"a", "b"})},
		{"InGUID", "id in ('" + strings.ToUpper(sku) + "')", cmp("id", "in", []any{sku})},
		{"DateGe", "createdDateTime ge 2024-01-31T10:00:00Z", cmp("createdDateTime", "ge", time.Date(2024, 1, 31, 10, 0, 0, 0, time.UTC))},
		{"DateOffset", "createdDateTime lt 2024-01-31T10:00:00.5-02:00", cmp("createdDateTime", "lt", time.Date(2024, 1, 31, 12, 0, 0, 5e8, time.UTC))},
		{"DateOnly", "createdDateTime gt 2024-01-31", cmp("createdDateTime", "gt", time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC))},
		{"DateNull", "createdDateTime eq null", cmp("createdDateTime", "eq", nil)},
		{"Path", "signInActivity/LastSignInDateTime le 2024-01-31T00:00:00Z", cmp("signInActivity/lastSignInDateTime", "le", time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC))},
		{"Lambda", "assignedPlans/any(p:p/servicePlanId eq " + sku + " and p/capabilityStatus eq 'Enabled')",
			&allot.Any{Collection: "assignedPlans", Cond: and(cmp("assignedPlans/servicePlanId", "eq", sku), cmp("assignedPlans/capabilityStatus", "eq", "Enabled"))}},
		{"LambdaStrings", "otherMails/any(m:startswith(m,'a@'))", &allot.Any{Collection: "otherMails", Cond: cmp("otherMails", "startswith", "a@")}},
		{"LambdaStringsEq", "not otherMails/ANY(m: m eq 'a@x')", not(&allot.Any{Collection: "otherMails", Cond: cmp("otherMails", "eq", "a@x")})},
		{"Ne", "displayName ne 'Alice'", cmp("displayName", "ne", "Alice")},
		{"EqNull", "usageLocation eq null", cmp("usageLocation", "eq", nil)},
		{"NeNull", "usageLocation ne NULL", cmp("usageLocation", "ne", nil)},
		{"EmptyString", "displayName eq ''", cmp("displayName", "eq", "")},
		{"KeywordInString", "displayName eq 'a and b or not c'", cmp("displayName", "eq", "a and b or not c")},
		{"Unicode", "displayName eq 'Zoë 日本'", cmp("displayName", "eq", "Zoë 日本")},
		{"BoolTrue", "accountEnabled eq true", cmp("accountEnabled", "eq", true)},
		{"BoolFalse", "accountEnabled ne false", cmp("accountEnabled", "ne", false)},
		{"BoolCase", "accountEnabled eq TRUE", cmp("accountEnabled", "eq", true)},
		{"BoolNull", "hasMembersWithLicenseErrors eq null", cmp("hasMembersWithLicenseErrors", "eq", nil)},
		{"HasMembersWithLicenseErrors", "hasMembersWithLicenseErrors eq true", cmp("hasMembersWithLicenseErrors", "eq", true)},
		{"GUIDBare", "id eq 6FD2C87F-B296-42F0-B197-1E91E994B900", cmp("id", "eq", sku)},
		{"GUIDQuoted", "id ne '6FD2C87F-B296-42F0-B197-1E91E994B900'", cmp("id", "ne", sku)},
		{"GUIDNull", "id eq null", cmp("id", "eq", nil)},
		// escaping
		{"EscapedQuote", "displayName eq 'O''Brien'", cmp("displayName", "eq", "O'Brien")},
		{"OnlyQuote", "displayName eq ''''", cmp("displayName", "eq", "'")},
		{"QuotesAtEnds", "displayName eq '''a'''", cmp("displayName", "eq", "'a'")},
		{"StartsWithEscaped", "startswith(displayName,'O''B')", cmp("displayName", "startswith", "O'B")},
		// startswith
		{"StartsWith", "startswith(displayName,'Al')", cmp("displayName", "startswith", "Al")},
		{"StartsWithSpaces", "startswith( displayName , 'Al' )", cmp("displayName", "startswith", "Al")},
		{"StartsWithCase", "StartsWith(DISPLAYNAME,'Al')", cmp("displayName", "startswith", "Al")},
		{"StartsWithEqTrue", "startswith(displayName,'a') eq true", cmp("displayName", "startswith", "a")},
		{"StartsWithNeFalse", "startswith(displayName,'a') ne false", cmp("displayName", "startswith", "a")},
		{"StartsWithEqFalse", "startswith(displayName,'a') eq false", not(cmp("displayName", "startswith", "a"))},
		{"StartsWithNeTrue", "startswith(displayName,'a') ne true", not(cmp("displayName", "startswith", "a"))},
		// case-insensitivity
		{"PropertyCase", "DISPLAYNAME EQ 'Alice'", cmp("displayName", "eq", "Alice")},
		{"PropertyMixedCase", "UserPrincipalName Ne 'x@y'", cmp("userPrincipalName", "ne", "x@y")},
		{"KeywordsCase", "displayName EQ 'a' AND usageLocation Eq 'b' OR NOT accountEnabled eq true",
			or(and(a, b), not(c))},
		// assignedLicenses
		{"Any", "assignedLicenses/any(x:x/skuId eq " + sku + ")", &allot.AnyLicense{SkuID: sku}},
		{"AnyQuoted", "assignedLicenses/any(x:x/skuId eq '" + sku + "')", &allot.AnyLicense{SkuID: sku}},
		{"AnyUpperGUID", "assignedLicenses/any(x:x/skuId eq " + strings.ToUpper(sku) + ")", &allot.AnyLicense{SkuID: sku}},
		{"AnyOtherVar", "assignedLicenses/any(lic: lic/skuId eq " + sku + ")", &allot.AnyLicense{SkuID: sku}},
		{"AnyCase", "AssignedLicenses/ANY(S:s/SKUID EQ " + sku + ")", &allot.AnyLicense{SkuID: sku}},
		{"AnySpaces", "assignedLicenses / any ( x : x / skuId eq " + sku + " )", &allot.AnyLicense{SkuID: sku}},
		{"CountEq0", "assignedLicenses/$count eq 0", &allot.LicenseCount{Op: "eq", N: 0}},
		{"CountNe0", "assignedLicenses/$count ne 0", &allot.LicenseCount{Op: "ne", N: 0}},
		{"CountCase", "ASSIGNEDLICENSES/$COUNT NE 0", &allot.LicenseCount{Op: "ne", N: 0}},
		{"NotAny", "NOT(assignedLicenses/any(x:x/skuId eq " + sku + "))", not(&allot.AnyLicense{SkuID: sku})},
		// not, parentheses
		{"Not", "not displayName eq 'a'", not(a)},
		{"NotParen", "not(displayName eq 'a')", not(a)},
		{"NotNot", "not not displayName eq 'a'", not(not(a))},
		{"Parens", "((displayName eq 'a'))", a},
		// precedence and associativity
		{"OrAnd", "displayName eq 'a' or usageLocation eq 'b' and accountEnabled eq true", or(a, and(b, c))},
		{"AndOr", "displayName eq 'a' and usageLocation eq 'b' or accountEnabled eq true", or(and(a, b), c)},
		{"ParenOr", "(displayName eq 'a' or usageLocation eq 'b') and accountEnabled eq true", and(or(a, b), c)},
		{"NotAnd", "not displayName eq 'a' and usageLocation eq 'b'", and(not(a), b)},
		{"NotOr", "not displayName eq 'a' or usageLocation eq 'b'", or(not(a), b)},
		{"NotGroup", "not (displayName eq 'a' or usageLocation eq 'b')", not(or(a, b))},
		{"AndLeftAssoc", "displayName eq 'a' and usageLocation eq 'b' and accountEnabled eq true", and(and(a, b), c)},
		{"OrLeftAssoc", "displayName eq 'a' or usageLocation eq 'b' or accountEnabled eq true", or(or(a, b), c)},
		{"AndRightGroup", "displayName eq 'a' and (usageLocation eq 'b' and accountEnabled eq true)", and(a, and(b, c))},
		// white space
		{"NoSpaceAroundStrings", "displayName eq'a'and usageLocation eq'b'", and(a, b)},
		{"TabsNewlines", "\tdisplayName\neq 'a'\r\nand\tusageLocation eq 'b' ", and(a, b)},
		{"MaxDepth", strings.Repeat("(", 32) + "displayName eq 'a'" + strings.Repeat(")", 32), a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := odata.ParseFilter(tt.input, userFields)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tt.input, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseFilter(%q)\n got %s\nwant %s", tt.input, format(got), format(tt.want))
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	long := "displayName eq '" + strings.Repeat("x", odata.MaxFilterLength) + "'"
	tests := []struct {
		name   string
		input  string
		fields map[string]odata.FieldKind
		code   string
		token  string // must appear in the message
	}{
		// syntax
		{"Empty", "", nil, allot.EINVALID, "empty"},
		{"Blank", "  \t ", nil, allot.EINVALID, "empty"},
		{"TooLong", long, nil, allot.EINVALID, "4096"},
		{"InvalidUTF8", "displayName eq '\xff'", nil, allot.EINVALID, "UTF-8"},
		{"UnknownProperty", "foo eq 'x'", nil, allot.EINVALID, "'foo'"},
		{"UnknownPropertyLater", "displayName eq 'a' and foo eq 'x'", nil, allot.EINVALID, "'foo' at position 23"},
		{"Unterminated", "displayName eq 'abc", nil, allot.EINVALID, "'abc"},
		{"UnterminatedEscape", "displayName eq 'abc''", nil, allot.EINVALID, "'abc''"},
		{"MissingValue", "displayName eq", nil, allot.EINVALID, "end of filter"},
		{"MissingOperator", "displayName 'a'", nil, allot.EINVALID, "'a'"},
		{"EqualsSign", "displayName = 'a'", nil, allot.EINVALID, "'='"},
		{"DoubleQuotes", `displayName eq "a"`, nil, allot.EINVALID, `'"a"'`},
		{"UnclosedParen", "(displayName eq 'a'", nil, allot.EINVALID, "end of filter"},
		{"ExtraParen", "displayName eq 'a')", nil, allot.EINVALID, "')'"},
		{"EmptyParens", "displayName eq 'a' and ()", nil, allot.EINVALID, "')'"},
		{"TrailingWord", "displayName eq 'a' foo", nil, allot.EINVALID, "'foo'"},
		{"LeadingAnd", "and displayName eq 'a'", nil, allot.EINVALID, "'and'"},
		{"TrailingAnd", "displayName eq 'a' and", nil, allot.EINVALID, "end of filter"},
		{"ChainedEq", "displayName eq 'a' eq 'b'", nil, allot.EINVALID, "'eq'"},
		{"BareNot", "not", nil, allot.EINVALID, "end of filter"},
		{"LiteralAsProperty", "true", nil, allot.EINVALID, "'true'"},
		{"StringAsProperty", "'a' eq displayName", nil, allot.EINVALID, "'a'"},
		{"UnknownValueWord", "displayName eq bob", nil, allot.EINVALID, "'bob'"},
		{"StrayComma", "displayName eq 'a', id eq null", nil, allot.EINVALID, "','"},
		{"TooDeepParens", strings.Repeat("(", 33) + "displayName eq 'a'" + strings.Repeat(")", 33), nil, allot.EINVALID, "'('"},
		{"TooDeepNot", strings.Repeat("not ", 33) + "displayName eq 'a'", nil, allot.EINVALID, "'not'"},
		// types
		{"BoolVsString", "accountEnabled eq 'true'", nil, allot.EINVALID, "'true'"},
		{"BoolVsNumber", "hasMembersWithLicenseErrors eq 1", nil, allot.EINVALID, "'1'"},
		{"BoolVsGUID", "accountEnabled eq " + sku, nil, allot.EINVALID, sku},
		{"GUIDVsString", "id eq 'abc'", nil, allot.EINVALID, "'abc'"},
		{"GUIDVsNumber", "id eq 12", nil, allot.EINVALID, "'12'"},
		{"GUIDVsBool", "id eq true", nil, allot.EINVALID, "'true'"},
		{"GUIDTooShort", "id eq 6fd2c87f-b296-42f0-b197-1e91e994b90", nil, allot.EINVALID, "6fd2c87f-b296-42f0-b197-1e91e994b90"},
		{"StringVsBool", "displayName eq true", nil, allot.EINVALID, "'true'"},
		{"StringVsNumber", "displayName eq 5", nil, allot.EINVALID, "'5'"},
		{"StringVsBareGUID", "displayName eq " + sku, nil, allot.EINVALID, sku},
		{"StartsWithGUID", "startswith(id,'6f')", nil, allot.EINVALID, "'id'"},
		{"StartsWithBool", "startswith(accountEnabled,'t')", nil, allot.EINVALID, "'accountEnabled'"},
		{"StartsWithNumber", "startswith(displayName, 5)", nil, allot.EINVALID, "'5'"},
		{"StartsWithUnknown", "startswith(foo,'a')", nil, allot.EINVALID, "'foo'"},
		{"StartsWithOneArg", "startswith(displayName)", nil, allot.EINVALID, "')'"},
		{"StartsWithEqString", "startswith(displayName,'a') eq 'x'", nil, allot.EINVALID, "'x'"},
		{"CollectionCompared", "assignedLicenses eq 'x'", nil, allot.EINVALID, "'assignedLicenses'"},
		// assignedLicenses
		{"AnyWithoutLicensesField", "assignedLicenses/any(x:x/skuId eq " + sku + ")", noLicenseFields, allot.EINVALID, "'assignedLicenses'"},
		{"CountWithoutLicensesField", "assignedLicenses/$count eq 0", noLicenseFields, allot.EINVALID, "'assignedLicenses'"},
		{"AnyBadGUID", "assignedLicenses/any(x:x/skuId eq 'nope')", nil, allot.EINVALID, "'nope'"},
		{"AnyBareWord", "assignedLicenses/any(x:x/skuId eq nope)", nil, allot.EINVALID, "'nope'"},
		{"AnyNull", "assignedLicenses/any(x:x/skuId eq null)", nil, allot.EINVALID, "null"},
		{"AnyWrongVar", "assignedLicenses/any(x:y/skuId eq " + sku + ")", nil, allot.EINVALID, "'y'"},
		{"AnyUnknownProp", "assignedLicenses/any(x:x/foo eq " + sku + ")", nil, allot.EINVALID, "'foo'"},
		{"AnyNoColon", "assignedLicenses/any(x x/skuId eq " + sku + ")", nil, allot.EINVALID, "'x'"},
		{"AnyUnclosed", "assignedLicenses/any(x:x/skuId eq " + sku, nil, allot.EINVALID, "end of filter"},
		{"LicensesPath", "assignedLicenses/skuId eq " + sku, nil, allot.EINVALID, "'skuId'"},
		{"LicensesBadSegment", "assignedLicenses/foo eq 1", nil, allot.EINVALID, "'foo'"},
		{"CountVsString", "assignedLicenses/$count eq 'a'", nil, allot.EINVALID, "'a'"},
		{"UnknownPath", "manager/displayName eq 'a'", nil, allot.EINVALID, "'manager'"},
		// valid OData that Allot does not support
		{"Gt", "displayName gt 'a'", nil, allot.EUNSUPPORTEDQUERY, "'gt'"},
		{"Ge", "displayName ge 'a'", nil, allot.EUNSUPPORTEDQUERY, "'ge'"},
		{"Lt", "displayName lt 'a'", nil, allot.EUNSUPPORTEDQUERY, "'lt'"},
		{"Le", "displayName le 'a'", nil, allot.EUNSUPPORTEDQUERY, "'le'"},
		{"InBool", "accountEnabled in (true)", nil, allot.EUNSUPPORTEDQUERY, "'accountEnabled'"},
		{"InNull", "displayName in ('a', null)", nil, allot.EINVALID, "null"},
		{"InUnclosed", "displayName in ('a'", nil, allot.EINVALID, "end of filter"},
		{"InNoParen", "displayName in 'a'", nil, allot.EINVALID, "'a'"},
		{"InTooMany", "displayName in (" + strings.Repeat("'a',", odata.MaxInValues) + "'b')", nil, allot.EINVALID, "more than"},
		{"DateQuoted", "createdDateTime ge '2024-01-01T00:00:00Z'", nil, allot.EINVALID, "without quotes"},
		{"DateBad", "createdDateTime ge 2024-13-01T00:00:00Z", nil, allot.EINVALID, "2024-13-01"},
		{"DateNullOrder", "createdDateTime le null", nil, allot.EINVALID, "null"},
		{"DateStartsWith", "startswith(createdDateTime,'2024')", nil, allot.EINVALID, "'createdDateTime'"},
		{"PathUnknown", "signInActivity/foo le 2024-01-01T00:00:00Z", nil, allot.EINVALID, "'signInActivity'"},
		{"LambdaSubAsPath", "assignedPlans/servicePlanId eq " + sku, nil, allot.EINVALID, "assignedPlans/any"},
		{"LambdaUnknownProp", "assignedPlans/any(p:p/foo eq 'x')", nil, allot.EINVALID, "'foo'"},
		{"LambdaOuterProp", "assignedPlans/any(p:displayName eq 'x')", nil, allot.EUNSUPPORTEDQUERY, "'displayName'"},
		{"LambdaNested", "assignedPlans/any(p:otherMails/any(m:m eq 'x'))", nil, allot.EUNSUPPORTEDQUERY, "otherMails"},
		{"LambdaAll", "assignedPlans/all(p:p/capabilityStatus eq 'Enabled')", nil, allot.EUNSUPPORTEDQUERY, "'all'"},
		{"CollectionAsScalar", "otherMails eq 'x'", nil, allot.EINVALID, "'otherMails'"},
		{"StringsElementPath", "otherMails/any(m:m/x eq 'a')", nil, allot.EINVALID, "'x'"},
		{"ObjectElementBare", "assignedPlans/any(p:p eq 'a')", nil, allot.EINVALID, "'p'"},
		{"Add", "displayName add 'a' eq 'b'", nil, allot.EUNSUPPORTEDQUERY, "'add'"},
		{"EndsWith", "endswith(displayName,'a')", nil, allot.EUNSUPPORTEDQUERY, "'endswith'"},
		{"Contains", "contains(displayName,'a')", nil, allot.EUNSUPPORTEDQUERY, "'contains'"},
		{"UnknownFunction", "frobnicate(displayName)", nil, allot.EUNSUPPORTEDQUERY, "'frobnicate'"},
		{"FunctionInNot", "not endswith(displayName,'a')", nil, allot.EUNSUPPORTEDQUERY, "'endswith'"},
		{"LambdaOtherCollection", "proxyAddresses/any(p:startswith(p,'smtp:'))", nil, allot.EUNSUPPORTEDQUERY, "proxyAddresses"},
		{"LambdaAllOtherCollection", "proxyAddresses/all(p:p eq 'x')", nil, allot.EUNSUPPORTEDQUERY, "proxyAddresses"},
		{"PropertyPath", "displayName/foo eq 'a'", nil, allot.EUNSUPPORTEDQUERY, "displayName"},
		{"StartsWithPath", "startswith(displayName/x,'a')", nil, allot.EUNSUPPORTEDQUERY, "displayName"},
		{"PropertyVsProperty", "displayName eq userPrincipalName", nil, allot.EUNSUPPORTEDQUERY, "'userPrincipalName'"},
		{"All", "assignedLicenses/all(x:x/skuId eq " + sku + ")", nil, allot.EUNSUPPORTEDQUERY, "'all'"},
		{"AnyNe", "assignedLicenses/any(x:x/skuId ne " + sku + ")", nil, allot.EUNSUPPORTEDQUERY, "'ne'"},
		{"AnyGt", "assignedLicenses/any(x:x/skuId gt " + sku + ")", nil, allot.EUNSUPPORTEDQUERY, "'gt'"},
		{"AnyOr", "assignedLicenses/any(x:x/skuId eq " + sku + " or x/skuId eq " + sku + ")", nil, allot.EUNSUPPORTEDQUERY, "'or'"},
		{"AnyNot", "assignedLicenses/any(x:not x/skuId eq " + sku + ")", nil, allot.EUNSUPPORTEDQUERY, "'not'"},
		{"AnyDisabledPlans", "assignedLicenses/any(x:x/disabledPlans/any(p:p eq " + sku + "))", nil, allot.EUNSUPPORTEDQUERY, "'disabledPlans'"},
		{"AnyEmpty", "assignedLicenses/any()", nil, allot.EUNSUPPORTEDQUERY, "any()"},
		{"CountOne", "assignedLicenses/$count eq 1", nil, allot.EUNSUPPORTEDQUERY, "'1'"},
		{"CountGt", "assignedLicenses/$count gt 0", nil, allot.EUNSUPPORTEDQUERY, "'gt'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := tt.fields
			if fields == nil {
				fields = userFields
			}
			got, err := odata.ParseFilter(tt.input, fields)
			if err == nil {
				t.Fatalf("ParseFilter(%q) = %s, want error", tt.input, format(got))
			}
			var e *allot.Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseFilter(%q): error %T %v is not *allot.Error", tt.input, err, err)
			}
			if e.Code != tt.code {
				t.Errorf("ParseFilter(%q): code %q, want %q (%s)", tt.input, e.Code, tt.code, e.Message)
			}
			if !strings.Contains(e.Message, tt.token) {
				t.Errorf("ParseFilter(%q): message %q does not mention %q", tt.input, e.Message, tt.token)
			}
			if !strings.Contains(e.Message, "position") && !strings.Contains(e.Message, "empty") && !strings.Contains(e.Message, "longer") {
				t.Errorf("ParseFilter(%q): message %q gives no position", tt.input, e.Message)
			}
		})
	}
}

func TestParseFilterMessages(t *testing.T) {
	tests := []struct{ input, want string }{
		{"foo eq 'x'", "Invalid filter clause: unknown property 'foo' at position 0."},
		{"not (foo eq 'x')", "Invalid filter clause: unknown property 'foo' at position 5."},
		// Positions count characters, not bytes.
		{"displayName eq 'Zoë' and foo eq 1", "Invalid filter clause: unknown property 'foo' at position 25."},
		{"displayName gt 'a'", "Unsupported filter clause: operator 'gt' is not supported on Edm.String property 'displayName' at position 12."},
		{"displayName eq", "Invalid filter clause: unexpected end of filter, expected a literal value at position 14."},
	}
	for _, tt := range tests {
		_, err := odata.ParseFilter(tt.input, userFields)
		if got := allot.ErrorMessage(err); got != tt.want {
			t.Errorf("ParseFilter(%q): message\n got %q\nwant %q", tt.input, got, tt.want)
		}
	}
}

func TestParseFilterCanonicalNameCollision(t *testing.T) {
	// Two keys differing only in case: the parser picks one deterministically.
	fields := map[string]odata.FieldKind{"mail": odata.String, "Mail": odata.String}
	for range 20 {
		got, err := odata.ParseFilter("MAIL eq 'x'", fields)
		if err != nil {
			t.Fatal(err)
		}
		if want := cmp("Mail", "eq", "x"); !reflect.DeepEqual(got, want) {
			t.Fatalf("got %s, want %s", format(got), format(want))
		}
	}
}

func TestFieldKindString(t *testing.T) {
	for k, want := range map[odata.FieldKind]string{odata.String: "Edm.String", odata.Bool: "Edm.Boolean", odata.GUID: "Edm.Guid", 9: "FieldKind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}
