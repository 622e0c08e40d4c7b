package main

import (
	"strings"
	"testing"
	"time"
)

// TestBrowserSubscriptionLifecycle: a Billing Administrator sees each
// product's subscriptions on Billing › Licenses at 1280×800 and on a
// phone (390×844) with nothing cut or scrolling sideways, renews one
// (the page comes back with a message and the new term end), and opens
// Cancel's confirmation, whose focus is on keeping the subscription.
func TestBrowserSubscriptionLifecycle(t *testing.T) {
	chromiumPath(t)
	f := newFixture(t)
	f.c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE1, "seats": 3})
	end := time.Now().UTC().AddDate(0, 0, 20).Truncate(time.Second)
	sub := f.c.ok(201, "POST", "/allot/v1/companySubscriptions", map[string]any{"skuId": demoE1, "quantity": 5, "termEndDateTime": end.Format(time.RFC3339)})
	trial := f.c.ok(201, "POST", "/allot/v1/companySubscriptions", map[string]any{"skuId": demoE3, "quantity": 2, "isTrial": true})
	id, tid := sub["id"].(string), trial["id"].(string)
	li, tli := "#sub-"+id, "#sub-"+tid

	b := f.browser(t)
	f.signIn(b, "bill.billing")
	for _, phone := range []bool{false, true} {
		b.phone(phone)
		b.open("/billing/licenses")
		b.wantText(li+" .sub-status", "Active")
		b.wantText(li+" .sub-quantity", "5 licenses")
		b.wantText(li+" .sub-term", "Term ends "+end.Format("2 Jan 2006"))
		b.wantText(li+" .sub-when", "Expires in 20 days")
		b.wantText(tli+" .sub-trial", "Trial")
		b.wantText(tli+" .sub-when", "Trial ends in 30 days")
		b.wantPresent(tli + " button.convert")
		b.wantPresent(rowOf("sku", demoE1) + " td.usage svg")
		b.wantNothingClipped("Billing › Licenses")
		if phone {
			b.shot("32-phone-billing-subscriptions")
		} else {
			b.shot("31-billing-subscriptions")
		}
	}

	// Renew on the phone: the page comes back with what happened.
	b.press(li + " button.renew")
	if loc := b.location(); loc != "/billing/licenses" {
		b.fatal("after Renew the browser is at %s", loc)
	}
	after := f.c.ok(200, "GET", "/allot/v1/companySubscriptions/"+id, nil)
	newEnd, err := time.Parse(time.RFC3339, after["termEndDateTime"].(string))
	if err != nil || !newEnd.Equal(end.AddDate(1, 0, 0)) {
		b.fatal("renewed to %v, want a year after %v", after["termEndDateTime"], end)
	}
	b.wantText("#flash", "Office 365 E1 (5 licenses) renewed until "+newEnd.Format("2 Jan 2006")+".")
	b.wantText(li+" .sub-term", "Term ends "+newEnd.Format("2 Jan 2006"))
	b.wantNothingClipped("Billing › Licenses after a renewal")
	b.shot("33-phone-billing-renewed")

	// Cancel asks first, and Enter there keeps the subscription.
	b.press(li + " a.cancel")
	b.wantText("#dialog-title", "Cancel Office 365 E1 (5 licenses)?")
	if focused := eval[string](b, "document.activeElement.id"); focused != "confirm-no" {
		b.fatal("the confirmation opens with the focus on %q, want Keep subscription", focused)
	}
	b.wantNothingClipped("Cancel's confirmation")
	b.shot("34-phone-cancel-confirmation")
	b.press("#confirm-no")
	if st := f.c.ok(200, "GET", "/allot/v1/companySubscriptions/"+id, nil)["status"]; st != "Enabled" {
		b.fatal("keeping the subscription changed it: %v", st)
	}
	if strings.Contains(b.text("main"), "cancelled") {
		b.fatal("keeping the subscription says it was cancelled")
	}
	b.phone(false)
}
