package store_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
)

// importUsers parses a users file, which must parse, and imports it.
func (e *env) importUsers(data string, dryRun bool) *csvio.Report {
	e.t.Helper()
	var errs csvio.Errors
	in := &csvio.Import{UsersFile: "users.csv", Users: csvio.ParseUsers("users.csv", []byte(data), &errs)}
	if errs.Len() > 0 {
		e.t.Fatalf("parse: %s", errs.Error())
	}
	rep, err := e.db.ImportCSV(e.ctx, in, dryRun)
	e.must(err)
	if rep.Errors.Len() > 0 {
		e.t.Fatalf("import: %s", rep.Errors.Error())
	}
	return rep
}

func (e *env) profile(upn string) allot.Profile {
	e.t.Helper()
	u, err := e.db.User(e.ctx, upn)
	e.must(err)
	return u.Profile
}

// updated is the fields the report names for each updated user.
func updated(rep *csvio.Report) map[string][]string {
	out := map[string][]string{}
	for _, c := range rep.Changes {
		if c.Object == "user" && c.Action == "update" {
			out[c.Key] = c.Fields
		}
	}
	return out
}

// The profile columns of users.csv create users with their profile; a
// later file changes only the columns it has, one sign-in time without
// the other, reports the fields it changes, clears with an empty cell
// (but for a boolean), and with an error anywhere changes nothing.
func TestImportProfile(t *testing.T) {
	e := newEnv(t, "US")
	rep := e.importUsers("userPrincipalName,displayName,givenName,jobTitle,department,userType,businessPhones,otherMails,"+
		"onPremisesSyncEnabled,lastSignInDateTime,lastNonInteractiveSignInDateTime,extensionAttribute1,extensionAttribute15\n"+
		"alice@contoso.com,Alice,Alice,Engineer,R&D,member,+1 425 555 0100,alice@home.example;alice@old.example,"+
		"true,2025-01-31T09:00:00Z,2025-02-01T10:30:00.5+01:00,CC-7,badge 42\n"+
		"bob@contoso.com,Bob,,,,GUEST,,,,,,,\n", false)
	if rep.Users.Created != 2 || !rep.Applied {
		t.Fatalf("create: %+v", rep)
	}
	sync := true
	want := allot.Profile{GivenName: "Alice", JobTitle: "Engineer", Department: "R&D", UserType: allot.UserMember,
		BusinessPhones: []string{"+1 425 555 0100"}, OtherMails: []string{"alice@home.example", "alice@old.example"}, OnPremisesSyncEnabled: &sync,
		SignIn: allot.SignIn{Last: time.Date(2025, 1, 31, 9, 0, 0, 0, time.UTC), LastNonInteractive: time.Date(2025, 2, 1, 9, 30, 0, 5e8, time.UTC)}}
	want.ExtensionAttributes[0], want.ExtensionAttributes[14] = "CC-7", "badge 42"
	if got := e.profile("alice@contoso.com"); !reflect.DeepEqual(got, want) {
		t.Fatalf("alice's profile:\n%+v\nwant\n%+v", got, want)
	}
	if got := e.profile("bob@contoso.com"); got.UserType != allot.UserGuest || got.OnPremisesSyncEnabled != nil || !got.SignIn.Last.IsZero() {
		t.Errorf("bob's profile: %+v", got)
	}

	// A file without profile columns leaves profiles alone, and gives a
	// new user the profile CreateUser would.
	rep = e.importUsers("userPrincipalName,displayName\nalice@contoso.com,Alice\ncarol@contoso.com,Carol\n", false)
	if rep.Users.Created != 1 || rep.Users.Unchanged != 1 || rep.Users.Updated != 0 {
		t.Fatalf("no profile columns: %+v", rep.Users)
	}
	if got := e.profile("alice@contoso.com"); !reflect.DeepEqual(got, want) {
		t.Fatalf("a file without profile columns changed alice's profile:\n%+v", got)
	}
	if got := e.profile("carol@contoso.com"); got.UserType != allot.UserMember || got.BusinessPhones == nil || got.OnPremisesSyncEnabled != nil {
		t.Errorf("carol's profile: %+v", got)
	}

	// One column changes one property, and the report names it.
	rep = e.importUsers("userPrincipalName,displayName,department\nalice@contoso.com,Alice,Sales\nbob@contoso.com,Bob,\n", false)
	want.Department = "Sales"
	if got := updated(rep); !reflect.DeepEqual(got, map[string][]string{"alice@contoso.com": {"department"}}) || rep.Users.Unchanged != 1 {
		t.Fatalf("report %v, %+v", got, rep.Users)
	}
	if got := e.profile("alice@contoso.com"); !reflect.DeepEqual(got, want) {
		t.Fatalf("alice's profile after a department change:\n%+v\nwant\n%+v", got, want)
	}

	// One sign-in column keeps the other time; the reclaim scripts write
	// either.
	rep = e.importUsers("userPrincipalName,displayName,lastNonInteractiveSignInDateTime\nalice@contoso.com,Alice,2025-06-01T00:00:00Z\n", false)
	want.SignIn.LastNonInteractive = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if got := updated(rep); !reflect.DeepEqual(got, map[string][]string{"alice@contoso.com": {csvio.ColLastNonInteractiveSignIn}}) {
		t.Fatalf("report %v", got)
	}
	if got := e.profile("alice@contoso.com"); !reflect.DeepEqual(got, want) {
		t.Fatalf("alice's profile after a sign-in:\n%+v\nwant\n%+v", got, want)
	}

	// Empty cells clear, but an empty boolean keeps what is stored.
	clear := "userPrincipalName,displayName,jobTitle,userType,otherMails,onPremisesSyncEnabled,lastSignInDateTime,extensionAttribute1\n" +
		"alice@contoso.com,Alice,,,,,,\n"
	rep = e.importUsers(clear, false)
	want.JobTitle, want.OtherMails, want.SignIn.Last, want.ExtensionAttributes[0] = "", []string{}, time.Time{}, ""
	wantFields := []string{"jobTitle", allot.FieldOtherMails, csvio.ColLastSignIn, "extensionAttribute1"}
	if got := updated(rep); !reflect.DeepEqual(got, map[string][]string{"alice@contoso.com": wantFields}) {
		t.Fatalf("report %v, want %q", got, wantFields)
	}
	if got := e.profile("alice@contoso.com"); !reflect.DeepEqual(got, want) {
		t.Fatalf("alice's profile after clearing:\n%+v\nwant\n%+v", got, want)
	}
	if rep = e.importUsers(clear, false); rep.Applied || rep.Users.Unchanged != 1 {
		t.Fatalf("the same file again: %+v", rep)
	}

	// A dry run reports a profile change and makes none.
	rep = e.importUsers("userPrincipalName,displayName,userType\nbob@contoso.com,Bob,member\n", true)
	if got := updated(rep); !reflect.DeepEqual(got, map[string][]string{"bob@contoso.com": {"userType"}}) || rep.Applied {
		t.Fatalf("dry run report %v, %+v", got, rep)
	}
	if got := e.profile("bob@contoso.com"); got.UserType != allot.UserGuest {
		t.Fatalf("a dry run changed bob's userType to %q", got.UserType)
	}
}

// Rows whose profile fails the store's checks, should the parser let them
// through, are refused at their line, for existing users and new ones,
// and the whole import with them.
func TestImportProfileErrorsChangeNothing(t *testing.T) {
	e := newEnv(t, "US")
	e.importUsers("userPrincipalName,displayName,department\nalice@contoso.com,Alice,R&D\nbob@contoso.com,Bob,\n", false)
	before := e.footprint()
	long := strings.Repeat("x", allot.MaxExtensionValue+1)
	var ext [allot.NumExtensionFields]string
	ext[2] = long
	rep, err := e.db.ImportCSV(e.ctx, &csvio.Import{UsersFile: "users.csv", Users: []csvio.UserRow{
		{Line: 2, UserPrincipalName: "alice@contoso.com", DisplayName: "Alice",
			Profile: allot.Profile{Department: "Sales"}, ProfileFields: []string{"department"}},
		{Line: 3, UserPrincipalName: "bob@contoso.com", DisplayName: "Bob",
			Profile: allot.Profile{UserType: "Administrator"}, ProfileFields: []string{"userType"}},
		{Line: 4, UserPrincipalName: "carol@contoso.com", DisplayName: "Carol",
			Profile: allot.Profile{ExtensionAttributes: ext}, ProfileFields: []string{allot.ExtensionName(2)}},
		{Line: 5, UserPrincipalName: "alice2@contoso.com", DisplayName: "Alice 2",
			Profile: allot.Profile{BusinessPhones: []string{"1", "2"}}, ProfileFields: []string{allot.FieldBusinessPhones}},
	}}, false)
	e.must(err)
	got := map[int]string{}
	for _, x := range rep.Errors.List {
		got[x.Line] = x.Message
	}
	for line, want := range map[int]string{3: "'userType'", 4: "'extensionAttribute3' is longer than 1024", 5: "'businessPhones'"} {
		if !strings.Contains(got[line], want) {
			t.Errorf("line %d: %q, want it to name %s", line, got[line], want)
		}
	}
	if len(got) != 3 {
		t.Errorf("errors %v, want lines 3, 4 and 5", got)
	}
	if rep.Applied || e.footprint() != before || e.profile("alice@contoso.com").Department != "R&D" {
		t.Fatalf("an import with errors was applied: %+v", rep)
	}
}
