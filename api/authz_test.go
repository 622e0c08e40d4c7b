package api_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/scim"
	"github.com/allot-dev/allot/store"
)

// who is a set of callers.
type who uint16

const (
	wGA who = 1 << iota
	wLicense
	wUser
	wBilling
	wGroup
	wReader
	wOperator
)

// The permission sets of docs/RULES.md §3, transcribed from the spec's table rather
// than from the code, so that the matrix checks the code against the spec.
const (
	everyRole  = wGA | wLicense | wUser | wBilling | wGroup | wReader // "read everything in its tenant"
	licensing  = wGA | wLicense | wUser                               // assign, unassign, reprocess
	location   = wGA | wLicense | wUser                               // edit usageLocation
	userMgmt   = wGA | wUser                                          // manage users
	groupMgmt  = wGA | wUser | wGroup                                 // manage groups and memberships
	purchasing = wGA | wBilling                                       // buy and remove seats
	tenantMgmt = wGA                                                  // "everything in its tenant": tokens, settings
)

var roleBit = map[allot.Role]who{
	allot.RoleGlobalAdministrator:  wGA,
	allot.RoleLicenseAdministrator: wLicense,
	allot.RoleUserAdministrator:    wUser,
	allot.RoleBillingAdministrator: wBilling,
	allot.RoleGroupAdministrator:   wGroup,
	allot.RoleGlobalReader:         wReader,
}

// SKUs of the demo catalog the matrix uses.
const (
	azSubscribed = "18181a46-0d4e-45cd-891e-60aabd171b4e" // STANDARDPACK: the tenant's subscription named in paths
	azAssign     = "6fd2c87f-b296-42f0-b197-1e91e994b900" // ENTERPRISEPACK: assigned by the requests
	azNew        = "06ebc4ee-1bb5-47dd-8120-11324bc54e06" // SPE_E5: a subscription the requests add
)

// azIDs are the objects of one tenant that a request names.
type azIDs struct {
	tenant, user, user2, group, licGroup, token, sku string
	webhook, subscription                            string
	audit                                            string // the newest entry of its audit log
	deletedGroup                                     string // a group in deleted items
	trial, suspended                                 string // commercial subscriptions: an Enabled trial, a Suspended one
}

// azRow is one line of the matrix: a request on a route, who may make it
// (docs/RULES.md §3), and whether it names objects of the caller's tenant, which a
// caller of another tenant must get 404 for.
type azRow struct {
	pattern string
	variant string
	may     who
	public  bool
	scoped  bool
	req     func(f *azIDs) (target, body string)
}

func (r azRow) method() string { m, _, _ := strings.Cut(r.pattern, " "); return m }
func (r azRow) name() string {
	if r.variant != "" {
		return r.pattern + " (" + r.variant + ")"
	}
	return r.pattern
}

func at(target string) func(*azIDs) (string, string) {
	return func(*azIDs) (string, string) { return target, "" }
}

func azUPN() string {
	return "u" + strings.ReplaceAll(newTestGUID(), "-", "")[:12] + "@contoso.example"
}

func newTestGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var azMatrix = []azRow{
	{pattern: "GET /healthz", public: true, req: at("/healthz")},
	{pattern: "GET /readyz", public: true, req: at("/readyz")},
	// With an operator token configured (as here) only the operator may
	// scrape; api/metrics_test.go covers a server without one.
	{pattern: "GET /metrics", may: wOperator, req: at("/metrics")},
	{pattern: "GET /allot/v1/openapi.json", public: true, req: at("/allot/v1/openapi.json")},

	{pattern: "GET /v1.0/subscribedSkus", may: everyRole, req: at("/v1.0/subscribedSkus")},
	{pattern: "GET /v1.0/subscribedSkus/{id}", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/subscribedSkus/" + f.tenant + "_" + f.sku, "" }},
	// Each step of a batch is authorized on its own (api/batch_test.go);
	// the batch itself is open to every tenant role.
	{pattern: "POST /v1.0/$batch", may: everyRole,
		req: at2("/v1.0/$batch", `{"requests":[{"id":"1","method":"GET","url":"/subscribedSkus"}]}`)},
	{pattern: "GET /v1.0/organization", may: everyRole, req: at("/v1.0/organization")},
	{pattern: "GET /v1.0/organization/{id}", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/organization/" + f.tenant, "" }},
	{pattern: "GET /v1.0/directory/subscriptions", may: everyRole, req: at("/v1.0/directory/subscriptions")},
	{pattern: "GET /v1.0/directory/subscriptions/{id}", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/directory/subscriptions/" + f.subscription, "" }},
	// Deleted items: the route asks for group management, which every role
	// that manages users also has; restoring or purging a deleted user
	// further needs user management, which api/deleted_test.go checks.
	{pattern: "GET /v1.0/directory/deletedItems/microsoft.graph.user", may: everyRole, req: at("/v1.0/directory/deletedItems/microsoft.graph.user?$top=5")},
	{pattern: "GET /v1.0/directory/deletedItems/microsoft.graph.group", may: everyRole, req: at("/v1.0/directory/deletedItems/microsoft.graph.group")},
	{pattern: "GET /v1.0/directory/deletedItems/{id}", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/directory/deletedItems/" + f.deletedGroup, "" }},
	{pattern: "POST /v1.0/directory/deletedItems/{id}/restore", may: groupMgmt, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/directory/deletedItems/" + f.deletedGroup + "/restore", ""
		}},
	{pattern: "DELETE /v1.0/directory/deletedItems/{id}", may: groupMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/directory/deletedItems/" + f.deletedGroup, "" }},
	{pattern: "GET /v1.0/auditLogs/directoryAudits", may: everyRole, req: at("/v1.0/auditLogs/directoryAudits?$top=5")},
	// Ids that name no entry (no tenant's yet) get what another tenant's do.
	{pattern: "GET /v1.0/auditLogs/directoryAudits/{id}", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) {
			if f.audit == "" {
				return "/v1.0/auditLogs/directoryAudits/9223372036854775807", ""
			}
			return "/v1.0/auditLogs/directoryAudits/" + f.audit, ""
		}},
	{pattern: "GET /v1.0/users", may: everyRole, req: at("/v1.0/users?$select=id,displayName,assignedLicenses")},
	{pattern: "GET /v1.0/users/$count", may: everyRole, req: at("/v1.0/users/$count")},
	{pattern: "GET /v1.0/users/delta", may: everyRole, req: at("/v1.0/users/delta?$select=id,displayName,assignedLicenses")},
	{pattern: "GET /v1.0/users/delta()", may: everyRole, req: at("/v1.0/users/delta()")},
	{pattern: "GET /v1.0/users/microsoft.graph.delta()", may: everyRole, req: at("/v1.0/users/microsoft.graph.delta()?$deltatoken=latest")},
	{pattern: "POST /v1.0/users", may: userMgmt,
		req: func(*azIDs) (string, string) {
			return "/v1.0/users", `{"displayName":"New","userPrincipalName":"` + azUPN() + `","accountEnabled":true}`
		}},
	{pattern: "GET /v1.0/users/{id}", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/users/" + f.user + "?$select=id,licenseAssignmentStates", ""
		}},
	{pattern: "PATCH /v1.0/users/{id}", variant: "displayName", may: userMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/users/" + f.user, `{"displayName":"Renamed"}` }},
	{pattern: "PATCH /v1.0/users/{id}", variant: "usageLocation only", may: location, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/users/" + f.user, `{"usageLocation":"GB"}` }},
	{pattern: "DELETE /v1.0/users/{id}", may: userMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/users/" + f.user, "" }},
	{pattern: "POST /v1.0/users/{id}/assignLicense", may: licensing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/users/" + f.user2 + "/assignLicense", `{"addLicenses":[{"skuId":"` + azAssign + `","disabledPlans":[]}],"removeLicenses":[]}`
		}},
	{pattern: "POST /v1.0/users/{id}/assignLicense", variant: "remove", may: licensing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/users/" + f.user + "/assignLicense", `{"addLicenses":[],"removeLicenses":["` + azSubscribed + `"]}`
		}},
	{pattern: "POST /v1.0/users/{id}/reprocessLicenseAssignment", may: licensing, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/users/" + f.user + "/reprocessLicenseAssignment", "" }},
	{pattern: "GET /v1.0/users/{id}/licenseDetails", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/users/" + f.user + "/licenseDetails", "" }},
	{pattern: "GET /v1.0/users/{id}/memberOf", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/users/" + f.user + "/memberOf", "" }},
	{pattern: "GET /v1.0/users/{id}/transitiveMemberOf", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/users/" + f.user + "/transitiveMemberOf", "" }},

	{pattern: "GET /v1.0/groups", may: everyRole, req: at("/v1.0/groups?$select=id,assignedLicenses")},
	{pattern: "GET /v1.0/groups/delta", may: everyRole, req: at("/v1.0/groups/delta")},
	{pattern: "GET /v1.0/groups/delta()", may: everyRole, req: at("/v1.0/groups/delta()?$select=displayName,assignedLicenses,members")},
	{pattern: "GET /v1.0/groups/microsoft.graph.delta()", may: everyRole, req: at("/v1.0/groups/microsoft.graph.delta()")},
	{pattern: "POST /v1.0/groups", may: groupMgmt,
		req: at2("/v1.0/groups", `{"displayName":"New","mailNickname":"new","mailEnabled":false,"securityEnabled":true}`)},
	{pattern: "GET /v1.0/groups/{id}", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/groups/" + f.licGroup + "?$select=id,licenseProcessingState", ""
		}},
	{pattern: "PATCH /v1.0/groups/{id}", may: groupMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/groups/" + f.group, `{"description":"changed"}` }},
	{pattern: "DELETE /v1.0/groups/{id}", may: groupMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/groups/" + f.group, "" }},
	{pattern: "GET /v1.0/groups/{id}/members", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/groups/" + f.licGroup + "/members", "" }},
	{pattern: "GET /v1.0/groups/{id}/members/{cast}", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/groups/" + f.licGroup + "/members/microsoft.graph.user", ""
		}},
	{pattern: "GET /v1.0/groups/{id}/transitiveMembers", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/groups/" + f.licGroup + "/transitiveMembers", "" }},
	{pattern: "GET /v1.0/groups/{id}/transitiveMembers/{cast}", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/groups/" + f.licGroup + "/transitiveMembers/microsoft.graph.user", ""
		}},
	{pattern: "POST /v1.0/groups/{id}/members/$ref", may: groupMgmt, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/groups/" + f.group + "/members/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + f.user2 + `"}`
		}},
	{pattern: "DELETE /v1.0/groups/{id}/members/{memberId}/$ref", may: groupMgmt, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/groups/" + f.licGroup + "/members/" + f.user + "/$ref", ""
		}},
	{pattern: "POST /v1.0/groups/{id}/assignLicense", may: licensing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/groups/" + f.group + "/assignLicense", `{"addLicenses":[{"skuId":"` + azAssign + `","disabledPlans":[]}],"removeLicenses":[]}`
		}},
	{pattern: "POST /v1.0/groups/evaluateDynamicMembership", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/groups/evaluateDynamicMembership", `{"memberId":"` + f.user + `","membershipRule":"user.department -eq \"Sales\""}`
		}},
	{pattern: "POST /v1.0/groups/{id}/evaluateDynamicMembership", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/groups/" + f.group + "/evaluateDynamicMembership", `{"memberId":"` + f.user + `","membershipRule":"user.department -eq \"Sales\""}`
		}},
	{pattern: "POST /allot/v1/groups/validateRule", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/groups/validateRule", `{"membershipRule":"user.department -eq \"Sales\"","userIds":["` + f.user + `"]}`
		}},
	{pattern: "POST /allot/v1/preview", variant: "setMembershipRule", may: groupMgmt, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/preview", `{"changes":[{"op":"setMembershipRule","groupId":"` + f.group + `","membershipRule":"user.department -eq \"Sales\""}]}`
		}},
	{pattern: "POST /v1.0/groups/{id}/assignLicense", variant: "remove", may: licensing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/groups/" + f.licGroup + "/assignLicense", `{"addLicenses":[],"removeLicenses":["` + azSubscribed + `"]}`
		}},
	{pattern: "GET /v1.0/groups/{id}/membersWithLicenseErrors", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/v1.0/groups/" + f.licGroup + "/membersWithLicenseErrors", "" }},
	{pattern: "GET /v1.0/groups/{id}/membersWithLicenseErrors/$count", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/v1.0/groups/" + f.licGroup + "/membersWithLicenseErrors/$count", ""
		}},

	{pattern: "POST /allot/v1/tenants", may: wOperator, req: at2("/allot/v1/tenants", `{"displayName":"Another"}`)},
	{pattern: "GET /allot/v1/tenant", may: everyRole, req: at("/allot/v1/tenant")},
	{pattern: "PATCH /allot/v1/tenant", may: tenantMgmt, req: at2("/allot/v1/tenant", `{"defaultUsageLocation":"GB"}`)},
	{pattern: "GET /allot/v1/tokens", may: tenantMgmt, req: at("/allot/v1/tokens")},
	{pattern: "POST /allot/v1/tokens", may: tenantMgmt, req: at2("/allot/v1/tokens", `{"name":"bot","role":"GlobalReader"}`)},
	{pattern: "DELETE /allot/v1/tokens/{id}", may: tenantMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/tokens/" + f.token, "" }},
	{pattern: "GET /allot/v1/alerts/webhooks", may: tenantMgmt, req: at("/allot/v1/alerts/webhooks")},
	{pattern: "POST /allot/v1/alerts/webhooks", may: tenantMgmt, req: at2("/allot/v1/alerts/webhooks", `{"url":"https://example.com/hook","events":["group.errors"]}`)},
	{pattern: "GET /allot/v1/alerts/webhooks/{id}", may: tenantMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/alerts/webhooks/" + f.webhook, "" }},
	{pattern: "PATCH /allot/v1/alerts/webhooks/{id}", may: tenantMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/alerts/webhooks/" + f.webhook, `{"enabled":false}` }},
	{pattern: "DELETE /allot/v1/alerts/webhooks/{id}", may: tenantMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/alerts/webhooks/" + f.webhook, "" }},
	{pattern: "POST /allot/v1/alerts/webhooks/{id}/test", may: tenantMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/alerts/webhooks/" + f.webhook + "/test", "" }},
	{pattern: "GET /allot/v1/alerts/deliveries", may: tenantMgmt, req: at("/allot/v1/alerts/deliveries")},
	{pattern: "GET /allot/v1/catalog", may: everyRole | wOperator, req: at("/allot/v1/catalog")},
	{pattern: "PUT /allot/v1/catalog", may: wOperator, req: func(*azIDs) (string, string) { return "/allot/v1/catalog", demoCatalogJSON() }},
	{pattern: "GET /allot/v1/subscriptions", may: everyRole, req: at("/allot/v1/subscriptions")},
	{pattern: "POST /allot/v1/subscriptions", may: purchasing, req: at2("/allot/v1/subscriptions", `{"skuId":"`+azNew+`","seats":5}`)},
	{pattern: "PATCH /allot/v1/subscriptions/{skuId}", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/subscriptions/" + f.sku, `{"seats":20}` }},
	{pattern: "POST /allot/v1/subscriptions/{skuId}/purchase", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/subscriptions/" + f.sku + "/purchase", `{"quantity":1}`
		}},
	{pattern: "POST /allot/v1/subscriptions/{skuId}/purchase", variant: "for users", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/subscriptions/" + f.sku + "/purchase", `{"quantity":1,"userIds":["` + f.user2 + `"]}`
		}},
	{pattern: "GET /allot/v1/companySubscriptions", may: everyRole, req: at("/allot/v1/companySubscriptions")},
	{pattern: "POST /allot/v1/companySubscriptions", may: purchasing, req: at2("/allot/v1/companySubscriptions", `{"skuId":"`+azNew+`","quantity":1}`)},
	{pattern: "GET /allot/v1/companySubscriptions/{id}", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/companySubscriptions/" + f.subscription, "" }},
	{pattern: "PATCH /allot/v1/companySubscriptions/{id}", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/companySubscriptions/" + f.subscription, `{"quantity":12}`
		}},
	{pattern: "POST /allot/v1/companySubscriptions/{id}/renew", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/companySubscriptions/" + f.subscription + "/renew", ""
		}},
	{pattern: "POST /allot/v1/companySubscriptions/{id}/cancel", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/companySubscriptions/" + f.subscription + "/cancel", ""
		}},
	{pattern: "POST /allot/v1/companySubscriptions/{id}/reactivate", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/companySubscriptions/" + f.suspended + "/reactivate", ""
		}},
	{pattern: "POST /allot/v1/companySubscriptions/{id}/convertTrial", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/companySubscriptions/" + f.trial + "/convertTrial", ""
		}},
	{pattern: "GET /allot/v1/lifecycleSettings", may: everyRole, req: at("/allot/v1/lifecycleSettings")},
	{pattern: "PATCH /allot/v1/lifecycleSettings", may: tenantMgmt, req: at2("/allot/v1/lifecycleSettings", `{"graceDays":20}`)},
	{pattern: "POST /allot/v1/groups/assignLicense", may: licensing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/groups/assignLicense", `{"groupIds":["` + f.group + `"],"skuId":"` + azAssign + `","disabledPlans":[]}`
		}},
	{pattern: "POST /allot/v1/groups/{id}/reprocess", may: licensing, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/groups/" + f.licGroup + "/reprocess", "" }},
	{pattern: "POST /allot/v1/users/reprocess", may: licensing, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/users/reprocess", `{"userIds":["` + f.user + `"]}` }},
	{pattern: "GET /allot/v1/users/{id}/licenseStates", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/users/" + f.user + "/licenseStates", "" }},
	{pattern: "GET /allot/v1/status", may: everyRole, req: at("/allot/v1/status")},
	{pattern: "GET /allot/v1/audit", may: everyRole, req: at("/allot/v1/audit")},
	// A preview needs what its changes would need (api/preview.go).
	{pattern: "POST /allot/v1/preview", variant: "assignLicense", may: licensing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/preview", `{"changes":[{"op":"assignLicense","groupId":"` + f.group + `","addLicenses":[{"skuId":"` + azAssign + `","disabledPlans":[]}],"removeLicenses":[]}]}`
		}},
	{pattern: "POST /allot/v1/preview", variant: "addMember", may: groupMgmt, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/preview", `{"changes":[{"op":"addMember","groupId":"` + f.licGroup + `","memberId":"` + f.user2 + `"}]}`
		}},
	{pattern: "POST /allot/v1/preview", variant: "setSeats", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/preview", `{"changes":[{"op":"setSeats","skuId":"` + f.sku + `","seats":1}]}`
		}},
	{pattern: "POST /allot/v1/preview", variant: "updateUser", may: location, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/preview", `{"changes":[{"op":"updateUser","userId":"` + f.user + `","usageLocation":"GB"}]}`
		}},
	{pattern: "POST /allot/v1/preview", variant: "setSeats and removeMember", may: purchasing & groupMgmt, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/preview", `{"changes":[{"op":"setSeats","skuId":"` + f.sku + `","seats":0},{"op":"removeMember","groupId":"` + f.licGroup + `","memberId":"` + f.user + `"}]}`
		}},
	{pattern: "GET /allot/v1/subscriptions/{skuId}/waitingRoom", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/subscriptions/" + f.sku + "/waitingRoom", "" }},
	{pattern: "PUT /allot/v1/subscriptions/{skuId}/price", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/subscriptions/" + f.sku + "/price", `{"pricePerSeat":"8.00","currency":"EUR"}`
		}},
	{pattern: "DELETE /allot/v1/subscriptions/{skuId}/price", may: purchasing, scoped: true,
		req: func(f *azIDs) (string, string) { return "/allot/v1/subscriptions/" + f.sku + "/price", "" }},
	{pattern: "GET /allot/v1/reports/cost", may: everyRole, req: at("/allot/v1/reports/cost")},
	{pattern: "GET /allot/v1/policy", may: everyRole, req: at("/allot/v1/policy")},
	{pattern: "PATCH /allot/v1/policy", may: tenantMgmt, req: at2("/allot/v1/policy", `{"blockedDirectAssignmentSkuIds":["`+azNew+`"]}`)},
	{pattern: "POST /allot/v1/import", variant: "users", may: userMgmt,
		req: func(*azIDs) (string, string) {
			return "/allot/v1/import?file=users", "userPrincipalName,displayName\n" + azUPN() + ",Imported\n"
		}},
	{pattern: "POST /allot/v1/import", variant: "groups", may: groupMgmt,
		req: at2("/allot/v1/import?file=groups", "mailNickname,displayName\nimported,Imported\n")},
	{pattern: "POST /allot/v1/import", variant: "memberships", may: groupMgmt,
		req: at2("/allot/v1/import?file=memberships", "groupMailNickname,memberMailNickname\nplain,licensed\n")},
	{pattern: "GET /allot/v1/export/users", may: everyRole, req: at("/allot/v1/export/users")},
	{pattern: "GET /allot/v1/export/directory/users", may: everyRole, req: at("/allot/v1/export/directory/users")},
	{pattern: "GET /allot/v1/export/groups/{id}/membersWithLicenseErrors", may: everyRole, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/allot/v1/export/groups/" + f.licGroup + "/membersWithLicenseErrors", ""
		}},
	{pattern: "GET /allot/v1/export/audit", may: everyRole, req: at("/allot/v1/export/audit")},

	// SCIM provisioning: an identity provider's token manages users and groups.
	{pattern: "GET /scim/v2/{path...}", variant: "user", may: userMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/scim/v2/Users/" + f.user, "" }},
	{pattern: "GET /scim/v2/{path...}", variant: "list", may: userMgmt, req: at("/scim/v2/Groups?attributes=members")},
	{pattern: "POST /scim/v2/{path...}", may: userMgmt,
		req: func(*azIDs) (string, string) {
			return "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + azUPN() + `"}`
		}},
	{pattern: "PUT /scim/v2/{path...}", may: userMgmt, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/scim/v2/Users/" + f.user2, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + azUPN() + `","active":false}`
		}},
	{pattern: "PATCH /scim/v2/{path...}", may: userMgmt, scoped: true,
		req: func(f *azIDs) (string, string) {
			return "/scim/v2/Groups/" + f.group, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + f.user2 + `"}]}]}`
		}},
	{pattern: "DELETE /scim/v2/{path...}", may: userMgmt, scoped: true,
		req: func(f *azIDs) (string, string) { return "/scim/v2/Users/" + f.user2, "" }},
}

func at2(target, body string) func(*azIDs) (string, string) {
	return func(*azIDs) (string, string) { return target, body }
}

var demoCatalogJSON = sync.OnceValue(func() string {
	b, err := catalog.Marshal(catalog.Demo())
	if err != nil {
		panic(err)
	}
	return string(b)
})

// TestAuthorizationMatrix walks every route of the API (the test fails when
// a route has no row) × every role of docs/RULES.md §3, the operator, no token and a
// revoked token × the caller's own tenant and another tenant, against the
// real store:
//
//   - a caller the spec allows gets a 2xx;
//   - a caller it does not gets 403 Authorization_RequestDenied, and
//     nothing changes;
//   - a caller of another tenant who names this tenant's objects gets 404
//     Request_ResourceNotFound, exactly what it gets for ids that exist
//     nowhere, and nothing changes (a role refused the action gets its 403
//     whatever the ids, which tells it nothing either);
//   - a caller of another tenant on a route that names no object is served
//     from its own tenant and sees none of this tenant's ids;
//   - without a valid token every route but the probes is 401.
func TestAuthorizationMatrix(t *testing.T) {
	covered := map[string]bool{}
	routes := http.NewServeMux()
	for _, p := range api.RoutePatterns() {
		routes.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	sample := &azIDs{tenant: newTestGUID(), user: newTestGUID(), user2: newTestGUID(), group: newTestGUID(),
		licGroup: newTestGUID(), token: newTestGUID(), sku: azSubscribed, webhook: newTestGUID(), subscription: newTestGUID(),
		trial: newTestGUID(), suspended: newTestGUID(),
		deletedGroup: newTestGUID()}
	for _, row := range azMatrix {
		target, _ := row.req(sample)
		_, pattern := routes.Handler(httptest.NewRequest(row.method(), target, nil))
		if pattern != row.pattern {
			t.Errorf("row %s: its request %s %s reaches route %q", row.name(), row.method(), target, pattern)
		}
		covered[row.pattern] = true
	}
	for _, p := range api.RoutePatterns() {
		if !covered[p] {
			t.Errorf("route %q has no row in the authorization matrix: add one (who may call it per docs/RULES.md §3)", p)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	m := newAzWorld(t)
	other := m.tenant(false)                                    // the other tenant: tokens only, no objects, no subscriptions
	revoked := m.token(other.ga, allot.RoleGlobalAdministrator) // named "GlobalAdministrator"
	m.call(other.ga, "DELETE", "/allot/v1/tokens/"+m.tokenID(other.ga, "GlobalAdministrator"), "", 204)

	cases := 0
	f := m.tenant(true)
	for _, row := range azMatrix {
		t.Run(strings.ReplaceAll(row.name(), "/", "_"), func(t *testing.T) {
			fresh := func() {
				if f.dirty {
					f = m.tenant(true)
				}
			}
			for _, role := range allot.Roles {
				bit := roleBit[role]
				t.Run(string(role), func(t *testing.T) {
					fresh()
					// Another tenant first: it must change nothing here.
					before := m.lastAudit(f)
					target, body := row.req(&f.ids)
					st, code, resp := m.do(other.roles[role], row.method(), target, body)
					cases++
					switch {
					case row.public:
						wantStatus(t, "another tenant", st, code, resp, 200, "")
					case row.may&bit == 0:
						wantStatus(t, "another tenant", st, code, resp, 403, "Authorization_RequestDenied")
					case row.scoped:
						wantStatus(t, "another tenant", st, code, resp, 404, "Request_ResourceNotFound")
					default:
						if st == 401 || st == 403 || st == 404 || st >= 500 {
							t.Fatalf("another tenant: %d %s: %s", st, code, resp)
						}
						for _, id := range []string{f.ids.tenant, f.ids.user, f.ids.user2, f.ids.group, f.ids.licGroup, f.ids.token} {
							if strings.Contains(resp, id) {
								t.Fatalf("another tenant sees this tenant's id %s: %s", id, resp)
							}
						}
					}
					if row.scoped {
						ghost := azIDs{tenant: newTestGUID(), user: newTestGUID(), user2: newTestGUID(), group: newTestGUID(),
							licGroup: newTestGUID(), token: newTestGUID(), sku: newTestGUID(), webhook: newTestGUID(), subscription: newTestGUID(),
							trial: newTestGUID(), suspended: newTestGUID(),
							deletedGroup: newTestGUID()}
						gt, gb := row.req(&ghost)
						gst, gcode, gresp := m.do(other.roles[role], row.method(), gt, gb)
						if gst != st || gcode != code {
							t.Fatalf("another tenant's ids answer %d %s, ids that exist nowhere %d %s: the answer tells them apart\n%s\n%s",
								st, code, gst, gcode, resp, gresp)
						}
					}
					if after := m.lastAudit(f); after != before {
						t.Fatalf("a request of another tenant changed this one (audit %v → %v): %d %s", before, after, st, resp)
					}

					// The caller's own tenant.
					target, body = row.req(&f.ids)
					st, code, resp = m.do(f.roles[role], row.method(), target, body)
					cases++
					if row.public || row.may&bit != 0 {
						if st < 200 || st > 299 {
							t.Fatalf("own tenant: %d %s, want 2xx: %s", st, code, resp)
						}
						if row.method() != "GET" {
							f.dirty = true
						}
						return
					}
					wantStatus(t, "own tenant", st, code, resp, 403, "Authorization_RequestDenied")
					if after := m.lastAudit(f); after != before {
						t.Fatalf("a refused request changed the tenant (audit %v → %v)", before, after)
					}
				})
			}
			t.Run("Operator", func(t *testing.T) {
				fresh()
				target, body := row.req(&f.ids)
				st, code, resp := m.do(azOperator, row.method(), target, body)
				cases++
				switch {
				case row.public || row.may&wOperator != 0:
					if st < 200 || st > 299 {
						t.Fatalf("%d %s, want 2xx: %s", st, code, resp)
					}
					if row.method() != "GET" {
						f.dirty = true
					}
				default:
					wantStatus(t, "operator", st, code, resp, 403, "Authorization_RequestDenied")
				}
			})
			for _, c := range []struct{ name, token string }{{"NoToken", ""}, {"RevokedToken", revoked}, {"UnknownToken", "allot_" + strings.Repeat("x", 43)}} {
				t.Run(c.name, func(t *testing.T) {
					target, body := row.req(&f.ids)
					st, code, resp := m.do(c.token, row.method(), target, body)
					cases++
					if row.public {
						wantStatus(t, c.name, st, code, resp, 200, "")
					} else {
						wantStatus(t, c.name, st, code, resp, 401, "InvalidAuthenticationToken")
					}
				})
			}
		})
	}
	t.Logf("%d routes, %d rows, %d requests checked, %d tenants made", len(api.RoutePatterns()), len(azMatrix), cases, m.tenants)
}

func wantStatus(t *testing.T, who string, st int, code, body string, status int, wantCode string) {
	t.Helper()
	if st != status || code != wantCode {
		t.Fatalf("%s: %d %q, want %d %q: %s", who, st, code, status, wantCode, body)
	}
}

const azOperator = "operator-secret-for-the-matrix"

type azWorld struct {
	t       *testing.T
	h       http.Handler
	db      *store.DB // only to give a tenant a subscription in a status the API cannot reach without time passing
	tenants int
}

// azTenant is a tenant with a token per role and objects to name.
type azTenant struct {
	ga    string
	roles map[allot.Role]string
	ids   azIDs
	dirty bool // a request succeeded in changing it: the next case needs a fresh one
}

func newAzWorld(t *testing.T) *azWorld {
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), Catalog: catalog.Demo()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The limit on failed authentications is tested on its own; here it
	// would turn the many 401 cases into 429.
	h := api.New(configWith(db, api.Config{OperatorToken: azOperator, FailedAuthPerMinute: -1,
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return fixedNow },
		SCIM: scim.New(scim.Config{Services: db.Services(), Store: db, Logger: slog.New(slog.DiscardHandler)})}))
	return &azWorld{t: t, h: h, db: db}
}

func (m *azWorld) do(token, method, target, body string) (status int, code, resp string) {
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	rec := send(m.h, method, target, "192.0.2.1:1", auth, body)
	resp = rec.Body.String()
	if rec.Code >= 400 {
		r := response{rec, m.t}
		body := r.json()
		if e, ok := body["error"].(map[string]any); ok {
			code, _ = e["code"].(string)
		} else if body["status"] == fmt.Sprint(rec.Code) {
			// SCIM's error schema has no code: name its status as Graph would.
			code = map[int]string{401: "InvalidAuthenticationToken", 403: "Authorization_RequestDenied", 404: "Request_ResourceNotFound"}[rec.Code]
		}
	}
	return rec.Code, code, resp
}

func (m *azWorld) call(token, method, target, body string, want int) map[string]any {
	m.t.Helper()
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	rec := send(m.h, method, target, "192.0.2.1:1", auth, body)
	if rec.Code != want {
		m.t.Fatalf("%s %s: %d, want %d: %s", method, target, rec.Code, want, rec.Body.String())
	}
	if rec.Body.Len() == 0 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		return nil
	}
	return response{rec, m.t}.json()
}

func (m *azWorld) token(ga string, role allot.Role) string {
	m.t.Helper()
	return m.call(ga, "POST", "/allot/v1/tokens", `{"name":"`+string(role)+`","role":"`+string(role)+`"}`, 201)["secret"].(string)
}

// tokenID finds a token by its name (the list never shows secrets).
func (m *azWorld) tokenID(ga, name string) string {
	m.t.Helper()
	for _, x := range m.call(ga, "GET", "/allot/v1/tokens", "", 200)["value"].([]any) {
		tok := x.(map[string]any)
		if tok["name"] == name {
			return tok["id"].(string)
		}
	}
	m.t.Fatal("token not listed")
	return ""
}

// tenant makes a tenant with a token per role and, with objects:
// subscriptions to azSubscribed and azAssign; user (US, azSubscribed
// directly, member of both groups), user2 (US, no license, no group);
// group (no license, member user), licGroup (azSubscribed, member user);
// and a spare token.
func (m *azWorld) tenant(objects bool) *azTenant {
	m.t.Helper()
	m.tenants++
	out := m.call(azOperator, "POST", "/allot/v1/tenants", `{"displayName":"Tenant","defaultUsageLocation":"US"}`, 201)
	ga := out["token"].(map[string]any)["secret"].(string)
	tn := &azTenant{ga: ga, roles: map[allot.Role]string{allot.RoleGlobalAdministrator: ga}}
	tn.ids.tenant = out["tenant"].(map[string]any)["id"].(string)
	for _, r := range allot.Roles {
		if r != allot.RoleGlobalAdministrator {
			tn.roles[r] = m.call(ga, "POST", "/allot/v1/tokens", `{"name":"`+string(r)+`-role","role":"`+string(r)+`"}`, 201)["secret"].(string)
		}
	}
	if !objects {
		return tn
	}
	tn.ids.sku = azSubscribed
	for _, sku := range []string{azSubscribed, azAssign} {
		m.call(ga, "POST", "/allot/v1/subscriptions", `{"skuId":"`+sku+`","seats":10}`, 201)
	}
	tn.ids.trial = m.call(ga, "POST", "/allot/v1/companySubscriptions", `{"skuId":"`+azAssign+`","quantity":2,"isTrial":true}`, 201)["id"].(string)
	admin := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ids.tenant, Role: allot.RoleGlobalAdministrator, Name: "setup"})
	end := fixedNow.AddDate(0, -3, 0)
	susp, err := m.db.ImportCompanySubscription(admin, allot.CompanySubscription{SkuID: azAssign, Quantity: 1, Status: allot.SubSuspended,
		TermStart: end.AddDate(-1, 0, 0), TermEnd: &end, StatusSince: end.AddDate(0, 1, 0)})
	if err != nil {
		m.t.Fatal(err)
	}
	tn.ids.suspended = susp.ID
	user := func() string {
		return m.call(ga, "POST", "/v1.0/users", `{"displayName":"U","userPrincipalName":"`+azUPN()+`","usageLocation":"US"}`, 201)["id"].(string)
	}
	group := func(name string) string {
		return m.call(ga, "POST", "/v1.0/groups", `{"displayName":"`+name+`","mailNickname":"`+name+`","mailEnabled":false,"securityEnabled":true}`, 201)["id"].(string)
	}
	tn.ids.user, tn.ids.user2 = user(), user()
	m.call(ga, "POST", "/v1.0/users/"+tn.ids.user+"/assignLicense", `{"addLicenses":[{"skuId":"`+azSubscribed+`"}],"removeLicenses":[]}`, 200)
	tn.ids.group, tn.ids.licGroup = group("plain"), group("licensed")
	for _, g := range []string{tn.ids.group, tn.ids.licGroup} {
		m.call(ga, "POST", "/v1.0/groups/"+g+"/members/$ref", `{"@odata.id":"https://x/v1.0/directoryObjects/`+tn.ids.user+`"}`, 204)
	}
	m.call(ga, "POST", "/v1.0/groups/"+tn.ids.licGroup+"/assignLicense", `{"addLicenses":[{"skuId":"`+azSubscribed+`"}],"removeLicenses":[]}`, 202)
	tn.ids.deletedGroup = group("gone")
	m.call(ga, "DELETE", "/v1.0/groups/"+tn.ids.deletedGroup, "", 204)
	tn.ids.token = m.call(ga, "POST", "/allot/v1/tokens", `{"name":"spare","role":"GlobalReader"}`, 201)["id"].(string)
	tn.ids.webhook = m.call(ga, "POST", "/allot/v1/alerts/webhooks", `{"url":"http://127.0.0.1:9/hook"}`, 201)["id"].(string)
	for _, x := range m.call(ga, "GET", "/v1.0/directory/subscriptions", "", 200)["value"].([]any) {
		if sub := x.(map[string]any); sub["skuId"] == azSubscribed {
			tn.ids.subscription = sub["id"].(string)
		}
	}
	tn.ids.audit = fmt.Sprint(int64(m.lastAudit(tn)))
	return tn
}

// lastAudit is the id of the tenant's newest audit entry: every change
// writes one, so an unchanged id means nothing changed.
func (m *azWorld) lastAudit(tn *azTenant) float64 {
	m.t.Helper()
	v := m.call(tn.ga, "GET", "/allot/v1/audit?$top=1", "", 200)["value"].([]any)
	if len(v) == 0 {
		return 0
	}
	return v[0].(map[string]any)["id"].(float64)
}
