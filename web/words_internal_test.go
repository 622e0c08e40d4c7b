package web

import (
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

// TestReadableWords: what people read has names, commas followed by a
// space, and words where the rules and the API write codes and property
// names.
func TestReadableWords(t *testing.T) {
	cat := &allot.Catalog{
		Plans: map[string]*allot.ServicePlan{
			"9aaf7827-d63c-4b61-89c3-182f06f82e5c": {FriendlyName: "Exchange Online (Plan 1)"},
			"4a82b400-a79f-41a4-b4e2-e94f5787b113": {FriendlyName: "Exchange Online Kiosk"},
		},
		SKUs: map[string]*allot.SKU{"18181a46-0d4e-45cd-891e-60aabd171b4e": {DisplayName: "Office 365 E1"}},
	}
	noGroup := func(string) string { return "a deleted group" }
	for detail, want := range map[string]string{
		"License assignment failed because service plans 9aaf7827-d63c-4b61-89c3-182f06f82e5c,4a82b400-a79f-41a4-b4e2-e94f5787b113 are mutually exclusive.":                               "service plans Exchange Online (Plan 1), Exchange Online Kiosk are mutually exclusive.",
		"Not assigned because SKU 18181a46-0d4e-45cd-891e-60aabd171b4e of the same group failed with DependencyViolation: License assignment failed because service plan x depends on y.": "Not assigned because Office 365 E1, from the same group, is in error (Missing dependent service plans): License assignment failed",
	} {
		got := readable(cat, noGroup, detail)
		if !strings.Contains(got, want) || strings.Contains(got, "Violation") {
			t.Errorf("readable(%q) = %q, want it to contain %q and no error code", detail, got, want)
		}
	}
	for msg, bad := range map[string]string{
		"Invalid value '8,00' for pricePerSeat: give a decimal amount such as 8.00.":                          "pricePerSeat",
		"Property 'proxyAddresses' contains the invisible or control character U+200B, which is not allowed.": "proxyAddresses",
		"Another object with the same value for property proxyAddresses already exists.":                      "proxyAddresses",
		"Invalid usage location 'XX': use a two-letter ISO 3166 country code.":                                "usageLocation",
	} {
		if got := plainMessage(allot.Errorf(allot.EINVALID, "%s", msg)); strings.Contains(got, bad) {
			t.Errorf("plainMessage(%q) = %q, still naming %s", msg, got, bad)
		}
	}
	if got, want := whoCan(allot.PermManageUsers), "a User Administrator or Global Administrator"; got != want {
		t.Errorf("whoCan(manage users) = %q, want %q", got, want)
	}
	if got, want := whoCan(allot.PermPurchase), "a Billing Administrator or Global Administrator"; got != want {
		t.Errorf("whoCan(purchase) = %q, want %q", got, want)
	}
	if got := fixWords(allot.RoleLicenseAdministrator, allot.UniquenessViolation, false, "erin"); !strings.Contains(got, "or from erin") || !strings.Contains(got, "needs a User Administrator or Global Administrator") {
		t.Errorf("a License Administrator's fix of a proxy address conflict: %q", got)
	}
	if got := fixWords(allot.RoleUserAdministrator, allot.UniquenessViolation, false, ""); strings.Contains(got, "Your role") {
		t.Errorf("a User Administrator is told to ask another role: %q", got)
	}
}
