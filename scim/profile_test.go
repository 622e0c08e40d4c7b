package scim_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func (w *world) user(id string) *allot.User {
	w.t.Helper()
	u, err := w.db.User(w.admin, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// TestProfileMapping maps the user's profile both ways: what POST, PATCH
// (paths and pathless values) and PUT send reaches allot.Profile, what
// Allot has comes back in SCIM's attributes, filters find it, and the
// profile properties SCIM does not map stay as they are.
func TestProfileMapping(t *testing.T) {
	w := newWorld(t)
	u := w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+enterprise+`"],
		"userName":"pat@contoso.example",
		"name":{"givenName":"Pat","familyName":"Doe"},
		"title":"Engineer","userType":"Guest","preferredLanguage":"en-GB",
		"addresses":[{"type":"work","primary":true,"streetAddress":"1 Main St","locality":"Springfield","region":"IL",
			"postalCode":"62701","country":"us","formatted":"Building 7"}],
		"phoneNumbers":[{"type":"work","value":"+1 555 0100"},{"type":"mobile","value":"+1 555 0199"},{"type":"fax","value":"+1 555 0111"}],
		"`+enterprise+`":{"employeeNumber":"E-42","department":"R&D","organization":"Contoso","manager":"m-1"}}`, 201)
	id := u["id"].(string)
	want := allot.Profile{GivenName: "Pat", Surname: "Doe", JobTitle: "Engineer", UserType: allot.UserGuest, PreferredLanguage: "en-GB",
		StreetAddress: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US", OfficeLocation: "Building 7",
		BusinessPhones: []string{"+1 555 0100"}, MobilePhone: "+1 555 0199", OtherMails: []string{},
		EmployeeID: "E-42", Department: "R&D", CompanyName: "Contoso"}
	au := w.user(id)
	if !reflect.DeepEqual(au.Profile, want) || au.UsageLocation != "US" || au.DisplayName != "Pat Doe" {
		t.Fatalf("Allot user after POST:\n%+v\nwant profile\n%+v", au, want)
	}
	addr, ext := first(u, "addresses"), obj(u, enterprise)
	phones, _ := u["phoneNumbers"].([]any)
	if u["title"] != "Engineer" || u["userType"] != "Guest" || u["preferredLanguage"] != "en-GB" ||
		fmt.Sprint(obj(u, "name")) != "map[familyName:Doe formatted:Pat Doe givenName:Pat]" ||
		fmt.Sprint(addr) != "map[country:US formatted:Building 7 locality:Springfield postalCode:62701 primary:true region:IL streetAddress:1 Main St type:work]" ||
		fmt.Sprint(phones) != "[map[primary:true type:work value:+1 555 0100] map[type:mobile value:+1 555 0199]]" ||
		fmt.Sprint(ext) != "map[department:R&D employeeNumber:E-42 organization:Contoso]" {
		t.Fatalf("POST's answer: %v", u)
	}

	// What Graph set and SCIM does not map.
	if _, err := w.db.UpdateUser(w.admin, id, allot.UserUpdate{
		Profile:       allot.Profile{ExtensionAttributes: [15]string{"cost-center-7"}, OtherMails: []string{"pat@home.example"}, EmployeeType: "Contractor"},
		ProfileFields: []string{"extensionAttribute1", allot.FieldOtherMails, "employeeType"}}); err != nil {
		t.Fatal(err)
	}

	// PATCH by paths, Entra's way.
	u = w.scim("PATCH", "/Users/"+id, `{`+patchOp+`,"Operations":[
		{"op":"Replace","path":"title","value":"Staff Engineer"},
		{"op":"Replace","path":"addresses[type eq \"work\"].locality","value":"Chicago"},
		{"op":"Remove","path":"phoneNumbers[type eq \"mobile\"]"},
		{"op":"Replace","path":"`+enterprise+`:department","value":"Research"},
		{"op":"Add","path":"name.givenName","value":"Patricia"},
		{"op":"Replace","path":"userType","value":"member"},
		{"op":"Replace","path":"preferredLanguage","value":"nl-NL"}]}`, 200)
	want.JobTitle, want.City, want.MobilePhone, want.Department, want.GivenName, want.UserType, want.PreferredLanguage =
		"Staff Engineer", "Chicago", "", "Research", "Patricia", allot.UserMember, "nl-NL"
	want.ExtensionAttributes[0], want.OtherMails, want.EmployeeType = "cost-center-7", []string{"pat@home.example"}, "Contractor"
	if au := w.user(id); !reflect.DeepEqual(au.Profile, want) || au.UsageLocation != "US" {
		t.Fatalf("Allot user after PATCH by paths:\n%+v\nwant profile\n%+v", au, want)
	}
	if u["title"] != "Staff Engineer" || first(u, "addresses")["locality"] != "Chicago" || obj(u, enterprise)["department"] != "Research" ||
		obj(u, "name")["formatted"] != "Patricia Doe" || len(u["phoneNumbers"].([]any)) != 1 || u["userType"] != "Member" {
		t.Fatalf("PATCH's answer: %v", u)
	}

	// PATCH without a path: the extension as an object and by its
	// attributes' full names, next to core attributes.
	w.scim("PATCH", "/Users/"+id, `{`+patchOp+`,"Operations":[{"op":"replace","value":{
		"`+enterprise+`":{"employeeNumber":"E-43"},
		"`+enterprise+`:organization":"Fabrikam",
		"title":"Lead",
		"phoneNumbers":[{"type":"work","value":"+1 555 0200"},{"type":"mobile","value":"+1 555 0299"}]}}]}`, 200)
	want.EmployeeID, want.CompanyName, want.JobTitle, want.BusinessPhones, want.MobilePhone = "E-43", "Fabrikam", "Lead", []string{"+1 555 0200"}, "+1 555 0299"
	if au := w.user(id); !reflect.DeepEqual(au.Profile, want) {
		t.Fatalf("Allot user after a pathless PATCH:\n%+v\nwant profile\n%+v", au.Profile, want)
	}

	// Removals.
	w.scim("PATCH", "/Users/"+id, `{`+patchOp+`,"Operations":[
		{"op":"remove","path":"`+enterprise+`:department"},
		{"op":"remove","path":"name.familyName"},
		{"op":"remove","path":"addresses[type eq \"work\"].formatted"},
		{"op":"remove","path":"phoneNumbers[type eq \"work\"].value"}]}`, 200)
	want.Department, want.Surname, want.OfficeLocation, want.BusinessPhones = "", "", "", []string{}
	if au := w.user(id); !reflect.DeepEqual(au.Profile, want) {
		t.Fatalf("Allot user after removals:\n%+v\nwant profile\n%+v", au.Profile, want)
	}

	// PUT asserts what it sends, attribute by attribute: the extension's
	// organization changes, its employeeNumber and the phones (absent)
	// stay; an address with only a country clears the street and sets
	// the usage location and the country.
	w.scim("PUT", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+enterprise+`"],
		"userName":"pat@contoso.example","name":{"givenName":"Pat","familyName":"Smith"},
		"addresses":[{"type":"work","country":"DE"}],
		"`+enterprise+`":{"organization":"Contoso GmbH"}}`, 200)
	want.GivenName, want.Surname, want.CompanyName = "Pat", "Smith", "Contoso GmbH"
	want.StreetAddress, want.City, want.State, want.PostalCode, want.Country = "", "", "", "", "DE"
	if au := w.user(id); !reflect.DeepEqual(au.Profile, want) || au.UsageLocation != "DE" {
		t.Fatalf("Allot user after PUT:\n%+v\nwant profile\n%+v", au, want)
	}

	// A second user, so that filters must choose.
	w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+enterprise+`"],"userName":"sam@contoso.example",
		"title":"Lead","name":{"familyName":"Smith"},"`+enterprise+`":{"employeeNumber":"E-44","organization":"Contoso GmbH"}}`, 201)
	for _, c := range []struct {
		filter string
		n      int
	}{
		{`title eq "Lead"`, 2},
		{`title eq "lead" and name.givenName eq "Pat"`, 1},
		{`name.familyName eq "Smith"`, 2},
		{`` + enterprise + `:employeeNumber eq "E-43"`, 1},
		{`employeeNumber eq "E-44"`, 1},
		{`userName eq "pat@contoso.example" and ` + enterprise + `:organization eq "Contoso GmbH"`, 1},
		{`organization sw "Contoso"`, 2},
		{`userType eq "Member"`, 2},
		{`preferredLanguage eq "nl-NL"`, 1},
		{`addresses.country eq "DE"`, 1},
		{`department pr`, 0},
		{`manager eq "m-1"`, 0},
	} {
		m := w.scim("GET", "/Users?filter="+q(c.filter), "", 200)
		if m["totalResults"] != float64(c.n) {
			t.Errorf("%s: %v results, want %d", c.filter, m["totalResults"], c.n)
		}
	}

	// attributes and excludedAttributes name the extension's attributes
	// by their full names; the extension comes back as one object.
	u = w.scim("GET", "/Users/"+id+"?attributes="+q(enterprise+":employeeNumber"), "", 200)
	if u["userName"] != nil || obj(u, enterprise)["employeeNumber"] != "E-43" {
		t.Fatalf("attributes of the extension: %v", u)
	}
	u = w.scim("GET", "/Users/"+id+"?excludedAttributes="+q(enterprise), "", 200)
	if u["userName"] != "pat@contoso.example" || u[enterprise] != nil {
		t.Fatalf("excluded extension: %v", u)
	}
}

// TestProfileRefusals sends profile values Allot refuses: each is SCIM's
// 400 invalidValue, and neither the user nor anything else changes.
func TestProfileRefusals(t *testing.T) {
	w := newWorld(t)
	id := w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"kim@contoso.example",
		"title":"Analyst","phoneNumbers":[{"type":"work","value":"+1 555 0100"}]}`, 201)["id"].(string)
	long := strings.Repeat("x", 300)
	before, user := w.lastAudit(), w.user(id)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@contoso.example","title":"` + long + `"}`},
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + enterprise + `"],"userName":"c@contoso.example","` + enterprise + `":{"department":"` + long + `"}}`},
		{"PATCH", "/Users/" + id, `{` + patchOp + `,"Operations":[{"op":"replace","path":"title","value":"` + long + `"}]}`},
		{"PATCH", "/Users/" + id, `{` + patchOp + `,"Operations":[{"op":"replace","path":"title","value":"a\u0000b"}]}`},
		{"PATCH", "/Users/" + id, `{` + patchOp + `,"Operations":[{"op":"replace","path":"phoneNumbers[type eq \"work\"].value","value":"` + long + `"}]}`},
		{"PATCH", "/Users/" + id, `{` + patchOp + `,"Operations":[{"op":"replace","path":"` + enterprise + `:employeeNumber","value":"` + long + `"}]}`},
		{"PATCH", "/Users/" + id, `{` + patchOp + `,"Operations":[{"op":"replace","path":"name.givenName","value":"` + long + `"}]}`},
		{"PUT", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"kim@contoso.example","addresses":[{"type":"work","locality":"` + long + `"}]}`},
	} {
		st, m, h := w.do(w.token, c.method, "/scim/v2"+c.path, c.body)
		t.Run(c.method+" "+c.body, func(t *testing.T) {
			checkError(t, st, m, h, 400, "invalidValue")
			if after := w.lastAudit(); after != before {
				t.Fatalf("the refused request changed something: audit %d → %d", before, after)
			}
			if now := w.user(id); !reflect.DeepEqual(now, user) {
				t.Fatalf("user changed:\n%+v\nwas\n%+v", now, user)
			}
		})
	}
}

// TestManagerForms sends the enterprise extension's manager in every form
// identity providers use: a string (Entra's tutorial's schema example),
// an object (RFC 7643 §4.3), a list of one object (Entra's PATCH), by the
// path "manager" or the extension's, and without a path. Each is accepted;
// Allot keeps no manager, so none changes the user or comes back. What is
// not a manager in any form is still refused.
func TestManagerForms(t *testing.T) {
	w := newWorld(t)
	mgr := w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"boss@contoso.example"}`, 201)["id"].(string)
	forms := []string{`"` + mgr + `"`, `{"value":"` + mgr + `"}`, `[{"value":"` + mgr + `","$ref":"../Users/` + mgr + `"}]`, `["` + mgr + `"]`, `[]`}
	var id string
	for i, f := range forms {
		u := w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+enterprise+`"],
			"userName":"e`+fmt.Sprint(i)+`@contoso.example","`+enterprise+`":{"department":"Sales","Manager":`+f+`}}`, 201)
		if obj(u, enterprise)["department"] != "Sales" || obj(u, enterprise)["manager"] != nil {
			t.Fatalf("POST with manager %s: %v", f, u)
		}
		id = u["id"].(string)
	}
	before := w.lastAudit()
	for _, f := range forms {
		w.scim("PUT", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+enterprise+`"],
			"userName":"e4@contoso.example","`+enterprise+`":{"department":"Sales","manager":`+f+`}}`, 200)
		for _, op := range []string{
			`{"op":"Add","path":"manager","value":` + f + `}`,
			`{"op":"Replace","path":"` + enterprise + `:manager","value":` + f + `}`,
			`{"op":"Add","value":{"` + enterprise + `":{"manager":` + f + `}}}`,
			`{"op":"Add","value":{"` + enterprise + `:manager":` + f + `}}`,
			`{"op":"Add","value":{"manager":` + f + `}}`,
		} {
			u := w.scim("PATCH", "/Users/"+id, `{`+patchOp+`,"Operations":[`+op+`]}`, 200)
			if obj(u, enterprise)["manager"] != nil {
				t.Fatalf("%s: %v", op, u)
			}
		}
	}
	w.scim("PATCH", "/Users/"+id, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"manager.value","value":"`+mgr+`"},{"op":"Remove","path":"`+enterprise+`:manager"}]}`, 200)
	if after := w.lastAudit(); after != before {
		t.Fatalf("a manager changed the user: audit %d → %d", before, after)
	}
	w.scimErr("PATCH", "/Users/"+id, `{`+patchOp+`,"Operations":[{"op":"Add","path":"manager","value":5}]}`, 400, "invalidValue")
	w.scimErr("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+enterprise+`"],"userName":"x@contoso.example","`+enterprise+`":{"manager":true}}`, 400, "invalidValue")
	w.scimErr("GET", "/Users?filter="+q(`manager sw "x"`), "", 400, "invalidFilter")
}

// TestUnknownMembers adds members that are not users or groups of the
// tenant, in every way a group takes members: each request is SCIM's 400
// invalidValue naming the id, never a 404 (the group exists) or another
// error, and nothing changes.
func TestUnknownMembers(t *testing.T) {
	w := newWorld(t)
	uid := w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"m@contoso.example"}`, 201)["id"].(string)
	gid := w.scim("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":[{"value":"`+uid+`"}]}`, 201)["id"].(string)
	// A user of another tenant exists, but not here.
	_, out := w.call(operator, "POST", "/allot/v1/tenants", `{"displayName":"Fabrikam"}`, 201)
	_, foreign := w.call(out["token"].(map[string]any)["secret"].(string), "POST", "/scim/v2/Users",
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"f@fabrikam.example"}`, 201)
	for _, ghost := range []string{"7d7f2b5c-2a6e-4f43-9d4e-3a2b1c0d9e8f", foreign["id"].(string)} {
		before := w.lastAudit()
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"H","members":[{"value":"` + ghost + `"}]}`},
			{"PATCH", "/Groups/" + gid, `{` + patchOp + `,"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"` + ghost + `"}]}]}`},
			{"PATCH", "/Groups/" + gid, `{` + patchOp + `,"Operations":[{"op":"add","value":{"members":[{"value":"` + ghost + `"}]}}]}`},
			{"PATCH", "/Groups/" + gid, `{` + patchOp + `,"Operations":[{"op":"remove","path":"members[value eq \"` + uid + `\"]"},{"op":"add","path":"members","value":[{"value":"` + ghost + `"}]}]}`},
			{"PATCH", "/Groups/" + gid, `{` + patchOp + `,"Operations":[{"op":"replace","path":"members","value":[{"value":"` + uid + `"},{"value":"` + ghost + `"}]}]}`},
			{"PUT", "/Groups/" + gid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":[{"value":"` + ghost + `"}]}`},
		} {
			st, m, h := w.do(w.token, c.method, "/scim/v2"+c.path, c.body)
			t.Run(c.method+" "+c.body, func(t *testing.T) {
				checkError(t, st, m, h, 400, "invalidValue")
				if d, _ := m["detail"].(string); !strings.Contains(d, ghost) {
					t.Fatalf("the detail does not name the member: %v", m)
				}
				if after := w.lastAudit(); after != before {
					t.Fatalf("the refused request changed something: audit %d → %d", before, after)
				}
			})
		}
		if got := w.members(gid); fmt.Sprint(got) != fmt.Sprint([]string{uid}) {
			t.Fatalf("members changed: %v", got)
		}
	}
}

// TestRFCUserType: RFC 7643's userType ("Contractor", as Okta's guide
// sends it) is not Graph's Member or Guest; it is kept as employeeType,
// and the user stays what it was.
func TestRFCUserType(t *testing.T) {
	w := newWorld(t)
	id := w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"con@contoso.example","userType":"Contractor"}`, 201)["id"].(string)
	if u := w.user(id); u.Profile.UserType != allot.UserMember || u.Profile.EmployeeType != "Contractor" {
		t.Fatalf("after POST: userType %q employeeType %q", u.Profile.UserType, u.Profile.EmployeeType)
	}
	w.scim("PATCH", "/Users/"+id, `{`+patchOp+`,"Operations":[{"op":"replace","path":"userType","value":"guest"}]}`, 200)
	w.scim("PATCH", "/Users/"+id, `{`+patchOp+`,"Operations":[{"op":"replace","path":"userType","value":"Employee"}]}`, 200)
	if u := w.user(id); u.Profile.UserType != allot.UserGuest || u.Profile.EmployeeType != "Employee" {
		t.Fatalf("after PATCH: userType %q employeeType %q", u.Profile.UserType, u.Profile.EmployeeType)
	}
}
