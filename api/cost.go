package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
)

type priceBody struct {
	// A JSON string ("8.00") or number (8.00); read as decimal text so
	// that no amount passes through a float.
	PricePerSeat json.RawMessage `json:"pricePerSeat"`
	Currency     *string         `json:"currency"`
}

// setPrice serves PUT /allot/v1/subscriptions/{skuId}/price.
func (s *server) setPrice(w http.ResponseWriter, r *http.Request) error {
	sku, err := noQueryID(r, "skuId")
	if err != nil {
		return err
	}
	var body priceBody
	if _, err := decodeJSON(r, &body); err != nil {
		return err
	}
	raw := bytes.TrimSpace(body.PricePerSeat)
	if len(raw) == 0 || string(raw) == "null" {
		return badRequest("Property 'pricePerSeat' is required, e.g. \"8.00\".")
	}
	if body.Currency == nil {
		return badRequest("Property 'currency' is required: an ISO 4217 code such as EUR.")
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return badRequest("Invalid value for property 'pricePerSeat': expected a decimal amount.")
		}
	} else if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return badRequest("Invalid value for property 'pricePerSeat': expected a decimal amount such as \"8.00\".")
	}
	units, err := allot.ParsePrice(text)
	if err != nil {
		return err
	}
	p, err := s.svc.Cost.SetPrice(r.Context(), sku, allot.Price{Units: units, Currency: strings.TrimSpace(*body.Currency)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, object{"skuId": p.SkuID, "pricePerSeat": p.String(), "currency": p.Currency, "updatedDateTime": jsonTime(p.UpdatedAt)})
	return nil
}

// clearPrice serves DELETE /allot/v1/subscriptions/{skuId}/price.
func (s *server) clearPrice(w http.ResponseWriter, r *http.Request) error {
	sku, err := noQueryID(r, "skuId")
	if err != nil {
		return err
	}
	if err := s.svc.Cost.ClearPrice(r.Context(), sku); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// costReport serves GET /allot/v1/reports/cost as JSON, or as CSV with
// ?format=csv or Accept: text/csv; a CSV holds one table, chosen with
// ?by=product (default), group or currency.
func (s *server) costReport(w http.ResponseWriter, r *http.Request) error {
	format, by := "", "product"
	for k, vals := range r.URL.Query() {
		if len(vals) != 1 {
			return badRequest("Query parameter '%s' was given more than once.", clip(k))
		}
		switch v := strings.ToLower(vals[0]); strings.ToLower(k) {
		case "format", "$format":
			if v != "json" && v != "csv" {
				return badRequest("Invalid format '%s': use json or csv.", clip(vals[0]))
			}
			format = v
		case "by":
			if v != "product" && v != "group" && v != "currency" {
				return badRequest("Invalid value '%s' for 'by': use product, group or currency.", clip(vals[0]))
			}
			by = v
		default:
			return badRequest("Query parameter '%s' is not supported here; use format or by.", clip(k))
		}
	}
	if format == "" {
		format = "json"
		if acceptsCSV(r.Header.Get("Accept")) {
			format = "csv"
		}
	}
	rep, err := s.svc.Cost.CostReport(r.Context())
	if err != nil {
		return err
	}
	if format == "json" {
		writeJSON(w, http.StatusOK, costView(rep))
		return nil
	}
	switch by {
	case "product":
		e := s.startExport(w, r, "cost-by-product", "skuId", "skuPartNumber", "displayName", "seatsBought", "seatsConsumed", "seatsIdle", "pricePerSeat", "currency", "spend", "idleSpend")
		for _, p := range rep.Products {
			e.row(p.SkuID, p.PartNumber, p.DisplayName, strconv.Itoa(p.Bought), strconv.Itoa(p.Consumed), strconv.Itoa(p.Idle), p.PricePerSeat, p.Currency, p.Spend, p.IdleSpend)
		}
		e.flush()
	case "group":
		e := s.startExport(w, r, "cost-by-group", "groupId", "groupDisplayName", "skuId", "skuPartNumber", "seats", "pricePerSeat", "currency", "spend")
		for _, g := range rep.Groups {
			for _, p := range g.Products {
				e.row(g.GroupID, g.DisplayName, p.SkuID, p.PartNumber, strconv.Itoa(p.Seats), p.PricePerSeat, p.Currency, p.Spend)
			}
		}
		e.flush()
	case "currency":
		e := s.startExport(w, r, "cost-by-currency", "currency", "spend", "idleSpend")
		for _, t := range rep.Totals {
			e.row(t.Currency, t.Spend, t.IdleSpend)
		}
		e.flush()
	}
	return nil
}

// acceptsCSV reports whether an Accept header prefers text/csv to JSON:
// it lists text/csv and not application/json ahead of it.
func acceptsCSV(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return true
		case "application/json":
			return false
		}
	}
	return false
}

func costView(rep *allot.CostReport) object {
	products := make([]object, 0, len(rep.Products))
	for _, p := range rep.Products {
		products = append(products, object{
			"skuId": p.SkuID, "skuPartNumber": p.PartNumber, "displayName": p.DisplayName,
			"seatsBought": p.Bought, "seatsConsumed": p.Consumed, "seatsIdle": p.Idle,
			"pricePerSeat": nullable(p.PricePerSeat), "currency": nullable(p.Currency),
			"spend": nullable(p.Spend), "idleSpend": nullable(p.IdleSpend),
		})
	}
	groups := make([]object, 0, len(rep.Groups))
	for _, g := range rep.Groups {
		ps := make([]object, 0, len(g.Products))
		for _, p := range g.Products {
			ps = append(ps, object{
				"skuId": p.SkuID, "skuPartNumber": p.PartNumber, "seats": p.Seats,
				"pricePerSeat": nullable(p.PricePerSeat), "currency": nullable(p.Currency), "spend": nullable(p.Spend),
			})
		}
		groups = append(groups, object{"id": g.GroupID, "displayName": g.DisplayName, "products": ps, "totals": totalsView(g.Totals, false)})
	}
	return object{"products": products, "groups": groups, "totals": totalsView(rep.Totals, true)}
}

func totalsView(ts []allot.CurrencyTotal, idle bool) []object {
	out := make([]object, 0, len(ts))
	for _, t := range ts {
		o := object{"currency": t.Currency, "spend": t.Spend}
		if idle {
			o["idleSpend"] = t.IdleSpend
		}
		out = append(out, o)
	}
	return out
}
