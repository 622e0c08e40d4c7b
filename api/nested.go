package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/allot-dev/allot"
)

// nestedField is Allot's extension of Graph's assignedLicense on a group's
// assignLicense (docs/NESTED-GROUPS.md).
const nestedField = "includeNestedGroups"

// takeNestedFlags reads includeNestedGroups from each addLicenses entry of
// a group's assignLicense body, by entry index, and leaves the request
// with a body without it, so Graph's strict parser (which refuses the
// field on users) reads the rest. A body it cannot make sense of is left
// as it is, for that parser to refuse with its usual error.
func takeNestedFlags(r *http.Request) ([]*bool, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return nil, nil
	}
	var entries []map[string]json.RawMessage
	if json.Unmarshal(top["addLicenses"], &entries) != nil {
		return nil, nil
	}
	flags := make([]*bool, len(entries))
	found := false
	for i, e := range entries {
		raw, ok := e[nestedField]
		if !ok {
			continue
		}
		var v *bool
		if err := json.Unmarshal(raw, &v); err != nil || v == nil {
			return nil, badRequest("Invalid value for property '%s': expected boolean.", nestedField)
		}
		flags[i], found = v, true
		delete(e, nestedField)
	}
	if !found {
		return nil, nil
	}
	top["addLicenses"], _ = json.Marshal(entries)
	stripped, _ := json.Marshal(top)
	r.Body = io.NopCloser(bytes.NewReader(stripped))
	return flags, nil
}

// withNestedFlags sets the flags read by takeNestedFlags on the parsed
// licenses, which are in the body's order.
func withNestedFlags(add []allot.AssignedLicense, flags []*bool) {
	for i := range add {
		if i < len(flags) {
			add[i].IncludeNestedGroups = flags[i]
		}
	}
}

// nestedView adds includeNestedGroups to the assignedLicenses of a group
// where it is on; where it is off the entry keeps Graph's exact shape.
func nestedView(view []object, ls []allot.AssignedLicense) []object {
	for i, l := range ls {
		if i < len(view) && l.IncludeNestedGroups != nil && *l.IncludeNestedGroups {
			view[i][nestedField] = true
		}
	}
	return view
}
