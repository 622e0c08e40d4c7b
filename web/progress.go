package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/allot-dev/allot"
)

// Progress bars of the walks that assignment, unassignment, reprocess and
// purchase start. A page with one running carries a live region
// (data-live-url) that app.js fetches again every second until the region
// says the work is over, so the bar moves without a reload; without the
// script the region's Refresh link does the same by hand.

type progressData struct {
	Active      bool
	Label       string
	Done, Total int    // Total 0: not started, the bar has no value yet
	Note        string // "waiting to start", or what the numbers count
}

// walkProgress is a group's walk as a bar, or nil when it has none.
// assigned tells whether the group still has the product: a walk of a
// group without it is taking the product's licenses away.
func walkProgress(g *allot.Group, assigned bool) *progressData {
	label := "Applying licenses to members"
	if !assigned {
		label = "Removing licenses from members"
	}
	switch g.ProcessingState {
	case allot.ProcessingInProgress:
		return &progressData{Active: true, Label: label, Done: g.MembersDone, Total: max(g.MembersTotal, g.MembersDone), Note: "users"}
	case allot.ProcessingQueued:
		return &progressData{Active: true, Label: label, Note: "waiting to start"}
	}
	return nil
}

// groupProgress is one group's walk on a product's Groups tab.
type groupProgress struct {
	ID, Name string
	URL      string
	Bar      *progressData
}

// productProgress lists the walks under way that concern the product.
func (s *server) productProgress(r *http.Request, d *productData) ([]groupProgress, error) {
	groups, err := s.svc.Groups.ProductProgress(r.Context(), d.Product.ID)
	if err != nil {
		return nil, err
	}
	var out []groupProgress
	for i := range groups {
		g := &groups[i]
		has := hasProduct(g, d.Product.ID)
		bar := walkProgress(g, has)
		if bar == nil {
			continue // finished between the two reads
		}
		gp := groupProgress{ID: g.ID, Name: g.DisplayName, Bar: bar}
		if has {
			gp.URL = groupPanelURL(d.Product.ID, g.ID)
		}
		out = append(out, gp)
	}
	return out, nil
}

// purchaseProgress is the bought licenses going to the users who wait for
// one: of is how many were to get one when the purchase was made, and
// what is left is whoever still waits while a seat is free.
func (s *server) purchaseProgress(r *http.Request, sku string, of int) (*progressData, error) {
	if of <= 0 {
		return nil, nil
	}
	room, err := s.svc.WaitingRoom.WaitingRoom(r.Context(), sku, 0, 1)
	if err != nil {
		return nil, err
	}
	left := min(room.Total, room.Available, of)
	return &progressData{Active: left > 0, Label: "Giving the bought licenses to users waiting for one", Done: of - left, Total: of, Note: "users"}, nil
}

// waitingFor is how many of qty bought licenses go to users who wait for
// one, read before the purchase.
func (s *server) waitingFor(r *http.Request, sku string, qty int) int {
	room, err := s.svc.WaitingRoom.WaitingRoom(r.Context(), sku, 0, 1)
	if err != nil {
		return 0
	}
	return min(room.Total, qty+room.Available)
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return def
	}
	return n
}

// progressText is a bar's numbers in words, for the page without script
// and for screen readers.
func progressText(p *progressData) string {
	if p.Total == 0 {
		return p.Note
	}
	return fmt.Sprintf("%d of %d %s", p.Done, p.Total, p.Note)
}
