package allot

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Profile holds what a directory says about a user beyond its identity:
// Graph's descriptive properties, which reports select and filter on (and
// dynamic membership rules will match). The licensing rules never read
// them. Allot sees no sign-ins: SignIn is what an import, SCIM or a PATCH
// wrote, and is reported as Graph reports signInActivity.
type Profile struct {
	GivenName, Surname, JobTitle, Department, CompanyName string
	EmployeeID, EmployeeType                              string
	StreetAddress, City, State, PostalCode, Country       string
	OfficeLocation, MobilePhone, PreferredLanguage        string
	UserType                                              string // UserMember or UserGuest
	ExternalUserState, CreationType                       string
	BusinessPhones, OtherMails                            []string
	OnPremisesSyncEnabled                                 *bool // nil: never synchronised
	ExtensionAttributes                                   [15]string
	SignIn                                                SignIn
}

// SignIn is Graph's signInActivity: the last interactive and
// non-interactive sign-ins, zero when unknown.
type SignIn struct {
	Last, LastNonInteractive time.Time
}

// User types (Graph's userType).
const (
	UserMember = "Member"
	UserGuest  = "Guest"
)

// Limits on profile values, in bytes or entries.
const (
	MaxProfileText     = 256
	MaxBusinessPhones  = 1 // Graph accepts one business phone
	MaxOtherMails      = 250
	MaxExtensionValue  = 1024
	NumExtensionFields = 15
)

// profileText is each single-valued text property of Profile, by Graph
// name, in the order Graph documents them.
var profileText = []struct {
	name string
	get  func(*Profile) *string
}{
	{"givenName", func(p *Profile) *string { return &p.GivenName }},
	{"surname", func(p *Profile) *string { return &p.Surname }},
	{"jobTitle", func(p *Profile) *string { return &p.JobTitle }},
	{"department", func(p *Profile) *string { return &p.Department }},
	{"companyName", func(p *Profile) *string { return &p.CompanyName }},
	{"employeeId", func(p *Profile) *string { return &p.EmployeeID }},
	{"employeeType", func(p *Profile) *string { return &p.EmployeeType }},
	{"streetAddress", func(p *Profile) *string { return &p.StreetAddress }},
	{"city", func(p *Profile) *string { return &p.City }},
	{"state", func(p *Profile) *string { return &p.State }},
	{"postalCode", func(p *Profile) *string { return &p.PostalCode }},
	{"country", func(p *Profile) *string { return &p.Country }},
	{"officeLocation", func(p *Profile) *string { return &p.OfficeLocation }},
	{"mobilePhone", func(p *Profile) *string { return &p.MobilePhone }},
	{"preferredLanguage", func(p *Profile) *string { return &p.PreferredLanguage }},
	{"userType", func(p *Profile) *string { return &p.UserType }},
	{"externalUserState", func(p *Profile) *string { return &p.ExternalUserState }},
	{"creationType", func(p *Profile) *string { return &p.CreationType }},
}

// ProfileTextNames are the Graph names of Profile's single-valued text
// properties.
func ProfileTextNames() []string {
	out := make([]string, len(profileText))
	for i, f := range profileText {
		out[i] = f.name
	}
	return out
}

// Text returns the text property with Graph name name, or nil if Profile has
// none by that name.
func (p *Profile) Text(name string) *string {
	for _, f := range profileText {
		if f.name == name {
			return f.get(p)
		}
	}
	return nil
}

// ExtensionName is the Graph name of extension attribute i (0-based):
// extensionAttribute1 … extensionAttribute15.
func ExtensionName(i int) string { return fmt.Sprintf("extensionAttribute%d", i+1) }

// Profile fields that are not text, as UserUpdate.ProfileFields names them.
const (
	FieldBusinessPhones        = "businessPhones"
	FieldOtherMails            = "otherMails"
	FieldOnPremisesSyncEnabled = "onPremisesSyncEnabled"
	FieldSignIn                = "signInActivity" // both of SignIn's times
)

// ProfileFieldNames are the names UserUpdate.ProfileFields accepts: the
// text properties, the fields above, and each extension attribute by its
// own name (Graph changes only the attributes a PATCH gives).
func ProfileFieldNames() []string {
	out := append(ProfileTextNames(), FieldBusinessPhones, FieldOtherMails, FieldOnPremisesSyncEnabled, FieldSignIn)
	for i := range NumExtensionFields {
		out = append(out, ExtensionName(i))
	}
	return out
}

// Normalized returns the profile as it is stored (userType "Member" when
// empty and in its canonical case, blanks trimmed from lists, no nil
// lists), or EINVALID naming the first property that is not acceptable.
func (p Profile) Normalized() (Profile, error) {
	var errs []error
	for _, f := range profileText {
		v := f.get(&p)
		*v = strings.TrimSpace(*v)
		errs = append(errs, CheckText(f.name, *v, MaxProfileText))
	}
	switch {
	case p.UserType == "" || strings.EqualFold(p.UserType, UserMember):
		p.UserType = UserMember
	case strings.EqualFold(p.UserType, UserGuest):
		p.UserType = UserGuest
	default:
		errs = append(errs, Errorf(EINVALID, "Invalid value specified for property 'userType' of resource 'User': use Member or Guest."))
	}
	var err error
	if p.BusinessPhones, err = cleanList("businessPhones", p.BusinessPhones, MaxBusinessPhones, MaxProfileText); err != nil {
		errs = append(errs, err)
	}
	if p.OtherMails, err = cleanList("otherMails", p.OtherMails, MaxOtherMails, MaxMail); err != nil {
		errs = append(errs, err)
	}
	for i, v := range p.ExtensionAttributes {
		errs = append(errs, CheckText(ExtensionName(i), v, MaxExtensionValue))
	}
	return p, errors.Join(errs...)
}

// cleanList trims and drops blank entries, and checks count and length.
func cleanList(name string, in []string, maxN, maxLen int) ([]string, error) {
	out := []string{}
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" {
			if err := CheckText(name, v, maxLen); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	if len(out) > maxN {
		return nil, Errorf(EINVALID, "Invalid value specified for property '%s' of resource 'User': at most %d values.", name, maxN)
	}
	return out, nil
}
