package main

// `allot preview …`: what a change would do, without making it
// (POST /allot/v1/preview, docs/PREVIEW.md).

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/allot-dev/allot"
)

func definePreviewAssign(add bool) func(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
		product := fs.String("product", "", "the product: a part number or SKU `id`")
		group := fs.String("group", "", "a `group` by id or display name")
		user := fs.String("user", "", "a `user` by id or userPrincipalName")
		var plans multiFlag
		var nested optionalBool
		if add {
			fs.Var(&plans, "disable-plan", "a service `plan` of the product to leave off, by name or id; repeat for several")
			fs.Var(&nested, "include-nested", "groups only: also license the users of nested groups (=false to switch off)")
		}
		verb := map[bool]string{true: "preview assign", false: "preview unassign"}[add]
		return func(ctx context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			switch {
			case *product == "":
				return usagef("%s: --product is required", verb)
			case (*group == "") == (*user == ""):
				return usagef("%s: give --group or --user (one)", verb)
			case nested.set && *user != "":
				return usagef("%s: --include-nested is for groups", verb)
			}
			r := &resolver{c: e.c}
			sku, err := r.sku(ctx, *product)
			if err != nil {
				return err
			}
			change := map[string]any{"op": allot.PreviewAssignLicense, "addLicenses": []any{}, "removeLicenses": []string{}}
			if add {
				disabled, err := r.plans(ctx, sku, plans)
				if err != nil {
					return err
				}
				l := map[string]any{"skuId": sku.ID, "disabledPlans": disabled}
				if nested.set {
					l["includeNestedGroups"] = nested.v
				}
				change["addLicenses"] = []any{l}
			} else {
				change["removeLicenses"] = []string{sku.ID}
			}
			if *group != "" {
				g, err := r.group(ctx, *group)
				if err != nil {
					return err
				}
				change["groupId"] = g.ID
			} else {
				u, err := r.user(ctx, *user)
				if err != nil {
					return err
				}
				change["userId"] = u.ID
			}
			return e.preview(ctx, r, map[string]any{"changes": []any{change}})
		}
	}
}

func definePreviewMember(op string) func(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
		group := fs.String("group", "", "the `group`, by id or display name")
		user := fs.String("user", "", "the `user`, by id or userPrincipalName")
		return func(ctx context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			if *group == "" || *user == "" {
				return usagef("preview %s: --group and --user are required", op)
			}
			r := &resolver{c: e.c}
			g, err := r.group(ctx, *group)
			if err != nil {
				return err
			}
			u, err := r.user(ctx, *user)
			if err != nil {
				return err
			}
			return e.preview(ctx, r, map[string]any{"changes": []any{map[string]any{"op": op, "groupId": g.ID, "memberId": u.ID}}})
		}
	}
}

func definePreviewSeats(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	product := fs.String("product", "", "the product: a part number or SKU `id`")
	seats := fs.Int("seats", -1, "the `number` of seats")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		if *product == "" || *seats < 0 {
			return usagef("preview seats: --product and --seats (0 or more) are required")
		}
		r := &resolver{c: e.c}
		sku, err := r.sku(ctx, *product)
		if err != nil {
			return err
		}
		return e.preview(ctx, r, map[string]any{"changes": []any{map[string]any{"op": allot.PreviewSetSeats, "skuId": sku.ID, "seats": *seats}}})
	}
}

func definePreviewLocation(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	user := fs.String("user", "", "the `user`, by id or userPrincipalName")
	var loc optionalString
	fs.Var(&loc, "location", "an ISO 3166 two-letter `code`, or \"\" to clear")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		if *user == "" || !loc.set {
			return usagef("preview location: --user and --location are required")
		}
		r := &resolver{c: e.c}
		u, err := r.user(ctx, *user)
		if err != nil {
			return err
		}
		return e.preview(ctx, r, map[string]any{"changes": []any{map[string]any{"op": allot.PreviewUpdateUser, "userId": u.ID, "usageLocation": loc.v}}})
	}
}

func definePreviewChanges(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("preview changes: give one FILE (- for stdin)")
		}
		var data []byte
		var err error
		if pos[0] == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(pos[0])
		}
		if err != nil {
			return failf("preview changes: %v", err)
		}
		var body json.RawMessage
		if err := json.Unmarshal(data, &body); err != nil {
			return failf("preview changes: %s is not JSON: %v", pos[0], err)
		}
		return e.preview(ctx, &resolver{c: e.c}, body)
	}
}

// previewResult is the API's answer (api/preview.go).
type previewResult struct {
	QueuedBefore   int  `json:"queuedBefore"`
	UsersEvaluated int  `json:"usersEvaluated"`
	Truncated      bool `json:"truncated"`
	Totals         struct {
		Users, Gained, Lost, IntoError, OutOfError int
	} `json:"totals"`
	Seats []struct {
		SkuID, SkuPartNumber                                       string
		EnabledBefore, EnabledAfter, ConsumedBefore, ConsumedAfter int
		Delta                                                      int
	} `json:"seats"`
	Members []struct {
		GroupID     string `json:"groupId"`
		DisplayName string `json:"displayName"`
		Joined      int    `json:"joined"`
		Left        int    `json:"left"`
	} `json:"members"`
	Users []struct {
		ID, UserPrincipalName string
		Gained, Lost          []string
		IntoError, OutOfError []struct {
			SkuID, SkuPartNumber string
			AssignedByGroup      *string
			Error                string
		}
	} `json:"users"`
}

// preview posts body and prints the answer: with -o json the API's answer
// as it is; otherwise the users who change, one row each (the seats and
// totals go before the table, or are left out of CSV).
func (e *cliEnv) preview(ctx context.Context, r *resolver, body any) error {
	var raw json.RawMessage
	if err := e.c.post(ctx, "/allot/v1/preview", body, &raw); err != nil {
		return err
	}
	if e.format == formatJSON {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		out, _ := json.MarshalIndent(v, "", "  ")
		_, err := fmt.Fprintf(e.stdout, "%s\n", out)
		return err
	}
	var p previewResult
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("preview: unexpected answer: %v", err)
	}
	names := func(ids []string) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = r.partNumber(ctx, id)
		}
		return out
	}
	t := newTable("user", "User", "gained", "Gains", "lost", "Loses", "intoError", "Into error", "outOfError", "Out of error")
	for _, u := range p.Users {
		errs := func(es []struct {
			SkuID, SkuPartNumber string
			AssignedByGroup      *string
			Error                string
		}) []string {
			var out []string
			for _, x := range es {
				s := x.SkuPartNumber + ":" + x.Error
				if x.AssignedByGroup == nil {
					s += "(direct)"
				}
				out = append(out, s)
			}
			return out
		}
		t.add(u.UserPrincipalName, names(u.Gained), names(u.Lost), errs(u.IntoError), errs(u.OutOfError))
	}
	if e.format == formatCSV {
		return t.write(e.stdout, e.format)
	}
	for _, m := range p.Members {
		fmt.Fprintf(e.stdout, "Members %s: %d join, %d leave\n", m.DisplayName, m.Joined, m.Left)
	}
	if len(p.Seats) == 0 {
		fmt.Fprintln(e.stdout, "Seats: no change")
	}
	for _, s := range p.Seats {
		line := fmt.Sprintf("Seats %s: consumed %d -> %d (%+d)", s.SkuPartNumber, s.ConsumedBefore, s.ConsumedAfter, s.Delta)
		if s.EnabledBefore != s.EnabledAfter {
			line += fmt.Sprintf(", seats %d -> %d", s.EnabledBefore, s.EnabledAfter)
		}
		if s.ConsumedAfter > s.EnabledAfter {
			line += fmt.Sprintf(", %d over", s.ConsumedAfter-s.EnabledAfter)
		}
		fmt.Fprintln(e.stdout, line)
	}
	fmt.Fprintf(e.stdout, "Users: %d change (%d licenses gained, %d lost, %d into error, %d out of error); %d evaluated\n",
		p.Totals.Users, p.Totals.Gained, p.Totals.Lost, p.Totals.IntoError, p.Totals.OutOfError, p.UsersEvaluated)
	if p.QueuedBefore > 0 {
		fmt.Fprintf(e.stdout, "Includes %d work items already queued for the tenant.\n", p.QueuedBefore)
	}
	if p.Truncated {
		fmt.Fprintf(e.stdout, "Listing the first %d users.\n", len(p.Users))
	}
	if len(p.Users) == 0 {
		return nil
	}
	fmt.Fprintln(e.stdout)
	return t.write(e.stdout, e.format)
}
