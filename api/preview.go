package api

import (
	"net/http"
	"strings"

	"github.com/allot-dev/allot"
)

// previewBody is POST /allot/v1/preview's payload (docs/PREVIEW.md).
type previewBody struct {
	Changes *[]previewChangeBody `json:"changes"`
}

// previewChangeBody is one change; which properties it takes depends on op.
type previewChangeBody struct {
	Op             *string               `json:"op"`
	UserID         *string               `json:"userId"`
	GroupID        *string               `json:"groupId"`
	MemberID       *string               `json:"memberId"`
	AddLicenses    *[]previewLicenseBody `json:"addLicenses"`
	RemoveLicenses *[]string             `json:"removeLicenses"`
	SkuID          *string               `json:"skuId"`
	Seats          *int                  `json:"seats"`
	UsageLocation  *string               `json:"usageLocation"`
	MembershipRule *string               `json:"membershipRule"`
}

// previewLicenseBody is an assignedLicense, with Allot's includeNestedGroups
// for a group as the group's assignLicense takes it.
type previewLicenseBody struct {
	DisabledPlans       []string `json:"disabledPlans"`
	SkuID               *string  `json:"skuId"`
	IncludeNestedGroups *bool    `json:"includeNestedGroups"`
}

// previewProps is what each operation takes: anything else is refused, so
// that a mistyped change is not previewed as something else.
var previewProps = map[string][]string{
	allot.PreviewAssignLicense:     {"userId|groupId", "addLicenses", "removeLicenses"},
	allot.PreviewAddMember:         {"groupId", "memberId"},
	allot.PreviewRemoveMember:      {"groupId", "memberId"},
	allot.PreviewSetSeats:          {"skuId", "seats"},
	allot.PreviewUpdateUser:        {"userId", "usageLocation"},
	allot.PreviewSetMembershipRule: {"groupId", "membershipRule"},
}

// preview serves POST /allot/v1/preview: what the changes would do, with
// the work already queued for the tenant, without changing anything. The
// caller needs every permission the changes would need if made for real.
func (s *server) preview(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b previewBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	changes, err := previewChanges(b)
	if err != nil {
		return err
	}
	for _, c := range changes {
		if err := can(r, c.Permission()); err != nil {
			return err
		}
	}
	p, err := s.svc.Preview.Preview(r.Context(), changes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, previewView(s.svc.Subscriptions.Catalog(), p))
	return nil
}

// previewChanges validates the whole body before anything reaches the store.
func previewChanges(b previewBody) ([]allot.PreviewChange, error) {
	if b.Changes == nil {
		return nil, required("changes", "Preview")
	}
	if n := len(*b.Changes); n == 0 || n > allot.MaxBatch {
		return nil, badRequest("A preview takes between 1 and %d changes; got %d.", allot.MaxBatch, n)
	}
	out := make([]allot.PreviewChange, 0, len(*b.Changes))
	for i, cb := range *b.Changes {
		c, err := previewChange(cb)
		if err != nil {
			op := ""
			if cb.Op != nil {
				op = " (" + clip(*cb.Op) + ")"
			}
			return nil, badRequest("Change %d%s: %s", i+1, op, allot.ErrorMessage(err))
		}
		out = append(out, c)
	}
	return out, nil
}

func previewChange(b previewChangeBody) (allot.PreviewChange, error) {
	var c allot.PreviewChange
	if b.Op == nil {
		return c, badRequest("Property 'op' is required: one of assignLicense, addMember, removeMember, setSeats, updateUser, setMembershipRule.")
	}
	c.Op = *b.Op
	props, ok := previewProps[c.Op]
	if !ok {
		return c, badRequest("Unknown op '%s': use assignLicense, addMember, removeMember, setSeats, updateUser or setMembershipRule.", clip(c.Op))
	}
	given := map[string]bool{
		"userId": b.UserID != nil, "groupId": b.GroupID != nil, "memberId": b.MemberID != nil,
		"addLicenses": b.AddLicenses != nil, "removeLicenses": b.RemoveLicenses != nil,
		"skuId": b.SkuID != nil, "seats": b.Seats != nil, "usageLocation": b.UsageLocation != nil,
		"membershipRule": b.MembershipRule != nil,
	}
	for _, p := range props {
		alts := strings.Split(p, "|")
		n := 0
		for _, a := range alts {
			if given[a] {
				n++
			}
			delete(given, a)
		}
		if n != 1 {
			return c, badRequest("Op '%s' takes exactly one of: %s.", c.Op, strings.Join(alts, ", "))
		}
	}
	for _, p := range []string{"userId", "groupId", "memberId", "addLicenses", "removeLicenses", "skuId", "seats", "usageLocation", "membershipRule"} {
		if given[p] {
			return c, badRequest("Property '%s' does not apply to op '%s'.", p, c.Op)
		}
	}
	var err error
	id := func(prop string, v *string) string {
		if v == nil || err != nil {
			return ""
		}
		g, ok := allot.ParseID(*v)
		if !ok {
			err = badRequest("Invalid value for property '%s': '%s' is not a GUID.", prop, clip(*v))
		}
		return g
	}
	c.UserID, c.GroupID, c.MemberID, c.SkuID = id("userId", b.UserID), id("groupId", b.GroupID), id("memberId", b.MemberID), id("skuId", b.SkuID)
	if err != nil {
		return c, err
	}
	switch c.Op {
	case allot.PreviewAssignLicense:
		add := make([]assignedLicenseBody, 0, len(*b.AddLicenses))
		for _, l := range *b.AddLicenses {
			if l.IncludeNestedGroups != nil && c.GroupID == "" {
				return c, badRequest("Property 'includeNestedGroups' applies to a group's licenses only.")
			}
			add = append(add, assignedLicenseBody{DisabledPlans: l.DisabledPlans, SkuID: l.SkuID})
		}
		if c.AddLicenses, c.RemoveLicenses, err = licensesFromBody(add, *b.RemoveLicenses); err != nil {
			return c, err
		}
		if len(c.AddLicenses)+len(c.RemoveLicenses) == 0 {
			return c, badRequest("Name at least one license to add or remove.")
		}
		for i, l := range *b.AddLicenses {
			c.AddLicenses[i].IncludeNestedGroups = l.IncludeNestedGroups
		}
	case allot.PreviewSetSeats:
		if c.Seats, err = seats("seats", b.Seats, 0, maxSeats); err != nil {
			return c, err
		}
	case allot.PreviewUpdateUser:
		if c.UsageLocation, err = usageLocation(*b.UsageLocation); err != nil {
			return c, err
		}
	case allot.PreviewSetMembershipRule:
		c.MembershipRule = *b.MembershipRule
	}
	return c, nil
}

func previewView(cat *allot.Catalog, p *allot.Preview) object {
	part := func(sku string) string {
		if s := cat.SKUs[sku]; s != nil {
			return s.PartNumber
		}
		return ""
	}
	seats := make([]object, 0, len(p.Seats))
	for _, x := range p.Seats {
		seats = append(seats, object{
			"skuId": x.SkuID, "skuPartNumber": part(x.SkuID),
			"enabledBefore": x.EnabledBefore, "enabledAfter": x.EnabledAfter,
			"consumedBefore": x.ConsumedBefore, "consumedAfter": x.ConsumedAfter, "delta": x.Delta(),
		})
	}
	errs := func(es []allot.PreviewError) []object {
		out := make([]object, 0, len(es))
		for _, e := range es {
			out = append(out, object{"skuId": e.SkuID, "skuPartNumber": part(e.SkuID), "assignedByGroup": nullable(e.Source), "error": e.Error})
		}
		return out
	}
	states := func(ss []allot.LicenseState) []object {
		out := make([]object, 0, len(ss))
		for _, st := range ss {
			out = append(out, object{"skuId": st.SkuID, "skuPartNumber": part(st.SkuID), "assignedByGroup": nullable(st.Source),
				"state": st.State, "error": st.Error, "disabledPlans": list(st.DisabledPlans), "detail": st.Detail})
		}
		return out
	}
	users := make([]object, 0, len(p.Users))
	for _, u := range p.Users {
		users = append(users, object{
			"id": u.ID, "userPrincipalName": u.UserPrincipalName, "displayName": u.DisplayName,
			"gained": list(u.Gained), "lost": list(u.Lost),
			"intoError": errs(u.IntoError), "outOfError": errs(u.OutOfError),
			"before": states(u.Before), "after": states(u.After),
		})
	}
	members := make([]object, 0, len(p.Members))
	for _, m := range p.Members {
		members = append(members, object{"groupId": m.GroupID, "displayName": m.DisplayName, "joined": m.Joined, "left": m.Left})
	}
	return object{
		"queuedBefore":   p.QueuedBefore,
		"usersEvaluated": p.UsersEvaluated,
		"seats":          seats,
		"users":          users,
		"truncated":      p.Truncated,
		"totals": object{"users": p.Totals.Users, "gained": p.Totals.Gained, "lost": p.Totals.Lost,
			"intoError": p.Totals.IntoError, "outOfError": p.Totals.OutOfError},
		"members": members,
	}
}
