package odata_test

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// format prints x as a $filter that parses back to x (used for messages
// and the fuzzers' round trip).
func format(x allot.Expr) string {
	switch x := x.(type) {
	case nil:
		return "<nil>"
	case *allot.Compare:
		if x.Op == "startswith" {
			return "startswith(" + element(x.Property) + "," + literal(x.Value) + ")"
		}
		return element(x.Property) + " " + x.Op + " " + literal(x.Value)
	case *allot.Any:
		return x.Collection + "/any(v:" + format(x.Cond) + ")"
	case *allot.AnyLicense:
		return "assignedLicenses/any(x:x/skuId eq " + x.SkuID + ")"
	case *allot.LicenseCount:
		return fmt.Sprintf("assignedLicenses/$count %s %d", x.Op, x.N)
	case *allot.And:
		return paren(x.Left, isOr) + " and " + paren(x.Right, func(y allot.Expr) bool { return isOr(y) || isAnd(y) })
	case *allot.Or:
		return format(x.Left) + " or " + paren(x.Right, isOr)
	case *allot.Not:
		if sw, ok := x.X.(*allot.Compare); ok && sw.Op == "startswith" {
			return format(sw) + " eq false"
		}
		return "not " + paren(x.X, func(y allot.Expr) bool { return isOr(y) || isAnd(y) })
	}
	return fmt.Sprintf("<%T>", x)
}

func isOr(x allot.Expr) bool  { _, ok := x.(*allot.Or); return ok }
func isAnd(x allot.Expr) bool { _, ok := x.(*allot.And); return ok }

func paren(x allot.Expr, need func(allot.Expr) bool) string {
	if need(x) {
		return "(" + format(x) + ")"
	}
	return format(x)
}

// element writes a property inside any(v:…) as the lambda variable does.
func element(p string) string {
	if coll, sub, ok := strings.Cut(p, "/"); ok && userFields[coll] == odata.Collection {
		return "v/" + sub
	}
	if userFields[p] == odata.Strings {
		return "v"
	}
	return p
}

func literal(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, literal(x))
		}
		return "(" + strings.Join(parts, ",") + ")"
	case bool:
		return fmt.Sprint(v)
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return fmt.Sprintf("<%T>", v)
}

// checkAST checks that every node of x is well formed for fields.
func checkAST(t *testing.T, x allot.Expr, fields map[string]odata.FieldKind) {
	t.Helper()
	switch x := x.(type) {
	case *allot.Compare:
		kind, ok := fields[x.Property]
		if !ok || x.Property == odata.LicensesField || kind == odata.Collection {
			t.Fatalf("Compare on %q, not a filterable field", x.Property)
		}
		if kind == odata.Strings {
			kind = odata.String // an element, inside any()
		}
		switch x.Op {
		case "eq", "ne":
		case "ge", "gt", "le", "lt":
			if _, ok := x.Value.(time.Time); !ok || kind != odata.DateTime {
				t.Fatalf("%s on %s field %q with %#v", x.Op, kind, x.Property, x.Value)
			}
			return
		case "in":
			vals, ok := x.Value.([]any)
			if !ok || len(vals) == 0 || kind != odata.String && kind != odata.GUID {
				t.Fatalf("in on %s field %q with %#v", kind, x.Property, x.Value)
			}
			return
		case "startswith":
			if kind != odata.String {
				t.Fatalf("startswith on %s field %q", kind, x.Property)
			}
			if _, ok := x.Value.(string); !ok {
				t.Fatalf("startswith value %#v", x.Value)
			}
		default:
			t.Fatalf("Compare op %q", x.Op)
		}
		switch v := x.Value.(type) {
		case nil:
		case string:
			if kind == odata.Bool || kind == odata.GUID && (len(v) != 36 || strings.ToLower(v) != v) {
				t.Fatalf("%s field %q compared with string %q", kind, x.Property, v)
			}
		case bool:
			if kind != odata.Bool {
				t.Fatalf("%s field %q compared with a bool", kind, x.Property)
			}
		case time.Time:
			if kind != odata.DateTime {
				t.Fatalf("%s field %q compared with a time", kind, x.Property)
			}
		default:
			t.Fatalf("value %#v", v)
		}
	case *allot.Any:
		if k := fields[x.Collection]; k != odata.Collection && k != odata.Strings {
			t.Fatalf("any over %q", x.Collection)
		}
		checkAST(t, x.Cond, fields)
	case *allot.And:
		checkAST(t, x.Left, fields)
		checkAST(t, x.Right, fields)
	case *allot.Or:
		checkAST(t, x.Left, fields)
		checkAST(t, x.Right, fields)
	case *allot.Not:
		checkAST(t, x.X, fields)
	case *allot.AnyLicense:
		if len(x.SkuID) != 36 || strings.ToLower(x.SkuID) != x.SkuID {
			t.Fatalf("AnyLicense %q", x.SkuID)
		}
	case *allot.LicenseCount:
		if x.N != 0 || x.Op != "eq" && x.Op != "ne" {
			t.Fatalf("LicenseCount %+v", *x)
		}
	default:
		t.Fatalf("node %T", x)
	}
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	var e *allot.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *allot.Error", err, err)
	}
	if e.Code != allot.EINVALID && e.Code != allot.EUNSUPPORTEDQUERY {
		t.Fatalf("error code %q: %s", e.Code, e.Message)
	}
	if e.Message == "" {
		t.Fatal("empty error message")
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		// valid
		"displayName eq 'Alice'",
		"startswith(displayName,'O''B') and accountEnabled eq true",
		"assignedLicenses/any(x:x/skuId eq " + sku + ")",
		"not(assignedLicenses/any(l:l/skuId eq '" + strings.ToUpper(sku) + "'))",
		"assignedLicenses/$count eq 0 or assignedLicenses/$count ne 0",
		"(usageLocation eq null or usageLocation eq 'US') and not id eq " + sku,
		"hasMembersWithLicenseErrors eq true",
		"DISPLAYNAME EQ 'a' OR NOT (USAGELOCATION NE 'b' AND ACCOUNTENABLED EQ FALSE)",
		"startswith(displayName,'a') eq false",
		"createdDateTime ge 2024-01-01T00:00:00Z and signInActivity/lastSignInDateTime le 2024-06-30",
		"displayName in ('a','b') and id in (" + sku + ")",
		"assignedPlans/any(p:p/servicePlanId eq " + sku + " and p/capabilityStatus eq 'Enabled')",
		"otherMails/any(m:startswith(m,'a') or m eq 'b')",
		// invalid or unsupported
		"displayName gt 'a'",
		"endswith(displayName,'a')",
		"foo eq 'x'",
		"displayName eq 'unterminated",
		"((((displayName eq 'a')))",
		"assignedLicenses/any(x:x/skuId eq 'nope')",
		"assignedLicenses/$count eq 1",
		"proxyAddresses/any(p:p eq 'smtp:a@b')",
		"id in ('a','b')",
		"accountEnabled eq 'true'",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, err := odata.ParseFilter(s, userFields)
		if err != nil {
			checkErr(t, err)
			return
		}
		if x == nil {
			t.Fatal("nil Expr without error")
		}
		checkAST(t, x, userFields)
		printed := format(x)
		if len(printed) > odata.MaxFilterLength {
			return
		}
		y, err := odata.ParseFilter(printed, userFields)
		if err != nil {
			t.Fatalf("reparsing %q (from %q): %v", printed, s, err)
		}
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("round trip of %q via %q:\n got %s", s, printed, format(y))
		}
	})
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"",
		"$top=5&$skiptoken=" + odata.EncodeSkipToken("cursor"),
		"top=999&filter=displayName%20eq%20'a'&count=true",
		"$select=displayName,id&$orderby=displayName%20asc&api-version=1.6",
		"$top=1000",
		"$top=5&top=6",
		"$foo=bar",
		"$skiptoken=garbage",
		"$search=%22displayName:al%22",
		"$filter=assignedLicenses/any(x:x/skuId%20eq%20" + sku + ")&$count=true",
		"$expand=manager",
		"$count=maybe",
		"a=1&&b=2&$skipToken=x;y",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://allot.example:8443")
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		for _, spec := range []odata.QuerySpec{userSpec, skuSpec} {
			q, err := odata.ParseQuery(v, spec)
			if err != nil {
				checkErr(t, err)
				continue
			}
			if spec.Paging && (q.Top < 1 || q.Top > allot.MaxPageSize) || !spec.Paging && q.Top != 0 {
				t.Fatalf("Top %d", q.Top)
			}
			for _, s := range q.Select {
				if !contains(spec.Select, s) {
					t.Fatalf("selected %q, not allowed", s)
				}
			}
			if q.Filter != nil {
				checkAST(t, q.Filter, spec.Filter)
			}
			if _, err := q.ListOptions(); err != nil {
				t.Fatalf("ListOptions: %v", err)
			}
		}

		// NextLink on any query a server could receive.
		if strings.Contains(raw, "#") {
			return
		}
		r, err := url.ParseRequestURI("/v1.0/users?" + raw)
		if err != nil {
			return
		}
		link := odata.NextLink(base, r, "c\x00ursor")
		u, err := url.Parse(link)
		if err != nil || !u.IsAbs() || u.Host != base.Host || u.Path != "/v1.0/users" {
			t.Fatalf("NextLink = %q: %v", link, err)
		}
		toks := skipTokens(u.RawQuery)
		if len(toks) != 1 {
			t.Fatalf("NextLink = %q has skip tokens %q", link, toks)
		}
		if c, err := odata.DecodeSkipToken(toks[0]); err != nil || c != "c\x00ursor" {
			t.Fatalf("NextLink = %q: cursor %q, %v", link, c, err)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// skipTokens returns the values of every skiptoken option in a raw query.
func skipTokens(rawQuery string) []string {
	var out []string
	for _, part := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if strings.EqualFold(strings.TrimPrefix(k, "$"), "skiptoken") {
			out = append(out, v)
		}
	}
	return out
}
