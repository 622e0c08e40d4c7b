package main

// allot waiting-room, cost, price and policy: the waiting room, the cost
// report and the direct-assignment policy over the API
// (docs/WAITING-ROOM-COST-POLICY.md).

import (
	"context"
	"encoding/json"
	"flag"
	"net/url"
	"slices"
	"strings"
)

func init() {
	cliCommands = append(cliCommands,
		cliCmd{
			name:     "waiting-room",
			synopsis: "--product SKU",
			summary:  "list the users waiting for a seat of a product, in the order they will get one",
			details: `The users in CountViolation for the product, first the one that gets the next
free seat: by when they started waiting, then user id. SOURCE is "direct" or the
groups whose assignment waits. Buying seats (allot purchase) licenses them in this order.`,
			examples: `allot waiting-room --product ENTERPRISEPACK
				allot waiting-room --product ENTERPRISEPACK -o csv > waiting.csv`,
			define: defineWaitingRoom,
		},
		cliCmd{
			name:     "cost",
			synopsis: "[--by product|group|currency]",
			summary:  "report seats bought, used and idle with their spend",
			details: `--by product (the default): per product, seats bought, consumed and idle, the
price per seat and the spend on seats bought and on idle seats. --by group: the
seats held through each group's assignments and their spend (a user licensed
through two groups counts in both). --by currency: totals. Amounts are never
added across currencies; products without a price show no spend (allot price).`,
			examples: `allot cost
				allot cost --by group -o csv > cost-by-group.csv
				allot cost --by currency`,
			define: defineCost,
		},
		cliCmd{
			name:     "price",
			synopsis: "--product SKU (--price AMOUNT --currency CODE | --clear)",
			summary:  "set or clear the price per seat of a product (Billing Administrator)",
			examples: `allot price --product ENTERPRISEPACK --price 8.00 --currency EUR
				allot price --product ENTERPRISEPACK --clear`,
			define: definePrice,
		},
		cliCmd{
			name:    "policy show",
			summary: "list the products whose direct assignment to users is blocked",
			examples: `allot policy show
				allot policy show -o json`,
			define: definePolicy(""),
		},
		cliCmd{
			name:     "policy block",
			synopsis: "--product SKU…",
			summary:  "block direct assignment of products, so that groups are the only way (Global Administrator)",
			details: `Users who have the product directly keep it, and it can still be removed from
them; only new direct assignments are refused. Group assignment is unaffected.`,
			examples: `allot policy block --product ENTERPRISEPACK --product SPE_E5`,
			define:   definePolicy("block"),
		},
		cliCmd{
			name:     "policy allow",
			synopsis: "--product SKU…",
			summary:  "allow direct assignment of products again (Global Administrator)",
			examples: `allot policy allow --product ENTERPRISEPACK`,
			define:   definePolicy("allow"),
		},
	)
}

type waitingUserBody struct {
	Position          int    `json:"position"`
	UserID            string `json:"userId"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	Direct            bool   `json:"direct"`
	SourceGroups      []struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	} `json:"sourceGroups"`
	WaitingSince string `json:"waitingSince"`
}

func defineWaitingRoom(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	product := fs.String("product", "", "the product: a part number or SKU `id`")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		if *product == "" {
			return usagef("waiting-room: --product is required")
		}
		sku, err := (&resolver{c: e.c}).sku(ctx, *product)
		if err != nil {
			return err
		}
		t := newTable("position", "#", "userId", "USER ID", "userPrincipalName", "USER", "displayName", "NAME",
			"sources", "SOURCE", "waitingSince", "WAITING SINCE")
		err = e.c.list(ctx, "/allot/v1/subscriptions/"+url.PathEscape(sku.ID)+"/waitingRoom", url.Values{"$top": {"999"}}, func(raw json.RawMessage) error {
			var u waitingUserBody
			if err := json.Unmarshal(raw, &u); err != nil {
				return err
			}
			var src []string
			if u.Direct {
				src = append(src, "direct")
			}
			for _, g := range u.SourceGroups {
				src = append(src, g.DisplayName)
			}
			t.add(u.Position, u.UserID, u.UserPrincipalName, u.DisplayName, strings.Join(src, ", "), u.WaitingSince)
			return nil
		})
		if err != nil {
			return err
		}
		return t.write(e.stdout, e.format)
	}
}

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

type policyBody struct {
	Blocked []string `json:"blockedDirectAssignmentSkuIds"`
}

// definePolicy makes "policy show" (verb ""), "policy block" and "policy
// allow". Block and allow read the list and write it back changed; the
// server replaces the list as a whole.
func definePolicy(verb string) func(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
		var products multiFlag
		if verb != "" {
			fs.Var(&products, "product", "a product: a part number or SKU `id`; repeat for several")
		}
		return func(ctx context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			if verb != "" && len(products) == 0 {
				return usagef("policy %s: --product is required", verb)
			}
			r := &resolver{c: e.c}
			var p policyBody
			if err := e.c.get(ctx, "/allot/v1/policy", nil, &p); err != nil {
				return err
			}
			if verb != "" {
				for _, name := range products {
					sku, err := r.sku(ctx, name)
					if err != nil {
						return err
					}
					if i := slices.Index(p.Blocked, sku.ID); verb == "block" && i < 0 {
						p.Blocked = append(p.Blocked, sku.ID)
					} else if verb == "allow" && i >= 0 {
						p.Blocked = slices.Delete(p.Blocked, i, i+1)
					}
				}
				if p.Blocked == nil {
					p.Blocked = []string{}
				}
				if err := e.c.patch(ctx, "/allot/v1/policy", p, &p); err != nil {
					return err
				}
			}
			t := newTable("skuId", "SKU ID", "skuPartNumber", "DIRECT ASSIGNMENT BLOCKED FOR")
			for _, id := range p.Blocked {
				t.add(id, r.partNumber(ctx, id))
			}
			return t.write(e.stdout, e.format)
		}
	}
}
