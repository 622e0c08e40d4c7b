package scim

import (
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

// The user's profile (allot.Profile) as SCIM carries it, after the mapping
// Microsoft Entra ID and Okta use by default (docs/SCIM.md):
//
//	name.givenName, name.familyName          ↔ givenName, surname
//	title, userType, preferredLanguage       ↔ jobTitle, userType, preferredLanguage
//	userType other than Member or Guest       → employeeType
//	addresses (the work one): streetAddress,
//	  locality, region, postalCode           ↔ streetAddress, city, state, postalCode
//	  formatted                              ↔ officeLocation (Entra maps
//	                                           physicalDeliveryOfficeName there)
//	phoneNumbers[type eq "work"].value       ↔ businessPhones[0]
//	phoneNumbers[type eq "mobile"].value     ↔ mobilePhone
//	enterprise employeeNumber, department,
//	  organization                           ↔ employeeId, department, companyName
//
// addresses.country stays the usage location (users.go).

// profileFields are the Graph names of the text properties SCIM maps, as
// UserUpdate.ProfileFields names them.
var profileFields = []string{"givenName", "surname", "jobTitle", "userType", "employeeType", "preferredLanguage",
	"streetAddress", "city", "state", "postalCode", "officeLocation", "mobilePhone",
	"employeeId", "department", "companyName"}

// addressFields map the sub-attributes of a SCIM address (lower case) to
// the profile; country is not among them.
var addressFields = []struct{ sub, field string }{
	{"streetaddress", "streetAddress"}, {"locality", "city"}, {"region", "state"},
	{"postalcode", "postalCode"}, {"formatted", "officeLocation"},
}

// enterpriseFields map the enterprise extension's attributes (lower case)
// to the profile. Its manager is accepted but not kept: Allot has no
// manager (docs/SCIM.md).
var enterpriseFields = []struct{ attr, field string }{
	{"employeenumber", "employeeId"}, {"department", "department"}, {"organization", "companyName"},
}

// entKey is the enterprise extension's key in a lower-cased document.
var entKey = strings.ToLower(enterpriseSchemaID)

// profileAttributes adds the profile to a user's SCIM attributes, leaving
// out what is empty. name.formatted is made of the given and family names
// when withFormatted, as Entra's default mapping makes it.
func profileAttributes(attrs map[string]any, p *allot.Profile, location string, withFormatted bool) {
	name := map[string]any{}
	setText(name, "givenName", p.GivenName)
	setText(name, "familyName", p.Surname)
	if f := strings.TrimSpace(p.GivenName + " " + p.Surname); f != "" && withFormatted {
		name["formatted"] = f
	}
	if len(name) > 0 {
		attrs["name"] = name
	}
	setText(attrs, "title", p.JobTitle)
	setText(attrs, "userType", p.UserType)
	setText(attrs, "preferredLanguage", p.PreferredLanguage)

	addr := map[string]any{}
	setText(addr, "streetAddress", p.StreetAddress)
	setText(addr, "locality", p.City)
	setText(addr, "region", p.State)
	setText(addr, "postalCode", p.PostalCode)
	setText(addr, "formatted", p.OfficeLocation)
	setText(addr, "country", location)
	if len(addr) > 0 {
		addr["type"], addr["primary"] = "work", true
		attrs["addresses"] = []any{addr}
	}

	var phones []any
	if len(p.BusinessPhones) > 0 && p.BusinessPhones[0] != "" {
		phones = append(phones, map[string]any{"type": "work", "value": p.BusinessPhones[0], "primary": true})
	}
	if p.MobilePhone != "" {
		phones = append(phones, map[string]any{"type": "mobile", "value": p.MobilePhone})
	}
	if len(phones) > 0 {
		attrs["phoneNumbers"] = phones
	}

	ent := map[string]any{}
	setText(ent, "employeeNumber", p.EmployeeID)
	setText(ent, "department", p.Department)
	setText(ent, "organization", p.CompanyName)
	if len(ent) > 0 {
		attrs[enterpriseSchemaID] = ent
	}
}

func setText(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}

// profileOf reads the mapped profile properties from a lower-cased SCIM
// document into p. An attribute the document lacks keeps p's value when
// keepAbsent (POST and PUT: not asserted) and is cleared otherwise (PATCH,
// whose document is the whole user).
func profileOf(d doc, p allot.Profile, keepAbsent bool) allot.Profile {
	text := func(m map[string]any, key string, field *string) {
		if v, ok := m[key]; ok {
			*field, _ = v.(string)
		} else if !keepAbsent {
			*field = ""
		}
	}
	if n, ok := d["name"].(map[string]any); ok {
		// The name is one attribute: a name without a familyName has none.
		p.GivenName, _ = n["givenname"].(string)
		p.Surname, _ = n["familyname"].(string)
	} else if !keepAbsent {
		p.GivenName, p.Surname = "", ""
	}
	text(d, "title", &p.JobTitle)
	prevType := p.UserType
	text(d, "usertype", &p.UserType)
	// RFC 7643's userType names a kind of worker ("Employee", "Contractor",
	// as Okta's guide sends it); Graph's is only Member or Guest. The RFC's
	// sense is Graph's employeeType, so it is kept there rather than
	// refused, which would fail every create of an app that maps it.
	if t := strings.TrimSpace(p.UserType); t != "" && !strings.EqualFold(t, allot.UserMember) && !strings.EqualFold(t, allot.UserGuest) {
		p.EmployeeType, p.UserType = t, prevType
	}
	text(d, "preferredlanguage", &p.PreferredLanguage)

	if list, ok := d["addresses"].([]any); ok || !keepAbsent {
		a := map[string]any{}
		if i := pick(list, hasAddressField); i >= 0 {
			a = list[i].(map[string]any)
		}
		for _, f := range addressFields {
			*p.Text(f.field), _ = a[f.sub].(string)
		}
		// Entra's tutorial puts the office in an "other" address.
		if p.OfficeLocation == "" {
			for _, e := range list {
				m, _ := e.(map[string]any)
				if f, _ := m["formatted"].(string); strings.TrimSpace(f) != "" {
					p.OfficeLocation = f
					break
				}
			}
		}
	}

	if list, ok := d["phonenumbers"].([]any); ok || !keepAbsent {
		work, mobile := phoneOfType(list, "work"), phoneOfType(list, "mobile")
		p.BusinessPhones = []string{}
		if work != "" {
			p.BusinessPhones = []string{work}
		}
		p.MobilePhone = mobile
	}

	ent, ok := d[entKey].(map[string]any)
	if ok || !keepAbsent {
		// Each attribute of an extension is an attribute of the user, so
		// a PUT that sends the extension without one keeps it.
		for _, f := range enterpriseFields {
			text(ent, f.attr, p.Text(f.field))
		}
	}
	return p
}

func hasAddressField(m map[string]any) bool {
	for _, f := range addressFields {
		if v, _ := m[f.sub].(string); strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// phoneOfType is the value of the first phone number of type typ.
func phoneOfType(list []any, typ string) string {
	for _, e := range list {
		m, _ := e.(map[string]any)
		t, _ := m["type"].(string)
		v, _ := m["value"].(string)
		if strings.EqualFold(t, typ) && strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// profileChanges names the mapped profile fields that differ between old
// and next, as UserUpdate.ProfileFields wants them.
func profileChanges(old, next *allot.Profile) []string {
	var out []string
	for _, f := range profileFields {
		if *old.Text(f) != *next.Text(f) {
			out = append(out, f)
		}
	}
	if !slices.Equal(old.BusinessPhones, next.BusinessPhones) && len(old.BusinessPhones)+len(next.BusinessPhones) > 0 {
		out = append(out, allot.FieldBusinessPhones)
	}
	return out
}
