package web

import (
	"net/http"

	"github.com/allot-dev/allot"
)

// routes lays out the admin center like the reference's: Billing ›
// Licenses (the Subscriptions tab), a product's page with its Users and
// Groups tabs and their panels, and the Users and Groups pages.
func (s *server) routes() {
	read, licensers, buyers := allot.PermRead, allot.PermManageLicenses, allot.PermPurchase
	m := s.mux
	m.HandleFunc("GET /static/{name}", s.serveStatic)
	m.HandleFunc("GET /signin", s.signInPage)
	m.HandleFunc("POST /signin", s.signIn)
	m.Handle("POST /signout", s.action("", s.signOut))
	m.Handle("GET /{$}", s.page(read, s.homePage)) // web/home.go

	// Billing › Licenses.
	m.Handle("GET /billing/licenses", s.page(read, s.subscriptionsTab))
	m.Handle("GET /billing/licenses/{sku}", s.page(read, s.productUsersTab))
	m.Handle("GET /billing/licenses/{sku}/users/unassign", s.page(licensers, s.unassignUsersConfirm))
	m.Handle("POST /billing/licenses/{sku}/users/unassign", s.action(licensers, s.unassignUsers))
	m.Handle("GET /billing/licenses/{sku}/groups", s.page(read, s.productGroupsTab))
	m.Handle("GET /billing/licenses/{sku}/groups/assign", s.page(licensers, s.assignPanel))
	m.Handle("POST /billing/licenses/{sku}/groups/assign", s.action(licensers, s.assignPanelPost))
	m.Handle("GET /billing/licenses/{sku}/groups/assign/suggest", s.page(licensers, s.assignSuggest))
	m.Handle("GET /billing/licenses/{sku}/groups/unassign", s.page(licensers, s.unassignGroupsConfirm))
	m.Handle("POST /billing/licenses/{sku}/groups/unassign", s.action(licensers, s.unassignGroups))
	m.Handle("GET /billing/licenses/{sku}/groups/{group}", s.page(read, s.groupPanel))
	m.Handle("POST /billing/licenses/{sku}/groups/{group}/action", s.action("", s.groupPanelAction))
	m.Handle("GET /billing/licenses/{sku}/groups/{group}/details", s.page(read, s.errorDetails))
	m.Handle("GET /billing/licenses/{sku}/groups/{group}/purchase", s.page(buyers, s.purchaseConfirm))
	m.Handle("GET /billing/licenses/{sku}/groups/{group}/purchase/manage", s.page(buyers, s.managePanel))
	m.Handle("POST /billing/licenses/{sku}/groups/{group}/purchase/manage", s.action(buyers, s.managePanelPost))
	m.Handle("POST /billing/licenses/{sku}/groups/{group}/purchase", s.action(buyers, s.buy))
	m.Handle("GET /billing/licenses/{sku}/groups/{group}/purchased", s.page(buyers, s.purchased))

	// Commercial subscriptions on the Subscriptions tab (web/billing.go).
	m.Handle("POST /billing/subscriptions/{id}/renew", s.action(buyers, s.subscriptionPost("renew")))
	m.Handle("POST /billing/subscriptions/{id}/reactivate", s.action(buyers, s.subscriptionPost("reactivate")))
	m.Handle("POST /billing/subscriptions/{id}/convert", s.action(buyers, s.subscriptionPost("convert")))
	m.Handle("GET /billing/subscriptions/{id}/cancel", s.page(buyers, s.cancelConfirm))
	m.Handle("POST /billing/subscriptions/{id}/cancel", s.action(buyers, s.subscriptionPost("cancel")))

	// Users and Groups.
	m.Handle("GET /users", s.page(read, s.usersPage))
	m.Handle("GET /users/{id}", s.page(read, s.userPage))
	m.Handle("GET /users/{id}/edit", s.page("", s.editUser))
	m.Handle("POST /users/{id}/edit", s.action("", s.editUserPost))
	m.Handle("GET /groups", s.page(read, s.groupsPage))
	m.Handle("GET /groups/{id}", s.page(read, s.groupPage))
	m.Handle("POST /groups/{id}/members", s.action(allot.PermManageGroups, s.groupMembersPost))

	// Deleted users and groups (web/deleted.go).
	du, dg := deletedUsersKind, deletedGroupsKind
	m.Handle("GET /users/deleted", s.page(read, du.list(s)))
	m.Handle("POST /users/deleted/{id}/restore", s.action(allot.PermManageUsers, du.restore(s)))
	m.Handle("GET /users/deleted/{id}/purge", s.page(allot.PermManageUsers, du.purgeConfirm(s)))
	m.Handle("POST /users/deleted/{id}/purge", s.action(allot.PermManageUsers, du.purge(s)))
	m.Handle("GET /groups/deleted", s.page(read, dg.list(s)))
	m.Handle("POST /groups/deleted/{id}/restore", s.action(allot.PermManageGroups, dg.restore(s)))
	m.Handle("GET /groups/deleted/{id}/purge", s.page(allot.PermManageGroups, dg.purgeConfirm(s)))
	m.Handle("POST /groups/deleted/{id}/purge", s.action(allot.PermManageGroups, dg.purge(s)))

	// Dynamic membership (web/dynamic.go).
	groupers := allot.PermManageGroups
	m.Handle("GET /groups/new", s.page(groupers, s.newDynamicGroup))
	m.Handle("POST /groups/new", s.action(groupers, s.newDynamicGroupPost))
	m.Handle("GET /groups/{id}/rule", s.page(groupers, s.editRule))
	m.Handle("POST /groups/{id}/rule", s.action(groupers, s.editRulePost))
	m.Handle("POST /groups/{id}/rule/state", s.action(groupers, s.ruleState))
	m.Handle("GET /groups/{id}/membership", s.page(groupers, s.toAssignedConfirm))
	m.Handle("POST /groups/{id}/membership", s.action(groupers, s.toAssigned))

	// Settings › Alerts (web/alerts.go).
	m.Handle("GET /settings/alerts", s.page(allot.PermManageTenant, s.alertsPage))
	m.Handle("POST /settings/alerts", s.action(allot.PermManageTenant, s.alertsAdd))
	m.Handle("POST /settings/alerts/{id}", s.action(allot.PermManageTenant, s.alertsAction))

	// Settings › Accounts (web/accounts.go).
	m.Handle("GET /settings/accounts", s.page(allot.PermManageTenant, s.accountsPage))
	m.Handle("POST /settings/accounts/{username}", s.action(allot.PermManageTenant, s.accountsAction))

	// Settings › Single sign-on (web/sso.go).
	m.Handle("GET /settings/sso", s.page(allot.PermManageTenant, s.ssoPage))
	m.Handle("POST /settings/sso", s.action(allot.PermManageTenant, s.ssoSave))
	m.Handle("GET /settings/sso/remove", s.page(allot.PermManageTenant, s.ssoRemoveConfirm))
	m.Handle("POST /settings/sso/remove", s.action(allot.PermManageTenant, s.ssoRemove))

	// Waiting room, price and cost, policy (web/waitingroom.go, web/cost.go,
	// web/policy.go).
	m.Handle("GET /billing/licenses/{sku}/waiting", s.page(read, s.waitingTab))
	m.Handle("GET /billing/licenses/{sku}/price", s.page(read, s.priceTab))
	m.Handle("POST /billing/licenses/{sku}/price", s.action(buyers, s.pricePost))
	m.Handle("GET /billing/cost", s.page(read, s.costPage))
	m.Handle("GET /billing/cost/export", s.page(read, s.costCSV))
	m.Handle("GET /settings/policy", s.page(read, s.policyPage))
	m.Handle("POST /settings/policy", s.action(allot.PermManageTenant, s.policyPost))

	// Anything else is a page that does not exist.
	m.Handle("/", s.page("", func(w http.ResponseWriter, r *http.Request) error {
		return &httpError{http.StatusNotFound, "There is no page at this address."}
	}))
}
