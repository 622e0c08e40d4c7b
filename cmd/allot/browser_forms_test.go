package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// focusIn says whether the focused element is inside what sel finds.
func (b *browser) focusIn(sel string) bool {
	return eval[bool](b, `(function(){var p=document.querySelector(`+js(sel)+`);return !!p && p.contains(document.activeElement)})()`)
}

func (b *browser) focusedID() string {
	return eval[string](b, `document.activeElement ? document.activeElement.id : ""`)
}

// tabAround presses Tab, then Shift+Tab, n times each, and wants the focus
// inside sel after every press.
func (b *browser) tabAround(sel string, n int) {
	b.t.Helper()
	for _, back := range []bool{false, true} {
		for i := range n {
			if back {
				b.do(chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
			} else {
				b.do(chromedp.KeyEvent(kb.Tab))
			}
			if !b.focusIn(sel) {
				b.fatal("after %d presses of %s the focus left %s for %s", i+1, map[bool]string{false: "Tab", true: "Shift+Tab"}[back], sel,
					eval[string](b, `document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : "nothing"`))
			}
		}
	}
}

// fits says whether what sel finds shows all of its content within its own
// width and within the viewport: long input stays inside its box.
func (b *browser) fits(sel string) bool {
	return eval[bool](b, `(function(){var e=document.querySelector(`+js(sel)+`); if(!e) return false;
		var r=e.getBoundingClientRect(); return e.scrollWidth <= e.clientWidth + 1 && r.right <= document.documentElement.clientWidth + 1})()`)
}

// TestBrowserFormsAndKeyboard: every form answers with a redirect, so
// reload and Back never send it again, and a refused form comes back as
// typed; errors name who holds a proxy address and which role can fix
// what the signed-in one cannot, in words without codes; the keyboard
// stays inside an open panel or dialog, comes back to the button that
// opened it, and stays on a suggested group picked with Space; a dialog
// that destroys focuses Cancel.
func TestBrowserFormsAndKeyboard(t *testing.T) {
	f := newFixture(t)
	f.referenceData()
	f.c.ok(202, "POST", "/v1.0/groups/"+f.groups["Marketing"]+"/assignLicense", lic(demoE1))
	f.c.waitIdle()
	b := f.browser(t)
	f.signIn(b, "lena.license")

	// No dead ends: dave's proxy-address conflict names erin, who holds the
	// address, links to her, and says which role changes addresses.
	dave := "/users/" + f.users["dave"]
	b.open(dave)
	b.wantText("table.license-states", "Proxy address violation", "The address is held by erin.",
		"Your role can't: that needs a User Administrator or Global Administrator.")
	b.wantPresent("#error-details-link")
	b.shot("f01-error-names-the-holder")
	b.phone(true)
	b.open(dave)
	b.do(chromedp.ScrollIntoView("table.license-states"))
	b.shot("f02-phone-error-names-the-holder")
	b.phone(false)
	b.open(dave)
	b.press("table.license-states a.holder-link")
	if got := b.location(); got != "/users/"+f.users["erin"] {
		b.fatal("the holder's link went to %s, want erin's page", got)
	}
	b.wantAbsent("#error-details-link", "erin has no license errors")

	// Words, not codes: henry's second product names the first's error,
	// and carol's two plans are a list with a space after the comma.
	b.open("/users/" + f.users["henry"])
	b.wantText("table.license-states", "is in error (Missing dependent service plans)")
	if got := b.text("main"); strings.Contains(got, "Violation") || strings.Contains(got, "failed with") {
		b.fatal("henry's page shows an error code: %q", got)
	}
	b.open("/users/" + f.users["carol"])
	if got := b.text("table.license-states"); !strings.Contains(got, "Exchange Online (Plan 1), Exchange Online Kiosk") &&
		!strings.Contains(got, "Exchange Online Kiosk, Exchange Online (Plan 1)") {
		b.fatal("carol's conflict does not list its plans with a space: %q", got)
	}

	// Keyboard: Edit user opened with Enter, Tab and Shift+Tab stay in the
	// panel, Escape closes it and the focus is back on Edit user.
	b.open(dave)
	b.do(chromedp.Focus(chromedp.ID("edit-user")))
	if st := b.load(chromedp.KeyEvent(kb.Enter)); st != 200 {
		b.fatal("Edit user: status %d", st)
	}
	b.wantText("#panel-title", "Edit user")
	b.wantText(`.product-error[data-sku="`+demoE1+`"]`, "Proxy address violation")
	if !b.focusIn(".panel") {
		b.fatal("the panel opened without the focus")
	}
	b.tabAround(".panel", 30)
	b.shot("f03-edit-user-keyboard-focus")
	if st := b.load(chromedp.KeyEvent(kb.Escape)); st != 200 {
		b.fatal("Escape: status %d", st)
	}
	if b.location() != dave || b.focusedID() != "edit-user" {
		b.fatal("closing the panel left the focus on %q at %s, want Edit user on dave's page", b.focusedID(), b.location())
	}

	// The confirm dialog of Unassign licenses focuses Cancel, keeps the
	// focus, and gives it back to Unassign licenses when closed.
	b.open("/billing/licenses/" + demoE1)
	b.click(checkboxOf("user", f.users["ivan"]))
	b.press("#unassign-users")
	b.wantText("#confirm-dialog", "Unassign licenses", "ivan")
	if got := b.focusedID(); got != "confirm-no" {
		b.fatal("the dialog opened with the focus on %q, want Cancel", got)
	}
	b.tabAround("#confirm-dialog", 6)
	b.shot("f04-confirm-focuses-cancel")
	b.phone(true)
	b.shot("f05-phone-confirm-focuses-cancel")
	b.phone(false)
	if st := b.load(chromedp.KeyEvent(kb.Escape)); st != 200 {
		b.fatal("Escape: status %d", st)
	}
	if got := b.focusedID(); got != "unassign-users" {
		b.fatal("closing the dialog left the focus on %q, want Unassign licenses", got)
	}
	b.wantText(rowOf("user", f.users["ivan"])+" .via", "Direct")

	// Space on a suggested group selects it and keeps the focus on it.
	b.open(e1Groups() + "/assign")
	box := `#suggested-groups input[value="` + f.groups["Sales"] + `"]`
	b.wantPresent(box)
	b.do(chromedp.Focus(chromedp.CSS(box)), chromedp.KeyEvent(" "))
	b.waitFor("Sales among the selected groups, with the focus", func() bool {
		return eval[bool](b, `(function(){var a=document.activeElement;return !!a && a.value===`+js(f.groups["Sales"])+
			` && a.checked && document.getElementById("selected-groups").contains(a)})()`)
	})
	b.shot("f06-suggested-group-space-keeps-focus")
	b.signOut()

	// A refused form comes back as typed, its message in words and inside
	// its box, on a phone too; the page is a GET, so reloading it sends
	// nothing again.
	f.signIn(b, "ursula.users")
	long := "smtp:" + strings.Repeat("an-address-without-an-at-sign-", 12)
	for _, phone := range []bool{false, true} {
		b.phone(phone)
		b.open(dave + "/edit?return=" + dave)
		b.do(chromedp.SetValue(chromedp.ID("proxy"), long))
		b.press("#save-changes")
		b.wantText("#flash", "Nothing was saved", "Invalid proxy address")
		if got := b.text("#flash"); strings.Contains(got, "proxyAddresses") {
			b.fatal("the message names the API's property: %q", got)
		}
		if !b.focusIn("#flash") {
			b.fatal("the refused form opened with the focus on %q, not on the reason", b.focusedID())
		}
		if got := eval[string](b, `document.getElementById("proxy").value`); got != long {
			b.fatal("the proxy addresses show %q, want what was typed", got)
		}
		if !b.fits("#flash") || !b.fits("#proxy") {
			b.fatal("the long address overflows its box (phone %v)", phone)
		}
		if phone {
			b.shot("f08-phone-refused-form-keeps-input")
		} else {
			b.shot("f07-refused-form-keeps-input")
		}
	}
	b.phone(false)
	if !strings.HasPrefix(b.location(), dave+"/edit") {
		b.fatal("the refused form went to %s", b.location())
	}
	b.do(chromedp.Reload())
	b.wantAbsent("#flash", "reloading the answer to a refused form sent it again")
	b.signOut()

	// Back after a save: the page before comes back, and the form is not
	// sent again.
	f.signIn(b, "bill.billing")
	price := "/billing/licenses/" + demoE1 + "/price"
	b.open(price)
	b.do(chromedp.SetValue(chromedp.ID("price-amount"), "8"), chromedp.SetValue(chromedp.ID("price-currency"), "EUR"))
	b.press("#price-form button[type=submit]")
	b.wantText("#flash", "Price saved: 8.00 EUR per seat.")
	if b.location() != price {
		b.fatal("saving the price went to %s", b.location())
	}
	b.press("#tab-users")
	// history.back(), as the button does: chromedp's NavigateBack waits for a
	// load event that a page restored from the back/forward cache never fires.
	b.do(chromedp.Evaluate[chromedp.Void](`history.back()`))
	b.waitFor("the price tab again", func() bool {
		return eval[bool](b, `location.pathname === `+js(price)+` && document.readyState === "complete" && !!document.getElementById("price-form")`)
	})
	if b.location() != price {
		b.fatal("Back went to %s, want the price tab", b.location())
	}
	b.wantAbsent("#flash", "Back showed the save's message again")
	b.signOut()

	// The one-time secret of a new webhook: the answer's history entry is
	// the GET, so reloading it adds no second webhook.
	f.signIn(b, "gloria.global")
	b.open("/settings/alerts")
	b.do(chromedp.SetValue(chromedp.ID("webhook-url"), "https://hooks.example/allot"))
	b.press("#add-webhook button[type=submit]")
	b.wantPresent("#secret")
	b.waitFor("the history entry to become the GET", func() bool { return b.location() == "/settings/alerts" })
	b.do(chromedp.Reload())
	b.wantAbsent("#secret", "reloading showed the secret again")
	if n := b.count("#webhooks tr[data-webhook]"); n != 1 {
		b.fatal("%d webhooks after a reload, want 1", n)
	}
	b.signOut()

	// Read-only roles see no boxes that do nothing.
	f.signIn(b, "rita.reader")
	b.open("/settings/policy")
	if n := b.count("main input[type=checkbox]"); n != 0 {
		b.fatal("a Global Reader sees %d check boxes on Settings › Policy", n)
	}
	b.wantText("main", "Changing the policy needs a Global Administrator.")
	b.shot("f09-policy-read-only")
}
