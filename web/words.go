package web

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

// Plain words for what the domain says in codes.

var countryNames = func() map[string]string {
	m := make(map[string]string, len(allot.Countries))
	for _, c := range allot.Countries {
		m[c.Code] = c.Name
	}
	return m
}()

// countryName is "United States (US)", or "" for no location.
func countryName(code string) string {
	if code == "" {
		return ""
	}
	if n, ok := countryNames[code]; ok {
		return n + " (" + code + ")"
	}
	return string(code)
}

// errorWords names a license error the way the reference article's
// sections do. noLocation tells a missing location apart from a plan
// that is not offered in the user's country.
func errorWords(code allot.LicenseError, noLocation bool) string {
	switch code {
	case allot.CountViolation:
		return "Not enough licenses"
	case allot.MutuallyExclusiveViolation:
		return "Conflicting service plans"
	case allot.DependencyViolation:
		return "Missing dependent service plans"
	case allot.UniquenessViolation:
		return "Proxy address violation"
	case allot.ProhibitedInUsageLocationViolation:
		if noLocation {
			return "User usage location not specified"
		}
		return "Not available in the user's location"
	case allot.OtherViolation:
		return "Other"
	case allot.NoLicenseError, "":
		return ""
	}
	return string(code)
}

// groupType is the group's kind as the admin center lists it.
func groupType(g *allot.Group) string {
	switch {
	case slices.Contains(g.GroupTypes, "Unified"):
		return "Microsoft 365"
	case g.MailEnabled && g.SecurityEnabled:
		return "Mail-enabled security"
	case g.SecurityEnabled:
		return "Security"
	case g.MailEnabled:
		return "Distribution"
	}
	return "Group"
}

// groupStatus is the Groups tab's Status column (docs/RULES.md §2.3.5).
type groupStatus struct {
	Text   string // "All licenses assigned", "In progress", "Errors & issues"
	Detail string // progress of an In progress group
	Class  string // for the badge's colour
}

func statusOf(g *allot.Group) groupStatus {
	switch {
	case g.ProcessingState == allot.ProcessingInProgress:
		return groupStatus{"In progress", fmt.Sprintf("%d of %d users", g.MembersDone, g.MembersTotal), "progress"}
	case g.ProcessingState == allot.ProcessingQueued:
		return groupStatus{"In progress", "waiting to start", "progress"}
	case g.HasMembersWithLicenseErrors:
		return groupStatus{"Errors & issues", "", "error"}
	}
	return groupStatus{"All licenses assigned", "", "ok"}
}

// productStatusOf is statusOf for one product of the group: errors counts
// its members in error on that product alone.
func productStatusOf(g *allot.Group, errors int) groupStatus {
	st := statusOf(g)
	if st.Class == "progress" {
		return st
	}
	if errors > 0 {
		return groupStatus{"Errors & issues", plural(errors, "user in error", "users in error"), "error"}
	}
	return groupStatus{"All licenses assigned", "", "ok"}
}

// skuName is a SKU's display name, or its part number, or its id.
func skuName(cat *allot.Catalog, id string) string {
	if s := cat.SKUs[id]; s != nil {
		if s.DisplayName != "" {
			return s.DisplayName
		}
		return s.PartNumber
	}
	return id
}

// planName is a plan's friendly name, or its name.
func planName(cat *allot.Catalog, id string) string {
	if p := cat.Plans[id]; p != nil {
		if p.FriendlyName != "" {
			return p.FriendlyName
		}
		return p.Name
	}
	return id
}

// names lists up to max names in words: "A, B and 3 more".
func names(xs []string, max int) string {
	switch {
	case len(xs) == 0:
		return ""
	case len(xs) > max:
		return strings.Join(xs[:max], ", ") + fmt.Sprintf(" and %d more", len(xs)-max)
	case len(xs) == 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

var guid = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// guidList is ids joined by bare commas, as the rules write lists of plans.
var guidList = regexp.MustCompile(guid.String() + `(?:,` + guid.String() + `)+`)

// failedWith is how the rules say that another product of the group is in
// error, naming its code for logs.
var failedWith = regexp.MustCompile(`Not assigned because SKU (\S+) of the same group failed with (\w+): `)

// readable puts names in place of the ids of plans, products and groups
// in a state's detail, which the rules write for machines and logs, and
// words in place of error codes.
func readable(cat *allot.Catalog, groupName func(string) string, detail string) string {
	detail = failedWith.ReplaceAllStringFunc(detail, func(m string) string {
		p := failedWith.FindStringSubmatch(m)
		return "Not assigned because " + p[1] + ", from the same group, is in error (" + errorWords(allot.LicenseError(p[2]), false) + "): "
	})
	// A list of names reads with a space after each comma: "Exchange
	// Online (Plan 1), Exchange Online Kiosk".
	detail = guidList.ReplaceAllStringFunc(detail, func(m string) string { return strings.ReplaceAll(m, ",", ", ") })
	return guid.ReplaceAllStringFunc(detail, func(id string) string {
		id = strings.ToLower(id)
		switch {
		case cat.Plans[id] != nil:
			return planName(cat, id)
		case cat.SKUs[id] != nil:
			return skuName(cat, id)
		}
		if n := groupName(id); n != "a deleted group" {
			return n
		}
		return id
	})
}

// fieldWords are the API's property names that the domain's messages
// quote, in the words of the admin center's forms.
var fieldWords = strings.NewReplacer(
	"Property 'proxyAddresses'", "A proxy address", "property proxyAddresses", "proxy addresses", "proxyAddresses", "proxy addresses",
	"Property 'usageLocation'", "The usage location", "usageLocation", "usage location",
	"for pricePerSeat", "for the price", "pricePerSeat", "price per license",
	"Property 'userPrincipalName'", "The username", "property userPrincipalName", "username", "userPrincipalName", "username",
	"property mailNickname", "mail nickname", "mailNickname", "mail nickname",
	"Property 'displayName'", "The name", "displayName", "name",
)

// plainMessage is a refusal's message as people read it: the domain
// writes one message for the API and the admin center, with the API's
// property names.
func plainMessage(err error) string { return fieldWords.Replace(allot.ErrorMessage(err)) }

// roleOrder lists the roles from the most specific to Global Administrator,
// the order in which a message suggests them.
var roleOrder = []allot.Role{allot.RoleLicenseAdministrator, allot.RoleUserAdministrator, allot.RoleBillingAdministrator,
	allot.RoleGroupAdministrator, allot.RoleGlobalAdministrator}

// whoCan names the roles with every one of perms: "a License Administrator,
// User Administrator or Global Administrator".
func whoCan(perms ...allot.Permission) string {
	var out []string
	for _, r := range roleOrder {
		if !slices.ContainsFunc(perms, func(p allot.Permission) bool { return !r.Can(p) }) {
			out = append(out, roleName(r))
		}
	}
	if len(out) == 0 {
		return ""
	}
	s := out[len(out)-1]
	if len(out) > 1 {
		s = strings.Join(out[:len(out)-1], ", ") + " or " + s
	}
	return "a " + s
}
