package api

import (
	"reflect"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// profileBody is the part of a user's POST or PATCH body that is its
// profile (allot.Profile). Each text property is tagged with its Graph
// name, which is also allot.Profile.Text's key. onPremisesSyncEnabled,
// externalUserState, creationType and signInActivity are read-only in
// Graph, where a directory sync or the sign-in service writes them; in
// Allot a client writes them, since Allot is the directory of record and
// sees no sign-ins (docs/COMPATIBILITY.md).
type profileBody struct {
	GivenName         *string `json:"givenName"`
	Surname           *string `json:"surname"`
	JobTitle          *string `json:"jobTitle"`
	Department        *string `json:"department"`
	CompanyName       *string `json:"companyName"`
	EmployeeID        *string `json:"employeeId"`
	EmployeeType      *string `json:"employeeType"`
	StreetAddress     *string `json:"streetAddress"`
	City              *string `json:"city"`
	State             *string `json:"state"`
	PostalCode        *string `json:"postalCode"`
	Country           *string `json:"country"`
	OfficeLocation    *string `json:"officeLocation"`
	MobilePhone       *string `json:"mobilePhone"`
	PreferredLanguage *string `json:"preferredLanguage"`
	UserType          *string `json:"userType"`
	ExternalUserState *string `json:"externalUserState"`
	CreationType      *string `json:"creationType"`

	BusinessPhones        *[]string          `json:"businessPhones"`
	OtherMails            *[]string          `json:"otherMails"`
	OnPremisesSyncEnabled *bool              `json:"onPremisesSyncEnabled"`
	ExtensionAttributes   map[string]*string `json:"onPremisesExtensionAttributes"`
	SignInActivity        *signInBody        `json:"signInActivity"`
}

type signInBody struct {
	LastSignInDateTime               *string `json:"lastSignInDateTime"`
	LastNonInteractiveSignInDateTime *string `json:"lastNonInteractiveSignInDateTime"`
}

// profile reads the profile properties present in a body into p, and
// names them as allot.UserUpdate.ProfileFields does. null clears a
// property, as in Graph.
func (b *profileBody) profile(present map[string]bool) (p allot.Profile, fields []string, err error) {
	v := reflect.ValueOf(b).Elem()
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		s, ok := v.Field(i).Interface().(*string)
		if !ok || !present[name] {
			continue
		}
		if s != nil {
			if *p.Text(name), err = text(name, "User", *s, allot.MaxProfileText, false); err != nil {
				return p, nil, err
			}
		}
		fields = append(fields, name)
	}
	for _, l := range []struct {
		name string
		in   *[]string
		out  *[]string
	}{{allot.FieldBusinessPhones, b.BusinessPhones, &p.BusinessPhones}, {allot.FieldOtherMails, b.OtherMails, &p.OtherMails}} {
		if present[l.name] {
			if l.in != nil {
				*l.out = *l.in
			}
			fields = append(fields, l.name)
		}
	}
	if present[allot.FieldOnPremisesSyncEnabled] {
		p.OnPremisesSyncEnabled, fields = b.OnPremisesSyncEnabled, append(fields, allot.FieldOnPremisesSyncEnabled)
	}
	for key, val := range b.ExtensionAttributes {
		i := extensionIndex(key)
		if i < 0 {
			return p, nil, badRequest("Property 'onPremisesExtensionAttributes/%s' does not exist on type 'microsoft.graph.onPremisesExtensionAttributes'.", clip(key))
		}
		if val != nil {
			p.ExtensionAttributes[i] = *val
		}
		fields = append(fields, allot.ExtensionName(i))
	}
	if present[allot.FieldSignIn] {
		if b.SignInActivity != nil {
			if p.SignIn.Last, err = signInTime("lastSignInDateTime", b.SignInActivity.LastSignInDateTime); err != nil {
				return p, nil, err
			}
			if p.SignIn.LastNonInteractive, err = signInTime("lastNonInteractiveSignInDateTime", b.SignInActivity.LastNonInteractiveSignInDateTime); err != nil {
				return p, nil, err
			}
		}
		fields = append(fields, allot.FieldSignIn)
	}
	return p, fields, nil
}

// extensionIndex is the index of extensionAttribute1..15 (any case), or -1.
func extensionIndex(key string) int {
	for i := range allot.NumExtensionFields {
		if strings.EqualFold(key, allot.ExtensionName(i)) {
			return i
		}
	}
	return -1
}

func signInTime(prop string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return t, badRequest("Invalid value specified for property 'signInActivity/%s': expected a time such as 2024-01-31T09:00:00Z.", prop)
	}
	return t.UTC(), nil
}

// profileView adds u's profile to a full user view, with Graph's nulls.
func profileView(full object, p *allot.Profile) {
	for _, name := range allot.ProfileTextNames() {
		full[name] = nullable(*p.Text(name))
	}
	full["businessPhones"] = list(p.BusinessPhones)
	full["otherMails"] = list(p.OtherMails)
	if p.OnPremisesSyncEnabled != nil {
		full["onPremisesSyncEnabled"] = *p.OnPremisesSyncEnabled
	} else {
		full["onPremisesSyncEnabled"] = nil
	}
	ext := object{}
	for i, v := range p.ExtensionAttributes {
		ext[allot.ExtensionName(i)] = nullable(v)
	}
	full["onPremisesExtensionAttributes"] = ext
	last := nullTime(p.SignIn.Last)
	full["signInActivity"] = object{
		"lastSignInDateTime":                last,
		"lastSignInRequestId":               nil,
		"lastNonInteractiveSignInDateTime":  nullTime(p.SignIn.LastNonInteractive),
		"lastNonInteractiveSignInRequestId": nil,
		"lastSuccessfulSignInDateTime":      last,
		"lastSuccessfulSignInRequestId":     nil,
	}
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return jsonTime(t)
}

// profileSelect are the profile's properties a $select may name.
func profileSelect() []string {
	return append(allot.ProfileTextNames(), "otherMails", "onPremisesSyncEnabled", "onPremisesExtensionAttributes", "signInActivity")
}

// profileFilter are the profile's filterable properties.
func profileFilter(m map[string]odata.FieldKind) map[string]odata.FieldKind {
	for _, name := range allot.ProfileTextNames() {
		m[name] = odata.String
	}
	for i := range allot.NumExtensionFields {
		m["onPremisesExtensionAttributes/"+allot.ExtensionName(i)] = odata.String
	}
	m["onPremisesSyncEnabled"] = odata.Bool
	m["businessPhones"] = odata.Strings
	m["otherMails"] = odata.Strings
	m["signInActivity/lastSignInDateTime"] = odata.DateTime
	m["signInActivity/lastNonInteractiveSignInDateTime"] = odata.DateTime
	m["signInActivity/lastSuccessfulSignInDateTime"] = odata.DateTime
	return m
}
