package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/web"
)

// subsOf is the list of one product's subscriptions on the Subscriptions tab.
func subsOf(t *testing.T, p page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<li id="sub-` + id + `" class="subscription">(.*?)</li>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the page (status %d) does not list subscription %s", p.status, id)
	}
	return m[1]
}

// TestSubscriptionLifecyclePage: the Subscriptions tab shows each
// product's subscriptions in words with what happens next; a Billing
// Administrator renews, converts, reactivates and cancels (behind a
// confirmation that opens on its harmless button), each a POST answered by
// a redirect to the tab with a message; a reader sees no button and is
// refused; a form without its CSRF token changes nothing; Home lists the
// terms ending soon.
func TestSubscriptionLifecyclePage(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newEnv(t, web.Config{Now: clk.Now}, false)
	lc := e.db.Services().Lifecycle
	end := clk.Now().AddDate(0, 0, 20)
	paid, err := lc.CreateCompanySubscription(e.ga, allot.CompanySubscriptionCreate{SkuID: skuE1, Quantity: 3, TermEnd: &end})
	e.must(paid, err)
	trialEnd := clk.Now().AddDate(0, 0, 5)
	trial, err := lc.CreateCompanySubscription(e.ga, allot.CompanySubscriptionCreate{SkuID: skuKiosk, Quantity: 2, IsTrial: true, TermEnd: &trialEnd})
	e.must(trial, err)

	billing, token := e.signIn(allot.RoleBillingAdministrator)
	p := billing.get("/billing/licenses")
	li := subsOf(t, p, paid.ID)
	for _, want := range []string{"Active", "3 licenses", "Term ends 21 Mar 2026", "Expires in 20 days", `class="renew"`, `href="/billing/subscriptions/` + paid.ID + `/cancel"`} {
		if !strings.Contains(li, want) {
			t.Fatalf("the paid subscription lacks %q: %s", want, li)
		}
	}
	if strings.Contains(li, "Enabled") || strings.Contains(li, `class="convert"`) {
		t.Fatalf("the paid subscription shows a code or a convert button: %s", li)
	}
	if li := subsOf(t, p, trial.ID); !strings.Contains(li, "Trial ends in 5 days") || !strings.Contains(li, `class="convert"`) || !strings.Contains(li, ">Trial<") ||
		strings.Contains(li, `class="renew"`) {
		t.Fatalf("the trial: %s", li)
	}
	// The usage bars stay, one per product row.
	if n := strings.Count(p.body, `<td class="usage"`); n != 2 {
		t.Fatalf("%d usage bars, want 2", n)
	}
	home, _ := e.signIn(allot.RoleGlobalReader)
	if h := home.get("/"); !strings.Contains(h.body, `id="ending-banner"`) || !strings.Contains(h.body, `id="ending-`+trial.ID+`"`) || !strings.Contains(h.body, "Trial ends in 5 days") {
		t.Fatalf("home lacks the ending terms:\n%s", h.body)
	}

	// Renew: post, redirect, message, a year on.
	res := billing.post("/billing/subscriptions/"+paid.ID+"/renew", url.Values{"csrf_token": {token}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/billing/licenses" {
		t.Fatalf("renew: %d %s", res.status, res.header.Get("Location"))
	}
	p = billing.follow(res)
	wantIn(t, p, "Office 365 E1 (3 licenses) renewed until 21 Mar 2027.")
	if got, _ := lc.CompanySubscription(e.ga, paid.ID); got.TermEnd == nil || !got.TermEnd.Equal(end.AddDate(1, 0, 0)) {
		t.Fatalf("renewed to %v", got.TermEnd)
	}
	// Convert the trial.
	p = billing.follow(billing.post("/billing/subscriptions/"+trial.ID+"/convert", url.Values{"csrf_token": {token}}))
	wantIn(t, p, "is now a paid subscription")
	if got, _ := lc.CompanySubscription(e.ga, trial.ID); got.IsTrial {
		t.Fatal("still a trial")
	}

	// Time passes: the converted subscription's term ends and its grace
	// period too.
	clk.add(366 * 24 * time.Hour)
	if _, err := e.db.RunScheduled(context.Background()); err != nil {
		t.Fatal(err)
	}
	billing, token = e.signIn(allot.RoleBillingAdministrator) // the session ended meanwhile
	p = billing.get("/billing/licenses")
	if li := subsOf(t, p, trial.ID); !strings.Contains(li, "In grace period") || !strings.Contains(li, "In grace until") || !strings.Contains(li, `class="renew"`) {
		t.Fatalf("in grace: %s", li)
	}
	clk.add(31 * 24 * time.Hour)
	if _, err := e.db.RunScheduled(context.Background()); err != nil {
		t.Fatal(err)
	}
	billing, token = e.signIn(allot.RoleBillingAdministrator) // the session ended meanwhile
	p = billing.get("/billing/licenses")
	li = subsOf(t, p, trial.ID)
	if !strings.Contains(li, "Suspended since") || !strings.Contains(li, `class="reactivate"`) || strings.Contains(li, `class="renew"`) {
		t.Fatalf("suspended: %s", li)
	}
	// A renewal of a suspended subscription (a stale page) changes nothing
	// and says so in words.
	p = billing.follow(billing.post("/billing/subscriptions/"+trial.ID+"/renew", url.Values{"csrf_token": {token}}))
	wantIn(t, p, "Nothing was changed")
	if strings.Contains(p.body, "Warning subscription") {
		t.Fatal("the message names statuses by their codes")
	}
	p = billing.follow(billing.post("/billing/subscriptions/"+trial.ID+"/reactivate", url.Values{"csrf_token": {token}}))
	wantIn(t, p, "is active again")

	// Cancel: the button opens a confirmation whose focus is on keeping it;
	// a post without the confirmation's field goes back to it.
	p = billing.get("/billing/subscriptions/" + paid.ID + "/cancel")
	wantIn(t, p, `id="confirm-dialog"`, "cannot be reactivated", `id="confirm-no" data-close autofocus`)
	if strings.Contains(p.body, `id="confirm-yes" name="confirm" value="1" autofocus`) {
		t.Fatal("the cancel button has the focus")
	}
	if res := billing.post("/billing/subscriptions/"+paid.ID+"/cancel", url.Values{"csrf_token": {token}}); res.status != http.StatusSeeOther ||
		res.header.Get("Location") != "/billing/subscriptions/"+paid.ID+"/cancel" {
		t.Fatalf("cancel without confirming: %d %s", res.status, res.header.Get("Location"))
	}
	if got, _ := lc.CompanySubscription(e.ga, paid.ID); got.Status != allot.SubWarning {
		t.Fatalf("an unconfirmed cancel changed it: %v", got.Status)
	}
	// No CSRF token: refused, unchanged.
	if res := billing.post("/billing/subscriptions/"+paid.ID+"/cancel", url.Values{"confirm": {"1"}}); res.status != http.StatusForbidden {
		t.Fatalf("cancel without a CSRF token: %d", res.status)
	}
	p = billing.follow(billing.post("/billing/subscriptions/"+paid.ID+"/cancel", url.Values{"csrf_token": {token}, "confirm": {"1"}}))
	wantIn(t, p, "Office 365 E1 (3 licenses) cancelled.")
	if li := subsOf(t, p, paid.ID); !strings.Contains(li, "Cancelled on") || strings.Contains(li, "<button") || strings.Contains(li, "/cancel") {
		t.Fatalf("cancelled: %s", li)
	}

	// A reader sees the subscriptions without a button and may not act.
	reader, rtoken := e.signIn(allot.RoleGlobalReader)
	p = reader.get("/billing/licenses")
	if li := subsOf(t, p, trial.ID); !strings.Contains(li, "Active") || strings.Contains(li, "<button") || strings.Contains(li, "/cancel") {
		t.Fatalf("a reader sees: %s", li)
	}
	if res := reader.post("/billing/subscriptions/"+trial.ID+"/cancel", url.Values{"csrf_token": {rtoken}, "confirm": {"1"}}); res.status != http.StatusForbidden {
		t.Fatalf("a reader's cancel: %d", res.status)
	}
	if res := reader.get("/billing/subscriptions/" + trial.ID + "/cancel"); res.status != http.StatusForbidden {
		t.Fatalf("a reader's cancel page: %d", res.status)
	}
	if got, _ := lc.CompanySubscription(e.ga, trial.ID); got.Status != allot.SubEnabled {
		t.Fatalf("a reader changed it: %v", got.Status)
	}
	if res := billing.get("/billing/subscriptions/not-an-id/cancel"); res.status != http.StatusNotFound {
		t.Fatalf("an unknown subscription: %d", res.status)
	}
}

// subscriptionForForm gives the tenant a commercial subscription of
// Office 365 E1 in status, bought a year and a month ago (so that a
// Suspended one is where the walk would have put it), and returns its id.
func subscriptionForForm(t *testing.T, e *env, status string, trial bool) string {
	t.Helper()
	now := time.Now().UTC()
	end := now.AddDate(0, 1, 0)
	if status != allot.SubEnabled {
		end = now.AddDate(0, -2, 0)
	}
	c, err := e.db.ImportCompanySubscription(e.ga, allot.CompanySubscription{SkuID: skuE1, Quantity: 1, Status: status, IsTrial: trial,
		CreatedAt: now.AddDate(-1, -1, 0), TermStart: now.AddDate(-1, -1, 0), TermEnd: &end, StatusSince: now.AddDate(0, -1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}
