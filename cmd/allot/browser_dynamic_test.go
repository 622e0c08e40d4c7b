package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserDynamicGroup: a Group Administrator creates a dynamic group
// with the rule builder, validates the rule for two users, saves it, and
// sees the members the rule picks once processing is idle; the rule text
// typed by hand fills the builder (the page's script), Pause and Resume
// change the processing state. Processing is awaited by polling the
// server's status until its queue is idle, never by sleeping.
func TestBrowserDynamicGroup(t *testing.T) {
	f := newFixture(t)
	f.c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE1, "seats": 5})
	person := func(name, dept, loc string) {
		f.users[name] = f.c.ok(201, "POST", "/v1.0/users", map[string]any{"displayName": name, "userPrincipalName": name + "@fabrikam.example",
			"accountEnabled": true, "mailNickname": name, "usageLocation": loc, "department": dept})["id"].(string)
	}
	person("ann", "Sales", "US")
	person("ben", "Sales", "GB")
	person("cid", "Marketing", "US")
	f.group("Sales team")
	f.c.waitIdle()

	b := f.browser(t)
	f.signIn(b, "gary.groups")
	b.open("/groups")
	b.shot("40-dynamic-groups-list")
	b.press("#new-dynamic-group")
	b.wantText("#rule-title", "New dynamic group")

	// The builder, without typing any rule text: two rows joined by And.
	b.do(chromedp.SetValue(chromedp.ID("display-name"), "US Sales"), chromedp.SetValue(chromedp.ID("mail-nickname"), "ussales"),
		chromedp.SetValue(chromedp.ID("property-0"), "department"), chromedp.SetValue(chromedp.ID("operator-0"), "-eq"),
		chromedp.SetValue(chromedp.ID("value-0"), "Sales"))
	b.press("#add-row")
	b.wantPresent("#property-1")
	b.do(chromedp.SetValue(chromedp.ID("property-1"), "usageLocation"), chromedp.SetValue(chromedp.ID("operator-1"), "-eq"),
		chromedp.SetValue(chromedp.ID("value-1"), "US"))
	b.press("#from-builder")
	const rule = `(user.department -eq "Sales") -and (user.usageLocation -eq "US")`
	if got := eval[string](b, `document.getElementById("rule").value`); got != rule {
		b.fatal("the rule text from the builder is %q, want %q", got, rule)
	}

	// Validate rules for ann (a member) and ben (not: GB).
	b.do(chromedp.SendKeys(chromedp.ID("validate-users"), "ann@fabrikam.example, ben@fabrikam.example"))
	b.press("#validate-rule")
	results := "#validate-results"
	b.wantText(results, "ann", "Is a member", "ben", "Is not a member", `user.usageLocation -eq "US"`)
	if n := b.count(`#validate-results li[data-ok="false"]`); n < 2 {
		b.fatal("ben's tree marks %d clauses false, want the rule and its location clause", n)
	}
	b.do(chromedp.ScrollIntoView(chromedp.ID("validate-results")))
	b.shot("41-dynamic-validate")
	b.phone(true)
	b.do(chromedp.ScrollIntoView(chromedp.ID("rule-rows")))
	b.shot("42-phone-dynamic-builder")
	b.phone(false)

	// Save: the group page, its rule, and ann alone once processing is idle.
	b.press("#save-rule")
	b.wantText("#flash", "Dynamic group US Sales created.")
	group := b.location()
	if !strings.HasPrefix(group, "/groups/") {
		b.fatal("saving went to %s", group)
	}
	f.c.waitIdle()
	b.open(group)
	b.wantText("#rule-text", rule)
	b.wantText("#rule-status", "Succeeded")
	b.wantText("#members-by-rule", "Members are managed by the rule")
	b.wantText("#h-members", "Members (1)")
	b.wantText("#group-members", "ann@fabrikam.example")
	if got := b.text("#group-members"); strings.Contains(got, "ben@") || strings.Contains(got, "cid@") {
		b.fatal("the members are %q, want ann alone", got)
	}
	b.shot("43-dynamic-group-members")
	b.phone(true)
	b.open(group)
	b.shot("44-phone-dynamic-group")
	b.phone(false)

	// Typing the rule text fills the builder (the script's live sync);
	// Save then uses it.
	b.press("#edit-rule")
	b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("rule").value = ""`), chromedp.SendKeys(chromedp.ID("rule"), `user.department -eq "Marketing"`))
	b.waitFor("the builder to show the typed rule", func() bool {
		return eval[string](b, `(document.getElementById("value-0")||{}).value||""`) == "Marketing" && b.count("#rule-rows tr[data-row]") == 1
	})
	b.shot("45-dynamic-edit-rule")
	b.press("#save-rule")
	b.wantText("#flash", "Membership rule saved.")
	f.c.waitIdle()
	b.open(group)
	b.wantText("#group-members", "cid@fabrikam.example")
	if got := b.text("#group-members"); strings.Contains(got, "ann@") {
		b.fatal("ann stays a member of the Marketing rule: %q", got)
	}

	// Pause and Resume.
	b.press("#pause-rule")
	b.wantText("#rule-state", "Paused")
	b.wantPresent("#resume-rule")
	b.press("#resume-rule")
	b.wantText("#rule-state", "On")

	// The Groups list marks it Dynamic; the assigned group is Assigned.
	b.open("/groups")
	b.wantText(rowOf("group", strings.TrimPrefix(group, "/groups/"))+" .membership", "Dynamic")
	b.wantText(rowOf("group", f.groups["Sales team"])+" .membership", "Assigned")
	b.shot("46-dynamic-groups-list-badge")
}
