package web

// Billing › Licenses, the Subscriptions tab: each product with its usage
// bar and its commercial subscriptions (docs/SUBSCRIPTIONS.md), which
// a Billing Administrator renews, reactivates, converts or cancels here.

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

type subscriptionsData struct {
	Products []billingProduct
	// Confirm is the cancel confirmation open over the tab.
	Confirm *confirmData
}

// billingProduct is a product's row and, under it, its subscriptions.
type billingProduct struct {
	productRow
	Subs []commercialRow
}

// Stopped says, for a product none of whose subscriptions is active or in
// its grace period, that its holders' services are stopped; "" otherwise.
func (p billingProduct) Stopped() string {
	switch p.CapabilityStatus {
	case allot.SubSuspended, allot.SubLockedOut, allot.SubDeleted:
		return "Services stopped: no active subscription"
	}
	return ""
}

// commercialRow is one commercial subscription in words.
type commercialRow struct {
	ID                                 string
	Status                             string // "Active", "In grace period" …
	Class                              string // the status badge's style: ok, warn, error, muted
	Quantity                           int
	Trial                              bool
	TermEnd                            string // a date, or "" when it renews by itself
	When                               string // what happens next and when
	Renew, Reactivate, Convert, Cancel bool
}

// statusWords are the lifecycle's statuses as the page says them.
var statusWords = map[string][2]string{
	allot.SubEnabled:   {"Active", "status status-ok"},
	allot.SubWarning:   {"In grace period", "status status-paused"},
	allot.SubSuspended: {"Suspended", "status status-error"},
	allot.SubLockedOut: {"Cancelled", "status status-error"},
	allot.SubDeleted:   {"Deleted", "badge"},
}

func day(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

// daysUntil counts whole days from now to t, rounding up, so that a term
// ending tomorrow morning "expires in 1 day".
func daysUntil(now, t time.Time) int {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + 24*time.Hour - 1) / (24 * time.Hour))
}

func commercialRowOf(c *allot.CompanySubscription, now time.Time) commercialRow {
	w := statusWords[c.Status]
	if w[0] == "" {
		w = [2]string{c.Status, "badge"}
	}
	row := commercialRow{ID: c.ID, Status: w[0], Class: w[1], Quantity: c.Quantity, Trial: c.IsTrial}
	if c.TermEnd != nil {
		row.TermEnd = day(*c.TermEnd)
	}
	next := ""
	if c.NextLifecycleAt != nil {
		next = day(*c.NextLifecycleAt)
	}
	switch c.Status {
	case allot.SubEnabled:
		switch {
		case c.TermEnd == nil:
			row.When = "Renews automatically"
		case daysUntil(now, *c.TermEnd) == 0:
			row.When = "Expires today"
		default:
			what := "Expires"
			if c.IsTrial {
				what = "Trial ends"
			}
			row.When = what + " in " + plural(daysUntil(now, *c.TermEnd), "day", "days")
		}
		// One that renews by itself has no term to extend: renewing it
		// would give it an end.
		// A trial is converted rather than renewed.
		row.Renew, row.Cancel, row.Convert = c.TermEnd != nil && !c.IsTrial, true, c.IsTrial
	case allot.SubWarning:
		row.When = "Expired; licenses keep working"
		if next != "" {
			row.When = "In grace until " + next + "; licenses keep working until then"
		}
		row.Renew, row.Cancel, row.Convert = !c.IsTrial, true, c.IsTrial
	case allot.SubSuspended:
		row.When = "Suspended since " + day(c.StatusSince) + "; licenses stay assigned but do not work"
		if next != "" {
			row.When += "; deleted on " + next
		}
		row.Reactivate, row.Cancel = true, true
	case allot.SubLockedOut:
		row.When = "Cancelled on " + day(c.StatusSince)
		if next != "" {
			row.When += "; deleted on " + next
		}
	case allot.SubDeleted:
		row.When = "Deleted on " + day(c.StatusSince)
	}
	return row
}

// loadSubscriptions reads the tab: the products by name, each with its
// subscriptions oldest first.
func (s *server) loadSubscriptions(r *http.Request) (*subscriptionsData, error) {
	ctx := r.Context()
	subs, err := s.svc.Subscriptions.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	byProduct := map[string][]commercialRow{}
	if s.svc.Lifecycle != nil {
		cs, err := s.svc.Lifecycle.CompanySubscriptions(ctx)
		if err != nil {
			return nil, err
		}
		now := s.now()
		for i := range cs {
			byProduct[cs[i].SkuID] = append(byProduct[cs[i].SkuID], commercialRowOf(&cs[i], now))
		}
	}
	cat := s.svc.Subscriptions.Catalog()
	d := &subscriptionsData{}
	for _, sub := range subs {
		d.Products = append(d.Products, billingProduct{productRow: s.productRowOf(cat, sub), Subs: byProduct[sub.SkuID]})
	}
	slices.SortStableFunc(d.Products, func(a, b billingProduct) int { return strings.Compare(a.Name, b.Name) })
	return d, nil
}

func (s *server) subscriptionsTab(w http.ResponseWriter, r *http.Request) error {
	d, err := s.loadSubscriptions(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "subscriptions", s.newView(w, r, "Licenses", "licenses", d))
	return nil
}

func subscriptionURL(id string) string { return "/billing/subscriptions/" + url.PathEscape(id) }

// commercial reads the subscription of the URL.
func (s *server) commercial(r *http.Request) (*allot.CompanySubscription, error) {
	if s.svc.Lifecycle == nil {
		return nil, &httpError{http.StatusNotFound, "There is no page at this address."}
	}
	id, ok := allot.ParseID(r.PathValue("id"))
	if !ok {
		return nil, &httpError{http.StatusNotFound, "We couldn't find that. It may have been deleted, or the address is wrong."}
	}
	return s.svc.Lifecycle.CompanySubscription(r.Context(), id)
}

// subscriptionName names a subscription for people: its product, its
// quantity and whether it is a trial.
func (s *server) subscriptionName(c *allot.CompanySubscription) string {
	name := fmt.Sprintf("%s (%s", skuName(s.svc.Subscriptions.Catalog(), c.SkuID), plural(c.Quantity, "license", "licenses"))
	if c.IsTrial {
		name += ", trial"
	}
	return name + ")"
}

// cancelConfirm is the tab with the cancel confirmation open: cancelling
// cannot be undone, so it is never one click away and the dialog opens on
// its harmless button.
func (s *server) cancelConfirm(w http.ResponseWriter, r *http.Request) error {
	c, err := s.commercial(r)
	if err != nil {
		return err
	}
	d, err := s.loadSubscriptions(r)
	if err != nil {
		return err
	}
	settings, err := s.svc.Lifecycle.LifecycleSettings(r.Context())
	if err != nil {
		return err
	}
	pool, err := s.svc.Subscriptions.Subscription(r.Context(), c.SkuID)
	if err != nil {
		return err
	}
	others := pool.Enabled + pool.Warning
	if c.Status == allot.SubEnabled || c.Status == allot.SubWarning {
		others -= c.Quantity
	}
	product := skuName(s.svc.Subscriptions.Catalog(), c.SkuID)
	text := fmt.Sprintf("The subscription ends now and cannot be reactivated. Users keep the %s licenses they have, but its services stop working at once, "+
		"since no other subscription to it is active. It is deleted after %s; buy a new subscription to get the services back.", product, plural(settings.SuspendedDays, "day", "days"))
	if others > 0 {
		text = fmt.Sprintf("The subscription ends now and cannot be reactivated: its %s no longer count toward %s's total. Users keep the licenses they have, "+
			"and the product's other subscriptions keep its services working. It is deleted after %s.", plural(c.Quantity, "license", "licenses"), product, plural(settings.SuspendedDays, "day", "days"))
	}
	d.Confirm = &confirmData{
		Title:  "Cancel " + s.subscriptionName(c) + "?",
		Text:   text,
		Action: subscriptionURL(c.ID) + "/cancel", Confirm: "Cancel subscription", Cancel: "/billing/licenses",
		CancelLabel: "Keep subscription", Danger: true, ConfirmField: "confirm",
	}
	s.render(w, r, http.StatusOK, "subscriptions", s.newView(w, r, "Cancel subscription", "licenses", d))
	return nil
}

// subscriptionPost renews, reactivates, converts or cancels a subscription
// and goes back to the tab with what happened.
func (s *server) subscriptionPost(action string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.commercial(r)
		if err != nil {
			return err
		}
		if action == "cancel" && r.PostForm.Get("confirm") == "" {
			// Only the confirmation's button cancels.
			http.Redirect(w, r, subscriptionURL(c.ID)+"/cancel", http.StatusSeeOther)
			return nil
		}
		ctx, lc, name := r.Context(), s.svc.Lifecycle, s.subscriptionName(c)
		var out *allot.CompanySubscription
		var text string
		switch action {
		case "renew":
			out, err = lc.RenewSubscription(ctx, c.ID, nil)
			if err == nil {
				text = name + " renewed"
				if out.TermEnd != nil {
					text += " until " + day(*out.TermEnd)
				}
			}
		case "reactivate":
			out, err = lc.ReactivateSubscription(ctx, c.ID)
			if err == nil {
				text = name + " is active again; its licenses work again"
				if out.TermEnd != nil {
					text += " until " + day(*out.TermEnd)
				}
			}
		case "convert":
			out, err = lc.ConvertTrial(ctx, c.ID)
			if err == nil {
				text = name + " is now a paid subscription"
				if out.TermEnd != nil {
					text += " until " + day(*out.TermEnd)
				}
			}
		case "cancel":
			if _, err = lc.CancelSubscription(ctx, c.ID); err == nil {
				text = name + " cancelled"
				pool, perr := s.svc.Subscriptions.Subscription(ctx, c.SkuID)
				if perr != nil {
					return perr
				}
				if !pool.PlansServed() {
					text += ". Users keep their licenses, but the product's services have stopped"
				}
			}
		}
		switch allot.ErrorCode(err) {
		case "":
		case allot.ECONFLICT:
			// The page offered only what the status allowed, so the status
			// changed since; the service's reason names statuses by code.
			return s.redirect(w, r, "/billing/licenses", flash{Kind: "error",
				Text: "Nothing was changed: " + name + " changed since the page was shown. Its status is up to date below; try again if it still applies."})
		case allot.EINVALID:
			return s.redirect(w, r, "/billing/licenses", flash{Kind: "error", Text: "Nothing was changed: " + plainMessage(err)})
		default:
			return err
		}
		return s.redirect(w, r, "/billing/licenses", flash{Kind: "success", Text: text + "."})
	}
}
