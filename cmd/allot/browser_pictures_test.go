package main

// The home page and the charts, at 1280×800; every page of the admin
// center at a phone's 390×844, checked for anything cut off or hidden
// behind a sideways scroll.

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// clippedJS lists what a reader cannot see whole at the present width: the
// page or a table's frame scrolling sideways, a cell, value or control
// reaching past the screen's edge, or a cell whose content is wider than
// the cell. Hidden things (sr-only, a table's header on a phone) are left
// out. "" when nothing is.
const clippedJS = `(function(){
  var vw = document.documentElement.clientWidth, bad = [];
  function name(e) {
    var s = e.tagName.toLowerCase();
    if (e.id) s += '#' + e.id;
    if (e.className && typeof e.className === 'string') s += '.' + e.className.trim().split(/\s+/).join('.');
    var row = e.closest('tr');
    if (row && row.dataset) s += ' in row ' + JSON.stringify(Object.assign({}, row.dataset));
    return s + ' "' + (e.innerText || e.textContent || '').trim().slice(0, 40) + '"';
  }
  if (document.documentElement.scrollWidth > vw + 1) {
    bad.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px wide in ' + vw);
  }
  document.querySelectorAll('.table-wrap, .panel-body, .dialog').forEach(function(w){
    if (w.scrollWidth > w.clientWidth + 1) bad.push(name(w) + ' scrolls sideways: ' + w.scrollWidth + ' px in ' + w.clientWidth);
  });
  document.querySelectorAll('main td, main th, main dd, main dt, main li, main p, main h1, main h2, main h3, main a, main button, main input, main select, main textarea, main svg, main .addr, main .status').forEach(function(e){
    if (e.closest('.sr-only, thead, [hidden], details:not([open]) > :not(summary)')) return;
    var cs = getComputedStyle(e);
    if (cs.visibility === 'hidden' || cs.display === 'none') return;
    var r = e.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return;
    if (r.right > vw + 1 || r.left < -1) {
      bad.push(name(e) + ' reaches ' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + vw);
    } else if (/^(TD|TH|DD)$/.test(e.tagName) && e.scrollWidth > e.clientWidth + 1) {
      bad.push(name(e) + ' is cut: ' + e.scrollWidth + ' px of content in ' + e.clientWidth);
    }
  });
  return bad.slice(0, 8).join('\n');
})()`

// wantNothingClipped fails the test, with a screenshot, when clippedJS
// finds something on the page the browser shows.
func (b *browser) wantNothingClipped(page string) {
	b.t.Helper()
	if bad := eval[string](b, clippedJS); bad != "" {
		b.fatal("%s at %d px: not all of it can be read:\n%s", page, eval[int](b, "document.documentElement.clientWidth"), bad)
	}
}

// wantChart wants an accessible SVG chart (role="img", a <title>, an
// aria-label) whose aria-label says each of want.
func (b *browser) wantChart(sel string, want ...string) {
	b.t.Helper()
	b.wantPresent(sel)
	label := eval[string](b, `(function(){var s=document.querySelector(`+js(sel)+`);
		if (s.getAttribute('role') !== 'img' || !s.querySelector(':scope > title') || !s.querySelector(':scope > title').textContent) return '';
		var r = s.getBoundingClientRect(); if (r.width < 50 || r.height < 10) return '';
		return s.getAttribute('aria-label') || ''})()`)
	if label == "" {
		b.fatal("%s is not a shown chart with role=img, a title and an aria-label", sel)
	}
	for _, w := range want {
		if !strings.Contains(label, w) {
			b.fatal("%s says %q, want it to contain %q", sel, label, w)
		}
	}
}

// TestBrowserPictures: the home page answers what needs the admin today in
// pictures (products near or over their licenses, groups in error,
// waiting rooms, errors by kind) with their figures in words; the
// Subscriptions tab has usage bars, Billing › Cost its spend charts. Then
// on a phone every page is checked: no page or table scrolls sideways and
// no cell is cut, with the values the reports named (error details, proxy
// addresses, Available/Total, Active users, Waiting since) on screen.
func TestBrowserPictures(t *testing.T) {
	f := newFixture(t)
	f.referenceData()
	// An address long enough to overflow a phone unless it wraps.
	f.user("zoe", "US", "smtp:zoe.quartermaine-worthington.procurement-and-logistics@fabrikam-international-holdings.example")
	f.c.ok(204, "POST", "/v1.0/groups/"+f.groups["Marketing"]+"/members/$ref", map[string]any{"@odata.id": f.srv.url + "/v1.0/directoryObjects/" + f.users["zoe"]})
	f.c.ok(202, "POST", "/v1.0/groups/"+f.groups["Marketing"]+"/assignLicense", lic(demoE1))
	f.c.waitIdle()
	f.c.ok(200, "PUT", "/allot/v1/subscriptions/"+demoE1+"/price", map[string]any{"pricePerSeat": "8.00", "currency": "EUR"})
	f.c.ok(200, "PATCH", "/allot/v1/subscriptions/"+demoKiosk, map[string]any{"seats": 0}) // over-allocated
	b := f.browser(t)
	f.signIn(b, "gloria.global")

	// Home, at 1280×800.
	b.open("/")
	b.wantText("h1", "Home")
	b.wantChart("#chart-home-seats", "Products near or over their licenses", "Exchange Online Kiosk: 1 of 0 assigned, 1 over", "Office 365 E1: 3 of 3 assigned, none left")
	b.wantText("#near-products", "Exchange Online Kiosk: 1 of 0 licenses assigned, 0 available, 1 over-allocated.")
	b.wantText(rowOf("group", f.groups["Marketing"]), "Marketing")
	b.wantChart("#chart-home-waiting", "Office 365 E1: ")
	b.wantChart("#chart-home-errors", "License errors from groups, by kind", "Not enough licenses", "User usage location not specified",
		"Conflicting service plans", "Proxy address violation")
	b.wantText("#none-ending", "No subscription ends in the next 90 days.")
	b.wantNothingClipped("home")
	b.shot("p01-home")
	b.press(rowOf("group", f.groups["Marketing"]) + " td a") // the group's Actions needed tab
	b.wantText("#tab-actions", "Actions needed")

	// Subscriptions: a bar per product; Cost: spend by product and group.
	b.open("/billing/licenses")
	b.wantChart(rowOf("sku", demoKiosk)+" svg.usage-bar", "1 of 0 licenses assigned, 0 available, 1 over-allocated")
	b.wantChart(rowOf("sku", demoE1)+" svg.usage-bar", "3 of 3 licenses assigned, 0 available")
	b.wantChart("#usage-legend", "assigned, available and over-allocated")
	b.wantNothingClipped("subscriptions")
	b.shot("p02-subscriptions-usage-bars")
	b.open("/billing/cost")
	b.wantChart("#chart-spend-products-EUR", "Spend by product in EUR", "Office 365 E1: 24.00 EUR (0.00 idle)")
	b.wantChart("#chart-spend-groups-EUR", "Spend by group in EUR", "Marketing: ")
	b.wantText("#spend-charts", "Spend by product in EUR", "Spend by group in EUR") // captions, not only tooltips
	b.wantNothingClipped("cost")
	b.shot("p03-cost-charts")

	// On a phone: every page, and its panels.
	e1 := "/billing/licenses/" + demoE1
	marketing := f.groups["Marketing"]
	details := e1 + "/groups/" + marketing + "/details?" + url.Values{"user": {f.users["dave"], f.users["zoe"], f.users["bob"]}, "tab": {"actions"}}.Encode()
	pages := []struct{ name, path, want string }{
		{"home", "/", "#home-errors"},
		{"subscriptions", "/billing/licenses", rowOf("sku", demoE1) + " .total"},
		{"product-users", e1, "#product-users"},
		{"product-groups", e1 + "/groups", "#product-groups"},
		{"group-panel", f.panel(demoE1, "Marketing", "actions"), "#members"},
		{"group-panel-success", f.panel(demoE1, "Marketing", "success"), "#members"},
		{"error-details", details, "table.states"},
		{"assign-panel", e1 + "/groups/assign", "#assign-form"},
		{"waiting-room", e1 + "/waiting", "#waiting-room"},
		{"price", e1 + "/price", "#product-cost"},
		{"cost", "/billing/cost", "#chart-spend-products-EUR"},
		{"active-users", "/users", "#users"},
		{"user", "/users/" + f.users["zoe"], ".proxy"},
		{"edit-user", "/users/" + f.users["zoe"] + "/edit?return=/users/" + f.users["zoe"], "#edit-form"},
		{"groups", "/groups", "#groups"},
		{"group", "/groups/" + marketing, "#group-members"},
		{"new-dynamic-group", "/groups/new", "main h1"},
		{"accounts", "/settings/accounts", "#accounts"},
		{"alerts", "/settings/alerts", "main h1"},
		{"policy", "/settings/policy", "main h1"},
	}
	b.phone(true)
	defer b.phone(false)
	for i, p := range pages {
		b.open(p.path)
		b.wantPresent(p.want)
		b.wantNothingClipped(p.name)
		b.shot(fmt.Sprintf("p%02d-phone-%s", i+10, p.name))
	}

	// The values the reports named are on screen and whole.
	onScreen := func(sel, want string) {
		t.Helper()
		b.wantText(sel, want)
		if !eval[bool](b, `(function(){var e=document.querySelector(`+js(sel)+`),r=e.getBoundingClientRect();
			return r.width>0 && r.left>=0 && r.right<=document.documentElement.clientWidth+1})()`) {
			b.fatal("%s is not within the screen", sel)
		}
	}
	b.open("/billing/licenses")
	onScreen(rowOf("sku", demoE1)+" .available", "0")
	onScreen(rowOf("sku", demoE1)+" .total", "3")
	b.open(e1 + "/waiting")
	onScreen("#waiting-room tbody tr:first-child td:nth-child(5)", "UTC")
	b.open(details)
	onScreen(`section[data-user="`+f.users["zoe"]+`"] .proxy`, "fabrikam-international-holdings.example")
	onScreen(`section[data-user="`+f.users["dave"]+`"] table.states td:nth-child(4)`, "")
	b.open("/users")
	onScreen(rowOf("user", f.users["zoe"]), "zoe@fabrikam.example")
}
