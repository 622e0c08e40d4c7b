package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// Delta queries, GET /users/delta and /groups/delta (docs/COMPATIBILITY.md
// "Delta queries"): the first request pages through every object, the
// last page hands out an @odata.deltaLink, and that link returns what
// changed since, as often as it is followed. Where a round stands travels
// in the links, in a state token of the API's own (deltaToken); the store
// decides what a round reports.

var (
	userDeltaQuery = odata.QuerySpec{Select: userSelect, TypeName: "microsoft.graph.user"}
	// Delta lets a group's members be selected, reported as members@delta.
	groupDeltaQuery = odata.QuerySpec{Select: append(slices.Clone(groupSelect), "members"), TypeName: "microsoft.graph.group"}
)

// deltaTokenPrefix versions the state token; it differs from the list
// endpoints' "v1." so that neither is mistaken for the other.
const deltaTokenPrefix = "d1."

// deltaToken is the state a delta link carries: the round (as the store
// returned it), whose it is, and the request's options, which Graph's
// links carry too so that a client follows them as they are.
type deltaToken struct {
	Tenant string   `json:"t"`
	Set    string   `json:"k"` // "users" or "groups"
	Select []string `json:"s,omitempty"`
	Top    int      `json:"n,omitempty"`
	Since  int64    `json:"f,omitempty"` // Unix nanoseconds; 0: a full round
	Until  int64    `json:"u,omitempty"` // 0 in a deltaLink: the round has not begun
	After  string   `json:"a,omitempty"`
}

func (t deltaToken) encode() string {
	b, _ := json.Marshal(t)
	return deltaTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// decodeDeltaToken reads a token encode made, and nothing else: the JSON
// must be exactly what encode writes for the values it holds.
func decodeDeltaToken(s string) (deltaToken, bool) {
	var t deltaToken
	payload, ok := strings.CutPrefix(s, deltaTokenPrefix)
	if !ok || payload == "" || len(s) > odata.MaxSkipTokenLength {
		return t, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return t, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if dec.Decode(&t) != nil {
		return t, false
	}
	again, err := json.Marshal(t)
	return t, err == nil && bytes.Equal(again, b)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// deltaRequest is a delta request's query resolved against its token.
type deltaRequest struct {
	set       string
	tenant    string
	sel       []string
	top       int  // 0: the store's default
	preferred bool // top came from Prefer: odata.maxpagesize
	latest    bool
	round     allot.DeltaRound
}

// parseDelta reads $select, $top, $skiptoken (a nextLink's) or
// $deltatoken (a deltaLink's, or "latest"), and the Prefer header. A token
// carries the options of the request that began the round; an option sent
// with it replaces the token's.
func (s *server) parseDelta(r *http.Request, set string, spec odata.QuerySpec) (*deltaRequest, error) {
	a, _ := allot.ActorFromContext(r.Context())
	d := &deltaRequest{set: set, tenant: a.TenantID}
	v := r.URL.Query()
	var skip, delta, top []string
	for k, vals := range v {
		switch strings.ToLower(strings.TrimPrefix(k, "$")) {
		case "skiptoken":
			skip = append(skip, vals...)
		case "deltatoken":
			delta = append(delta, vals...)
		case "top":
			top = append(top, vals...)
		default:
			continue
		}
		delete(v, k)
	}
	for name, vals := range map[string][]string{"skiptoken": skip, "deltatoken": delta, "top": top} {
		if len(vals) > 1 {
			return nil, badRequest("Query option '$%s' was specified more than once, but it must be specified at most once.", name)
		}
	}
	q, err := odata.ParseQuery(v, spec)
	if err != nil {
		return nil, err
	}
	var tok deltaToken
	switch {
	case len(skip) == 1 && len(delta) == 1:
		return nil, badRequest("A request takes a $skiptoken or a $deltatoken, not both.")
	case len(delta) == 1 && delta[0] == "latest":
		d.latest = true
	case len(skip) == 1 || len(delta) == 1:
		raw, name := strings.Join(skip, ""), "$skiptoken"
		if len(delta) == 1 {
			raw, name = delta[0], "$deltatoken"
		}
		var ok bool
		tok, ok = decodeDeltaToken(raw)
		if !ok || !d.validToken(tok, spec, name == "$skiptoken") {
			return nil, badRequest("The %s is invalid.", name)
		}
		d.sel, d.top = tok.Select, tok.Top
		d.round = allot.DeltaRound{Since: fromUnixNano(tok.Since), Until: fromUnixNano(tok.Until), After: tok.After}
	}
	if q.Select != nil {
		d.sel = q.Select
	}
	if len(top) == 1 {
		if d.top, err = odata.ParseTop(top[0]); err != nil {
			return nil, err
		}
	}
	if n := maxPageSize(r); n > 0 {
		if d.top == 0 || len(top) == 0 || n < d.top {
			d.top, d.preferred = n, true
		}
	}
	return d, nil
}

// validToken checks what a well-formed token holds: this caller's tenant
// and endpoint, options the endpoint takes in the form encode writes them,
// and a round of the link's kind (a nextLink's is under way, a
// deltaLink's has not begun). The store checks the round's times.
func (d *deltaRequest) validToken(t deltaToken, spec odata.QuerySpec, next bool) bool {
	if t.Tenant != d.tenant || t.Set != d.set || t.Top < 0 || t.Top > allot.MaxPageSize || t.Since < 0 || t.Until < 0 {
		return false
	}
	if t.Select != nil {
		sel, err := odata.ParseSelect(strings.Join(t.Select, ","), spec.Select)
		if err != nil || !slices.Equal(sel, t.Select) {
			return false
		}
	}
	if next {
		return t.Until > 0
	}
	return t.Until == 0 && t.After == ""
}

// maxPageSize reads Prefer: odata.maxpagesize, the page size Graph's delta
// documents; 0 when absent or not a positive integer, which as a
// preference is ignored rather than refused.
func maxPageSize(r *http.Request) int {
	for _, h := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(h, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			if !strings.EqualFold(strings.TrimSpace(name), "odata.maxpagesize") {
				continue
			}
			if n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`)); err == nil && n > 0 {
				return min(n, allot.MaxPageSize)
			}
		}
	}
	return 0
}

// deltaError maps the store's expired round to Graph's answer for a delta
// token of a directory resource it no longer has the changes for.
func deltaError(err error) error {
	if errors.Is(err, allot.ErrDeltaExpired) {
		return &statusError{http.StatusBadRequest, "syncStateNotFound", allot.ErrorMessage(err)}
	}
	return err
}

// writeDelta answers a page: a nextLink while the round goes on, else the
// deltaLink of the next round.
func (s *server) writeDelta(w http.ResponseWriter, r *http.Request, d *deltaRequest, next allot.DeltaRound, more bool, items []any) {
	tok := deltaToken{Tenant: d.tenant, Set: d.set, Select: d.sel, Top: d.top,
		Since: unixNano(next.Since), Until: unixNano(next.Until), After: next.After}
	body := object{"@odata.context": s.metadata(r, d.set, d.sel), "value": list(items)}
	if more {
		body["@odata.nextLink"] = s.deltaLink(r, "$skiptoken", tok.encode())
	} else {
		body["@odata.deltaLink"] = s.deltaLink(r, "$deltatoken", tok.encode())
	}
	if d.preferred {
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(d.top))
	}
	writeJSON(w, http.StatusOK, body)
}

// deltaLink is the absolute link to the request's own path with only the
// token, as Graph's links are: the token carries the options.
func (s *server) deltaLink(r *http.Request, param, token string) string {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/v1.0"); ok {
		p = version(r) + rest
	}
	// As raw, the path keeps the parentheses of "delta()", which a path
	// may hold unescaped; anything else is escaped.
	u := url.URL{Path: p, RawPath: p}
	return withBasePath(s.base(r), u.EscapedPath()) + "?" + param + "=" + token
}

// removedView is a deleted object in a delta page. Allot deletes at once,
// so the reason is always Graph's for a permanent deletion.
func removedView(id string) object {
	return object{"id": id, "@removed": object{"reason": "deleted"}}
}

func (s *server) usersDelta(w http.ResponseWriter, r *http.Request) error {
	d, err := s.parseDelta(r, "users", userDeltaQuery)
	if err != nil {
		return err
	}
	page, err := s.svc.Users.UsersDelta(r.Context(), allot.DeltaQuery{DeltaRound: d.round, Latest: d.latest, Top: d.top,
		Licenses: selected(d.sel, "assignedLicenses", "assignedPlans", "licenseAssignmentStates"), WithLicensing: userLicensing(d.sel)})
	if err != nil {
		return deltaError(err)
	}
	items := make([]any, 0, len(page.Items))
	for _, it := range page.Items {
		if it.Object == nil {
			items = append(items, removedView(it.ID))
			continue
		}
		v, err := s.userView(r.Context(), it.Object, d.sel)
		if allot.ErrorCode(err) == allot.ENOTFOUND {
			// Deleted since the page was read (assignedPlans reads it again).
			items = append(items, removedView(it.ID))
			continue
		} else if err != nil {
			return err
		}
		v["id"] = it.ID // Graph returns it whatever the $select
		items = append(items, v)
	}
	s.writeDelta(w, r, d, page.Next, page.More, items)
	return nil
}

func (s *server) groupsDelta(w http.ResponseWriter, r *http.Request) error {
	d, err := s.parseDelta(r, "groups", groupDeltaQuery)
	if err != nil {
		return err
	}
	page, err := s.svc.Groups.GroupsDelta(r.Context(), allot.DeltaQuery{DeltaRound: d.round, Latest: d.latest, Top: d.top,
		Licenses: selected(d.sel, "assignedLicenses"), WithLicensing: groupLicensing(d.sel),
		Members: d.sel == nil || slices.Contains(d.sel, "members")})
	if err != nil {
		return deltaError(err)
	}
	items := make([]any, 0, len(page.Items))
	for _, it := range page.Items {
		if it.Object == nil {
			items = append(items, removedView(it.ID))
			continue
		}
		v := groupView(it.Object, d.sel)
		v["id"] = it.ID
		if len(it.Members) > 0 {
			ms := make([]object, 0, len(it.Members))
			for _, m := range it.Members {
				mv := object{"@odata.type": "#microsoft.graph." + m.Kind, "id": m.ID}
				if m.Removed {
					mv["@removed"] = object{"reason": "deleted"}
				}
				ms = append(ms, mv)
			}
			v["members@delta"] = ms
		}
		items = append(items, v)
	}
	s.writeDelta(w, r, d, page.Next, page.More, items)
	return nil
}
