package api_test

import (
	"net/http"
	"testing"
)

// TestCostAPI: prices per seat with a currency, the report as JSON and as
// CSV, and refusals that change nothing.
func TestCostAPI(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 5}).expect(http.StatusCreated, "")
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE1, "seats": 2}).expect(http.StatusCreated, "")
	g := w.createGroup(w.ga, "Sales")
	for _, upn := range []string{"a@contoso.example", "b@contoso.example"} {
		w.addMember(w.ga, g, w.createUser(w.ga, upn, "US"))
	}
	w.do("POST", "/v1.0/groups/"+g+"/assignLicense", w.ga,
		`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusAccepted, "")
	w.drain()

	p := w.do("PUT", "/allot/v1/subscriptions/"+skuE3+"/price", w.ga, `{"pricePerSeat":"20.5","currency":"EUR"}`).expect(http.StatusOK, "")
	if p["pricePerSeat"] != "20.50" || p["currency"] != "EUR" {
		t.Fatalf("price %v", p)
	}
	w.do("PUT", "/allot/v1/subscriptions/"+skuE1+"/price", w.ga, `{"pricePerSeat":8,"currency":"USD"}`).expect(http.StatusOK, "")

	rep := w.do("GET", "/allot/v1/reports/cost", w.ga, nil).expect(http.StatusOK, "")
	byID := map[string]map[string]any{}
	for _, p := range rep["products"].([]any) {
		byID[p.(map[string]any)["skuId"].(string)] = p.(map[string]any)
	}
	if e3 := byID[skuE3]; e3["seatsBought"] != 5.0 || e3["seatsConsumed"] != 2.0 || e3["seatsIdle"] != 3.0 || e3["spend"] != "102.50" || e3["idleSpend"] != "61.50" || e3["currency"] != "EUR" {
		t.Errorf("E3 %v", e3)
	}
	if e1 := byID[skuE1]; e1["spend"] != "16.00" || e1["seatsIdle"] != 2.0 || e1["currency"] != "USD" {
		t.Errorf("E1 %v", e1)
	}
	if tot := rep["totals"].([]any); len(tot) != 2 || tot[0].(map[string]any)["currency"] != "EUR" || tot[1].(map[string]any)["spend"] != "16.00" {
		t.Errorf("totals %v", tot)
	}
	if gs := rep["groups"].([]any); len(gs) != 1 || gs[0].(map[string]any)["id"] != g ||
		gs[0].(map[string]any)["products"].([]any)[0].(map[string]any)["spend"] != "41.00" {
		t.Errorf("groups %v", gs)
	}

	rows := w.exportCSV(w.ga, "/allot/v1/reports/cost?format=csv")
	if len(rows) != 2 || rows[1]["skuId"] != skuE3 || rows[1]["spend"] != "102.50" || rows[1]["seatsIdle"] != "3" {
		t.Errorf("product CSV %v", rows)
	}
	if rows := w.exportCSV(w.ga, "/allot/v1/reports/cost?by=group&format=CSV"); len(rows) != 1 || rows[0]["groupDisplayName"] != "Sales" || rows[0]["seats"] != "2" {
		t.Errorf("group CSV %v", rows)
	}
	r := w.do("GET", "/allot/v1/reports/cost?by=currency", w.ga, nil, "Accept", "text/csv")
	if r.Code != http.StatusOK || r.Header().Get("Content-Type") != "text/csv; charset=utf-8" || r.Body.String() != "currency,spend,idleSpend\r\nEUR,102.50,61.50\r\nUSD,16.00,16.00\r\n" &&
		r.Body.String() != "currency,spend,idleSpend\nEUR,102.50,61.50\nUSD,16.00,16.00\n" {
		t.Errorf("Accept: text/csv gave %d %q %q", r.Code, r.Header().Get("Content-Type"), r.Body.String())
	}

	t.Run("BadRequestsChangeNothing", func(t *testing.T) {
		for _, body := range []string{`{"pricePerSeat":"8,00","currency":"EUR"}`, `{"pricePerSeat":"8.00001","currency":"EUR"}`, `{"pricePerSeat":-1,"currency":"EUR"}`,
			`{"pricePerSeat":"8","currency":"ECU"}`, `{"pricePerSeat":"8"}`, `{"currency":"EUR"}`, `{"pricePerSeat":true,"currency":"EUR"}`,
			`{"pricePerSeat":"8","currency":"EUR","x":1}`, `{"pricePerSeat":"2000000","currency":"EUR"}`} {
			w.do("PUT", "/allot/v1/subscriptions/"+skuE3+"/price", w.ga, body).expect(http.StatusBadRequest, "Request_BadRequest")
		}
		w.do("PUT", "/allot/v1/subscriptions/06ebc4ee-1bb5-47dd-8120-11324bc54e06/price", w.ga, `{"pricePerSeat":"8","currency":"EUR"}`).
			expect(http.StatusNotFound, "Request_ResourceNotFound")
		w.do("GET", "/allot/v1/reports/cost?format=xml", w.ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
		w.do("GET", "/allot/v1/reports/cost?by=user", w.ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
		rep := w.do("GET", "/allot/v1/reports/cost", w.ga, nil).expect(http.StatusOK, "")
		if tot := rep["totals"].([]any); tot[0].(map[string]any)["spend"] != "102.50" {
			t.Fatalf("a refused request changed the price: %v", tot)
		}
		w.do("DELETE", "/allot/v1/subscriptions/"+skuE1+"/price", w.ga, nil).expect(http.StatusNoContent, "")
		rep = w.do("GET", "/allot/v1/reports/cost", w.ga, nil).expect(http.StatusOK, "")
		if tot := rep["totals"].([]any); len(tot) != 1 {
			t.Fatalf("totals after clearing %v", tot)
		}
	})
}
