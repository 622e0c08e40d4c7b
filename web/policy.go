package web

// Settings › Policy (docs/WAITING-ROOM-COST-POLICY.md).

import (
	"net/http"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

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
		if !allot.IsID(id) {
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
