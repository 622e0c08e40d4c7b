package main

// allot waiting-room: the users waiting for a seat of a product, in the
// order they get one (docs/WAITING-ROOM-COST-POLICY.md).

import (
	"context"
	"encoding/json"
	"flag"
	"net/url"
	"strings"
)

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
