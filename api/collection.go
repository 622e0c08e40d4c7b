package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// object is a JSON object under construction; encoding/json sorts its keys,
// which puts "@odata.*" first as Graph does.
type object = map[string]any

// pick keeps the properties of full named in sel, or those in def when there
// is no $select (sel == nil): Graph returns exactly what was selected.
func pick(full object, sel, def []string) object {
	names := sel
	if sel == nil {
		names = def
	}
	out := make(object, len(names)+1)
	for _, n := range names {
		if v, ok := full[n]; ok {
			out[n] = v
		}
	}
	return out
}

// The Allot extensions (api/openapi.json) are plain JSON: no @odata.context,
// and collections as {"value":[...]} so that Graph-minded scripts read them
// alike. valueList is that collection; it is [] rather than null when empty.
func valueList[T any](xs []T, view func(*T) object) object {
	items := make([]object, 0, len(xs))
	for i := range xs {
		items = append(items, view(&xs[i]))
	}
	return object{"value": items}
}

func selected(sel []string, names ...string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return slices.Contains(sel, n) })
}

// parseList parses the query of a paged collection.
func parseList(r *http.Request, spec odata.QuerySpec) (*odata.Query, allot.ListOptions, error) {
	q, err := odata.ParseQuery(r.URL.Query(), spec)
	if err != nil {
		return nil, allot.ListOptions{}, err
	}
	opt, err := q.ListOptions()
	if err != nil {
		return nil, allot.ListOptions{}, err
	}
	if opt.Search, err = graphSearch(q.Search); err != nil {
		return nil, allot.ListOptions{}, err
	}
	return q, opt, nil
}

// graphSearch turns Graph's $search syntax, a quoted "property:term", into
// the plain term the Service matches against names and addresses. Graph
// clients always send the quoted form; a bare term is accepted too.
func graphSearch(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if prop, term, ok := strings.Cut(s, ":"); ok && prop != "" && !strings.ContainsAny(prop, " \"") {
		s = term
	}
	if strings.Contains(s, `"`) {
		return "", unsupportedQuery("Only one $search clause, such as \"displayName:term\", is supported.")
	}
	if s = strings.TrimSpace(s); s == "" {
		return "", badRequest("The $search term is empty.")
	}
	return s, nil
}

// nextLink is the absolute link to the page after cursor, on the configured
// base (including any path prefix a proxy adds) and keeping every other
// query option the client sent.
func (s *server) nextLink(r *http.Request, cursor string) string {
	base := s.base(r)
	u := *r.URL
	if rest, ok := strings.CutPrefix(u.Path, "/v1.0"); ok {
		u.Path, u.RawPath = version(r)+rest, ""
	}
	if p := strings.TrimRight(base.Path, "/"); p != "" {
		u.Path, u.RawPath = p+u.Path, ""
	}
	return odata.NextLink(base, &u, cursor)
}

// writeCollection writes a Graph collection: @odata.count only when asked
// for on the first page, @odata.nextLink while more pages remain.
func (s *server) writeCollection(w http.ResponseWriter, r *http.Request, context string, items []any, count int, q *odata.Query, cursor string) {
	body := object{"@odata.context": context, "value": list(items)}
	if q != nil && q.Count && q.SkipToken == "" {
		body["@odata.count"] = count
	}
	if cursor != "" {
		body["@odata.nextLink"] = s.nextLink(r, cursor)
	}
	writeJSON(w, http.StatusOK, body)
}

// withBasePath is used by links built outside odata.NextLink.
func withBasePath(base *url.URL, p string) string {
	return strings.TrimRight(base.String(), "/") + p
}
