package allot

import (
	"errors"
	"slices"
	"strings"
)

// Limits on the free-text properties of users and groups, in bytes.
const (
	MaxDisplayName = 256
	MaxMail        = 256
	MaxDescription = 1024
	MaxNickname    = 64
	MaxUPN         = 113 // Graph's: 64 for the local part, 48 for the domain, and the "@"
	MaxAddress     = 256
	MaxAddresses   = 100
)

// Normalized returns the user as it is stored (id in lower case,
// userPrincipalName and addresses in IdentifierForm without blanks, usage
// location in upper case), or EINVALID naming the first property that is
// not acceptable. Whether an id, name or address is free is for the store.
func (u UserCreate) Normalized() (UserCreate, error) {
	u.ID = strings.ToLower(u.ID)
	if err := CheckUPN(u.UserPrincipalName); err != nil {
		return u, err
	}
	u.UserPrincipalName = IdentifierForm(u.UserPrincipalName)
	if strings.TrimSpace(u.DisplayName) == "" {
		return u, Errorf(EINVALID, "displayName is required.")
	}
	if err := errors.Join(CheckText("displayName", u.DisplayName, MaxDisplayName), CheckText("mail", u.Mail, MaxMail)); err != nil {
		return u, err
	}
	var err error
	if u.UsageLocation, err = NormalizeLocation(u.UsageLocation); err != nil {
		return u, err
	}
	if u.Profile, err = u.Profile.Normalized(); err != nil {
		return u, err
	}
	u.ProxyAddresses = CleanAddresses(u.ProxyAddresses)
	return u, CheckAddresses(u.ProxyAddresses)
}

// Normalized returns the change as it is applied (see
// UserCreate.Normalized), or EINVALID.
func (u UserUpdate) Normalized() (UserUpdate, error) {
	if u.UsageLocation != nil {
		loc, err := NormalizeLocation(*u.UsageLocation)
		if err != nil {
			return u, err
		}
		u.UsageLocation = &loc
	}
	if u.UserPrincipalName != nil {
		if err := CheckUPN(*u.UserPrincipalName); err != nil {
			return u, err
		}
		upn := IdentifierForm(*u.UserPrincipalName)
		u.UserPrincipalName = &upn
	}
	if u.DisplayName != nil && strings.TrimSpace(*u.DisplayName) == "" {
		return u, Errorf(EINVALID, "displayName cannot be empty.")
	}
	if err := errors.Join(CheckText("displayName", deref(u.DisplayName), MaxDisplayName), CheckText("mail", deref(u.Mail), MaxMail)); err != nil {
		return u, err
	}
	if u.ProxyAddresses != nil {
		proxy := CleanAddresses(*u.ProxyAddresses)
		if err := CheckAddresses(proxy); err != nil {
			return u, err
		}
		u.ProxyAddresses = &proxy
	}
	known := ProfileFieldNames()
	for _, f := range u.ProfileFields {
		if !slices.Contains(known, f) {
			return u, Errorf(EINVALID, "Property '%s' does not exist on type 'microsoft.graph.user'.", f)
		}
	}
	var err error
	u.Profile, err = u.Profile.Normalized()
	return u, err
}

// Normalized returns the group as it is stored (id in lower case,
// mailNickname and addresses in IdentifierForm, no nil groupTypes), or
// EINVALID naming the first property that is not acceptable.
func (g GroupCreate) Normalized() (GroupCreate, error) {
	g.ID = strings.ToLower(g.ID)
	if g.GroupTypes == nil {
		g.GroupTypes = []string{}
	}
	if strings.TrimSpace(g.DisplayName) == "" {
		return g, Errorf(EINVALID, "displayName is required.")
	}
	if err := errors.Join(CheckText("displayName", g.DisplayName, MaxDisplayName), CheckText("description", g.Description, MaxDescription), CheckNickname(g.MailNickname)); err != nil {
		return g, err
	}
	g.MailNickname = IdentifierForm(g.MailNickname)
	var err error
	if g.GroupTypes, err = CheckGroupTypes(g.GroupTypes); err != nil {
		return g, err
	}
	if g.MembershipRule, g.MembershipRuleProcessingState, err = CheckDynamic(slices.Contains(g.GroupTypes, GroupDynamic), g.MembershipRule, g.MembershipRuleProcessingState); err != nil {
		return g, err
	}
	g.ProxyAddresses = CleanAddresses(g.ProxyAddresses)
	return g, CheckAddresses(g.ProxyAddresses)
}

// CheckGroupTypes checks groupTypes (Unified, DynamicMembership, each at
// most once, in Graph's spelling whatever the case given).
func CheckGroupTypes(types []string) ([]string, error) {
	out := []string{}
	for _, t := range types {
		switch {
		case strings.EqualFold(t, "Unified"):
			t = "Unified"
		case strings.EqualFold(t, GroupDynamic):
			t = GroupDynamic
		default:
			return nil, Errorf(EINVALID, "Invalid group type '%s'.", t)
		}
		if slices.Contains(out, t) {
			return nil, Errorf(EINVALID, "Group type '%s' is given twice.", t)
		}
		out = append(out, t)
	}
	return out, nil
}

// MaxMembershipRule bounds a membership rule's text, as Microsoft does.
const MaxMembershipRule = 3072

// CheckDynamic checks a group's membershipRule and its processing state
// for a group that is dynamic or not, and returns them in the form kept:
// the state RuleOn when a dynamic group's is not given, in its canonical
// case. The rule's syntax is checked where it is parsed (the store).
func CheckDynamic(dynamic bool, rule, state string) (string, string, error) {
	rule = strings.TrimSpace(rule)
	if !dynamic {
		if rule != "" || state != "" {
			return "", "", Errorf(EINVALID, "membershipRule and membershipRuleProcessingState are set only on groups with '%s' in groupTypes.", GroupDynamic)
		}
		return "", "", nil
	}
	if rule == "" {
		return "", "", Errorf(EINVALID, "A group with '%s' in groupTypes needs a membershipRule.", GroupDynamic)
	}
	if len(rule) > MaxMembershipRule {
		return "", "", Errorf(EINVALID, "The membershipRule is %d characters long; at most %d are allowed.", len(rule), MaxMembershipRule)
	}
	switch {
	case state == "" || strings.EqualFold(state, RuleOn):
		state = RuleOn
	case strings.EqualFold(state, RulePaused):
		state = RulePaused
	default:
		return "", "", Errorf(EINVALID, "Invalid value '%s' for membershipRuleProcessingState: use On or Paused.", state)
	}
	return rule, state, nil
}

// Normalized returns the change as it is applied (see
// GroupCreate.Normalized), or EINVALID.
func (g GroupUpdate) Normalized() (GroupUpdate, error) {
	if g.DisplayName != nil && strings.TrimSpace(*g.DisplayName) == "" {
		return g, Errorf(EINVALID, "displayName cannot be empty.")
	}
	if err := errors.Join(CheckText("displayName", deref(g.DisplayName), MaxDisplayName), CheckText("description", deref(g.Description), MaxDescription), CheckNickname(deref(g.MailNickname))); err != nil {
		return g, err
	}
	if g.ProxyAddresses != nil {
		proxy := CleanAddresses(*g.ProxyAddresses)
		if err := CheckAddresses(proxy); err != nil {
			return g, err
		}
		g.ProxyAddresses = &proxy
	}
	if g.GroupTypes != nil {
		types, err := CheckGroupTypes(*g.GroupTypes)
		if err != nil {
			return g, err
		}
		g.GroupTypes = &types
	}
	return g, nil
}

// CheckUPN checks a userPrincipalName as given: no invisible character,
// and the shape local@domain once in IdentifierForm.
func CheckUPN(upn string) error {
	if err := CheckIdentifier("userPrincipalName", upn); err != nil {
		return err
	}
	upn = IdentifierForm(upn)
	at := strings.IndexByte(upn, '@')
	if upn == "" || at <= 0 || at == len(upn)-1 || strings.ContainsAny(upn, " \t\r\n\x00") || len(upn) > MaxUPN {
		return Errorf(EINVALID, "Invalid value specified for property 'userPrincipalName' of resource 'User'.")
	}
	return nil
}

// CheckNickname checks a mailNickname as given (empty is allowed): no
// invisible character, at most MaxNickname bytes in IdentifierForm.
func CheckNickname(nick string) error {
	if err := CheckIdentifier("mailNickname", nick); err != nil {
		return err
	}
	return CheckText("mailNickname", IdentifierForm(nick), MaxNickname)
}

// CheckText bounds a free-text property.
func CheckText(name, v string, limit int) error {
	if strings.ContainsRune(v, 0) {
		return Errorf(EINVALID, "Property '%s' contains a NUL character.", name)
	}
	if len(v) > limit {
		return Errorf(EINVALID, "Property '%s' is longer than %d characters.", name, limit)
	}
	return nil
}

// NormalizeLocation checks a usage location, an ISO 3166 alpha-2 code or
// empty for none, and returns it in upper case.
func NormalizeLocation(loc string) (string, error) {
	loc = strings.ToUpper(strings.TrimSpace(loc))
	if loc == "" {
		return "", nil
	}
	if !IsCountry(loc) {
		return "", Errorf(EINVALID, "Invalid usage location '%s': use a two-letter ISO 3166 country code.", loc)
	}
	return loc, nil
}

// CleanAddresses drops blank proxy addresses and puts the rest in
// IdentifierForm, keeping their case and prefix.
func CleanAddresses(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if t := IdentifierForm(a); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// CheckAddresses checks cleaned proxy addresses: each an address with a
// local part and a domain, at most MaxAddresses of them.
func CheckAddresses(addrs []string) error {
	for _, a := range addrs {
		if err := CheckIdentifier("proxyAddresses", a); err != nil {
			return err
		}
		n := NormalizeAddress(a)
		if at := strings.IndexByte(n, '@'); at <= 0 || at == len(n)-1 || strings.ContainsAny(n, " \t\x00") || len(n) > MaxAddress {
			return Errorf(EINVALID, "Invalid proxy address '%s'.", a)
		}
	}
	if len(addrs) > MaxAddresses {
		return Errorf(EINVALID, "At most %d proxy addresses are allowed.", MaxAddresses)
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
