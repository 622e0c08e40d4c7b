package web

// The Waiting room tab of a product's page (docs/WAITING-ROOM-COST-POLICY.md).

import (
	"net/http"
	"strconv"
)

// waitingTab lists the product's waiting room, a page of the admin
// center's page size at a time.
func (s *server) waitingTab(w http.ResponseWriter, r *http.Request) error {
	d, err := s.product(r)
	if err != nil {
		return err
	}
	skip := 0
	if v := r.URL.Query().Get("skip"); v != "" {
		if skip, err = strconv.Atoi(v); err != nil || skip < 0 {
			return badRequest("The page number in the address is not valid.")
		}
	}
	d.Tab = "waiting"
	x := &productExtraData{productData: d}
	if x.Room, err = s.svc.WaitingRoom.WaitingRoom(r.Context(), d.Product.ID, skip, s.pageSize); err != nil {
		return err
	}
	if next := skip + len(x.Room.Users); next < x.Room.Total && len(x.Room.Users) > 0 {
		x.Next = d.URL + "/waiting?skip=" + strconv.Itoa(next)
	}
	s.render(w, r, http.StatusOK, "productextra", s.newView(w, r, d.Product.Name+" – Waiting room", "licenses", x))
	return nil
}
