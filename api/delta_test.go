package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// deltaWorld is newWorld with a clock the test can move: what a delta
// round reports depends on where its watermark falls, so each test puts
// its changes well clear of the window before a round's start.
type deltaWorld struct {
	*world
	mu  sync.Mutex
	now time.Time
}

func newDeltaWorld(t *testing.T) *deltaWorld {
	t.Helper()
	d := &deltaWorld{now: time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)}
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, false), Catalog: catalog.Demo(), Now: d.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d.world = &world{client: newClient(t, db), db: db}
	d.ga = d.newTenant("Contoso", "US")
	return d
}

// clock moves a second per reading, as newWorld's does.
func (d *deltaWorld) clock() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.now = d.now.Add(time.Second)
	return d.now
}

// quiet moves the clock far past the window a round re-reads.
func (d *deltaWorld) quiet() { d.advance(time.Hour) }

func (d *deltaWorld) advance(by time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.now = d.now.Add(by)
}

// round follows a delta round from target through its nextLinks, sending
// header with every request, and returns its pages, its items and the
// target of its deltaLink.
func (d *deltaWorld) round(tok, target string, header ...string) (pages, items []map[string]any, deltaLink string) {
	d.t.Helper()
	for target != "" {
		m := d.do("GET", target, tok, nil, header...).expect(http.StatusOK, "")
		pages = append(pages, m)
		for _, v := range m["value"].([]any) {
			items = append(items, v.(map[string]any))
		}
		next, hasNext := m["@odata.nextLink"].(string)
		delta, hasDelta := m["@odata.deltaLink"].(string)
		if hasNext == hasDelta {
			d.t.Fatalf("a page with nextLink %q and deltaLink %q: exactly one is wanted", next, delta)
		}
		target = ""
		link := next + delta
		u, err := url.Parse(link)
		if err != nil || !u.IsAbs() {
			d.t.Fatalf("link %q is not absolute", link)
		}
		if hasNext {
			target = u.RequestURI()
		} else {
			deltaLink = u.RequestURI()
		}
		if len(pages) > 100 {
			d.t.Fatal("the round does not end")
		}
	}
	return pages, items, deltaLink
}

func byID(items []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, it := range items {
		out[it["id"].(string)] = it
	}
	return out
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func isRemoved(it map[string]any) bool {
	r, _ := it["@removed"].(map[string]any)
	return len(it) == 2 && r["reason"] == "deleted" && len(r) == 1
}

// A full round pages through every user with the page size asked for and
// the properties selected; its deltaLink then returns exactly what changed
// (created, renamed, licensed, deleted) with the same selection and page
// size, and a round with no change returns nothing and a new deltaLink.
func TestUsersDeltaRound(t *testing.T) {
	d := newDeltaWorld(t)
	d.do("POST", "/allot/v1/subscriptions", d.ga, map[string]any{"skuId": skuE3, "seats": 5}).expect(http.StatusCreated, "")
	var us []string
	for _, n := range []string{"u0", "u1", "u2", "u3", "u4"} {
		us = append(us, d.createUser(d.ga, n+"@contoso.com", "US"))
	}
	d.quiet()

	first := d.do("GET", "/v1.0/users/delta?$select=displayName,assignedLicenses", d.ga, nil, "Prefer", "odata.maxpagesize=2")
	m := first.expect(http.StatusOK, "")
	if got := first.Header().Get("Preference-Applied"); got != "odata.maxpagesize=2" {
		t.Errorf("Preference-Applied %q", got)
	}
	if ctx := m["@odata.context"].(string); !strings.HasSuffix(ctx, "/v1.0/$metadata#users(displayName,assignedLicenses)") {
		t.Errorf("context %q", ctx)
	}
	if next, _ := m["@odata.nextLink"].(string); !strings.HasPrefix(next, "http://example.com/v1.0/users/delta?$skiptoken=d1.") {
		t.Errorf("nextLink %q: the path, and only the token", next)
	}
	pages, items, link := d.round(d.ga, "/v1.0/users/delta?$select=displayName,assignedLicenses", "Prefer", "odata.maxpagesize=2")
	if len(pages) != 3 || len(items) != 5 || len(byID(items)) != 5 {
		t.Fatalf("full round: %d pages, %d items", len(pages), len(items))
	}
	for _, it := range items {
		if k := keys(it); !slices.Equal(k, []string{"assignedLicenses", "displayName", "id"}) {
			t.Fatalf("item with %v, want the selection and id", k)
		}
	}
	if !strings.HasPrefix(link, "/v1.0/users/delta?$deltatoken=d1.") {
		t.Fatalf("deltaLink %q", link)
	}
	d.quiet()

	created := d.createUser(d.ga, "u5@contoso.com", "US")
	d.do("PATCH", "/v1.0/users/"+us[1], d.ga, map[string]any{"displayName": "Renamed"}).expect(http.StatusNoContent, "")
	d.do("POST", "/v1.0/users/"+us[2]+"/assignLicense", d.ga,
		`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusOK, "")
	d.do("DELETE", "/v1.0/users/"+us[3], d.ga, nil).expect(http.StatusNoContent, "")
	d.quiet()

	// No Prefer this time: the page size came with the link.
	pages, items, link2 := d.round(d.ga, link)
	got := byID(items)
	if len(pages) != 2 || len(items) != 4 || len(got) != 4 {
		t.Fatalf("after the changes: %d pages, %v", len(pages), items)
	}
	if got[created]["displayName"] != "u5" || got[us[1]]["displayName"] != "Renamed" {
		t.Errorf("created %v, renamed %v", got[created], got[us[1]])
	}
	if l, _ := got[us[2]]["assignedLicenses"].([]any); len(l) != 1 || l[0].(map[string]any)["skuId"] != skuE3 {
		t.Errorf("licensed %v", got[us[2]])
	}
	if !isRemoved(got[us[3]]) {
		t.Errorf("deleted %v, want only its id and @removed", got[us[3]])
	}
	for id, it := range got {
		if id != us[3] && !slices.Equal(keys(it), []string{"assignedLicenses", "displayName", "id"}) {
			t.Errorf("%s: %v, want the selection kept", id, keys(it))
		}
	}

	pages, items, link3 := d.round(d.ga, link2)
	if len(pages) != 1 || len(items) != 0 || link3 == "" || link3 == link2 {
		t.Fatalf("a round with no change: %d pages, %v, deltaLink %q after %q", len(pages), items, link3, link2)
	}
}

// Groups report their members as members@delta: all of them in a full
// round, then those added and those removed or deleted; a group removed
// is @removed, and $select without members leaves them out.
func TestGroupsDeltaRound(t *testing.T) {
	d := newDeltaWorld(t)
	a, b, c := d.createUser(d.ga, "a@contoso.com", ""), d.createUser(d.ga, "b@contoso.com", ""), d.createUser(d.ga, "c@contoso.com", "")
	g, n, e := d.createGroup(d.ga, "Sales"), d.createGroup(d.ga, "Nested"), d.createGroup(d.ga, "Empty")
	for _, m := range []string{a, b, n} {
		d.addMember(d.ga, g, m)
	}
	d.quiet()

	memberSet := func(it map[string]any) []string {
		var out []string
		ms, _ := it["members@delta"].([]any)
		for _, x := range ms {
			m := x.(map[string]any)
			s := strings.TrimPrefix(m["@odata.type"].(string), "#microsoft.graph.") + " " + m["id"].(string)
			if isRemoved(map[string]any{"id": m["id"], "@removed": m["@removed"]}) {
				s = "-" + s
			} else if _, ok := m["@removed"]; ok || len(m) != 2 {
				t.Errorf("member %v", m)
			}
			out = append(out, s)
		}
		sort.Strings(out)
		return out
	}
	sorted := func(xs ...string) []string { sort.Strings(xs); return xs }

	_, items, link := d.round(d.ga, "/v1.0/groups/delta")
	got := byID(items)
	if len(got) != 3 || got[g]["displayName"] != "Sales" || got[g]["securityEnabled"] != true {
		t.Fatalf("full round %v", items)
	}
	if ms := memberSet(got[g]); !slices.Equal(ms, sorted("user "+a, "user "+b, "group "+n)) {
		t.Errorf("members %v", ms)
	}
	if _, ok := got[e]["members@delta"]; ok {
		t.Errorf("an empty group with members@delta: %v", got[e])
	}
	d.quiet()

	d.addMember(d.ga, g, c)
	d.do("DELETE", "/v1.0/groups/"+g+"/members/"+b+"/$ref", d.ga, nil).expect(http.StatusNoContent, "")
	d.do("DELETE", "/v1.0/users/"+a, d.ga, nil).expect(http.StatusNoContent, "")
	d.do("DELETE", "/v1.0/groups/"+n, d.ga, nil).expect(http.StatusNoContent, "")
	d.do("PATCH", "/v1.0/groups/"+e, d.ga, map[string]any{"description": "still empty"}).expect(http.StatusNoContent, "")
	d.quiet()

	_, items, link = d.round(d.ga, link)
	got = byID(items)
	if len(items) != 3 || len(got) != 3 {
		t.Fatalf("after the changes %v", items)
	}
	if ms := memberSet(got[g]); !slices.Equal(ms, sorted("user "+c, "-user "+b, "-user "+a, "-group "+n)) {
		t.Errorf("member changes %v", ms)
	}
	if got[e]["description"] != "still empty" || got[e]["members@delta"] != nil {
		t.Errorf("changed group %v", got[e])
	}
	if !isRemoved(got[n]) {
		t.Errorf("deleted group %v", got[n])
	}
	if _, items, _ = d.round(d.ga, link); len(items) != 0 {
		t.Fatalf("a round with no change: %v", items)
	}

	m := d.do("GET", "/v1.0/groups/delta?$select=displayName", d.ga, nil).expect(http.StatusOK, "")
	if ctx := m["@odata.context"].(string); !strings.HasSuffix(ctx, "#groups(displayName)") {
		t.Errorf("context %q", ctx)
	}
	for _, x := range m["value"].([]any) {
		if k := keys(x.(map[string]any)); !slices.Equal(k, []string{"displayName", "id"}) {
			t.Errorf("with $select=displayName: %v", k)
		}
	}
}

// $deltatoken=latest skips the full round: an empty page and a deltaLink
// from which what changes next is reported. The names Graph's SDKs call
// delta by work alike, and links keep the path and version asked for.
func TestDeltaLatestAndPaths(t *testing.T) {
	d := newDeltaWorld(t)
	d.createUser(d.ga, "before@contoso.com", "")
	d.quiet()
	m := d.do("GET", "/v1.0/users/delta()?$deltatoken=latest", d.ga, nil).expect(http.StatusOK, "")
	link, _ := m["@odata.deltaLink"].(string)
	if len(m["value"].([]any)) != 0 || !strings.HasPrefix(link, "http://example.com/v1.0/users/delta()?$deltatoken=d1.") {
		t.Fatalf("latest: %v", m)
	}
	d.quiet()
	after := d.createUser(d.ga, "after@contoso.com", "")
	u, _ := url.Parse(link)
	if _, items, _ := d.round(d.ga, u.RequestURI()); len(items) != 1 || items[0]["id"] != after {
		t.Fatalf("after latest: %v, want only the user created since", items)
	}
	for _, p := range []string{"/beta/users/microsoft.graph.delta()", "/beta/groups/delta"} {
		m := d.do("GET", p, d.ga, nil).expect(http.StatusOK, "")
		if link, _ := m["@odata.deltaLink"].(string); !strings.HasPrefix(link, "http://example.com"+p+"?$deltatoken=") {
			t.Errorf("%s: deltaLink %q", p, link)
		}
	}
}

// A token is refused unless it is one this server handed this tenant for
// this endpoint, as it was handed out: 400, and for a round older than
// the store keeps deletions, Graph's syncStateNotFound.
func TestDeltaTokensRefused(t *testing.T) {
	d := newDeltaWorld(t)
	d.createUser(d.ga, "a@contoso.com", "")
	_, _, link := d.round(d.ga, "/v1.0/users/delta?$select=displayName")
	token := strings.TrimPrefix(link, "/v1.0/users/delta?$deltatoken=")
	other := d.newTenant("Fabrikam", "GB")

	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, "d1."))
	if err != nil {
		t.Fatal(err)
	}
	reencode := func(b []byte) string { return "d1." + base64.RawURLEncoding.EncodeToString(b) }
	spaced := reencode(append([]byte(" "), payload...))
	badSelect := strings.Replace(string(payload), `"s":["displayName"]`, `"s":["nope"]`, 1)
	if badSelect == string(payload) {
		t.Fatalf("the token %s does not hold the selection where the test expects it", payload)
	}

	for name, c := range map[string]struct{ tok, target, code string }{
		"garbage":                    {d.ga, "/v1.0/users/delta?$deltatoken=garbage", "Request_BadRequest"},
		"a list's skiptoken":         {d.ga, "/v1.0/users/delta?$skiptoken=v1.YWJj", "Request_BadRequest"},
		"a deltaLink as nextLink":    {d.ga, "/v1.0/users/delta?$skiptoken=" + token, "Request_BadRequest"},
		"another endpoint's":         {d.ga, "/v1.0/groups/delta?$deltatoken=" + token, "Request_BadRequest"},
		"another tenant's":           {other, link, "Request_BadRequest"},
		"not as it was handed out":   {d.ga, "/v1.0/users/delta?$deltatoken=" + spaced, "Request_BadRequest"},
		"a selection it cannot have": {d.ga, "/v1.0/users/delta?$deltatoken=" + reencode([]byte(badSelect)), "Request_BadRequest"},
		"both tokens":                {d.ga, link + "&$skiptoken=" + token, "Request_BadRequest"},
		"a token twice":              {d.ga, link + "&$deltatoken=" + token, "Request_BadRequest"},
		"a filter":                   {d.ga, "/v1.0/users/delta?$filter=displayName eq 'a'", "Request_UnsupportedQuery"},
		"a page too big":             {d.ga, "/v1.0/users/delta?$top=1000", "Request_UnsupportedQuery"},
		"an unknown selection":       {d.ga, "/v1.0/groups/delta?$select=nope", "Request_BadRequest"},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			target := strings.ReplaceAll(c.target, " ", "%20")
			d.do("GET", target, c.tok, nil).expect(http.StatusBadRequest, c.code)
		})
	}
	// The link as handed out works; a month later it has expired.
	d.do("GET", link, d.ga, nil).expect(http.StatusOK, "")
	d.advance(31 * 24 * time.Hour)
	m := d.do("GET", link, d.ga, nil).expect(http.StatusBadRequest, "syncStateNotFound")
	if msg := errMessage(m); !strings.Contains(msg, "synchronized again") {
		t.Errorf("message %q", msg)
	}
}

// FuzzDeltaToken sends arbitrary state tokens: never a 5xx, a 400 always
// in Graph's envelope, and a 200 always a page with one link.
//
//	go test -run='^$' -fuzz=FuzzDeltaToken -fuzztime=30s ./api/
func FuzzDeltaToken(f *testing.F) {
	w := newFzWorld(f)
	rec := w.send("GET", "/v1.0/users/delta?$select=displayName", w.ga, nil)
	var page map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != 200 {
		f.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	link, _ := page["@odata.deltaLink"].(string)
	_, valid, _ := strings.Cut(link, "$deltatoken=")
	for _, s := range []string{valid, "latest", "", "d1.", "d1.e30", "d1.bnVsbA", "v1.YWJj", valid + "A", strings.ToUpper(valid), valid[:len(valid)/2]} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, tok string, skip bool) {
		param := "$deltatoken="
		if skip {
			param = "$skiptoken="
		}
		rec := w.send("GET", "/v1.0/users/delta?"+param+url.QueryEscape(tok), w.ga, nil)
		switch rec.Code {
		case 200:
			var m map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatalf("200 that is not JSON: %q", rec.Body.String())
			}
			_, next := m["@odata.nextLink"]
			_, delta := m["@odata.deltaLink"]
			if _, ok := m["value"].([]any); !ok || next == delta {
				t.Fatalf("200 without a page and one link: %q", rec.Body.String())
			}
		case 400:
			var env struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error.Message == "" ||
				env.Error.Code != "Request_BadRequest" && env.Error.Code != "syncStateNotFound" {
				t.Fatalf("400 without the envelope: %q", rec.Body.String())
			}
		default:
			t.Fatalf("token %q: %d %s", tok, rec.Code, rec.Body.String())
		}
	})
}
