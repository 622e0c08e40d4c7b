package api

import (
	"net/http"

	"github.com/allot-dev/allot"
)

func subscriptionView(cat *allot.Catalog, sub *allot.Subscription) object {
	part, name := "", ""
	if sku := cat.SKUs[sub.SkuID]; sku != nil {
		part, name = sku.PartNumber, sku.DisplayName
	}
	status := sub.CapabilityStatus
	if status == "" {
		status = allot.CapabilityEnabled
	}
	return object{
		"skuId":            sub.SkuID,
		"skuPartNumber":    part,
		"displayName":      name,
		"seats":            sub.Enabled,
		"consumed":         sub.ConsumedUnits,
		"available":        sub.Available(),
		"overAllocated":    sub.OverAllocated(),
		"capabilityStatus": status,
	}
}

func (s *server) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	subs, err := s.svc.Subscriptions.Subscriptions(r.Context())
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	writeJSON(w, http.StatusOK, valueList(subs, func(sub *allot.Subscription) object { return subscriptionView(cat, sub) }))
	return nil
}

// maxSeats keeps seat counts inside Graph's Int32 licenseUnitsDetail.
const maxSeats = 1_000_000

func seats(prop string, n *int, min, max int) (int, error) {
	if n == nil {
		return 0, required(prop, "Subscription")
	}
	if *n < min || *n > max {
		return 0, badRequest("Property '%s' must be from %d to %d.", prop, min, max)
	}
	return *n, nil
}

type subscriptionBody struct {
	SkuID *string `json:"skuId"`
	Seats *int    `json:"seats"`
}

func (s *server) addSubscription(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b subscriptionBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.SkuID == nil {
		return required("skuId", "Subscription")
	}
	sku, err := guid(*b.SkuID)
	if err != nil {
		return err
	}
	n, err := seats("seats", b.Seats, 0, maxSeats)
	if err != nil {
		return err
	}
	sub, err := s.svc.Subscriptions.AddSubscription(r.Context(), sku, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, subscriptionView(s.svc.Subscriptions.Catalog(), sub))
	return nil
}

type seatsBody struct {
	Seats *int `json:"seats"`
}

func (s *server) setSeats(w http.ResponseWriter, r *http.Request) error {
	sku, err := noQueryID(r, "skuId")
	if err != nil {
		return err
	}
	var b seatsBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	n, err := seats("seats", b.Seats, 0, maxSeats)
	if err != nil {
		return err
	}
	sub, err := s.svc.Subscriptions.SetSeats(r.Context(), sku, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, subscriptionView(s.svc.Subscriptions.Catalog(), sub))
	return nil
}

type purchaseBody struct {
	Quantity *int     `json:"quantity"`
	UserIDs  []string `json:"userIds"`
}

// maxPurchase is the most seats one purchase may add, as in the admin
// center's Buy dialog.
const maxPurchase = 10000

func (s *server) purchase(w http.ResponseWriter, r *http.Request) error {
	sku, err := noQueryID(r, "skuId")
	if err != nil {
		return err
	}
	var b purchaseBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	n, err := seats("quantity", b.Quantity, 1, maxPurchase)
	if err != nil {
		return err
	}
	ids, err := guids("userIds", b.UserIDs)
	if err != nil {
		return err
	}
	if err := maxBatch("userIds", len(ids), 0); err != nil {
		return err
	}
	if len(ids) > n {
		return badRequest("Cannot give %d purchased seats to %d users.", n, len(ids))
	}
	sub, err := s.svc.Subscriptions.Purchase(r.Context(), sku, n, ids)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, subscriptionView(s.svc.Subscriptions.Catalog(), sub))
	return nil
}
