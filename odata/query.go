package odata

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
)

// Query is the parsed query options of a request.
type Query struct {
	Select     []string   // canonical property names, deduplicated; nil when $select is absent
	Filter     allot.Expr // nil when $filter is absent
	Top        int        // page size; allot.DefaultPageSize when paging and $top is absent, else 0
	Count      bool       // $count=true
	OrderBy    string     // $orderby's property, canonical; "" when absent
	Descending bool       // $orderby … desc
	SkipToken  string     // the raw $skiptoken, already checked by DecodeSkipToken
	Search     string     // the raw $search value
	Expand     []string   // navigation properties to expand, canonical
}

// QuerySpec lists the query options an endpoint accepts. An option the
// endpoint does not accept is rejected with allot.EUNSUPPORTEDQUERY.
type QuerySpec struct {
	Select   []string             // properties allowed in $select; nil: $select not supported
	Filter   map[string]FieldKind // properties allowed in $filter; nil: $filter not supported
	Paging   bool                 // $top and $skiptoken
	OrderBy  []string             // properties allowed in $orderby; nil: $orderby not supported
	Count    bool                 // $count
	Search   bool                 // $search
	Expand   []string             // navigation properties $expand may name; nil: $expand not supported
	TypeName string               // e.g. "microsoft.graph.user", for messages
}

// The OData system query options, by lower-case name without the '$'.
// Allot implements the first seven; the rest are valid OData that Allot
// never supports.
var systemOptions = map[string]bool{
	"select": true, "filter": true, "top": true, "count": true, "orderby": true, "skiptoken": true, "search": true,
	"expand": true, "skip": false, "format": false, "apply": false, "compute": false, "levels": false,
	"deltatoken": false, "index": false, "schemaversion": false, "id": false,
}

// optionName returns the lower-case option name of a query parameter key
// and whether the key is a query option at all. Keys starting with '$' are
// always options; keys without it are options only when they name one that
// Graph accepts without the '$' (top, filter, ...), and are otherwise
// ordinary parameters such as api-version.
func optionName(key string) (string, bool) {
	if strings.HasPrefix(key, "$") {
		return strings.ToLower(key[1:]), true
	}
	name := strings.ToLower(key)
	switch name {
	case "select", "filter", "top", "count", "orderby", "skiptoken", "search", "expand", "skip":
		return name, true
	}
	return "", false
}

// ParseQuery parses the query options of a request for an endpoint that
// accepts those in spec. Option names match case-insensitively, with or
// without the leading '$'. Parameters that are not query options (such as
// api-version) are ignored.
func ParseQuery(v url.Values, spec QuerySpec) (*Query, error) {
	opts, err := queryOptions(v)
	if err != nil {
		return nil, err
	}
	// Sorted, so that a request with several faults always gets the same
	// answer whatever the map order.
	names := slices.Sorted(maps.Keys(opts))
	for _, name := range names {
		if !spec.supports(name) {
			return nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Query option '$%s' is not supported on this resource.", name)
		}
	}
	q := &Query{}
	if spec.Paging {
		q.Top = allot.DefaultPageSize
	}
	for _, name := range names {
		if err := q.set(name, opts[name], spec); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// queryOptions maps each system query option given to its value, refusing
// unknown and repeated ones.
func queryOptions(v url.Values) (map[string]string, error) {
	opts := make(map[string]string)
	for _, k := range slices.Sorted(maps.Keys(v)) {
		name, ok := optionName(k)
		if !ok {
			continue
		}
		if _, known := systemOptions[name]; !known {
			return nil, allot.Errorf(allot.EINVALID, "Query option '%s' is not supported.", sanitize(k))
		}
		if _, dup := opts[name]; dup || len(v[k]) != 1 {
			return nil, allot.Errorf(allot.EINVALID, "Query option '$%s' was specified more than once, but it must be specified at most once.", name)
		}
		opts[name] = v[k][0]
	}
	return opts, nil
}

func (spec QuerySpec) supports(name string) bool {
	switch name {
	case "select":
		return spec.Select != nil
	case "filter":
		return spec.Filter != nil
	case "top", "skiptoken":
		return spec.Paging
	case "count":
		return spec.Count
	case "orderby":
		return spec.OrderBy != nil
	case "search":
		return spec.Search
	case "expand":
		return spec.Expand != nil
	}
	return false
}

// set parses the value of the option name into q.
func (q *Query) set(name, val string, spec QuerySpec) error {
	var err error
	switch name {
	case "select":
		q.Select, err = parseSelect(val, spec.Select, spec.TypeName)
	case "filter":
		q.Filter, err = ParseFilter(val, spec.Filter)
	case "top":
		q.Top, err = ParseTop(val)
	case "count":
		switch strings.ToLower(val) {
		case "true":
			q.Count = true
		case "false":
			q.Count = false
		default:
			err = allot.Errorf(allot.EINVALID, "Invalid value '%s' for query option '$count': expected 'true' or 'false'.", sanitize(val))
		}
	case "orderby":
		q.OrderBy, q.Descending, err = parseOrderBy(val, spec.OrderBy)
	case "skiptoken":
		if _, err = DecodeSkipToken(val); err == nil {
			q.SkipToken = val
		}
	case "expand":
		q.Expand, err = parseExpand(val, spec.Expand)
	case "search":
		if strings.TrimSpace(val) == "" {
			err = allot.Errorf(allot.EINVALID, "The $search query option must not be empty.")
		}
		q.Search = val
	}
	return err
}

// ListOptions returns the list options of q, with the $skiptoken decoded
// into After. As in Graph, the total count is asked for only on the first
// page: Count is false when a $skiptoken is present.
func (q *Query) ListOptions() (allot.ListOptions, error) {
	o := allot.ListOptions{
		Filter:     q.Filter,
		Top:        q.Top,
		OrderBy:    q.OrderBy,
		Descending: q.Descending,
		Count:      q.Count && q.SkipToken == "",
		Search:     q.Search,
	}
	if q.SkipToken != "" {
		after, err := DecodeSkipToken(q.SkipToken)
		if err != nil {
			return allot.ListOptions{}, err
		}
		o.After = after
	}
	return o, nil
}

// parseExpand reads a list of navigation properties. Options inside an
// expansion ("memberOf($select=id)") are not supported: an expansion
// returns its objects' default properties.
func parseExpand(val string, allowed []string) ([]string, error) {
	if strings.ContainsAny(val, "()") {
		return nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Query options inside $expand ('%s') are not supported.", sanitize(val))
	}
	out, err := parseSelect(val, allowed, "")
	if err != nil {
		return nil, allot.Errorf(allot.EINVALID, "Invalid $expand '%s': it can expand %s.", sanitize(val), strings.Join(allowed, ", "))
	}
	return out, nil
}

// parseOrderBy reads "property [asc|desc]" for one of the allowed
// properties; Graph sorts users and groups by one property at a time.
func parseOrderBy(val string, allowed []string) (string, bool, error) {
	f := strings.Fields(val)
	if len(f) == 0 {
		return "", false, allot.Errorf(allot.EINVALID, "The $orderby query option must not be empty.")
	}
	desc := len(f) == 2 && strings.EqualFold(f[1], "desc")
	if len(f) == 1 || len(f) == 2 && (desc || strings.EqualFold(f[1], "asc")) {
		for _, a := range allowed {
			if strings.EqualFold(f[0], a) {
				return a, desc, nil
			}
		}
	}
	return "", false, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Sorting by '%s' is not supported; use $orderby with one of %s, then asc or desc.", sanitize(val), strings.Join(allowed, ", "))
}

// ParseTop parses $top: empty gives allot.DefaultPageSize, otherwise an
// integer from 1 to allot.MaxPageSize.
func ParseTop(input string) (int, error) {
	if input == "" {
		return allot.DefaultPageSize, nil
	}
	ok := len(input) <= 10
	for i := 0; ok && i < len(input); i++ {
		ok = '0' <= input[i] && input[i] <= '9'
	}
	if ok {
		if n, err := strconv.Atoi(input); err == nil && n >= 1 && n <= allot.MaxPageSize {
			return n, nil
		}
	}
	return 0, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", sanitize(input), allot.MaxPageSize)
}

// ParseSelect parses a comma-separated $select list against the allowed
// properties, matching case-insensitively. It returns the canonical
// spellings without duplicates, in the order first given; an empty input
// gives nil.
func ParseSelect(input string, allowed []string) ([]string, error) {
	return parseSelect(input, allowed, "")
}

func parseSelect(input string, allowed []string, typeName string) ([]string, error) {
	if strings.TrimSpace(input) == "" {
		return nil, nil
	}
	lower := make(map[string]string, len(allowed))
	for _, a := range allowed {
		la := strings.ToLower(a)
		if prev, ok := lower[la]; !ok || a < prev {
			lower[la] = a
		}
	}
	var out []string
	seen := make(map[string]bool)
	for _, item := range strings.Split(input, ",") {
		name := strings.TrimSpace(item)
		if name == "" {
			return nil, allot.Errorf(allot.EINVALID, "Invalid $select: empty property name in '%s'.", sanitize(input))
		}
		canon, ok := lower[strings.ToLower(name)]
		if !ok {
			if name == "*" || strings.ContainsAny(name, "/()") {
				return nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "The $select item '%s' is not supported; list property names.", sanitize(name))
			}
			if typeName != "" {
				return nil, allot.Errorf(allot.EINVALID, "Could not find a property named '%s' on type '%s'.", sanitize(name), typeName)
			}
			return nil, allot.Errorf(allot.EINVALID, "Could not find a property named '%s'.", sanitize(name))
		}
		if !seen[canon] {
			seen[canon] = true
			out = append(out, canon)
		}
	}
	return out, nil
}

// sanitize makes caller-supplied text safe and short for an error message.
func sanitize(s string) string {
	return shorten(strings.ToValidUTF8(s, "\uFFFD"), 100)
}
