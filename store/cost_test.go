package store_test

import (
	"testing"

	"github.com/allot-dev/allot"
)

func TestCostReport(t *testing.T) {
	t.Run("SpendPerProductGroupAndCurrency", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE1, 10)
		e.sub(skuE3, 5)
		e.sub(skuAudio, 3)
		e.sub(skuExoP1, 4)
		u := []*allot.User{e.user("a@x", ""), e.user("b@x", ""), e.user("c@x", ""), e.user("d@x", "")}
		sales, eng := e.group("Sales"), e.group("Engineering")
		for _, x := range u[:3] {
			e.must(e.db.AddMember(e.ctx, sales.ID, x.ID))
		}
		e.must(e.db.AddMember(e.ctx, eng.ID, u[0].ID))
		e.must(e.db.AddMember(e.ctx, eng.ID, u[3].ID))
		_, err := e.db.AssignGroupLicense(e.ctx, sales.ID, lic(skuE1), []string{})
		e.must(err)
		_, err = e.db.AssignGroupLicense(e.ctx, eng.ID, lic(skuE3), []string{})
		e.must(err)
		_, err = e.db.AssignUserLicense(e.ctx, u[3].ID, lic(skuE1), []string{})
		e.must(err)
		e.drain(10)
		e.check()
		for _, p := range []struct {
			sku, price, cur string
		}{{skuE1, "8.00", "EUR"}, {skuE3, "20.5", "USD"}, {skuExoP1, "0.3333", "EUR"}} {
			units, err := allot.ParsePrice(p.price)
			e.must(err)
			_, err = e.db.SetPrice(e.ctx, p.sku, allot.Price{Units: units, Currency: p.cur})
			e.must(err)
		}

		rep, err := e.db.CostReport(e.ctx)
		e.must(err)
		want := map[string]allot.ProductCost{
			skuE1:    {Bought: 10, Consumed: 4, Idle: 6, PricePerSeat: "8.00", Currency: "EUR", Spend: "80.00", IdleSpend: "48.00"},
			skuE3:    {Bought: 5, Consumed: 2, Idle: 3, PricePerSeat: "20.50", Currency: "USD", Spend: "102.50", IdleSpend: "61.50"},
			skuAudio: {Bought: 3, Consumed: 0, Idle: 3},
			skuExoP1: {Bought: 4, Consumed: 0, Idle: 4, PricePerSeat: "0.3333", Currency: "EUR", Spend: "1.3332", IdleSpend: "1.3332"},
		}
		if len(rep.Products) != len(want) {
			t.Fatalf("products %+v", rep.Products)
		}
		for _, p := range rep.Products {
			w := want[p.SkuID]
			w.SkuID, w.PartNumber, w.DisplayName = p.SkuID, p.PartNumber, p.DisplayName
			if p != w || p.PartNumber == "" {
				t.Errorf("product %+v, want %+v", p, w)
			}
		}
		wantTotals := []allot.CurrencyTotal{{Currency: "EUR", Spend: "81.3332", IdleSpend: "49.3332"}, {Currency: "USD", Spend: "102.50", IdleSpend: "61.50"}}
		if len(rep.Totals) != 2 || rep.Totals[0] != wantTotals[0] || rep.Totals[1] != wantTotals[1] {
			t.Errorf("totals %+v, want %+v", rep.Totals, wantTotals)
		}
		// Groups by display name; the direct seat of d@x is in no group.
		if len(rep.Groups) != 2 {
			t.Fatalf("groups %+v", rep.Groups)
		}
		g0, g1 := rep.Groups[0], rep.Groups[1]
		if g0.GroupID != eng.ID || len(g0.Products) != 1 || g0.Products[0].Seats != 2 || g0.Products[0].Spend != "41.00" || g0.Products[0].Currency != "USD" ||
			len(g0.Totals) != 1 || g0.Totals[0].Spend != "41.00" {
			t.Errorf("engineering %+v", g0)
		}
		if g1.GroupID != sales.ID || g1.DisplayName != "Sales" || len(g1.Products) != 1 || g1.Products[0].Seats != 3 || g1.Products[0].Spend != "24.00" ||
			g1.Totals[0].Currency != "EUR" {
			t.Errorf("sales %+v", g1)
		}

		// Clearing a price drops the product from the totals.
		e.must(e.db.ClearPrice(e.ctx, skuExoP1))
		rep, err = e.db.CostReport(e.ctx)
		e.must(err)
		if rep.Totals[0].Spend != "80.00" {
			t.Errorf("totals after clearing %+v", rep.Totals)
		}
		if p, err := e.db.Price(e.ctx, skuExoP1); err != nil || p != nil {
			t.Errorf("cleared price %+v %v", p, err)
		}
	})

	t.Run("BadInputChangesNothing", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE1, 1)
		_, err := e.db.SetPrice(e.ctx, skuE1, allot.Price{Units: 80000, Currency: "EUR"})
		e.must(err)
		for _, c := range []struct {
			sku  string
			p    allot.Price
			code string
		}{
			{skuE1, allot.Price{Units: 1, Currency: "eur"}, allot.EINVALID},
			{skuE1, allot.Price{Units: 1, Currency: "XYZ"}, allot.EINVALID},
			{skuE1, allot.Price{Units: -1, Currency: "USD"}, allot.EINVALID},
			{skuE1, allot.Price{Units: allot.MaxPrice*allot.PriceScale + 1, Currency: "USD"}, allot.EINVALID},
			{skuUnsold, allot.Price{Units: 1, Currency: "USD"}, allot.ENOTFOUND},
		} {
			if _, err := e.db.SetPrice(e.ctx, c.sku, c.p); allot.ErrorCode(err) != c.code {
				t.Errorf("%+v: %v, want %s", c.p, err, c.code)
			}
		}
		if p, err := e.db.Price(e.ctx, skuE1); err != nil || p.Units != 80000 || p.Currency != "EUR" {
			t.Fatalf("price after refusals %+v %v", p, err)
		}
		if err := e.db.ClearPrice(e.ctx, skuUnsold); allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Fatalf("clear unsubscribed: %v", err)
		}
	})
}
