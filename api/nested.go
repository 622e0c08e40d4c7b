package api

import (
	"encoding/json"
	"net/http"

	"github.com/allot-dev/allot"
)

// nestedField is Allot's extension of Graph's assignedLicense on a group's
// assignLicense (docs/NESTED-GROUPS.md).
const nestedField = "includeNestedGroups"

// groupAssignLicenseBody is a group's assignLicense payload: Graph's, whose
// addLicenses entries may carry includeNestedGroups. A user's keeps Graph's
// own type (assignLicenseBody), where the field is unknown.
type groupAssignLicenseBody struct {
	AddLicenses    *[]groupLicenseBody `json:"addLicenses"`
	RemoveLicenses *[]string           `json:"removeLicenses"`
}

type groupLicenseBody struct {
	DisabledPlans []string `json:"disabledPlans"`
	SkuID         *string  `json:"skuId"`
	// Raw, so that null (which a *bool would take for absent) and a value
	// of another type are refused with the extension's own message.
	IncludeNestedGroups json.RawMessage `json:"includeNestedGroups"`
}

func (groupLicenseBody) graphType() string { return "microsoft.graph.assignedLicense" }

// parseGroupAssignLicense reads a group's assignLicense body as
// parseAssignLicense reads a user's, with each entry's includeNestedGroups
// on the license it names.
func parseGroupAssignLicense(r *http.Request) (add []allot.AssignedLicense, remove []string, err error) {
	var b groupAssignLicenseBody
	if _, err := decodeJSON(r, &b); err != nil {
		return nil, nil, err
	}
	var entries []groupLicenseBody
	if b.AddLicenses != nil {
		entries = *b.AddLicenses
	}
	flags := make([]*bool, len(entries))
	for i, e := range entries {
		if e.IncludeNestedGroups == nil {
			continue
		}
		if json.Unmarshal(e.IncludeNestedGroups, &flags[i]) != nil || flags[i] == nil {
			return nil, nil, badRequest("Invalid value for property '%s': expected boolean.", nestedField)
		}
	}
	if err := assignLicenseArrays(b.AddLicenses != nil, b.RemoveLicenses != nil); err != nil {
		return nil, nil, err
	}
	licenses := make([]assignedLicenseBody, len(entries))
	for i, e := range entries {
		licenses[i] = assignedLicenseBody{DisabledPlans: e.DisabledPlans, SkuID: e.SkuID}
	}
	if add, remove, err = licensesFromBody(licenses, *b.RemoveLicenses); err != nil {
		return nil, nil, err
	}
	for i := range add {
		add[i].IncludeNestedGroups = flags[i]
	}
	return add, remove, nil
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
