package main

// allot subscriptions: the tenant's commercial subscriptions, their terms
// and lifecycle (docs/SUBSCRIPTIONS.md), through /allot/v1/companySubscriptions
// and /allot/v1/lifecycleSettings.

import (
	"context"
	"flag"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type companySubJSON struct {
	ID                    string  `json:"id"`
	SkuID                 string  `json:"skuId"`
	SkuPartNumber         string  `json:"skuPartNumber"`
	Status                string  `json:"status"`
	TotalLicenses         int     `json:"totalLicenses"`
	IsTrial               bool    `json:"isTrial"`
	CreatedDateTime       string  `json:"createdDateTime"`
	TermStartDateTime     string  `json:"termStartDateTime"`
	TermEndDateTime       *string `json:"termEndDateTime"`
	NextLifecycleDateTime *string `json:"nextLifecycleDateTime"`
	StatusDateTime        string  `json:"statusDateTime"`
}

func companySubTable() *table {
	return newTable("id", "ID", "skuPartNumber", "PRODUCT", "status", "STATUS", "totalLicenses", "QUANTITY", "isTrial", "TRIAL",
		"termEndDateTime", "TERM END", "nextLifecycleDateTime", "NEXT CHANGE", "skuId", "SKU ID")
}

func (c companySubJSON) row() []any {
	return []any{c.ID, c.SkuPartNumber, c.Status, c.TotalLicenses, c.IsTrial, opt(c.TermEndDateTime), opt(c.NextLifecycleDateTime), c.SkuID}
}

// writeCompanySub prints the one subscription a change answers with.
func (e *cliEnv) writeCompanySub(c companySubJSON) error {
	t := companySubTable()
	t.single = true
	t.add(c.row()...)
	return t.write(e.stdout, e.format)
}

// subscriptionPath is the subscription named by the one positional
// argument, with a suffix such as "/renew".
func subscriptionPath(cmd string, pos []string, want int, suffix string) (string, error) {
	if len(pos) != want || strings.TrimSpace(pos[0]) == "" {
		what := "one subscription id"
		if want == 2 {
			what = "a subscription id and a quantity"
		}
		return "", usagef("subscriptions %s takes %s (see 'allot subscriptions list')", cmd, what)
	}
	return "/allot/v1/companySubscriptions/" + url.PathEscape(strings.TrimSpace(pos[0])) + suffix, nil
}

// termEndFlag reads --term-end: a date (the term ends at 00:00 UTC that
// day) or an RFC 3339 time.
func termEndFlag(v string) (string, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.UTC().Format(time.RFC3339), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC().Format(time.RFC3339), nil
	}
	return "", usagef("--term-end must be a date such as 2026-12-31 or a time such as 2026-12-31T00:00:00Z, got %q", v)
}

func defineSubscriptionsList(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		var out struct {
			Value []companySubJSON `json:"value"`
		}
		if err := e.c.get(ctx, "/allot/v1/companySubscriptions", nil, &out); err != nil {
			return err
		}
		t := companySubTable()
		for _, c := range out.Value {
			t.add(c.row()...)
		}
		return t.write(e.stdout, e.format)
	}
}

func defineSubscriptionsShow(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		path, err := subscriptionPath("show", pos, 1, "")
		if err != nil {
			return err
		}
		var c companySubJSON
		if err := e.c.get(ctx, path, nil, &c); err != nil {
			return err
		}
		t := newTable("id", "ID", "skuPartNumber", "PRODUCT", "skuId", "SKU ID", "status", "STATUS", "statusDateTime", "SINCE",
			"totalLicenses", "QUANTITY", "isTrial", "TRIAL", "createdDateTime", "CREATED", "termStartDateTime", "TERM START",
			"termEndDateTime", "TERM END", "nextLifecycleDateTime", "NEXT CHANGE")
		t.single = true
		t.add(c.ID, c.SkuPartNumber, c.SkuID, c.Status, c.StatusDateTime, c.TotalLicenses, c.IsTrial, c.CreatedDateTime,
			c.TermStartDateTime, opt(c.TermEndDateTime), opt(c.NextLifecycleDateTime))
		return t.write(e.stdout, e.format)
	}
}

func defineSubscriptionsCreate(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	sku := fs.String("sku", "", "the product: a part number or SKU `id` of the catalog")
	quantity := fs.Int("quantity", 0, "how many `units` (licenses) it holds")
	trial := fs.Bool("trial", false, "a free trial (30 days unless --term-end)")
	end := fs.String("term-end", "", "when the term ends: a `date` (00:00 UTC) or an RFC 3339 time (default: a year from now)")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		if *sku == "" {
			return usagef("subscriptions create: --sku is required")
		}
		if *quantity < 1 {
			return usagef("subscriptions create: --quantity must be at least 1")
		}
		body := map[string]any{"quantity": *quantity, "isTrial": *trial}
		if *end != "" {
			v, err := termEndFlag(*end)
			if err != nil {
				return err
			}
			body["termEndDateTime"] = v
		}
		s, err := (&resolver{c: e.c}).sku(ctx, *sku)
		if err != nil {
			return err
		}
		body["skuId"] = s.ID
		var c companySubJSON
		if err := e.c.post(ctx, "/allot/v1/companySubscriptions", body, &c); err != nil {
			return err
		}
		return e.writeCompanySub(c)
	}
}

func defineSubscriptionsRenew(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	end := fs.String("term-end", "", "the new term end: a `date` (00:00 UTC) or an RFC 3339 time (default: a year after the current end)")
	return func(ctx context.Context, pos []string) error {
		path, err := subscriptionPath("renew", pos, 1, "/renew")
		if err != nil {
			return err
		}
		body := map[string]any{}
		if *end != "" {
			v, err := termEndFlag(*end)
			if err != nil {
				return err
			}
			body["termEndDateTime"] = v
		}
		var c companySubJSON
		if err := e.c.post(ctx, path, body, &c); err != nil {
			return err
		}
		return e.writeCompanySub(c)
	}
}

// defineSubscriptionAction is cancel, reactivate or convert: a POST
// without parameters.
func defineSubscriptionAction(cmd, action string) defineFunc {
	return func(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
		return func(ctx context.Context, pos []string) error {
			path, err := subscriptionPath(cmd, pos, 1, "/"+action)
			if err != nil {
				return err
			}
			var c companySubJSON
			if err := e.c.post(ctx, path, map[string]any{}, &c); err != nil {
				return err
			}
			return e.writeCompanySub(c)
		}
	}
}

func defineSubscriptionsSetQuantity(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		path, err := subscriptionPath("set-quantity", pos, 2, "")
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(strings.TrimSpace(pos[1]))
		if err != nil || n < 1 {
			return usagef("subscriptions set-quantity: the quantity must be a whole number of at least 1, got %q", pos[1])
		}
		var c companySubJSON
		if err := e.c.patch(ctx, path, map[string]any{"quantity": n}, &c); err != nil {
			return err
		}
		return e.writeCompanySub(c)
	}
}

type lifecycleSettingsJSON struct {
	GraceDays     int   `json:"graceDays"`
	SuspendedDays int   `json:"suspendedDays"`
	RetentionDays int   `json:"retentionDays"`
	AlertDays     []int `json:"alertDays"`
}

func defineSubscriptionsSettings(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	grace := fs.Int("grace-days", 0, "`days` a subscription stays in grace (Warning) after its term ends")
	suspended := fs.Int("suspended-days", 0, "`days` it stays Suspended, or LockedOut after a cancellation, before it is deleted")
	retention := fs.Int("retention-days", 0, "`days` deleted users and groups are kept")
	alertDays := fs.String("alert-days", "", "alert this many `days` before a term ends, comma-separated (e.g. 30,7,1; \"none\" for no alerts)")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		body := map[string]any{}
		var bad error
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "grace-days", "suspended-days", "retention-days":
				n := map[string]*int{"grace-days": grace, "suspended-days": suspended, "retention-days": retention}[f.Name]
				if *n < 1 {
					bad = usagef("--%s must be at least 1", f.Name)
				}
				key := map[string]string{"grace-days": "graceDays", "suspended-days": "suspendedDays", "retention-days": "retentionDays"}[f.Name]
				body[key] = *n
			case "alert-days":
				days := []int{}
				if v := strings.TrimSpace(*alertDays); v != "none" && v != "" {
					for _, d := range strings.Split(v, ",") {
						n, err := strconv.Atoi(strings.TrimSpace(d))
						if err != nil || n < 1 {
							bad = usagef("--alert-days must be whole numbers of days of at least 1, separated by commas, got %q", *alertDays)
							return
						}
						days = append(days, n)
					}
				}
				body["alertDays"] = days
			}
		})
		if bad != nil {
			return bad
		}
		var st lifecycleSettingsJSON
		var err error
		if len(body) == 0 {
			err = e.c.get(ctx, "/allot/v1/lifecycleSettings", nil, &st)
		} else {
			err = e.c.patch(ctx, "/allot/v1/lifecycleSettings", body, &st)
		}
		if err != nil {
			return err
		}
		t := newTable("graceDays", "GRACE DAYS", "suspendedDays", "SUSPENDED DAYS", "retentionDays", "RETENTION DAYS", "alertDays", "ALERT DAYS")
		t.single = true
		t.add(st.GraceDays, st.SuspendedDays, st.RetentionDays, st.AlertDays)
		return t.write(e.stdout, e.format)
	}
}
