package graphgo

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// SKUs of the embedded demo catalog (catalog/demo.json).
const (
	skuE1    = "18181a46-0d4e-45cd-891e-60aabd171b4e" // Office 365 E1, STANDARDPACK
	skuE3    = "6fd2c87f-b296-42f0-b197-1e91e994b900" // Office 365 E3, ENTERPRISEPACK
	skuKiosk = "80b2d799-d2ba-4d2a-8842-fb0d0f3a4b82" // Exchange Online Kiosk: conflicts with E1's Exchange
)

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func guidOf(t *testing.T, s string) uuid.UUID {
	t.Helper()
	u, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// additional is implemented by every SDK model: properties the SDK's
// metadata does not know land in AdditionalData instead of a typed field.
type additional interface{ GetAdditionalData() map[string]any }

// noUnknown fails when the server sent a property the SDK has no field for
// (a misspelt or invented name); "@odata.*" annotations such as
// @odata.context are expected there.
func noUnknown(t *testing.T, where string, m additional) {
	t.Helper()
	for k := range m.GetAdditionalData() {
		if !strings.HasPrefix(k, "@odata.") {
			t.Errorf("%s: property %q is not in Graph's metadata (value %v)", where, k, m.GetAdditionalData()[k])
		}
	}
}

// recent checks a Graph timestamp: present, parsed by the SDK as a time,
// UTC and close to now.
func recent(t *testing.T, where string, ts *time.Time) {
	t.Helper()
	if ts == nil {
		t.Errorf("%s: null, want a timestamp", where)
		return
	}
	if _, off := ts.Zone(); off != 0 {
		t.Errorf("%s: %v is not UTC", where, ts)
	}
	if d := time.Since(*ts); d < -time.Minute || d > 10*time.Minute {
		t.Errorf("%s: %v is not recent", where, ts)
	}
}

// odataErr unwraps the SDK's typed error and checks its status and code.
func odataErr(t *testing.T, what string, err error, status int, code string) *odataerrors.ODataError {
	t.Helper()
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		t.Fatalf("%s: error %T %v, want *odataerrors.ODataError", what, err, err)
	}
	main := oe.GetErrorEscaped()
	if main == nil {
		t.Fatalf("%s: ODataError without an error object", what)
	}
	if oe.ResponseStatusCode != status || str(main.GetCode()) != code {
		t.Fatalf("%s: %d %s %q, want %d %s", what, oe.ResponseStatusCode, str(main.GetCode()), str(main.GetMessage()), status, code)
	}
	if main.GetMessage() == nil || *main.GetMessage() == "" {
		t.Errorf("%s: no message", what)
	}
	inner := main.GetInnerError()
	if inner == nil {
		t.Fatalf("%s: no innerError", what)
	}
	if inner.GetDate() == nil || time.Since(*inner.GetDate()) > 24*time.Hour {
		t.Errorf("%s: innerError.date %v", what, inner.GetDate())
	}
	if str(inner.GetRequestId()) == "" || inner.GetRequestId() == nil {
		t.Errorf("%s: innerError without request-id", what)
	}
	// The SDK sends a client-request-id on every request; Graph echoes it.
	if inner.GetClientRequestId() == nil || *inner.GetClientRequestId() == "" {
		t.Errorf("%s: innerError does not echo client-request-id", what)
	}
	noUnknown(t, what+" error", main)
	return oe
}

// skuPlans maps servicePlanName to servicePlanId for a SKU as the SDK reads it.
func skuPlans(s models.SubscribedSkuable) map[string]uuid.UUID {
	out := map[string]uuid.UUID{}
	for _, p := range s.GetServicePlans() {
		if p.GetServicePlanId() != nil && p.GetServicePlanName() != nil {
			out[*p.GetServicePlanName()] = *p.GetServicePlanId()
		}
	}
	return out
}

// checkSku checks every property of a subscribedSku as the SDK typed it.
func checkSku(t *testing.T, tn *tenant, s models.SubscribedSkuable, sku, part string, enabled, consumed int32) {
	t.Helper()
	where := "subscribedSku " + part
	if got := str(s.GetId()); got != tn.id+"_"+sku {
		t.Errorf("%s: id %q, want {tenantId}_{skuId}", where, got)
	}
	if s.GetSkuId() == nil || s.GetSkuId().String() != sku {
		t.Errorf("%s: skuId %v", where, s.GetSkuId())
	}
	if str(s.GetSkuPartNumber()) != part {
		t.Errorf("%s: skuPartNumber %s", where, str(s.GetSkuPartNumber()))
	}
	if str(s.GetAccountId()) != tn.id || str(s.GetAccountName()) != tn.name {
		t.Errorf("%s: account %s %s, want %s %s", where, str(s.GetAccountId()), str(s.GetAccountName()), tn.id, tn.name)
	}
	if str(s.GetAppliesTo()) != "User" || str(s.GetCapabilityStatus()) != "Enabled" {
		t.Errorf("%s: appliesTo %s capabilityStatus %s", where, str(s.GetAppliesTo()), str(s.GetCapabilityStatus()))
	}
	if c := s.GetConsumedUnits(); c == nil || *c != consumed {
		t.Errorf("%s: consumedUnits %v, want %d", where, c, consumed)
	}
	pre := s.GetPrepaidUnits()
	if pre == nil {
		t.Fatalf("%s: no prepaidUnits", where)
	}
	for name, got := range map[string]*int32{"enabled": pre.GetEnabled(), "lockedOut": pre.GetLockedOut(),
		"suspended": pre.GetSuspended(), "warning": pre.GetWarning()} {
		want := int32(0)
		if name == "enabled" {
			want = enabled
		}
		if got == nil || *got != want {
			t.Errorf("%s: prepaidUnits.%s %v, want %d", where, name, got, want)
		}
	}
	noUnknown(t, where+" prepaidUnits", pre)
	if len(s.GetServicePlans()) == 0 {
		t.Errorf("%s: no servicePlans", where)
	}
	for _, p := range s.GetServicePlans() {
		if p.GetServicePlanId() == nil || str(p.GetServicePlanName()) == "<nil>" ||
			str(p.GetProvisioningStatus()) != "Success" || str(p.GetAppliesTo()) != "User" {
			t.Errorf("%s: servicePlan %v %s %s %s", where, p.GetServicePlanId(), str(p.GetServicePlanName()),
				str(p.GetProvisioningStatus()), str(p.GetAppliesTo()))
		}
		noUnknown(t, where+" servicePlan", p)
	}
	if ids := s.GetSubscriptionIds(); len(ids) != 1 || ids[0] == "" {
		t.Errorf("%s: subscriptionIds %v", where, ids)
	}
	noUnknown(t, where, s)
}

// stateOf returns the user's licenseAssignmentState for sku from group
// (or direct, for group == ""), failing when there is none or several.
func stateOf(t *testing.T, u models.Userable, sku, group string) models.LicenseAssignmentStateable {
	t.Helper()
	var found []models.LicenseAssignmentStateable
	for _, s := range u.GetLicenseAssignmentStates() {
		by := ""
		if s.GetAssignedByGroup() != nil {
			by = *s.GetAssignedByGroup()
		}
		if s.GetSkuId() != nil && s.GetSkuId().String() == sku && by == group {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("user %s: %d states for %s from %q, want 1", str(u.GetDisplayName()), len(found), sku, group)
	}
	s := found[0]
	recent(t, "licenseAssignmentState.lastUpdatedDateTime", s.GetLastUpdatedDateTime())
	if s.GetDisabledPlans() == nil {
		t.Errorf("user %s: licenseAssignmentState.disabledPlans null, want a list", str(u.GetDisplayName()))
	}
	noUnknown(t, "licenseAssignmentState", s)
	return s
}

func wantState(t *testing.T, u models.Userable, sku, group, state, errCode string) {
	t.Helper()
	s := stateOf(t, u, sku, group)
	if str(s.GetState()) != state || str(s.GetError()) != errCode {
		t.Errorf("user %s sku %s from %q: state %s error %s, want %s %s", str(u.GetDisplayName()), sku, group,
			str(s.GetState()), str(s.GetError()), state, errCode)
	}
}

func sameGUIDs(got []uuid.UUID, want ...uuid.UUID) bool {
	a := make([]string, 0, len(got))
	for _, g := range got {
		a = append(a, g.String())
	}
	b := make([]string, 0, len(want))
	for _, w := range want {
		b = append(b, w.String())
	}
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func idsOf[T interface{ GetId() *string }](items []T) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, str(it.GetId()))
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		var oe *odataerrors.ODataError
		if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
			err = fmt.Errorf("%d %s: %s", oe.ResponseStatusCode, str(oe.GetErrorEscaped().GetCode()), str(oe.GetErrorEscaped().GetMessage()))
		}
		t.Fatalf("%s: %v", what, err)
	}
}
