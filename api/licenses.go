package api

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/allot-dev/allot"
)

type groupsLicenseBody struct {
	GroupIDs      []string `json:"groupIds"`
	SkuID         *string  `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
	// IncludeNestedGroups: docs/NESTED-GROUPS.md; absent keeps the setting.
	IncludeNestedGroups *bool `json:"includeNestedGroups"`
}

// assignGroupsLicense is the admin center's Assign panel: one product to
// up to 20 groups, processed asynchronously like the Graph action.
func (s *server) assignGroupsLicense(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b groupsLicenseBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	ids, err := guids("groupIds", b.GroupIDs)
	if err != nil {
		return err
	}
	if err := maxBatch("groupIds", len(ids), 1); err != nil {
		return err
	}
	if b.SkuID == nil {
		return required("skuId", "AssignedLicense")
	}
	sku, err := guid(*b.SkuID)
	if err != nil {
		return err
	}
	disabled, err := guids("disabledPlans", b.DisabledPlans)
	if err != nil {
		return err
	}
	lic := allot.AssignedLicense{SkuID: sku, DisabledPlans: disabled, IncludeNestedGroups: b.IncludeNestedGroups}
	if err := s.svc.Licenses.AssignGroupsLicense(r.Context(), ids, lic); err != nil {
		return err
	}
	out := object{"groupIds": ids, "skuId": sku, "disabledPlans": disabled}
	if b.IncludeNestedGroups != nil {
		out[nestedField] = *b.IncludeNestedGroups
	}
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

// reprocessGroup takes no body; one that is sent is ignored.
func (s *server) reprocessGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	if err := s.svc.Licenses.ReprocessGroup(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, object{"groupId": id})
	return nil
}

type userIDsBody struct {
	UserIDs []string `json:"userIds"`
}

func (s *server) reprocessUsers(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b userIDsBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	ids, err := guids("userIds", b.UserIDs)
	if err != nil {
		return err
	}
	if err := maxBatch("userIds", len(ids), 1); err != nil {
		return err
	}
	if err := s.svc.Licenses.ReprocessUsers(r.Context(), ids); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, object{"userIds": ids})
	return nil
}

// licenseStates is "View error details": every state of the user with the
// human-readable detail Graph does not have.
func (s *server) licenseStates(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	u, err := s.pathUser(r)
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	states := append([]allot.LicenseState(nil), u.States...)
	slices.SortStableFunc(states, func(a, b allot.LicenseState) int {
		return cmp.Or(cmp.Compare(a.SkuID, b.SkuID), cmp.Compare(a.Source, b.Source))
	})
	writeJSON(w, http.StatusOK, valueList(states, func(st *allot.LicenseState) object { return licenseStateView(cat, st) }))
	return nil
}

func licenseStateView(cat *allot.Catalog, st *allot.LicenseState) object {
	part := ""
	if sku := cat.SKUs[st.SkuID]; sku != nil {
		part = sku.PartNumber
	}
	return object{
		"skuId":               st.SkuID,
		"skuPartNumber":       part,
		"assignedByGroup":     nullable(st.Source),
		"state":               st.State,
		"error":               st.Error,
		"detail":              st.Detail,
		"disabledPlans":       list(st.DisabledPlans),
		"lastUpdatedDateTime": jsonTime(st.LastUpdated),
		"waitingSince":        jsonTime(st.WaitingSince),
	}
}

func (s *server) status(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	st, err := s.svc.Licenses.Status(r.Context())
	if err != nil {
		return err
	}
	groups := make([]object, 0, len(st.Groups))
	for _, g := range st.Groups {
		groups = append(groups, object{
			"id": g.GroupID, "displayName": g.DisplayName, "state": g.State, "done": g.Done, "total": g.Total,
		})
	}
	writeJSON(w, http.StatusOK, object{
		"queueDepth":          st.QueueDepth,
		"oldestQueuedSeconds": int64(st.OldestQueuedAge / time.Second),
		"idle":                st.Idle,
		"groups":              groups,
	})
	return nil
}
