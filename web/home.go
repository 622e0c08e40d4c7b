package web

// The home page (/): what needs the admin today, in pictures first and
// words beside them: products near or over their licenses, groups in
// error, waiting rooms, errors by kind, and the subscriptions.

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

const (
	// homeGroups is how many groups in error the page names; the rest are
	// counted.
	homeGroups = 20
	// nearShare: a product is near its licenses when at most this share of
	// them is left (a tenth).
	nearShare = 10
)

type homeData struct {
	Near      []productRow // near or over their licenses, the fullest first
	SeatChart template.HTML

	Groups     []homeGroup // in error, the most errors first
	GroupsMore int         // groups in error not listed

	Waiting      []homeWaiting
	WaitingChart template.HTML

	Errors        errorTally
	ErrorChart    template.HTML
	ProductCharts []template.HTML // errors by kind of each product with errors

	// Ending are the commercial subscriptions whose term ends within
	// homeEndingDays, or that have ended, soonest first; Soon counts those
	// that need the admin now (within homeSoonDays, or ended).
	Ending []homeEnding
	Soon   int
	Quiet  bool // nothing above needs the admin
}

type homeGroup struct {
	ID, Name string
	Errors   int // members with an error from the group
	Panels   []homeLink
}

type homeLink struct{ URL, Text string }

type homeWaiting struct {
	Product productRow
	Users   int
}

type homeEnding struct {
	commercialRow
	SkuID, Product string
	end            time.Time
}

const (
	// homeEndingDays: the home page lists the terms ending within this many
	// days; homeSoonDays: those ending within this many need the admin.
	homeEndingDays = 90
	homeSoonDays   = 30
)

// endingSoon lists the subscriptions whose term ends within
// homeEndingDays or that have ended and are not yet deleted.
func (s *server) endingSoon(ctx context.Context, cat *allot.Catalog, d *homeData) error {
	if s.svc.Lifecycle == nil {
		return nil
	}
	subs, err := s.svc.Lifecycle.CompanySubscriptions(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	for i := range subs {
		c := &subs[i]
		end := c.StatusSince
		switch c.Status {
		case allot.SubEnabled:
			if c.TermEnd == nil || c.TermEnd.Sub(now) > homeEndingDays*24*time.Hour {
				continue
			}
			end = *c.TermEnd
			if end.Sub(now) <= homeSoonDays*24*time.Hour {
				d.Soon++
			}
		case allot.SubWarning, allot.SubSuspended:
			d.Soon++
		case allot.SubLockedOut:
		default:
			continue
		}
		d.Ending = append(d.Ending, homeEnding{commercialRow: commercialRowOf(c, now), SkuID: c.SkuID, Product: skuName(cat, c.SkuID), end: end})
	}
	slices.SortStableFunc(d.Ending, func(a, b homeEnding) int { return a.end.Compare(b.end) })
	return nil
}

// errorTally counts license errors from groups by kind, overall and by
// product, in the words of the group panel.
type errorTally struct {
	Kinds     map[string]int
	ByProduct map[string]map[string]int // SKU id -> kind -> count
	Users     int                       // members in error, each once per group
}

func (t *errorTally) add(sku, kind string, n int) {
	if t.Kinds == nil {
		t.Kinds, t.ByProduct = map[string]int{}, map[string]map[string]int{}
	}
	t.Kinds[kind] += n
	if t.ByProduct[sku] == nil {
		t.ByProduct[sku] = map[string]int{}
	}
	t.ByProduct[sku][kind] += n
}

// kindRows are the bars of a tally, the most frequent kind first.
func kindRows(kinds map[string]int) []barRow {
	var rows []barRow
	for k, n := range kinds {
		rows = append(rows, barRow{Label: k, Text: plural(n, "error", "errors"), Segs: []segment{{float64(n), segSolid}}})
	}
	slices.SortFunc(rows, func(a, b barRow) int {
		if c := int(b.Segs[0].Value - a.Segs[0].Value); c != 0 {
			return c
		}
		return strings.Compare(a.Label, b.Label)
	})
	return rows
}

// near reports whether a product has a tenth of its licenses left or
// fewer, or more assigned than owned.
func near(p productRow) bool {
	if p.Over > 0 {
		return true
	}
	return p.Total > 0 && p.Available*nearShare <= p.Total
}

// fullness orders products: the most over-allocated, then the fullest.
func fullness(a, b productRow) int {
	if a.Over != b.Over {
		return b.Over - a.Over
	}
	fa, fb := float64(a.Assigned)/float64(max(a.Total, 1)), float64(b.Assigned)/float64(max(b.Total, 1))
	switch {
	case fa > fb:
		return -1
	case fa < fb:
		return 1
	}
	return strings.Compare(a.Name, b.Name)
}

func seatText(p productRow) string {
	s := fmt.Sprintf("%d of %d assigned", p.Assigned, p.Total)
	switch {
	case p.Over > 0:
		s += fmt.Sprintf(", %d over", p.Over)
	case p.Available == 0:
		s += ", none left"
	default:
		s += fmt.Sprintf(", %d left", p.Available)
	}
	return s
}

func (s *server) homePage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	subs, err := s.svc.Subscriptions.Subscriptions(ctx)
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	d := &homeData{}
	products := map[string]productRow{}
	for _, sub := range subs {
		p := s.productRowOf(cat, sub)
		products[p.ID] = p
		if near(p) {
			d.Near = append(d.Near, p)
		}
		room, err := s.svc.WaitingRoom.WaitingRoom(ctx, p.ID, 0, 1)
		if err != nil {
			return err
		}
		if room.Total > 0 {
			d.Waiting = append(d.Waiting, homeWaiting{Product: p, Users: room.Total})
		}
	}
	slices.SortStableFunc(d.Near, fullness)
	slices.SortStableFunc(d.Waiting, func(a, b homeWaiting) int { return b.Users - a.Users })

	seats := barChart{ID: chartID("home-seats"), Title: "Products near or over their licenses", Legend: usageLegend}
	for _, p := range d.Near {
		seats.Rows = append(seats.Rows, barRow{Label: p.Name, Text: seatText(p), Segs: p.usageSegs()})
	}
	d.SeatChart = seats.SVG()
	waiting := barChart{ID: chartID("home-waiting"), Title: "Users waiting for a license, by product"}
	for _, wr := range d.Waiting {
		waiting.Rows = append(waiting.Rows, barRow{Label: wr.Product.Name, Text: plural(wr.Users, "user", "users"), Segs: []segment{{float64(wr.Users), segSolid}}})
	}
	d.WaitingChart = waiting.SVG()

	if err := s.groupsInError(ctx, cat, d); err != nil {
		return err
	}
	d.ErrorChart = barChart{ID: chartID("home-errors"), Title: "License errors from groups, by kind", Rows: kindRows(d.Errors.Kinds)}.SVG()
	skus := make([]string, 0, len(d.Errors.ByProduct))
	for sku := range d.Errors.ByProduct {
		skus = append(skus, sku)
	}
	slices.SortFunc(skus, func(a, b string) int { return strings.Compare(skuName(cat, a), skuName(cat, b)) })
	for _, sku := range skus {
		d.ProductCharts = append(d.ProductCharts, productErrorChart(skuName(cat, sku), sku, d.Errors.ByProduct[sku]))
	}
	if err := s.endingSoon(ctx, cat, d); err != nil {
		return err
	}
	d.Quiet = len(d.Near) == 0 && len(d.Groups) == 0 && len(d.Waiting) == 0 && d.Soon == 0
	s.render(w, r, http.StatusOK, "home", s.newView(w, r, "Home", "home", d))
	return nil
}

// productErrorChart is a product's errors by kind: the home page shows one
// per product; a product's page can show its own from groupsInError's
// tally.
func productErrorChart(name, sku string, kinds map[string]int) template.HTML {
	return barChart{ID: chartID("errors", sku), Title: "Errors by kind: " + name, Rows: kindRows(kinds)}.Figure()
}

// productErrorChart is the product page's errors by kind, from every
// source; empty when nobody is in error on it.
func (s *server) productErrorChart(r *http.Request, cat *allot.Catalog, sku string) (template.HTML, error) {
	kinds, err := s.svc.Groups.ProductErrors(r.Context(), sku)
	if err != nil || len(kinds) == 0 {
		return "", err
	}
	noDefault := true
	if t, err := s.svc.Tenants.Tenant(r.Context()); err == nil {
		noDefault = t.DefaultUsageLocation == ""
	}
	tally := map[string]int{}
	for _, k := range kinds {
		tally[errorWords(k.Error, k.NoLocation && noDefault)] += k.Users
	}
	return productErrorChart(skuName(cat, sku), sku, tally), nil
}

// groupsInError lists the groups whose members have license errors, with
// their counts, and counts their errors by kind.
func (s *server) groupsInError(ctx context.Context, cat *allot.Catalog, d *homeData) error {
	filter := &allot.Compare{Property: "hasMembersWithLicenseErrors", Op: "eq", Value: true}
	page, err := s.svc.Groups.ListGroups(ctx, allot.ListOptions{Filter: filter, OrderBy: "displayName", Top: homeGroups, Count: true})
	if err != nil {
		return err
	}
	d.GroupsMore = max(page.Count-len(page.Items), 0)
	noDefault := true
	if t, err := s.svc.Tenants.Tenant(ctx); err == nil {
		noDefault = t.DefaultUsageLocation == ""
	}
	ids := make([]string, 0, len(page.Items))
	for i := range page.Items {
		ids = append(ids, page.Items[i].ID)
	}
	counts, err := s.svc.Groups.GroupErrors(ctx, ids)
	if err != nil {
		return err
	}
	for i := range page.Items {
		g := &page.Items[i]
		hg := homeGroup{ID: g.ID, Name: g.DisplayName}
		inError := map[string]bool{}
		c := counts[g.ID]
		hg.Errors = c.Users
		d.Errors.Users += c.Users
		for _, k := range c.Errors {
			d.Errors.add(k.SkuID, errorWords(k.Error, k.NoLocation && noDefault), k.Users)
			inError[k.SkuID] = true
		}
		for _, l := range g.AssignedLicenses {
			// A group whose members were not read links to each of its products.
			if len(inError) == 0 || inError[l.SkuID] {
				hg.Panels = append(hg.Panels, homeLink{groupPanelURL(l.SkuID, g.ID) + "?tab=actions", skuName(cat, l.SkuID)})
			}
		}
		d.Groups = append(d.Groups, hg)
	}
	slices.SortStableFunc(d.Groups, func(a, b homeGroup) int { return b.Errors - a.Errors })
	return nil
}
