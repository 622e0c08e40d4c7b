package api

// RoutePatterns lists the ServeMux pattern of every route the API serves,
// in registration order, so that tests can require a row for each.
func RoutePatterns() []string {
	s := &server{}
	var out []string
	for _, rt := range s.routeTable() {
		out = append(out, rt.pattern)
	}
	return out
}
