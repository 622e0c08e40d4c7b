package graphgo

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// TestSubscribedSkus lists and gets subscribedSkus through the SDK and
// checks every property's type and value.
func TestSubscribedSkus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tn := newTenant(t, "Contoso SKUs", map[string]int{skuE1: 3, skuE3: 25})

	res, err := tn.client.SubscribedSkus().Get(ctx, nil)
	must(t, "list subscribedSkus", err)
	if len(res.GetValue()) != 2 {
		t.Fatalf("subscribedSkus: %d items, want 2", len(res.GetValue()))
	}
	noUnknown(t, "subscribedSkus collection", res)
	for _, s := range res.GetValue() {
		switch str(s.GetSkuPartNumber()) {
		case "STANDARDPACK":
			checkSku(t, tn, s, skuE1, "STANDARDPACK", 3, 0)
		case "ENTERPRISEPACK":
			checkSku(t, tn, s, skuE3, "ENTERPRISEPACK", 25, 0)
		default:
			t.Errorf("unexpected SKU %s", str(s.GetSkuPartNumber()))
		}
	}

	one, err := tn.client.SubscribedSkus().BySubscribedSkuId(tn.id+"_"+skuE3).Get(ctx, nil)
	must(t, "get subscribedSku", err)
	checkSku(t, tn, one, skuE3, "ENTERPRISEPACK", 25, 0)

	// $select returns exactly the selected properties; the others are nil.
	sel, err := tn.client.SubscribedSkus().Get(ctx, &subscribedskus.SubscribedSkusRequestBuilderGetRequestConfiguration{
		QueryParameters: &subscribedskus.SubscribedSkusRequestBuilderGetQueryParameters{Select: []string{"skuId", "consumedUnits"}},
	})
	must(t, "list subscribedSkus with $select", err)
	for _, s := range sel.GetValue() {
		if s.GetSkuId() == nil || s.GetConsumedUnits() == nil || s.GetPrepaidUnits() != nil || s.GetSkuPartNumber() != nil {
			t.Errorf("$select=skuId,consumedUnits: skuId %v consumedUnits %v prepaidUnits %v skuPartNumber %v",
				s.GetSkuId(), s.GetConsumedUnits(), s.GetPrepaidUnits(), s.GetSkuPartNumber())
		}
	}

	// Graph: the list supports only $select.
	_, err = tn.client.SubscribedSkus().Get(ctx, &subscribedskus.SubscribedSkusRequestBuilderGetRequestConfiguration{
		QueryParameters: &subscribedskus.SubscribedSkusRequestBuilderGetQueryParameters{Filter: ptr("skuPartNumber eq 'STANDARDPACK'")},
	})
	odataErr(t, "subscribedSkus with $filter", err, http.StatusBadRequest, "Request_UnsupportedQuery")
	_, err = tn.client.SubscribedSkus().BySubscribedSkuId(tn.id+"_"+uuid.NewString()).Get(ctx, nil)
	odataErr(t, "unknown subscribedSku", err, http.StatusNotFound, "Request_ResourceNotFound")
}

func ptr[T any](v T) *T { return &v }

// lic builds an assignedLicense for the SDK's assignLicense bodies.
func lic(t *testing.T, sku string, disabled ...uuid.UUID) models.AssignedLicenseable {
	l := models.NewAssignedLicense()
	l.SetSkuId(ptr(guidOf(t, sku)))
	l.SetDisabledPlans(append([]uuid.UUID{}, disabled...))
	return l
}

// newGroupAssign is a group assignLicense body adding sku; both arrays are
// set, since the SDK leaves a nil one out and Graph requires both.
func newGroupAssign(t *testing.T, sku string, disabled ...uuid.UUID) groups.ItemAssignLicensePostRequestBodyable {
	b := groups.NewItemAssignLicensePostRequestBody()
	b.SetAddLicenses([]models.AssignedLicenseable{lic(t, sku, disabled...)})
	b.SetRemoveLicenses([]uuid.UUID{})
	return b
}

func (tn *tenant) createUser(ctx context.Context, name, location string) (models.Userable, error) {
	u := models.NewUser()
	u.SetAccountEnabled(ptr(true))
	u.SetDisplayName(ptr(name))
	u.SetMailNickname(ptr(name))
	u.SetUserPrincipalName(ptr(name + "@contoso.example"))
	if location != "" {
		u.SetUsageLocation(ptr(location))
	}
	pw := models.NewPasswordProfile()
	pw.SetForceChangePasswordNextSignIn(ptr(true))
	pw.SetPassword(ptr("Not-used-by-Allot-1"))
	u.SetPasswordProfile(pw)
	return tn.client.Users().Post(ctx, u, nil)
}

func (tn *tenant) user(ctx context.Context, name, location string) string {
	tn.t.Helper()
	u, err := tn.createUser(ctx, name, location)
	must(tn.t, "create user "+name, err)
	if u.GetId() == nil || uuid.Validate(*u.GetId()) != nil {
		tn.t.Fatalf("created user %s: id %v is not a GUID", name, u.GetId())
	}
	if str(u.GetDisplayName()) != name || str(u.GetUserPrincipalName()) != name+"@contoso.example" {
		tn.t.Errorf("created user: displayName %s userPrincipalName %s", str(u.GetDisplayName()), str(u.GetUserPrincipalName()))
	}
	// Graph's default properties that Allot does not keep come back null,
	// and businessPhones as an empty collection.
	if u.GetJobTitle() != nil || u.GetGivenName() != nil || u.GetSurname() != nil || u.GetBusinessPhones() == nil {
		tn.t.Errorf("created user: jobTitle %v givenName %v surname %v businessPhones %v",
			u.GetJobTitle(), u.GetGivenName(), u.GetSurname(), u.GetBusinessPhones())
	}
	noUnknown(tn.t, "created user", u)
	return *u.GetId()
}

func (tn *tenant) group(ctx context.Context, name string) string {
	tn.t.Helper()
	g := models.NewGroup()
	g.SetDisplayName(ptr(name))
	g.SetMailNickname(ptr(strings.ReplaceAll(name, " ", "")))
	g.SetMailEnabled(ptr(false))
	g.SetSecurityEnabled(ptr(true))
	g.SetGroupTypes([]string{})
	out, err := tn.client.Groups().Post(ctx, g, nil)
	must(tn.t, "create group "+name, err)
	if out.GetId() == nil || uuid.Validate(*out.GetId()) != nil {
		tn.t.Fatalf("created group %s: id %v is not a GUID", name, out.GetId())
	}
	if out.GetSecurityEnabled() == nil || !*out.GetSecurityEnabled() || out.GetMailEnabled() == nil || *out.GetMailEnabled() ||
		out.GetGroupTypes() == nil || len(out.GetGroupTypes()) != 0 || out.GetMail() != nil {
		tn.t.Errorf("created group: securityEnabled %v mailEnabled %v groupTypes %v mail %v",
			out.GetSecurityEnabled(), out.GetMailEnabled(), out.GetGroupTypes(), out.GetMail())
	}
	recent(tn.t, "group.createdDateTime", out.GetCreatedDateTime())
	noUnknown(tn.t, "created group", out)
	return *out.GetId()
}

func (tn *tenant) addMember(ctx context.Context, group, user string) {
	tn.t.Helper()
	ref := models.NewReferenceCreate()
	ref.SetOdataId(ptr(serverURL + "/v1.0/directoryObjects/" + user))
	must(tn.t, "add member", tn.client.Groups().ByGroupId(group).Members().Ref().Post(ctx, ref, nil))
}

var userProps = []string{"id", "displayName", "usageLocation", "accountEnabled", "createdDateTime", "proxyAddresses",
	"assignedLicenses", "assignedPlans", "licenseAssignmentStates"}

func (tn *tenant) getUser(ctx context.Context, id string) models.Userable {
	tn.t.Helper()
	u, err := tn.client.Users().ByUserId(id).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userProps},
	})
	must(tn.t, "get user", err)
	if str(u.GetId()) != id {
		tn.t.Fatalf("get user %s: id %s", id, str(u.GetId()))
	}
	if u.GetAccountEnabled() == nil || !*u.GetAccountEnabled() || u.GetProxyAddresses() == nil ||
		u.GetAssignedLicenses() == nil || u.GetAssignedPlans() == nil || u.GetLicenseAssignmentStates() == nil {
		tn.t.Errorf("user %s: accountEnabled %v proxyAddresses %v assignedLicenses %v assignedPlans %v licenseAssignmentStates %v",
			id, u.GetAccountEnabled(), u.GetProxyAddresses(), u.GetAssignedLicenses(), u.GetAssignedPlans(), u.GetLicenseAssignmentStates())
	}
	recent(tn.t, "user.createdDateTime", u.GetCreatedDateTime())
	for _, p := range u.GetAssignedPlans() {
		recent(tn.t, "assignedPlan.assignedDateTime", p.GetAssignedDateTime())
		if p.GetServicePlanId() == nil || str(p.GetCapabilityStatus()) != "Enabled" || p.GetService() == nil {
			tn.t.Errorf("user %s: assignedPlan %v %s %s", id, p.GetServicePlanId(), str(p.GetCapabilityStatus()), str(p.GetService()))
		}
		noUnknown(tn.t, "assignedPlan", p)
	}
	for _, l := range u.GetAssignedLicenses() {
		if l.GetSkuId() == nil || l.GetDisabledPlans() == nil {
			tn.t.Errorf("user %s: assignedLicense %v %v", id, l.GetSkuId(), l.GetDisabledPlans())
		}
		noUnknown(tn.t, "assignedLicense", l)
	}
	noUnknown(tn.t, "user", u)
	return u
}

// processingState reads licenseProcessingState through the SDK.
func (tn *tenant) processingState(ctx context.Context, group string) (models.Groupable, string) {
	tn.t.Helper()
	g, err := tn.client.Groups().ByGroupId(group).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: []string{"id", "assignedLicenses", "licenseProcessingState"}},
	})
	must(tn.t, "get group licenseProcessingState", err)
	st := g.GetLicenseProcessingState()
	if st == nil || st.GetState() == nil {
		tn.t.Fatalf("group %s: licenseProcessingState %v", group, st)
	}
	noUnknown(tn.t, "licenseProcessingState", st)
	switch s := *st.GetState(); s {
	case "QueuedForProcessing", "ProcessingInProgress", "ProcessingComplete":
		return g, s
	default:
		tn.t.Fatalf("group %s: licenseProcessingState %q is not one of Graph's", group, s)
		return nil, ""
	}
}

// waitProcessed polls the group's licenseProcessingState through the SDK
// until ProcessingComplete, and returns the states seen on the way.
func (tn *tenant) waitProcessed(ctx context.Context, group string) (models.Groupable, map[string]bool) {
	tn.t.Helper()
	seen := map[string]bool{}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		g, s := tn.processingState(ctx, group)
		seen[s] = true
		if s == "ProcessingComplete" {
			return g, seen
		}
	}
	tn.t.Fatalf("group %s not ProcessingComplete within 30s (seen %v)", group, seen)
	return nil, nil
}

func (tn *tenant) assignUser(ctx context.Context, user string, add []models.AssignedLicenseable, remove ...uuid.UUID) (models.Userable, error) {
	b := users.NewItemAssignLicensePostRequestBody()
	b.SetAddLicenses(add)
	b.SetRemoveLicenses(append([]uuid.UUID{}, remove...))
	return tn.client.Users().ByUserId(user).AssignLicense().Post(ctx, b, nil)
}

func (tn *tenant) errorMembers(ctx context.Context, group string) []string {
	tn.t.Helper()
	res, err := tn.client.Groups().ByGroupId(group).MembersWithLicenseErrors().Get(ctx, nil)
	must(tn.t, "membersWithLicenseErrors", err)
	ids := []string{}
	for _, m := range res.GetValue() {
		// The SDK picks the model by @odata.type: a member must come back
		// as a typed user, not a bare directoryObject.
		u, ok := m.(models.Userable)
		if !ok {
			tn.t.Fatalf("membersWithLicenseErrors item is %T, want models.Userable", m)
		}
		if str(u.GetOdataType()) != "#microsoft.graph.user" || u.GetDisplayName() == nil {
			tn.t.Errorf("membersWithLicenseErrors item: @odata.type %s displayName %v", str(u.GetOdataType()), u.GetDisplayName())
		}
		noUnknown(tn.t, "membersWithLicenseErrors item", u)
		ids = append(ids, str(u.GetId()))
	}
	slices.Sort(ids)
	return ids
}

func (tn *tenant) groupsWithErrors(ctx context.Context) []string {
	tn.t.Helper()
	res, err := tn.client.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: ptr("hasMembersWithLicenseErrors eq true")},
	})
	must(tn.t, "groups with hasMembersWithLicenseErrors", err)
	for _, g := range res.GetValue() {
		// Never returned on GET: it exists for $filter only.
		if g.GetHasMembersWithLicenseErrors() != nil {
			tn.t.Errorf("group %s returned hasMembersWithLicenseErrors", str(g.GetId()))
		}
	}
	return idsOf(res.GetValue())
}

// TestGroupLicensingFlow walks the reference's group-based licensing flow
// through the SDK: assign a product with a disabled plan to a group, poll
// licenseProcessingState, find the members in error and why, fix each and
// reprocess, then read licenseDetails and filter on assignedLicenses.
func TestGroupLicensingFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tn := newTenant(t, "Contoso Licensing", map[string]int{skuE1: 3, skuE3: 5, skuKiosk: 5})

	skus, err := tn.client.SubscribedSkus().Get(ctx, nil)
	must(t, "list subscribedSkus", err)
	plans := map[string]map[string]uuid.UUID{}
	for _, s := range skus.GetValue() {
		plans[s.GetSkuId().String()] = skuPlans(s)
	}
	forms, todo := plans[skuE1]["FORMS_PLAN_E1"], plans[skuE3]["BPOS_S_TODO_2"]
	if forms == uuid.Nil || todo == uuid.Nil {
		t.Fatalf("demo catalog plans not found: %v", plans)
	}

	// Carol holds Kiosk directly, whose Exchange conflicts with E1's.
	carol := tn.user(ctx, "carol", "US")
	if _, err := tn.assignUser(ctx, carol, []models.AssignedLicenseable{lic(t, skuKiosk)}); err != nil {
		must(t, "assign Kiosk to carol", err)
	}
	marketing := tn.group(ctx, "Marketing")
	alice, bob := tn.user(ctx, "alice", "US"), tn.user(ctx, "bob", "")
	dave, frank, gina := tn.user(ctx, "dave", "US"), tn.user(ctx, "frank", "GB"), tn.user(ctx, "gina", "DE")
	for _, u := range []string{alice, bob, carol, dave, frank, gina} {
		tn.addMember(ctx, marketing, u)
	}
	members, err := tn.client.Groups().ByGroupId(marketing).Members().Get(ctx, nil)
	must(t, "list members", err)
	if got, want := idsOf(members.GetValue()), sorted(alice, bob, carol, dave, frank, gina); !slices.Equal(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
	for _, m := range members.GetValue() {
		if _, ok := m.(models.Userable); !ok {
			t.Fatalf("member is %T, want models.Userable", m)
		}
	}

	// Group assignLicense: 202 with the group, which the SDK parses.
	g, err := tn.client.Groups().ByGroupId(marketing).AssignLicense().Post(ctx, newGroupAssign(t, skuE1, forms), nil)
	must(t, "group assignLicense", err)
	if str(g.GetId()) != marketing || str(g.GetDisplayName()) != "Marketing" {
		t.Fatalf("group assignLicense answered group %s %s", str(g.GetId()), str(g.GetDisplayName()))
	}
	recent(t, "assignLicense group.createdDateTime", g.GetCreatedDateTime())
	noUnknown(t, "assignLicense group", g)

	done, seen := tn.waitProcessed(ctx, marketing)
	if !seen["ProcessingComplete"] {
		t.Fatalf("processing states seen: %v", seen)
	}
	if al := done.GetAssignedLicenses(); len(al) != 1 || al[0].GetSkuId().String() != skuE1 || !sameGUIDs(al[0].GetDisabledPlans(), forms) {
		t.Fatalf("group assignedLicenses %v", al)
	}
	tn.waitIdle()

	// Errors and issues: the group is found by hasMembersWithLicenseErrors
	// and its members in error, each with the reason.
	if got := tn.groupsWithErrors(ctx); !slices.Contains(got, marketing) {
		t.Fatalf("Marketing not in groups with errors: %v", got)
	}
	if got, want := tn.errorMembers(ctx, marketing), sorted(bob, carol, gina); !slices.Equal(got, want) {
		t.Fatalf("membersWithLicenseErrors %v, want bob, carol, gina %v", got, want)
	}
	wantState(t, tn.getUser(ctx, bob), skuE1, marketing, "Error", "ProhibitedInUsageLocationViolation")
	wantState(t, tn.getUser(ctx, carol), skuE1, marketing, "Error", "MutuallyExclusiveViolation")
	wantState(t, tn.getUser(ctx, gina), skuE1, marketing, "Error", "CountViolation")
	if u := tn.getUser(ctx, bob); u.GetUsageLocation() != nil {
		t.Errorf("bob: usageLocation %q, want null", *u.GetUsageLocation())
	}

	// An Active member: the group's license with its disabled plan, the
	// enabled plans only in assignedPlans, and licenseDetails.
	a := tn.getUser(ctx, alice)
	wantState(t, a, skuE1, marketing, "Active", "None")
	if s := stateOf(t, a, skuE1, marketing); !sameGUIDs(s.GetDisabledPlans(), forms) {
		t.Errorf("alice: state disabledPlans %v, want FORMS_PLAN_E1", s.GetDisabledPlans())
	}
	if al := a.GetAssignedLicenses(); len(al) != 1 || al[0].GetSkuId().String() != skuE1 || !sameGUIDs(al[0].GetDisabledPlans(), forms) {
		t.Errorf("alice: assignedLicenses %v", al)
	}
	if str(a.GetUsageLocation()) != "US" {
		t.Errorf("alice: usageLocation %s", str(a.GetUsageLocation()))
	}
	var enabledPlans []uuid.UUID
	for name, id := range plans[skuE1] {
		if name != "FORMS_PLAN_E1" {
			enabledPlans = append(enabledPlans, id)
		}
	}
	var assigned []uuid.UUID
	for _, p := range a.GetAssignedPlans() {
		assigned = append(assigned, *p.GetServicePlanId())
	}
	if !sameGUIDs(assigned, enabledPlans...) {
		t.Errorf("alice: assignedPlans %v, want E1's plans but FORMS_PLAN_E1 %v", assigned, enabledPlans)
	}
	// Graph addresses a user by id or by userPrincipalName.
	byUPN, err := tn.client.Users().ByUserId("alice@contoso.example").Get(ctx, nil)
	must(t, "get user by userPrincipalName", err)
	if str(byUPN.GetId()) != alice {
		t.Errorf("user by userPrincipalName: id %s, want %s", str(byUPN.GetId()), alice)
	}
	details, err := tn.client.Users().ByUserId("alice@contoso.example").LicenseDetails().Get(ctx, nil)
	must(t, "licenseDetails", err)
	if len(details.GetValue()) != 1 {
		t.Fatalf("alice: %d licenseDetails, want 1", len(details.GetValue()))
	}
	d := details.GetValue()[0]
	if d.GetId() == nil || *d.GetId() == "" || d.GetSkuId().String() != skuE1 || str(d.GetSkuPartNumber()) != "STANDARDPACK" {
		t.Errorf("licenseDetails: id %v skuId %v skuPartNumber %s", d.GetId(), d.GetSkuId(), str(d.GetSkuPartNumber()))
	}
	for _, p := range d.GetServicePlans() {
		want := "Success"
		if *p.GetServicePlanId() == forms {
			want = "Disabled"
		}
		if str(p.GetProvisioningStatus()) != want || p.GetServicePlanName() == nil || str(p.GetAppliesTo()) != "User" {
			t.Errorf("licenseDetails plan %s: provisioningStatus %s, want %s", str(p.GetServicePlanName()), str(p.GetProvisioningStatus()), want)
		}
		noUnknown(t, "licenseDetails servicePlan", p)
	}
	if len(d.GetServicePlans()) != len(plans[skuE1]) {
		t.Errorf("licenseDetails: %d plans, want %d", len(d.GetServicePlans()), len(plans[skuE1]))
	}
	noUnknown(t, "licenseDetails", d)

	// Direct assignment with a disabled plan: 200 with the user, and a
	// state whose assignedByGroup is null.
	henry := tn.user(ctx, "henry", "US")
	hu, err := tn.assignUser(ctx, henry, []models.AssignedLicenseable{lic(t, skuE3, todo)})
	must(t, "direct assignLicense", err)
	if str(hu.GetId()) != henry {
		t.Fatalf("user assignLicense answered user %s", str(hu.GetId()))
	}
	h := tn.getUser(ctx, henry)
	wantState(t, h, skuE3, "", "Active", "None")
	if s := stateOf(t, h, skuE3, ""); s.GetAssignedByGroup() != nil || !sameGUIDs(s.GetDisabledPlans(), todo) {
		t.Errorf("henry: assignedByGroup %v disabledPlans %v", s.GetAssignedByGroup(), s.GetDisabledPlans())
	}

	// Direct assignment is synchronous and refuses a broken rule.
	_, err = tn.assignUser(ctx, bob, []models.AssignedLicenseable{lic(t, skuE3)})
	oe := odataErr(t, "direct assignLicense without usage location", err, http.StatusBadRequest, "Request_BadRequest")
	if !strings.Contains(str(oe.GetErrorEscaped().GetMessage()), "usage location") {
		t.Errorf("message %q does not mention the usage location", str(oe.GetErrorEscaped().GetMessage()))
	}
	// The SDK leaves out a nil slice (msgraph-sdk-go #163); Graph answers
	// that a parameter is missing.
	nb := users.NewItemAssignLicensePostRequestBody()
	nb.SetAddLicenses([]models.AssignedLicenseable{lic(t, skuE3)})
	_, err = tn.client.Users().ByUserId(henry).AssignLicense().Post(ctx, nb, nil)
	oe = odataErr(t, "assignLicense without removeLicenses", err, http.StatusBadRequest, "Request_BadRequest")
	if !strings.Contains(str(oe.GetErrorEscaped().GetMessage()), "removeLicenses") {
		t.Errorf("message %q does not name removeLicenses", str(oe.GetErrorEscaped().GetMessage()))
	}
	// A license inherited from a group cannot be removed on the user.
	_, err = tn.assignUser(ctx, alice, nil, guidOf(t, skuE1))
	if err == nil {
		t.Fatal("removing an inherited license directly succeeded")
	}
	odataErr(t, "remove inherited license", err, http.StatusBadRequest, "Request_BadRequest")

	// $filter on assignedLicenses, with $count and ConsistencyLevel as
	// Graph's advanced queries want them.
	headers := abstractions.NewRequestHeaders()
	headers.Add("ConsistencyLevel", "eventual")
	licensed, err := tn.client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		Headers: headers,
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: ptr("assignedLicenses/any(x:x/skuId eq " + skuE1 + ")"), Count: ptr(true),
			Select: []string{"id", "displayName", "assignedLicenses"},
		},
	})
	must(t, "filter users on assignedLicenses", err)
	if got, want := idsOf(licensed.GetValue()), sorted(alice, dave, frank); !slices.Equal(got, want) {
		t.Errorf("users with E1: %v, want alice, dave, frank %v", got, want)
	}
	if c := licensed.GetOdataCount(); c == nil || *c != 3 {
		t.Errorf("@odata.count %v, want 3", c)
	}
	if licensed.GetOdataNextLink() != nil {
		t.Errorf("one page, yet @odata.nextLink %s", *licensed.GetOdataNextLink())
	}
	withE1, err := tn.client.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: ptr("assignedLicenses/any(x:x/skuId eq " + skuE1 + ")")},
	})
	must(t, "filter groups on assignedLicenses", err)
	if got := idsOf(withE1.GetValue()); !slices.Equal(got, []string{marketing}) {
		t.Errorf("groups with E1: %v, want Marketing", got)
	}

	// Fix each error the way the reference says, then reprocess.
	allotCall(t, tn.token, "PATCH", "/allot/v1/subscriptions/"+skuE1, map[string]any{"seats": 6}, http.StatusOK)
	patch := models.NewUser()
	patch.SetUsageLocation(ptr("US"))
	_, err = tn.client.Users().ByUserId(bob).Patch(ctx, patch, nil)
	must(t, "PATCH usageLocation", err)
	_, err = tn.assignUser(ctx, carol, []models.AssignedLicenseable{}, guidOf(t, skuKiosk))
	must(t, "remove carol's Kiosk", err)
	for _, u := range []string{bob, carol, gina} {
		ru, err := tn.client.Users().ByUserId(u).ReprocessLicenseAssignment().Post(ctx, nil)
		must(t, "reprocessLicenseAssignment", err)
		if str(ru.GetId()) != u {
			t.Fatalf("reprocessLicenseAssignment answered user %s, want %s", str(ru.GetId()), u)
		}
		noUnknown(t, "reprocessLicenseAssignment user", ru)
	}
	tn.waitIdle()
	for _, u := range []string{alice, bob, carol, dave, frank, gina} {
		wantState(t, tn.getUser(ctx, u), skuE1, marketing, "Active", "None")
	}
	if got := tn.errorMembers(ctx, marketing); len(got) != 0 {
		t.Errorf("members still in error: %v", got)
	}
	if got := tn.groupsWithErrors(ctx); slices.Contains(got, marketing) {
		t.Errorf("Marketing still has members with errors")
	}
	e1, err := tn.client.SubscribedSkus().BySubscribedSkuId(tn.id+"_"+skuE1).Get(ctx, nil)
	must(t, "get E1", err)
	checkSku(t, tn, e1, skuE1, "STANDARDPACK", 6, 6)

	// A member who leaves loses the inherited license and frees its seat.
	must(t, "remove member", tn.client.Groups().ByGroupId(marketing).Members().ByDirectoryObjectId(frank).Ref().Delete(ctx, nil))
	tn.waitIdle()
	if f := tn.getUser(ctx, frank); len(f.GetLicenseAssignmentStates()) != 0 || len(f.GetAssignedLicenses()) != 0 {
		t.Errorf("frank keeps the group's license after leaving: %d states", len(f.GetLicenseAssignmentStates()))
	}
	e1, err = tn.client.SubscribedSkus().BySubscribedSkuId(tn.id+"_"+skuE1).Get(ctx, nil)
	must(t, "get E1", err)
	checkSku(t, tn, e1, skuE1, "STANDARDPACK", 6, 5)

	// A licensed group cannot be deleted; unassign it first. Its members
	// lose the license asynchronously.
	err = tn.client.Groups().ByGroupId(marketing).Delete(ctx, nil)
	odataErr(t, "delete a licensed group", err, http.StatusBadRequest, "Request_BadRequest")
	ub := groups.NewItemAssignLicensePostRequestBody()
	ub.SetAddLicenses([]models.AssignedLicenseable{})
	ub.SetRemoveLicenses([]uuid.UUID{guidOf(t, skuE1)})
	_, err = tn.client.Groups().ByGroupId(marketing).AssignLicense().Post(ctx, ub, nil)
	must(t, "group unassign", err)
	tn.waitProcessed(ctx, marketing)
	tn.waitIdle()
	if u := tn.getUser(ctx, alice); len(u.GetLicenseAssignmentStates()) != 0 || len(u.GetAssignedLicenses()) != 0 {
		t.Errorf("alice keeps licenses after the group's removal: %d states", len(u.GetLicenseAssignmentStates()))
	}
	e1, err = tn.client.SubscribedSkus().BySubscribedSkuId(tn.id+"_"+skuE1).Get(ctx, nil)
	must(t, "get E1", err)
	checkSku(t, tn, e1, skuE1, "STANDARDPACK", 6, 0)
	must(t, "delete group", tn.client.Groups().ByGroupId(marketing).Delete(ctx, nil))
	_, err = tn.client.Groups().ByGroupId(marketing).Get(ctx, nil)
	odataErr(t, "deleted group", err, http.StatusNotFound, "Request_ResourceNotFound")
}

// TestErrors checks that the SDK turns Allot's errors into typed
// ODataErrors with Graph's codes.
func TestErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tn := newTenant(t, "Contoso Errors", map[string]int{skuE1: 1})

	_, err := tn.client.Groups().ByGroupId(uuid.NewString()).Get(ctx, nil)
	odataErr(t, "unknown group", err, http.StatusNotFound, "Request_ResourceNotFound")
	_, err = tn.client.Users().ByUserId(uuid.NewString()).LicenseDetails().Get(ctx, nil)
	odataErr(t, "licenseDetails of an unknown user", err, http.StatusNotFound, "Request_ResourceNotFound")
	_, err = tn.client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Top: ptr(int32(1000))},
	})
	odataErr(t, "$top=1000", err, http.StatusBadRequest, "Request_UnsupportedQuery")
	_, err = tn.client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: ptr("assignedLicenses/any(x:x/skuId eq 'nope')")},
	})
	odataErr(t, "bad $filter", err, http.StatusBadRequest, "Request_BadRequest")

	// A tenant's token does not reach another tenant's objects.
	other := newTenant(t, "Other tenant", nil)
	u := tn.user(ctx, "zoe", "US")
	_, err = other.client.Users().ByUserId(u).Get(ctx, nil)
	odataErr(t, "another tenant's user", err, http.StatusNotFound, "Request_ResourceNotFound")

	// A bad token: 401 with Graph's envelope.
	badAdapter, err := newAdapter("not-a-valid-token")
	must(t, "adapter", err)
	_, err = msgraphsdk.NewGraphServiceClient(badAdapter).SubscribedSkus().Get(ctx, nil)
	odataErr(t, "bad token", err, http.StatusUnauthorized, "InvalidAuthenticationToken")
}
