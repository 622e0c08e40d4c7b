package main

// allot cost and allot price: the cost report, and the prices per seat it
// is made from (docs/WAITING-ROOM-COST-POLICY.md).

import (
	"context"
	"flag"
	"net/url"
	"slices"
	"strings"
)

type costBody struct {
	Products []struct {
		SkuID         string  `json:"skuId"`
		SkuPartNumber string  `json:"skuPartNumber"`
		SeatsBought   int     `json:"seatsBought"`
		SeatsConsumed int     `json:"seatsConsumed"`
		SeatsIdle     int     `json:"seatsIdle"`
		PricePerSeat  *string `json:"pricePerSeat"`
		Currency      *string `json:"currency"`
		Spend         *string `json:"spend"`
		IdleSpend     *string `json:"idleSpend"`
	} `json:"products"`
	Groups []struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Products    []struct {
			SkuID         string  `json:"skuId"`
			SkuPartNumber string  `json:"skuPartNumber"`
			Seats         int     `json:"seats"`
			PricePerSeat  *string `json:"pricePerSeat"`
			Currency      *string `json:"currency"`
			Spend         *string `json:"spend"`
		} `json:"products"`
	} `json:"groups"`
	Totals []struct {
		Currency  string `json:"currency"`
		Spend     string `json:"spend"`
		IdleSpend string `json:"idleSpend"`
	} `json:"totals"`
}

// opt turns an absent amount into nil: null in JSON, blank in a table.
func opt(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func defineCost(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	by := fs.String("by", "product", "what each row is: `product`, group or currency")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		if !slices.Contains([]string{"product", "group", "currency"}, *by) {
			return usagef("cost: --by must be product, group or currency, got %q", *by)
		}
		var rep costBody
		if err := e.c.get(ctx, "/allot/v1/reports/cost", nil, &rep); err != nil {
			return err
		}
		var t *table
		switch *by {
		case "product":
			t = newTable("skuId", "SKU ID", "skuPartNumber", "PRODUCT", "seatsBought", "BOUGHT", "seatsConsumed", "CONSUMED",
				"seatsIdle", "IDLE", "pricePerSeat", "PRICE", "currency", "CURRENCY", "spend", "SPEND", "idleSpend", "IDLE SPEND")
			for _, p := range rep.Products {
				t.add(p.SkuID, p.SkuPartNumber, p.SeatsBought, p.SeatsConsumed, p.SeatsIdle, opt(p.PricePerSeat), opt(p.Currency), opt(p.Spend), opt(p.IdleSpend))
			}
		case "group":
			t = newTable("groupId", "GROUP ID", "groupDisplayName", "GROUP", "skuPartNumber", "PRODUCT", "seats", "SEATS",
				"pricePerSeat", "PRICE", "currency", "CURRENCY", "spend", "SPEND")
			for _, g := range rep.Groups {
				for _, p := range g.Products {
					t.add(g.ID, g.DisplayName, p.SkuPartNumber, p.Seats, opt(p.PricePerSeat), opt(p.Currency), opt(p.Spend))
				}
			}
		case "currency":
			t = newTable("currency", "CURRENCY", "spend", "SPEND", "idleSpend", "IDLE SPEND")
			for _, c := range rep.Totals {
				t.add(c.Currency, c.Spend, c.IdleSpend)
			}
		}
		return t.write(e.stdout, e.format)
	}
}

func definePrice(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	product := fs.String("product", "", "the product: a part number or SKU `id`")
	price := fs.String("price", "", "the price per seat, a decimal `amount` such as 8.00")
	currency := fs.String("currency", "", "the ISO 4217 currency `code`, such as EUR")
	clear := fs.Bool("clear", false, "remove the product's price")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		switch {
		case *product == "":
			return usagef("price: --product is required")
		case *clear && (*price != "" || *currency != ""):
			return usagef("price: --clear takes no --price or --currency")
		case !*clear && (*price == "" || *currency == ""):
			return usagef("price: --price and --currency are required (or --clear)")
		}
		sku, err := (&resolver{c: e.c}).sku(ctx, *product)
		if err != nil {
			return err
		}
		path := "/allot/v1/subscriptions/" + url.PathEscape(sku.ID) + "/price"
		t := newTable("skuId", "SKU ID", "skuPartNumber", "PRODUCT", "pricePerSeat", "PRICE", "currency", "CURRENCY")
		t.single = true
		if *clear {
			if err := e.c.delete(ctx, path); err != nil {
				return err
			}
			t.add(sku.ID, sku.PartNumber, nil, nil)
			return t.write(e.stdout, e.format)
		}
		var p struct {
			PricePerSeat string `json:"pricePerSeat"`
			Currency     string `json:"currency"`
		}
		// The amount goes as text so the server reads exactly what was typed.
		if err := e.c.do(ctx, "PUT", path, map[string]string{"pricePerSeat": *price, "currency": strings.ToUpper(*currency)}, &p); err != nil {
			return err
		}
		t.add(sku.ID, sku.PartNumber, p.PricePerSeat, p.Currency)
		return t.write(e.stdout, e.format)
	}
}
