package csvio_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
)

func TestParseUsers(t *testing.T) {
	data := "\xef\xbb\xbfUserPrincipalName, displayName ,usageLocation,proxyAddresses,accountEnabled\n" +
		"alice@contoso.example,Alice,us,SMTP:alice@contoso.example; smtp:al@contoso.example,yes\n" +
		",,,,\n" + // a spreadsheet's empty row
		"\"bob@contoso.example\",\"Bob, Jr.\",,,\n" +
		"carol@contoso.example,'=Carol,GB,,false\n"
	var errs csvio.Errors
	rows := csvio.ParseUsers("users.csv", []byte(data), &errs)
	if errs.Len() != 0 {
		t.Fatalf("errors: %v", errs.Error())
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3: %+v", len(rows), rows)
	}
	a, b, c := rows[0], rows[1], rows[2]
	if a.Line != 2 || *a.UsageLocation != "US" || len(*a.ProxyAddresses) != 2 || !*a.AccountEnabled || a.Mail != nil {
		t.Errorf("alice: %+v", a)
	}
	if b.Line != 4 || b.DisplayName != "Bob, Jr." || *b.UsageLocation != "" || len(*b.ProxyAddresses) != 0 || b.AccountEnabled != nil {
		t.Errorf("bob: %+v", b)
	}
	if c.DisplayName != "=Carol" || *c.AccountEnabled {
		t.Errorf("carol: the export's apostrophe is not undone: %+v", c)
	}
}

// TestParseUsersProfile: the profile columns are Graph's names in any
// case; only the columns a file has are named to change, an empty cell
// clears (an empty boolean keeps), and values come out as the store
// keeps them.
func TestParseUsersProfile(t *testing.T) {
	data := "userPrincipalName,displayName,JobTitle,department,userType,businessPhones,otherMails,onPremisesSyncEnabled," +
		"lastSignInDateTime,extensionAttribute3,ExtensionAttribute15\n" +
		"alice@contoso.example,Alice,Engineer, R&D ,guest,'+1 425 555 0100,a@x.example; b@x.example,yes,2025-03-01T10:00:00+02:00,cost centre 7,x\n" +
		"bob@contoso.example,Bob,,,,,,,,,\n"
	var errs csvio.Errors
	rows := csvio.ParseUsers("users.csv", []byte(data), &errs)
	if errs.Len() != 0 || len(rows) != 2 {
		t.Fatalf("%d rows, errors: %v", len(rows), errs.Error())
	}
	wantFields := []string{"jobTitle", "department", "userType", allot.FieldBusinessPhones, allot.FieldOtherMails,
		allot.FieldOnPremisesSyncEnabled, allot.FieldSignIn, "extensionAttribute3", "extensionAttribute15"}
	a := rows[0]
	if !reflect.DeepEqual(a.ProfileFields, wantFields) {
		t.Errorf("alice's fields %q, want %q", a.ProfileFields, wantFields)
	}
	p := a.Profile
	wantSignIn := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	if p.JobTitle != "Engineer" || p.Department != "R&D" || p.UserType != allot.UserGuest ||
		!reflect.DeepEqual(p.BusinessPhones, []string{"+1 425 555 0100"}) || !reflect.DeepEqual(p.OtherMails, []string{"a@x.example", "b@x.example"}) ||
		p.OnPremisesSyncEnabled == nil || !*p.OnPremisesSyncEnabled || !p.SignIn.Last.Equal(wantSignIn) || p.SignIn.Last.Location() != time.UTC ||
		p.ExtensionAttributes[2] != "cost centre 7" || p.ExtensionAttributes[14] != "x" {
		t.Errorf("alice's profile: %+v", p)
	}
	if a.SignInColumns != (csvio.SignInColumns{Last: true}) {
		t.Errorf("alice's sign-in columns %+v, want lastSignInDateTime only", a.SignInColumns)
	}
	// Bob's empty cells clear all but the boolean, which keeps the stored value.
	b := rows[1]
	wantFields = slices.DeleteFunc(wantFields, func(f string) bool { return f == allot.FieldOnPremisesSyncEnabled })
	if !reflect.DeepEqual(b.ProfileFields, wantFields) {
		t.Errorf("bob's fields %q, want %q", b.ProfileFields, wantFields)
	}
	if q := b.Profile; q.JobTitle != "" || q.UserType != allot.UserMember || len(q.BusinessPhones) != 0 || q.OnPremisesSyncEnabled != nil ||
		!q.SignIn.Last.IsZero() || q.ExtensionAttributes[2] != "" {
		t.Errorf("bob's profile: %+v", q)
	}

	// A file without profile columns names none.
	rows = csvio.ParseUsers("users.csv", []byte("userPrincipalName,displayName\ncarol@contoso.example,Carol\n"), &errs)
	if errs.Len() != 0 || len(rows) != 1 || rows[0].ProfileFields != nil || rows[0].SignInColumns != (csvio.SignInColumns{}) {
		t.Fatalf("no profile columns: %+v, %v", rows, errs.Error())
	}
}

// TestUserRecordRoundTrip: a user written as a line of users.csv, as an
// export writes it, parses back to the same user, and names every column.
func TestUserRecordRoundTrip(t *testing.T) {
	sync := false
	u := &allot.User{UserPrincipalName: "ann@contoso.example", DisplayName: "=Ann", Mail: "ann@contoso.example", UsageLocation: "GB",
		ProxyAddresses: []string{"SMTP:ann@contoso.example", "smtp:a@contoso.example"}, AccountEnabled: false}
	for i, name := range allot.ProfileTextNames() {
		*u.Profile.Text(name) = fmt.Sprintf("-%s %d", name, i)
	}
	u.Profile.UserType = allot.UserGuest
	u.Profile.BusinessPhones, u.Profile.OtherMails = []string{"+44 20 7946 0000"}, []string{"ann@home.example", "ann@old.example"}
	u.Profile.OnPremisesSyncEnabled = &sync
	u.Profile.SignIn = allot.SignIn{Last: time.Date(2025, 1, 31, 9, 0, 0, 123456789, time.UTC), LastNonInteractive: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)}
	for i := range u.Profile.ExtensionAttributes {
		u.Profile.ExtensionAttributes[i] = fmt.Sprintf("@ext %d", i+1)
	}
	u.Profile.ExtensionAttributes[4] = "two\nlines"

	var buf bytes.Buffer
	w := csvio.NewWriter(&buf)
	if err := w.Write(csvio.Columns(csvio.Users)...); err != nil {
		t.Fatal(err)
	}
	rec := csvio.UserRecord(u)
	if len(rec) != len(csvio.Columns(csvio.Users)) {
		t.Fatalf("%d cells for %d columns", len(rec), len(csvio.Columns(csvio.Users)))
	}
	if err := w.Write(rec...); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var errs csvio.Errors
	rows := csvio.ParseUsers("users.csv", buf.Bytes(), &errs)
	if errs.Len() != 0 || len(rows) != 1 {
		t.Fatalf("%d rows, errors: %v\n%s", len(rows), errs.Error(), buf.String())
	}
	r := rows[0]
	got := &allot.User{UserPrincipalName: r.UserPrincipalName, DisplayName: r.DisplayName, Mail: *r.Mail, UsageLocation: *r.UsageLocation,
		ProxyAddresses: *r.ProxyAddresses, AccountEnabled: *r.AccountEnabled, Profile: r.Profile}
	if !reflect.DeepEqual(got, u) {
		t.Errorf("read back as\n%+v\nwant\n%+v", got, u)
	}
	if want := len(allot.ProfileFieldNames()); len(r.ProfileFields) != want || r.SignInColumns != (csvio.SignInColumns{Last: true, LastNonInteractive: true}) {
		t.Errorf("fields %q (want all %d), sign-in columns %+v", r.ProfileFields, want, r.SignInColumns)
	}
}

// TestParseErrors: every problem is reported with its file and line, and
// all of them at once.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, kind, data string
		want             []string
	}{
		{"empty", "users", "", []string{"users.csv: the file is empty"}},
		{"no header column", "users", "userPrincipalName\nx@y.z\n", []string{`users.csv:1: the header row has no "displayName" column`}},
		{"unknown column", "groups", "mailNickname,displayName,colour\n", []string{`groups.csv:1: unknown column "colour"`}},
		{"duplicate column", "groups", "mailNickname,displayName,MAILNICKNAME\n", []string{`groups.csv:1: column "mailNickname" appears twice`}},
		{"rows", "users", "userPrincipalName,displayName,usageLocation,accountEnabled\n" +
			"a@x.example,A,XX,\n" +
			"nobody,B,,\n" +
			"c@x.example,,,\n" +
			"d@x.example,D,,maybe\n" +
			"A@X.example,A2,,\n" +
			"e@x.example,E\n",
			[]string{
				`users.csv:2: usageLocation "XX" is not a country code`,
				`users.csv:3: userPrincipalName "nobody" is not a valid name`,
				`users.csv:4: displayName is empty`,
				`users.csv:5: accountEnabled "maybe" is not true or false`,
				`users.csv:6: userPrincipalName "A@X.example" already appears on line 2`,
				`users.csv:7: 2 cells, but the header row names 4 columns`,
			}},
		{"profile", "users", "userPrincipalName,displayName,userType,lastSignInDateTime,lastNonInteractiveSignInDateTime,jobTitle,businessPhones,onPremisesSyncEnabled,streetAddress\n" +
			"a@x.example,A,Admin,,,,,,\n" +
			"b@x.example,B,,2025-01-31,,,,,\n" +
			"c@x.example,C,,,yesterday,,,,\n" +
			"d@x.example,D,," + "2025-01-31T09:00:00Z,," + strings.Repeat("x", allot.MaxProfileText+1) + ",,,\n" +
			"e@x.example,E,,,,,+1 555 0100;+1 555 0101,,\n" +
			"f@x.example,F,,,,,,sometimes,\n" +
			"g@x.example,G,,,,,,,\"1 Main St\nFloor 2\"\n" +
			"h@x.example,H,Guest,,,,,,\n",
			[]string{
				`users.csv:2: Invalid value specified for property 'userType'`,
				`users.csv:3: lastSignInDateTime "2025-01-31" is not a time`,
				`users.csv:4: lastNonInteractiveSignInDateTime "yesterday" is not a time`,
				`users.csv:5: Property 'jobTitle' is longer than 256 characters`,
				`users.csv:6: Invalid value specified for property 'businessPhones'`,
				`users.csv:7: onPremisesSyncEnabled "sometimes" is not true or false`,
				`users.csv:8: streetAddress contains a line break`,
			}},
		{"unknown column lists the columns", "users", "userPrincipalName,displayName,jobtitel\n",
			[]string{`users.csv:1: unknown column "jobtitel"; users files have the columns userPrincipalName,displayName,mail,usageLocation,` +
				`proxyAddresses,accountEnabled,givenName,surname,jobTitle,`}},
		{"multi-line cell counts lines", "users", "userPrincipalName,displayName\n\"a@x.example\",\"two\nlines\"\nb@x.example,\n",
			[]string{`users.csv:2: displayName contains a line break`, `users.csv:4: displayName is empty`}},
		{"bad quote", "users", "userPrincipalName,displayName\na@x.example,\"A\"x\n", []string{`users.csv:2: extraneous or missing " in quoted-field`}},
		{"not utf-8", "users", "userPrincipalName,displayName\na@x.example,\xff\n", []string{`users.csv:2: the file is not UTF-8 text`}},
		{"groups", "groups", "mailNickname,displayName,groupTypes,mailEnabled\nsales team,Sales,,\nok,OK,DynamicMembership,\nok2,OK2,,perhaps\n",
			[]string{`groups.csv:2: mailNickname "sales team" may hold only`, `groups.csv:3: groupTypes "DynamicMembership" is not Unified`,
				`groups.csv:4: mailEnabled "perhaps" is not true or false`}},
		{"memberships", "memberships", "groupMailNickname,userPrincipalName,memberMailNickname\nsales,,\nsales,a@x.example,eng\nsales,,sales\nsales,a@x.example,\nSALES,A@x.example,\n",
			[]string{`memberships.csv:2: no member`, `memberships.csv:3: two members`, `memberships.csv:4: group "sales" cannot be a member of itself`,
				`memberships.csv:6: the same membership already appears on line 5`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var errs csvio.Errors
			name := c.kind + ".csv"
			switch c.kind {
			case "users":
				csvio.ParseUsers(name, []byte(c.data), &errs)
			case "groups":
				csvio.ParseGroups(name, []byte(c.data), &errs)
			default:
				csvio.ParseMemberships(name, []byte(c.data), &errs)
			}
			if len(errs.List) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(errs.List), len(c.want), errs.Error())
			}
			for i, w := range c.want {
				if got := errs.List[i].Error(); !strings.HasPrefix(got, w) {
					t.Errorf("error %d: %q, want it to start with %q", i, got, w)
				}
			}
		})
	}
}

func TestErrorsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("userPrincipalName,displayName\n")
	for range csvio.MaxErrors + 7 {
		b.WriteString("bad,X\n")
	}
	var errs csvio.Errors
	csvio.ParseUsers("u.csv", []byte(b.String()), &errs)
	if len(errs.List) != csvio.MaxErrors || errs.Omitted != 7 || !strings.HasSuffix(errs.Error(), "and 7 more") {
		t.Fatalf("%d listed, %d omitted", len(errs.List), errs.Omitted)
	}
}

// TestWriterProtectsFormulas: a spreadsheet opening an export runs no
// formula, and the CSV still parses back to the (protected) values.
func TestWriterProtectsFormulas(t *testing.T) {
	var buf bytes.Buffer
	w := csvio.NewWriter(&buf)
	in := []string{"=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "plain", "a=b", "", "multi\nline, \"quoted\""}
	if err := w.Write(in...); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&buf).Read()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "plain", "a=b", "", "multi\nline, \"quoted\""}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cell %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// FuzzParse: whatever the bytes, the parsers do not panic, every row and
// every error points at a line of the file, and a file with errors yields
// no row of a line in error.
//
//	go test -run='^$' -fuzz=FuzzParse -fuzztime=30s ./csvio/
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "userPrincipalName,displayName\na@b.c,A\n", "mailNickname,displayName,groupTypes\nx,X,Unified\n",
		"groupMailNickname,userPrincipalName,memberMailNickname\ng,a@b.c,\ng,,h\n", "\"a\nb\",c\n\"", "\xef\xbb\xbf,\n,,\n", "a,\"b\"c\n",
		"userPrincipalName,displayName,userType,otherMails,onPremisesSyncEnabled,lastSignInDateTime,extensionAttribute1\na@b.c,A,guest,x@y.z;w@y.z,no,2025-01-31T09:00:00Z,\"v\nw\"\n"} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, data string, kind uint8) {
		var errs csvio.Errors
		lines := strings.Count(data, "\n") + 1
		var rowLines []int
		switch kind % 3 {
		case 0:
			for _, r := range csvio.ParseUsers("f.csv", []byte(data), &errs) {
				rowLines = append(rowLines, r.Line)
			}
		case 1:
			for _, r := range csvio.ParseGroups("f.csv", []byte(data), &errs) {
				rowLines = append(rowLines, r.Line)
			}
		default:
			for _, r := range csvio.ParseMemberships("f.csv", []byte(data), &errs) {
				rowLines = append(rowLines, r.Line)
			}
		}
		bad := map[int]bool{}
		for _, e := range errs.List {
			if e.Line < 0 || e.Line > lines || e.File != "f.csv" || e.Message == "" {
				t.Fatalf("error %+v in a file of %d lines", e, lines)
			}
			bad[e.Line] = true
		}
		for _, l := range rowLines {
			if l < 2 || l > lines || bad[l] {
				t.Fatalf("row at line %d (file of %d lines, errors %v)", l, lines, errs.List)
			}
		}
	})
}
