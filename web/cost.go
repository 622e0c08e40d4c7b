package web

// The Price & cost tab of a product's page and Billing › Cost
// (docs/WAITING-ROOM-COST-POLICY.md).

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
)

// priceForm is the price form as typed, shown again when it is refused.
type priceForm struct{ Price, Currency string }

// priceFields are the price form's fields a refusal carries back.
var priceFields = []string{"price", "currency"}

type groupSeats struct {
	ID, Name string
	Cost     allot.GroupProductCost
}

// priceTab shows the product's price, spend and idle seats, with the price
// form for those who may buy.
func (s *server) priceTab(w http.ResponseWriter, r *http.Request) error {
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
	if i := slices.IndexFunc(rep.Products, func(p allot.ProductCost) bool { return p.SkuID == d.Product.ID }); i >= 0 {
		x.Cost = &rep.Products[i]
		x.Form = priceForm{x.Cost.PricePerSeat, x.Cost.Currency}
	}
	for _, g := range rep.Groups {
		for _, p := range g.Products {
			if p.SkuID == d.Product.ID {
				x.Groups = append(x.Groups, groupSeats{ID: g.GroupID, Name: g.DisplayName, Cost: p})
			}
		}
	}
	if kept := s.keptForm(r); kept != nil {
		x.Form = priceForm{kept.Get("price"), kept.Get("currency")}
	}
	s.render(w, r, http.StatusOK, "productextra", s.newView(w, r, d.Product.Name+" – Price & cost", "licenses", x))
	return nil
}

// pricePost sets or clears the price; a refused price goes back to the
// form as typed, with the reason, and nothing changes.
func (s *server) pricePost(w http.ResponseWriter, r *http.Request) error {
	sku := strings.ToLower(r.PathValue("sku"))
	to := productURL(sku) + "/price"
	if r.PostForm.Get("op") == "clear" {
		if err := s.svc.Cost.ClearPrice(r.Context(), sku); err != nil {
			return err
		}
		return s.redirect(w, r, to, flash{Kind: "success", Text: "Price removed."})
	}
	form := priceForm{strings.TrimSpace(r.PostForm.Get("price")), strings.ToUpper(strings.TrimSpace(r.PostForm.Get("currency")))}
	units, err := allot.ParsePrice(form.Price)
	if err != nil {
		// ParsePrice speaks the API's language (pricePerSeat).
		return s.redirectKeeping(w, r, to, flash{Kind: "error", Text: fmt.Sprintf("Nothing was saved: the price “%s” is not an amount. Type a number such as 8.00, with a dot and at most 4 decimals, from 0 to %d.", clipTyped(form.Price, 40), allot.MaxPrice)}, priceFields...)
	}
	_, err = s.svc.Cost.SetPrice(r.Context(), sku, allot.Price{Units: units, Currency: form.Currency})
	if allot.ErrorCode(err) == allot.EINVALID {
		return s.redirectKeeping(w, r, to, flash{Kind: "error", Text: "Nothing was saved: " + plainMessage(err)}, priceFields...)
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

// clipTyped shortens what someone typed for a message about it.
func clipTyped(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
