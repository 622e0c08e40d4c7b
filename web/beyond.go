package web

// The waiting room and price tabs of a product's page, Billing › Cost, and
// Settings › Policy (docs/WAITING-ROOM-COST-POLICY.md).

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
)

// productExtraData is a product's Waiting room or Price & cost tab.
type productExtraData struct {
	*productData
	Room *allot.WaitingRoom
	Next string // the next page of the waiting room
	Cost *allot.ProductCost
	// Groups are the groups holding seats of this product, with their spend.
	Groups []groupSeats
	Form   struct{ Price, Currency string }
}

type groupSeats struct {
	ID, Name string
	Cost     allot.GroupProductCost
}

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

// priceTab shows the product's price, spend and idle seats, with the price
// form for those who may buy.
func (s *server) priceTab(w http.ResponseWriter, r *http.Request) error {
	return s.renderPriceTab(w, r, http.StatusOK, nil, nil)
}

func (s *server) renderPriceTab(w http.ResponseWriter, r *http.Request, status int, form *struct{ Price, Currency string }, f *flash) error {
	d, err := s.product(r)
	if err != nil {
		return err
	}
	d.Tab = "price"
	x := &productExtraData{productData: d}
	rep, err := s.svc.Cost.CostReport(r.Context())
	if err != nil {
		return err
	}
	for i := range rep.Products {
		if rep.Products[i].SkuID == d.Product.ID {
			x.Cost = &rep.Products[i]
			x.Form.Price, x.Form.Currency = x.Cost.PricePerSeat, x.Cost.Currency
		}
	}
	for _, g := range rep.Groups {
		for _, p := range g.Products {
			if p.SkuID == d.Product.ID {
				x.Groups = append(x.Groups, groupSeats{ID: g.GroupID, Name: g.DisplayName, Cost: p})
			}
		}
	}
	if form != nil {
		x.Form = *form
	}
	v := s.newView(w, r, d.Product.Name+" – Price & cost", "licenses", x)
	if f != nil {
		v.Flash = f
	}
	s.render(w, r, status, "productextra", v)
	return nil
}

// pricePost sets or clears the price; a refused price is shown again with
// the reason, and nothing changes.
func (s *server) pricePost(w http.ResponseWriter, r *http.Request) error {
	sku := strings.ToLower(r.PathValue("sku"))
	to := productURL(sku) + "/price"
	if r.PostForm.Get("op") == "clear" {
		if err := s.svc.Cost.ClearPrice(r.Context(), sku); err != nil {
			return err
		}
		return s.redirect(w, r, to, flash{Kind: "success", Text: "Price removed."})
	}
	form := struct{ Price, Currency string }{strings.TrimSpace(r.PostForm.Get("price")), strings.ToUpper(strings.TrimSpace(r.PostForm.Get("currency")))}
	units, err := allot.ParsePrice(form.Price)
	if err == nil {
		_, err = s.svc.Cost.SetPrice(r.Context(), sku, allot.Price{Units: units, Currency: form.Currency})
	}
	if allot.ErrorCode(err) == allot.EINVALID {
		return s.renderPriceTab(w, r, http.StatusBadRequest, &form, &flash{Kind: "error", Text: allot.ErrorMessage(err)})
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, to, flash{Kind: "success", Text: "Price saved: " + allot.Price{Units: units}.String() + " " + form.Currency + " per seat."})
}

// costPage is Billing › Cost.
func (s *server) costPage(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.svc.Cost.CostReport(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "cost", s.newView(w, r, "Cost", "cost", rep))
	return nil
}

// costCSV downloads one table of the cost report, as the API's CSV does.
func (s *server) costCSV(w http.ResponseWriter, r *http.Request) error {
	by := r.URL.Query().Get("by")
	if by == "" {
		by = "product"
	}
	if !slices.Contains([]string{"product", "group", "currency"}, by) {
		return badRequest("Choose a report by product, group or currency.")
	}
	rep, err := s.svc.Cost.CostReport(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="cost-by-`+by+`.csv"`)
	cw := csvio.NewWriter(w)
	switch by {
	case "product":
		_ = cw.Write("skuId", "skuPartNumber", "displayName", "seatsBought", "seatsConsumed", "seatsIdle", "pricePerSeat", "currency", "spend", "idleSpend")
		for _, p := range rep.Products {
			_ = cw.Write(p.SkuID, p.PartNumber, p.DisplayName, strconv.Itoa(p.Bought), strconv.Itoa(p.Consumed), strconv.Itoa(p.Idle), p.PricePerSeat, p.Currency, p.Spend, p.IdleSpend)
		}
	case "group":
		_ = cw.Write("groupId", "groupDisplayName", "skuId", "skuPartNumber", "seats", "pricePerSeat", "currency", "spend")
		for _, g := range rep.Groups {
			for _, p := range g.Products {
				_ = cw.Write(g.GroupID, g.DisplayName, p.SkuID, p.PartNumber, strconv.Itoa(p.Seats), p.PricePerSeat, p.Currency, p.Spend)
			}
		}
	case "currency":
		_ = cw.Write("currency", "spend", "idleSpend")
		for _, t := range rep.Totals {
			_ = cw.Write(t.Currency, t.Spend, t.IdleSpend)
		}
	}
	return cw.Flush()
}

type policyData struct {
	Products []policyRow
}

type policyRow struct {
	ID, Name, PartNumber string
	Blocked              bool
}

// policyPage is Settings › Policy: every subscribed product, and any
// blocked one the tenant no longer subscribes to, with its checkbox.
func (s *server) policyPage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Policy.Policy(r.Context())
	if err != nil {
		return err
	}
	subs, err := s.svc.Subscriptions.Subscriptions(r.Context())
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	ids := slices.Clone(p.BlockedDirectSKUs)
	for _, sub := range subs {
		ids = append(ids, sub.SkuID)
	}
	slices.Sort(ids)
	d := &policyData{}
	for _, id := range slices.Compact(ids) {
		row := policyRow{ID: id, Name: skuName(cat, id), Blocked: slices.Contains(p.BlockedDirectSKUs, id)}
		if sku := cat.SKUs[id]; sku != nil {
			row.PartNumber = sku.PartNumber
		}
		d.Products = append(d.Products, row)
	}
	slices.SortFunc(d.Products, func(a, b policyRow) int { return strings.Compare(a.Name, b.Name) })
	s.render(w, r, http.StatusOK, "policy", s.newView(w, r, "Policy", "policy", d))
	return nil
}

// policyPost replaces the blocked list with the boxes ticked.
func (s *server) policyPost(w http.ResponseWriter, r *http.Request) error {
	blocked := r.PostForm["block"]
	for _, id := range blocked {
		if !isGUIDText(id) {
			return badRequest("The form named a product that does not exist.")
		}
	}
	if _, err := s.svc.Policy.SetPolicy(r.Context(), blocked); err != nil {
		return err
	}
	msg := "Direct assignment is allowed for every product."
	if len(blocked) > 0 {
		msg = "Saved: " + plural(len(blocked), "product", "products") + " can now be assigned only through groups. Users who have them directly keep them."
	}
	return s.redirect(w, r, "/settings/policy", flash{Kind: "success", Text: msg})
}

func isGUIDText(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
