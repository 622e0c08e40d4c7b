package csvio_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

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
		"groupMailNickname,userPrincipalName,memberMailNickname\ng,a@b.c,\ng,,h\n", "\"a\nb\",c\n\"", "\xef\xbb\xbf,\n,,\n", "a,\"b\"c\n"} {
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
