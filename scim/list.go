package scim

import (
	"context"
	"net/http"
	"strings"

	"github.com/allot-dev/allot"
	scimlib "github.com/elimity-com/scim"
	"github.com/scim2/filter-parser/v2"
)

// collect answers SCIM's index-based paging (startIndex, count) from
// Allot's cursor-based lists: it walks pages from the start, skipping
// startIndex-1 items, so a deep page costs a walk of what precedes it.
// Identity providers mostly look objects up by filter, and walk a full
// listing in order.
func collect[T any](list func(allot.ListOptions) (*allot.Page[T], error), f allot.Expr, startIndex, count int) ([]T, int, error) {
	out := []T{}
	first, err := list(allot.ListOptions{Filter: f, Count: true, Top: max(1, min(allot.MaxPageSize, startIndex-1+count))})
	if err != nil {
		return nil, 0, err
	}
	total, skip, p := first.Count, startIndex-1, first
	if count <= 0 || skip >= total {
		return out, total, nil
	}
	for {
		for _, it := range p.Items {
			if skip > 0 {
				skip--
				continue
			}
			if len(out) < count {
				out = append(out, it)
			}
		}
		if len(out) >= count || p.NextCursor == "" {
			return out, total, nil
		}
		top := max(1, min(allot.MaxPageSize, skip+count-len(out)))
		if p, err = list(allot.ListOptions{Filter: f, Top: top, After: p.NextCursor}); err != nil {
			return nil, 0, err
		}
	}
}

// listPage selects the items of a GetAll (filter, startIndex, count) and
// reads their externalIds; errors come as SCIM errors.
func listPage[T any](h *handler, ctx context.Context, kind string, params scimlib.ListRequestParams,
	list func(context.Context, allot.ListOptions) (*allot.Page[T], error), id func(*T) string) ([]T, int, map[string]string, error) {
	f, err := h.listFilter(ctx, kind, params)
	if err != nil {
		return nil, 0, nil, err
	}
	items, total, err := collect(func(opt allot.ListOptions) (*allot.Page[T], error) { return list(ctx, opt) }, f, params.StartIndex, params.Count)
	if err != nil {
		return nil, 0, nil, h.scimError(ctx, err)
	}
	ids := make([]string, len(items))
	for i := range items {
		ids[i] = id(&items[i])
	}
	exts, err := h.st.SCIMExternalIDs(ctx, ids)
	if err != nil {
		return nil, 0, nil, h.scimError(ctx, err)
	}
	return items, total, exts, nil
}

// listFilter translates the request's filter, if any. ServeHTTP parsed it
// and kept it from the library (compat.go), so params has none.
func (h *handler) listFilter(ctx context.Context, kind string, _ scimlib.ListRequestParams) (allot.Expr, error) {
	e, _ := ctx.Value(filterKey{}).(filter.Expression)
	if e == nil {
		return nil, nil
	}
	return h.translate(ctx, kind, e)
}

// attrList reads a comma-separated attribute list of the query
// ("attributes" or "excludedAttributes"), as lower-case top-level names:
// "emails.value" selects emails, and a schema URI prefix is dropped, but
// for the enterprise extension's, whose attributes are returned as one
// object under its URI: any of them selects that object.
func attrList(r *http.Request, key string) map[string]bool {
	v := r.URL.Query().Get(key)
	if strings.TrimSpace(v) == "" {
		return nil
	}
	out := map[string]bool{}
	for _, a := range strings.Split(v, ",") {
		a = strings.ToLower(strings.TrimSpace(a))
		if strings.HasPrefix(a, entKey) {
			out[entKey] = true
			continue
		}
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			a = a[i+1:]
		}
		a, _, _ = strings.Cut(a, ".")
		if a != "" {
			out[a] = true
		}
	}
	return out
}

// project applies attributes and excludedAttributes (RFC 7644 §3.4.2.5) to
// a resource's attributes; id, schemas and meta are always returned.
func project(r *http.Request, attrs scimlib.ResourceAttributes) scimlib.ResourceAttributes {
	only, except := attrList(r, "attributes"), attrList(r, "excludedAttributes")
	for k := range attrs {
		lk := strings.ToLower(k)
		if (only != nil && !only[lk]) || except[lk] {
			delete(attrs, k)
		}
	}
	return attrs
}

// wants reports whether the response should carry attr (lower case) when
// it is returned by default only on request, as members are in lists.
func wants(r *http.Request, attr string, byDefault bool) bool {
	if attrList(r, "excludedAttributes")[attr] {
		return false
	}
	if only := attrList(r, "attributes"); only != nil {
		return only[attr]
	}
	return byDefault
}
