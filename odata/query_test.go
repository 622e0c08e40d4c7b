package odata_test

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

var userSpec = odata.QuerySpec{
	Select:   []string{"id", "displayName", "userPrincipalName", "assignedLicenses", "licenseAssignmentStates"},
	Filter:   userFields,
	Paging:   true,
	OrderBy:  []string{"displayName", "userPrincipalName"},
	Count:    true,
	Search:   true,
	TypeName: "microsoft.graph.user",
}

// skuSpec is like GET /subscribedSkus: $select only, no paging.
var skuSpec = odata.QuerySpec{
	Select:   []string{"id", "skuId", "skuPartNumber"},
	TypeName: "microsoft.graph.subscribedSku",
}

func wantError(t *testing.T, err error, code, fragment string) {
	t.Helper()
	var e *allot.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v, want *allot.Error %s", err, err, code)
	}
	if e.Code != code {
		t.Errorf("code %q, want %q (%s)", e.Code, code, e.Message)
	}
	if !strings.Contains(e.Message, fragment) {
		t.Errorf("message %q does not contain %q", e.Message, fragment)
	}
}

func TestParseTop(t *testing.T) {
	for in, want := range map[string]int{"": allot.DefaultPageSize, "1": 1, "5": 5, "100": 100, "999": 999, "0999": 999} {
		got, err := odata.ParseTop(in)
		if err != nil || got != want {
			t.Errorf("ParseTop(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "1000", "-1", "+5", " 5", "5 ", "5.0", "abc", "1e3", "99999999999999999999", "0x10"} {
		_, err := odata.ParseTop(in)
		var e *allot.Error
		if !errors.As(err, &e) {
			t.Fatalf("ParseTop(%q): error %v", in, err)
		}
		want := "Invalid page size specified: '" + in + "'. Must be between 1 and 999 inclusive."
		if e.Code != allot.EUNSUPPORTEDQUERY || e.Message != want {
			t.Errorf("ParseTop(%q): %s %q; want %s %q", in, e.Code, e.Message, allot.EUNSUPPORTEDQUERY, want)
		}
	}
	// Exactly Graph's text for $top=1000.
	_, err := odata.ParseTop("1000")
	if got := allot.ErrorMessage(err); got != "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive." {
		t.Errorf("ParseTop(1000) message %q", got)
	}
}

func TestParseSelect(t *testing.T) {
	allowed := []string{"id", "displayName", "assignedLicenses"}
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"id", []string{"id"}},
		{"displayName,id", []string{"displayName", "id"}},
		{"DISPLAYNAME, ID ,assignedlicenses", []string{"displayName", "id", "assignedLicenses"}},
		{"id,displayName,ID,id", []string{"id", "displayName"}},
	}
	for _, tt := range tests {
		got, err := odata.ParseSelect(tt.in, allowed)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSelect(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	errs := []struct{ in, code, fragment string }{
		{"foo", allot.EINVALID, "Could not find a property named 'foo'."},
		{"id,foo", allot.EINVALID, "'foo'"},
		{"id,", allot.EINVALID, "'id,'"},
		{"id,,displayName", allot.EINVALID, "empty"},
		{"*", allot.EUNSUPPORTEDQUERY, "'*'"},
		{"manager/id", allot.EUNSUPPORTEDQUERY, "'manager/id'"},
	}
	for _, tt := range errs {
		_, err := odata.ParseSelect(tt.in, allowed)
		t.Run(tt.in, func(t *testing.T) { wantError(t, err, tt.code, tt.fragment) })
	}
}

func TestParseQuery(t *testing.T) {
	tok := odata.EncodeSkipToken("cursor-1")
	tests := []struct {
		name  string
		query string
		spec  odata.QuerySpec
		want  odata.Query
	}{
		{"Empty", "", userSpec, odata.Query{Top: 100}},
		{"EmptyNoPaging", "", skuSpec, odata.Query{}},
		{"Top", "$top=5", userSpec, odata.Query{Top: 5}},
		{"TopWithoutDollar", "top=5", userSpec, odata.Query{Top: 5}},
		{"TopUpperCase", "$TOP=5", userSpec, odata.Query{Top: 5}},
		{"TopEmpty", "$top=", userSpec, odata.Query{Top: 100}},
		{"Select", "$select=displayName,ID,displayName", userSpec, odata.Query{Top: 100, Select: []string{"displayName", "id"}}},
		{"SelectEmpty", "$select=", userSpec, odata.Query{Top: 100}},
		{"SelectOnSkus", "$select=skuPartNumber", skuSpec, odata.Query{Select: []string{"skuPartNumber"}}},
		{"Filter", "$filter=displayName eq 'a'", userSpec, odata.Query{Top: 100, Filter: a}},
		{"FilterWithoutDollar", "filter=displayName eq 'a'", userSpec, odata.Query{Top: 100, Filter: a}},
		{"FilterAny", "$filter=assignedLicenses/any(x:x/skuId eq " + sku + ")&$count=true", userSpec,
			odata.Query{Top: 100, Filter: &allot.AnyLicense{SkuID: sku}, Count: true}},
		{"CountTrue", "$count=true", userSpec, odata.Query{Top: 100, Count: true}},
		{"CountFalse", "$count=false", userSpec, odata.Query{Top: 100}},
		{"CountCase", "$Count=TRUE", userSpec, odata.Query{Top: 100, Count: true}},
		{"OrderBy", "$orderby=displayName", userSpec, odata.Query{Top: 100, OrderBy: "displayName"}},
		{"OrderByAsc", "$orderby=displayName asc", userSpec, odata.Query{Top: 100, OrderBy: "displayName"}},
		{"OrderByCase", "$orderBy=DisplayName  ASC", userSpec, odata.Query{Top: 100, OrderBy: "displayName"}},
		{"OrderByDesc", "$orderby=userprincipalname desc", userSpec, odata.Query{Top: 100, OrderBy: "userPrincipalName", Descending: true}},
		{"SkipToken", "$skiptoken=" + tok, userSpec, odata.Query{Top: 100, SkipToken: tok}},
		{"SkipTokenCamel", "$skipToken=" + tok, userSpec, odata.Query{Top: 100, SkipToken: tok}},
		{"SkipTokenWithoutDollar", "skiptoken=" + tok, userSpec, odata.Query{Top: 100, SkipToken: tok}},
		{"Search", `$search="displayName:al"`, userSpec, odata.Query{Top: 100, Search: `"displayName:al"`}},
		{"IgnoresOtherParameters", "api-version=1.6&foo=bar&id=7", userSpec, odata.Query{Top: 100}},
		{"All", "$select=id&$filter=displayName eq 'a'&$top=10&$count=true&$orderby=displayName&$skiptoken=" + tok + "&api-version=1", userSpec,
			odata.Query{Select: []string{"id"}, Filter: a, Top: 10, Count: true, OrderBy: "displayName", SkipToken: tok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(strings.ReplaceAll(tt.query, " ", "%20"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := odata.ParseQuery(v, tt.spec)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tt.query, err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("ParseQuery(%q)\n got %+v\nwant %+v", tt.query, *got, tt.want)
			}
		})
	}
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		spec     odata.QuerySpec
		code     string
		fragment string
	}{
		{"UnknownOption", "$foo=1", userSpec, allot.EINVALID, "Query option '$foo' is not supported."},
		{"UnknownOptionEmpty", "$=1", userSpec, allot.EINVALID, "Query option '$' is not supported."},
		{"Repeated", "$top=5&$top=6", userSpec, allot.EINVALID, "'$top' was specified more than once"},
		{"RepeatedWithAndWithoutDollar", "$top=5&top=6", userSpec, allot.EINVALID, "'$top' was specified more than once"},
		{"RepeatedCase", "$filter=id eq null&$FILTER=id eq null", userSpec, allot.EINVALID, "'$filter' was specified more than once"},
		{"RepeatedSkipToken", "$skiptoken=a&$skipToken=b", userSpec, allot.EINVALID, "'$skiptoken' was specified more than once"},
		{"Top1000", "$top=1000", userSpec, allot.EUNSUPPORTEDQUERY, "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{"Top0", "top=0", userSpec, allot.EUNSUPPORTEDQUERY, "'0'"},
		{"FilterOnSkus", "$filter=skuId eq null", skuSpec, allot.EUNSUPPORTEDQUERY, "'$filter'"},
		{"TopOnSkus", "$top=5", skuSpec, allot.EUNSUPPORTEDQUERY, "'$top'"},
		{"SkipTokenOnSkus", "$skiptoken=x", skuSpec, allot.EUNSUPPORTEDQUERY, "'$skiptoken'"},
		{"CountOnSkus", "$count=true", skuSpec, allot.EUNSUPPORTEDQUERY, "'$count'"},
		{"OrderByOnSkus", "$orderby=displayName", skuSpec, allot.EUNSUPPORTEDQUERY, "'$orderby'"},
		{"SearchOnSkus", "$search=x", skuSpec, allot.EUNSUPPORTEDQUERY, "'$search'"},
		{"SelectNowhere", "$select=id", odata.QuerySpec{}, allot.EUNSUPPORTEDQUERY, "'$select'"},
		{"Expand", "$expand=manager", userSpec, allot.EUNSUPPORTEDQUERY, "'$expand'"},
		{"Skip", "$skip=10", userSpec, allot.EUNSUPPORTEDQUERY, "'$skip'"},
		{"SkipWithoutDollar", "skip=10", userSpec, allot.EUNSUPPORTEDQUERY, "'$skip'"},
		{"Format", "$format=json", userSpec, allot.EUNSUPPORTEDQUERY, "'$format'"},
		{"CountBadValue", "$count=yes", userSpec, allot.EINVALID, "'yes'"},
		{"CountEmpty", "$count=", userSpec, allot.EINVALID, "''"},
		{"OrderByBadDirection", "$orderby=displayName down", userSpec, allot.EUNSUPPORTEDQUERY, "'displayName down'"},
		{"OrderByOther", "$orderby=id", userSpec, allot.EUNSUPPORTEDQUERY, "'id'"},
		{"OrderByTwo", "$orderby=displayName,id", userSpec, allot.EUNSUPPORTEDQUERY, "'displayName,id'"},
		{"OrderByEmpty", "$orderby=", userSpec, allot.EINVALID, "empty"},
		{"SkipTokenGarbage", "$skiptoken=garbage", userSpec, allot.EINVALID, "The $skiptoken is invalid."},
		{"SkipTokenEmpty", "$skiptoken=", userSpec, allot.EINVALID, "The $skiptoken is invalid."},
		{"SearchEmpty", "$search=", userSpec, allot.EINVALID, "$search"},
		{"SelectUnknown", "$select=id,foo", userSpec, allot.EINVALID, "Could not find a property named 'foo' on type 'microsoft.graph.user'."},
		{"FilterInvalid", "$filter=foo eq 'x'", userSpec, allot.EINVALID, "unknown property 'foo'"},
		{"FilterUnsupported", "$filter=displayName gt 'a'", userSpec, allot.EUNSUPPORTEDQUERY, "'gt'"},
		{"FilterEmpty", "$filter=", userSpec, allot.EINVALID, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(strings.ReplaceAll(tt.query, " ", "%20"))
			if err != nil {
				t.Fatal(err)
			}
			q, err := odata.ParseQuery(v, tt.spec)
			if err == nil {
				t.Fatalf("ParseQuery(%q) = %+v, want error", tt.query, *q)
			}
			wantError(t, err, tt.code, tt.fragment)
		})
	}
}

func TestQueryListOptions(t *testing.T) {
	first, err := odata.ParseQuery(url.Values{"$filter": {"displayName eq 'a'"}, "$count": {"true"}, "$orderby": {"displayName"}, "$top": {"7"}, "$search": {`"x"`}}, userSpec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := first.ListOptions()
	want := allot.ListOptions{Filter: a, Top: 7, Count: true, OrderBy: "displayName", Search: `"x"`}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("first page ListOptions = %+v, %v; want %+v", got, err, want)
	}

	// Later pages carry the cursor and, as in Graph, no count.
	later, err := odata.ParseQuery(url.Values{"$count": {"true"}, "$skiptoken": {odata.EncodeSkipToken("after-7")}}, userSpec)
	if err != nil {
		t.Fatal(err)
	}
	got, err = later.ListOptions()
	want = allot.ListOptions{Top: 100, After: "after-7"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("later page ListOptions = %+v, %v; want %+v", got, err, want)
	}

	_, err = (&odata.Query{SkipToken: "bad"}).ListOptions()
	wantError(t, err, allot.EINVALID, "$skiptoken")
}

func TestSkipToken(t *testing.T) {
	for _, cursor := range []string{"a", "cursor-1", "Zoë\x00id=7&x=/+?#", strings.Repeat("x", 2000), "\xff\xfe"} {
		tok := odata.EncodeSkipToken(cursor)
		if strings.Trim(tok, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
			t.Errorf("EncodeSkipToken(%q) = %q is not URL-safe", cursor, tok)
		}
		if url.QueryEscape(tok) != tok {
			t.Errorf("EncodeSkipToken(%q) = %q needs escaping", cursor, tok)
		}
		got, err := odata.DecodeSkipToken(tok)
		if err != nil || got != cursor {
			t.Errorf("DecodeSkipToken(EncodeSkipToken(%q)) = %q, %v", cursor, got, err)
		}
	}
	valid := odata.EncodeSkipToken("abc")
	for _, tok := range []string{
		"", "v1.", "abc", "YWJj", "v2.YWJj", "V1.YWJj", "v1.YWJj=", "v1.YWJ", "v1.!!!", "v1.YW Jj",
		"v1.YWJj+/", valid + "=", "X'4453'", "v1." + strings.Repeat("A", 5000),
	} {
		_, err := odata.DecodeSkipToken(tok)
		var e *allot.Error
		if !errors.As(err, &e) || e.Code != allot.EINVALID || e.Message != "The $skiptoken is invalid." {
			t.Errorf("DecodeSkipToken(%q) = %v, want EINVALID 'The $skiptoken is invalid.'", tok, err)
		}
	}
}

func TestNextLink(t *testing.T) {
	base, _ := url.Parse("https://allot.example:8443/ignored/path")
	tok := odata.EncodeSkipToken("next")
	tests := []struct {
		name    string
		request string
		want    string
	}{
		{"NoQuery", "/v1.0/users",
			"https://allot.example:8443/v1.0/users?$skiptoken=" + tok},
		{"KeepsOptionsInOrder", "/v1.0/users?$top=5&$filter=startswith(displayName,'a')&$count=true&api-version=1.6",
			"https://allot.example:8443/v1.0/users?$top=5&$filter=startswith(displayName,'a')&$count=true&api-version=1.6&$skiptoken=" + tok},
		{"KeepsEncoding", "/v1.0/users?%24filter=displayName%20eq%20%27a%20b%27&%24select=id",
			"https://allot.example:8443/v1.0/users?%24filter=displayName%20eq%20%27a%20b%27&%24select=id&$skiptoken=" + tok},
		{"ReplacesSkipToken", "/v1.0/users?$top=5&$skiptoken=old&$count=true",
			"https://allot.example:8443/v1.0/users?$top=5&$count=true&$skiptoken=" + tok},
		{"ReplacesEveryVariant", "/v1.0/users?$skipToken=a&skiptoken=b&%24SKIPTOKEN=c&$top=2",
			"https://allot.example:8443/v1.0/users?$top=2&$skiptoken=" + tok},
		{"DropsEmptyPairs", "/v1.0/users?&$top=2&&",
			"https://allot.example:8443/v1.0/users?$top=2&$skiptoken=" + tok},
		{"EscapedPath", "/v1.0/users/a%40b.com/memberOf?$select=id",
			"https://allot.example:8443/v1.0/users/a%40b.com/memberOf?$select=id&$skiptoken=" + tok},
		{"GroupMembers", "/v1.0/groups/" + sku + "/membersWithLicenseErrors",
			"https://allot.example:8443/v1.0/groups/" + sku + "/membersWithLicenseErrors?$skiptoken=" + tok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := url.ParseRequestURI(tt.request)
			if err != nil {
				t.Fatal(err)
			}
			got := odata.NextLink(base, r, "next")
			if got != tt.want {
				t.Fatalf("NextLink(%q)\n got %q\nwant %q", tt.request, got, tt.want)
			}
			u, err := url.Parse(got)
			if err != nil || !u.IsAbs() {
				t.Fatalf("NextLink(%q) = %q is not absolute: %v", tt.request, got, err)
			}
			// Following the link verbatim gives the same options and the cursor.
			q, err := odata.ParseQuery(u.Query(), userSpec)
			if err != nil {
				t.Fatalf("ParseQuery(next link): %v", err)
			}
			if c, err := odata.DecodeSkipToken(q.SkipToken); err != nil || c != "next" {
				t.Fatalf("cursor %q, %v", c, err)
			}
		})
	}

	t.Run("KeepsOtherOptionsValues", func(t *testing.T) {
		r, _ := url.ParseRequestURI("/v1.0/users?$filter=assignedLicenses/any(x:x/skuId%20eq%20" + sku + ")&$count=true&$top=3&$skiptoken=" + odata.EncodeSkipToken("old"))
		u, err := url.Parse(odata.NextLink(base, r, "new"))
		if err != nil {
			t.Fatal(err)
		}
		want := url.Values{
			"$filter":    {"assignedLicenses/any(x:x/skuId eq " + sku + ")"},
			"$count":     {"true"},
			"$top":       {"3"},
			"$skiptoken": {odata.EncodeSkipToken("new")},
		}
		if got := u.Query(); !reflect.DeepEqual(got, want) {
			t.Fatalf("query %v, want %v", got, want)
		}
	})
	t.Run("LastPage", func(t *testing.T) {
		r, _ := url.ParseRequestURI("/v1.0/users?$top=5")
		if got := odata.NextLink(base, r, ""); got != "" {
			t.Fatalf("NextLink with no cursor = %q, want empty", got)
		}
	})
	t.Run("PlainHTTP", func(t *testing.T) {
		local, _ := url.Parse("http://127.0.0.1:8080")
		r, _ := url.ParseRequestURI("/v1.0/users?$top=1")
		if got, want := odata.NextLink(local, r, "next"), "http://127.0.0.1:8080/v1.0/users?$top=1&$skiptoken="+tok; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("NilURLs", func(t *testing.T) {
		if got, want := odata.NextLink(nil, nil, "next"), "/?$skiptoken="+tok; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
