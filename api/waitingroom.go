package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// waitingRoom serves GET /allot/v1/subscriptions/{skuId}/waitingRoom: the
// users in CountViolation for the SKU in the order they will get seats
// (docs/WAITING-ROOM-COST-POLICY.md). Pages are cut by position; the
// $skiptoken carries the position to resume after.
func (s *server) waitingRoom(w http.ResponseWriter, r *http.Request) error {
	sku, err := pathGUID(r, "skuId")
	if err != nil {
		return err
	}
	top, skip := allot.DefaultPageSize, 0
	for k, vals := range r.URL.Query() {
		if len(vals) != 1 {
			return badRequest("Query parameter '%s' was given more than once.", clip(k))
		}
		switch strings.ToLower(k) {
		case "$top", "top":
			top, err = odata.ParseTop(vals[0])
		case "$skiptoken", "skiptoken":
			var cur string
			if cur, err = odata.DecodeSkipToken(vals[0]); err == nil {
				if skip, err = strconv.Atoi(cur); err != nil || skip < 0 {
					err = badRequest("The $skiptoken is invalid.")
				}
			}
		default:
			return badRequest("Query parameter '%s' is not supported here; use $top or $skiptoken.", clip(k))
		}
		if err != nil {
			return err
		}
	}
	room, err := s.svc.WaitingRoom.WaitingRoom(r.Context(), sku, skip, top)
	if err != nil {
		return err
	}
	items := make([]object, 0, len(room.Users))
	for _, u := range room.Users {
		items = append(items, waitingUserView(u))
	}
	body := object{"skuId": room.SkuID, "waiting": room.Total, "seatsAvailable": room.Available, "value": items}
	if next := skip + len(room.Users); len(room.Users) == top && next < room.Total {
		body["@odata.nextLink"] = s.nextLink(r, strconv.Itoa(next))
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func waitingUserView(u allot.WaitingUser) object {
	groups := make([]object, 0, len(u.Groups))
	for _, g := range u.Groups {
		groups = append(groups, object{"id": g.ID, "displayName": g.DisplayName})
	}
	return object{
		"position":          u.Position,
		"userId":            u.UserID,
		"userPrincipalName": u.UserPrincipalName,
		"displayName":       u.DisplayName,
		"direct":            u.Direct,
		"sourceGroups":      groups,
		"waitingSince":      u.WaitingSince.UTC().Format(time.RFC3339Nano),
	}
}
