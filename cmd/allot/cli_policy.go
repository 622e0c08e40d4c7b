package main

// allot policy: the products whose direct assignment to users is blocked
// (docs/WAITING-ROOM-COST-POLICY.md).

import (
	"context"
	"flag"
	"slices"
)

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
