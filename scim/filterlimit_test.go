package scim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/scim"
)

// nest wraps inner in n pairs of parentheses, left raw in the query as an
// attacker would send them: 100,000 pairs are a 300 KB URL.
func nest(n int, inner string) string {
	return strings.Repeat("(", n) + q(inner) + strings.Repeat(")", n)
}

// nots wraps f in n nested "not (…)".
func nots(n int, f string) string {
	return strings.Repeat("not (", n) + f + strings.Repeat(")", n)
}

// chain joins n userName comparisons with op.
func chain(n int, op string) string {
	terms := make([]string, n)
	for i := range terms {
		terms[i] = fmt.Sprintf(`userName eq "u%d@contoso.example"`, i)
	}
	return strings.Join(terms, " "+op+" ")
}

// TestFilterLimits sends filters that used to crash the server (a stack
// overflow in the parser) or fail in SQLite (expression depth) with a 500;
// each is refused as invalid, and filters at the limits still run.
func TestFilterLimits(t *testing.T) {
	w := newWorld(t)
	w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@contoso.example"}`, 201)
	before := w.lastAudit()
	for _, c := range []struct{ name, query, detail string }{
		{"100000 nested parentheses", nest(100000, `userName eq "a@contoso.example"`), "The filter is longer than 4096 bytes."},
		{"2000 nested parentheses", nest(2000, `userName pr`), "The filter nests deeper than 32 levels."},
		{"33 nested parentheses", nest(33, `userName pr`), "The filter nests deeper than 32 levels."},
		{"40 nested not", q(nots(40, `userName pr`)), "The filter nests deeper than 32 levels."},
		{"33 brackets", q(strings.Repeat("emails[", 33) + `value pr` + strings.Repeat("]", 33)), "The filter nests deeper than 32 levels."},
		{"1000-term or", q(chain(1000, "or")), "The filter is longer than 4096 bytes."},
		{"1000-term and", q(chain(1000, "and")), "The filter is longer than 4096 bytes."},
		{"65 terms", q(chain(33, "or")), "The filter has more than 64 terms (comparisons and logical operators)."},
		{"a second filter", q(`userName pr`) + "&filter=" + nest(100, `userName pr`), "The filter nests deeper than 32 levels."},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, res := range []string{"/Users", "/Groups"} {
				if m := w.scimErr("GET", res+"?filter="+c.query, "", 400, "invalidFilter"); m["detail"] != c.detail {
					t.Fatalf("%s: detail %q, want %q", res, m["detail"], c.detail)
				}
			}
		})
	}
	if after := w.lastAudit(); after != before {
		t.Fatalf("a refused filter changed something: audit %d → %d", before, after)
	}

	// Search is not offered, so the library answers without parsing the
	// body's filter; offering it needs the same limits on that filter.
	deep := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"` + strings.Repeat("(", 100000) + `userName pr` + strings.Repeat(")", 100000) + `"}`
	for path, want := range map[string]int{"/scim/v2/Users/.search": 501, "/scim/v2/.search": 400} {
		if st, m, _ := w.do(w.token, "POST", path, deep); st != want {
			t.Fatalf("POST %s: %d, want %d: %v", path, st, want, m)
		}
	}

	long := `userName eq "a@contoso.example" or userName eq "`
	long += strings.Repeat("x", 4096-len(long)-1) + `"`
	for name, f := range map[string]string{
		"32 nested parentheses": strings.Repeat("(", 32) + `userName eq "a@contoso.example"` + strings.Repeat(")", 32),
		"32 nested not":         nots(32, `userName pr`),
		"64 terms":              `userName eq "a@contoso.example" or not (` + chain(31, "or") + `)`,
		"4096 bytes":            long,
	} {
		t.Run(name, func(t *testing.T) {
			if m := w.scim("GET", "/Users?filter="+q(f), "", 200); m["totalResults"] != 1.0 {
				t.Fatalf("at the limit: %v", m)
			}
		})
	}
}

// backend fakes the service and store behind SCIM for lists, so that
// filters run through the real handler without a database; other methods
// are nil and panic if called.
type backend struct {
	allot.UserService
	allot.GroupService
	scim.Store
	calls atomic.Int64
}

// sqliteMaxExprDepth is SQLite's default SQLITE_MAX_EXPR_DEPTH: a filter
// that becomes deeper SQL fails in the database with a 500.
const sqliteMaxExprDepth = 1000

func exprDepth(e allot.Expr) int {
	switch x := e.(type) {
	case *allot.And:
		return 1 + max(exprDepth(x.Left), exprDepth(x.Right))
	case *allot.Or:
		return 1 + max(exprDepth(x.Left), exprDepth(x.Right))
	case *allot.Not:
		return 1 + exprDepth(x.X)
	}
	return 1
}

func list[T any](b *backend, opt allot.ListOptions) (*allot.Page[T], error) {
	b.calls.Add(1)
	if d := exprDepth(opt.Filter); d > sqliteMaxExprDepth {
		return nil, fmt.Errorf("a filter %d deep", d)
	}
	return &allot.Page[T]{}, nil
}

func (b *backend) ListUsers(_ context.Context, opt allot.ListOptions) (*allot.Page[allot.User], error) {
	return list[allot.User](b, opt)
}

func (b *backend) ListGroups(_ context.Context, opt allot.ListOptions) (*allot.Page[allot.Group], error) {
	return list[allot.Group](b, opt)
}

func (b *backend) SCIMExternalIDs(context.Context, []string) (map[string]string, error) {
	b.calls.Add(1)
	return map[string]string{}, nil
}

// Three ids, so that look-ups become a tree of comparisons as they do for
// real.
var someIDs = []string{"f0000000-0000-4000-8000-000000000001", "f0000000-0000-4000-8000-000000000002", "f0000000-0000-4000-8000-000000000003"}

func (b *backend) SCIMFindExternalID(context.Context, string, string) ([]string, error) {
	b.calls.Add(1)
	return someIDs, nil
}

func (b *backend) SCIMGroupsWithMember(context.Context, string) ([]string, error) {
	b.calls.Add(1)
	return someIDs, nil
}

func newFake() (http.Handler, *backend) {
	b := &backend{}
	return scim.New(scim.Config{Services: allot.Services{Users: b, Groups: b}, Store: b, Logger: slog.New(slog.DiscardHandler)}), b
}

// getFiltered sends GET path?filter=f as a User Administrator and returns the
// status and the error's scimType.
func getFiltered(h http.Handler, path, f string) (int, string) {
	a := allot.Actor{TenantID: "t", Role: allot.RoleUserAdministrator, Name: "fuzz"}
	r := httptest.NewRequest("GET", "/scim/v2"+path+"?filter="+url.QueryEscape(f), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r.WithContext(allot.NewContextWithActor(r.Context(), a)))
	var e struct{ ScimType string }
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	return rec.Code, e.ScimType
}

// TestRefusedFilterReachesNothing: a filter over the limits is refused
// before the service or store is asked anything.
func TestRefusedFilterReachesNothing(t *testing.T) {
	h, b := newFake()
	for _, f := range []string{
		strings.Repeat("(", 100000) + `externalId eq "x"` + strings.Repeat(")", 100000),
		nots(33, `externalId eq "x"`),
		chain(33, "or"),
		`externalId eq "x" or ` + chain(200, "and"),
	} {
		if st, typ := getFiltered(h, "/Users", f); st != 400 || typ != "invalidFilter" {
			t.Fatalf("%.40q…: %d %q, want 400 invalidFilter", f, st, typ)
		}
	}
	if n := b.calls.Load(); n != 0 {
		t.Fatalf("refused filters made %d calls to the service or store", n)
	}
	if st, _ := getFiltered(h, "/Users", `externalId eq "x"`); st != 200 || b.calls.Load() == 0 {
		t.Fatalf("an accepted filter: %d after %d calls", st, b.calls.Load())
	}
}

// FuzzFilter sends arbitrary filters through the handler as the server
// does (limits, the library's parsing and validation, translation to
// Allot's filter): each must be answered, as a list or as 400
// invalidFilter, never a 500 or a crash.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		// RFC 7644 §3.4.2.2
		`userName eq "bjensen"`,
		`name.familyName co "O'Malley"`,
		`userName sw "J"`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
		`title pr`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`title pr and userType eq "Employee"`,
		`title pr or userType eq "Intern"`,
		`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`,
		`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		// What Allot supports (docs/SCIM.md) and identity providers send.
		`userName eq "a@contoso.example"`,
		`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e2"`,
		`displayName eq "Sales"`,
		`id eq "f0000000-0000-4000-8000-000000000001" and members[value eq "f0000000-0000-4000-8000-000000000002"]`,
		`members.value eq "f0000000-0000-4000-8000-000000000002"`,
		`userName sw "p1" or userName sw "p2" or userName sw "p3"`,
		`active eq true and not (emails.value eq null) and addresses.country ne "US"`,
		`displayName eq "a \"quoted\" (paren) [bracket] and or not"`,
		// Attack shapes, and the limits' edges.
		strings.Repeat("(", 2000) + `userName pr` + strings.Repeat(")", 2000),
		strings.Repeat("(", 32) + `userName pr` + strings.Repeat(")", 32),
		nots(40, `userName pr`),
		nots(32, `userName pr`),
		chain(150, "or"),
		chain(100, "and"),
		chain(32, "and"),
		`userName eq "a@contoso.example" or not (` + chain(31, "or") + `)`,
		strings.Repeat("emails[", 40) + `value pr` + strings.Repeat("]", 40),
		strings.Repeat(")", 50) + strings.Repeat("(", 50) + `userName pr`,
		`userName eq "` + strings.Repeat(`\"(`, 100) + `"`,
	} {
		f.Add(s)
	}
	h, _ := newFake()
	f.Fuzz(func(t *testing.T, filter string) {
		for _, path := range []string{"/Users", "/Groups"} {
			st, typ := getFiltered(h, path, filter)
			if st != 200 && (st != 400 || typ != "invalidFilter") {
				t.Fatalf("GET %s?filter=%q: %d %q, want 200 or 400 invalidFilter", path, filter, st, typ)
			}
		}
	})
}
