package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/web"
)

var waitingRowRe = regexp.MustCompile(`data-user="([0-9a-f-]+)" data-position="(\d+)"`)

// TestWaitingRoomCostPolicyPages: the product's Waiting room tab lists the
// waiting users in the order seats go to them; a Billing Administrator sets
// a price on the Price & cost tab and Billing › Cost shows the spend (and
// downloads it as CSV); a Global Administrator blocks direct assignment on
// Settings › Policy. Every action checks the role and the CSRF token.
func TestWaitingRoomCostPolicyPages(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	e.must(e.db.UpdateTenant(e.ga, ptr("US"), nil))
	e.must(e.db.SetSeats(e.ga, skuE1, 0))
	e.must(e.db.AssignGroupLicense(e.ga, e.groups["Marketing"], []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	product := "/billing/licenses/" + skuE1

	t.Run("WaitingRoom", func(t *testing.T) {
		b, _ := e.signIn(allot.RoleGlobalReader)
		wantIn(t, b.get(product), `href="`+product+`/waiting"`, `href="`+product+`/price"`)
		room := func() []string {
			t.Helper()
			p := b.get(product + "/waiting")
			if p.status != http.StatusOK {
				t.Fatalf("waiting room: %d", p.status)
			}
			var ids []string
			for i, m := range waitingRowRe.FindAllStringSubmatch(p.body, -1) {
				if m[2] != string(rune('1'+i)) {
					t.Fatalf("row %d has position %s", i, m[2])
				}
				ids = append(ids, m[1])
			}
			return ids
		}
		order := room()
		if len(order) != 3 || !slices.Contains(order, e.users["alice"]) {
			t.Fatalf("waiting room %v", order)
		}
		for i, next := range order {
			e.must(e.db.Purchase(e.ga, skuE1, 1, nil))
			e.drain()
			u, err := e.db.User(e.ga, next)
			e.must(u, err)
			if len(u.AssignedLicenses) != 1 {
				t.Fatalf("seat %d went elsewhere: %s, first in the waiting room, has none", i+1, next)
			}
			if rest := room(); !slices.Equal(rest, order[i+1:]) && len(rest)+len(order[i+1:]) > 0 {
				t.Fatalf("after seat %d: %v, want %v", i+1, rest, order[i+1:])
			}
		}
		wantIn(t, b.get(product+"/waiting"), "Nobody is waiting")
		if p := b.get("/billing/licenses/" + skuE1[:8] + "/waiting"); p.status != http.StatusNotFound && p.status != http.StatusBadRequest {
			t.Fatalf("unknown product: %d", p.status)
		}
	})

	t.Run("PriceAndCost", func(t *testing.T) {
		reader, rtok := e.signIn(allot.RoleGlobalReader)
		if strings.Contains(reader.get(product+"/price").body, `id="price-form"`) {
			t.Fatal("a Global Reader sees the price form")
		}
		if p := reader.post(product+"/price", url.Values{"csrf_token": {rtok}, "price": {"1"}, "currency": {"EUR"}}); p.status != http.StatusForbidden {
			t.Fatalf("reader sets a price: %d", p.status)
		}
		b, tok := e.signIn(allot.RoleBillingAdministrator)
		wantIn(t, b.get(product+"/price"), `id="price-form"`, "Not set")
		if p := b.post(product+"/price", url.Values{"price": {"8"}, "currency": {"EUR"}}); p.status != http.StatusForbidden {
			t.Fatalf("without CSRF token: %d", p.status)
		}
		p := b.post(product+"/price", url.Values{"csrf_token": {tok}, "price": {"8,00"}, "currency": {"EUR"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("bad price: %d", p.status)
		}
		wantIn(t, b.follow(p), "is not an amount", `value="8,00"`)
		wantIn(t, b.follow(b.post(product+"/price", url.Values{"csrf_token": {tok}, "price": {"8"}, "currency": {"eur"}})),
			"Price saved: 8.00 EUR", `<dd id="price">8.00 EUR</dd>`, `<dd id="spend">24.00 EUR</dd>`, `data-group="`+e.groups["Marketing"]+`"`)

		cost := b.get("/billing/cost")
		wantIn(t, cost, `href="/billing/cost"`, `data-currency="EUR"`, "24.00", `data-sku="`+skuE1+`"`)
		csv := b.get("/billing/cost/export?by=product")
		if csv.status != http.StatusOK || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(csv.body, skuE1+",STANDARDPACK,") || !strings.Contains(csv.body, ",3,3,0,8.00,EUR,24.00,0.00") {
			t.Fatalf("CSV %d %q", csv.status, csv.body)
		}
		if p := b.get("/billing/cost/export?by=user"); p.status != http.StatusBadRequest {
			t.Fatalf("bad CSV kind: %d", p.status)
		}
		wantIn(t, b.follow(b.post(product+"/price", url.Values{"csrf_token": {tok}, "op": {"clear"}})), "Price removed.", "Not set")
	})

	t.Run("Policy", func(t *testing.T) {
		lic, ltok := e.signIn(allot.RoleLicenseAdministrator)
		p := lic.get("/settings/policy")
		wantIn(t, p, `data-sku="`+skuE1+`"`, "Allowed")
		if strings.Contains(p.body, `name="block"`) || strings.Contains(p.body, `id="save-policy"`) || strings.Contains(lic.get("/billing/licenses").body, `href="/settings/policy"`) {
			t.Fatal("a License Administrator may save the policy")
		}
		if p := lic.post("/settings/policy", url.Values{"csrf_token": {ltok}, "block": {skuE1}}); p.status != http.StatusForbidden {
			t.Fatalf("license admin saves the policy: %d", p.status)
		}
		ga, tok := e.signIn(allot.RoleGlobalAdministrator)
		wantIn(t, ga.get("/billing/licenses"), `href="/settings/policy"`)
		if p := ga.post("/settings/policy", url.Values{"block": {skuE1}}); p.status != http.StatusForbidden {
			t.Fatalf("without CSRF token: %d", p.status)
		}
		if p := ga.post("/settings/policy", url.Values{"csrf_token": {tok}, "block": {"nope"}}); p.status != http.StatusBadRequest {
			t.Fatalf("bad SKU: %d", p.status)
		}
		pol, err := e.db.Policy(e.ga)
		e.must(pol, err)
		if len(pol.BlockedDirectSKUs) != 0 {
			t.Fatalf("refused requests changed the policy: %v", pol)
		}
		wantIn(t, ga.follow(ga.post("/settings/policy", url.Values{"csrf_token": {tok}, "block": {skuE1}})), "only through groups", `data-blocked="true"`)
		if pol, _ := e.db.Policy(e.ga); !slices.Equal(pol.BlockedDirectSKUs, []string{skuE1}) {
			t.Fatalf("policy %v", pol)
		}
		if _, err := e.db.AssignUserLicense(e.ga, e.users["bob"], []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}); allot.ErrorCode(err) != allot.EINVALID {
			t.Fatalf("direct assignment of a blocked product: %v", err)
		}
		wantIn(t, ga.follow(ga.post("/settings/policy", url.Values{"csrf_token": {tok}})), "allowed for every product", `data-blocked="false"`)
	})
}

func ptr[T any](v T) *T { return &v }
