// Package csvio holds Allot's CSV formats (docs/IMPORT-EXPORT.md): the
// users, groups and memberships files that `allot import` reads, parsed
// with full validation into rows that remember their line; the report of
// an import; and the writer that exports use, safe to open in a
// spreadsheet. It does no I/O of its own and knows no database.
package csvio

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/allot-dev/allot"
)

// Kind names one of the three import files.
type Kind string

// The import files.
const (
	Users       Kind = "users"
	Groups      Kind = "groups"
	Memberships Kind = "memberships"
)

// Kinds lists the import files in the order they are applied.
var Kinds = []Kind{Users, Groups, Memberships}

// ParseKind accepts "users", "groups" or "memberships" in any case.
func ParseKind(s string) (Kind, bool) {
	for _, k := range Kinds {
		if strings.EqualFold(s, string(k)) {
			return k, true
		}
	}
	return "", false
}

// MaxErrors is how many errors an import reports; a file with more is
// reported as having "N more".
const MaxErrors = 100

// LineError is a problem with one line of one file; Line 0 means the file
// as a whole.
type LineError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (e LineError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Message
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
}

// Errors collects line errors up to MaxErrors and counts the rest.
type Errors struct {
	List    []LineError
	Omitted int
}

// Add records an error.
func (e *Errors) Add(file string, line int, format string, args ...any) {
	if len(e.List) >= MaxErrors {
		e.Omitted++
		return
	}
	e.List = append(e.List, LineError{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// inLineOrder sorts the errors listed since the first by line: a file's
// structural errors are found before its values'.
func (e *Errors) inLineOrder(first int) {
	sort.SliceStable(e.List[first:], func(i, j int) bool { return e.List[first+i].Line < e.List[first+j].Line })
}

// Len is the number of errors, listed or not.
func (e *Errors) Len() int { return len(e.List) + e.Omitted }

// Error is every listed error on a line of its own, for a message.
func (e *Errors) Error() string {
	var b strings.Builder
	for i, le := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(le.Error())
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n… and %d more", e.Omitted)
	}
	return b.String()
}

// UserRow is a line of users.csv. A nil field's column is absent from the
// file: the stored value is kept (or the default used for a new user).
type UserRow struct {
	Line              int
	UserPrincipalName string
	DisplayName       string
	Mail              *string
	UsageLocation     *string // upper case; "" clears it
	ProxyAddresses    *[]string
	AccountEnabled    *bool
	// Profile holds the profile columns the file has, and ProfileFields
	// names them as allot.UserUpdate.ProfileFields does: only those change.
	// signInActivity is one field there and two columns here, so
	// SignInColumns says which of its times the file sets; the other is kept.
	Profile       allot.Profile
	ProfileFields []string
	SignInColumns SignInColumns
}

// GroupRow is a line of groups.csv; nil fields as in UserRow.
type GroupRow struct {
	Line            int
	MailNickname    string
	DisplayName     string
	Description     *string
	GroupTypes      *[]string // "Unified" or nothing; set when a group is created only
	MailEnabled     *bool
	SecurityEnabled *bool
	ProxyAddresses  *[]string
}

// MembershipRow is a line of memberships.csv: a group (by mailNickname)
// and one member, a user (by userPrincipalName) or a group (by mailNickname).
type MembershipRow struct {
	Line        int
	Group       string
	User        string
	MemberGroup string
}

// Import is a parsed set of files. A file's name is empty when it was not
// given; the name is what errors cite.
type Import struct {
	UsersFile, GroupsFile, MembershipsFile string
	Users                                  []UserRow
	Groups                                 []GroupRow
	Memberships                            []MembershipRow
	// PruneMemberships removes, from every group named in groups.csv or
	// memberships.csv, the members that memberships.csv does not list.
	PruneMemberships bool
}

// Empty reports whether no file was given.
func (in *Import) Empty() bool {
	return in.UsersFile == "" && in.GroupsFile == "" && in.MembershipsFile == ""
}

// column is one column a file may have.
type column struct {
	name     string
	required bool
}

var fileColumns = map[Kind][]column{
	Users: append([]column{{"userPrincipalName", true}, {"displayName", true}, {"mail", false}, {"usageLocation", false},
		{"proxyAddresses", false}, {"accountEnabled", false}}, optional(profileColumns)...),
	Groups: {{"mailNickname", true}, {"displayName", true}, {"description", false}, {"groupTypes", false},
		{"mailEnabled", false}, {"securityEnabled", false}, {"proxyAddresses", false}},
	Memberships: {{"groupMailNickname", true}, {"userPrincipalName", false}, {"memberMailNickname", false}},
}

func optional(names []string) []column {
	out := make([]column, len(names))
	for i, n := range names {
		out[i] = column{name: n}
	}
	return out
}

// Columns lists a file's column names, required ones first.
func Columns(k Kind) []string {
	var out []string
	for _, c := range fileColumns[k] {
		out = append(out, c.name)
	}
	return out
}

// record is one data line: its cells by column name (only the columns the
// header has) and its line number.
type record struct {
	line  int
	cells map[string]string
}

func (r record) get(col string) (string, bool) {
	v, ok := r.cells[col]
	return v, ok
}

// The optional columns' readers return nil when the header lacks the
// column, so that the stored value is kept; fail reports a bad value.

func (r record) text(col string, limit int, fail func(string, ...any)) *string {
	v, has := r.get(col)
	if !has {
		return nil
	}
	if msg := checkText(col, v, limit); msg != "" {
		fail("%s", msg)
	}
	return &v
}

// boolean also keeps the stored value for an empty cell.
func (r record) boolean(col string, fail func(string, ...any)) *bool {
	v, has := r.get(col)
	if !has || v == "" {
		return nil
	}
	b, good := parseBool(v)
	if !good {
		fail("%s %q is not true or false", col, clip(v))
	}
	return &b
}

func (r record) addresses(fail func(string, ...any)) *[]string {
	v, has := r.get("proxyAddresses")
	if !has {
		return nil
	}
	list, msg := splitAddresses(v)
	if msg != "" {
		fail("%s", msg)
	}
	return &list
}

// checkDisplayName reports an empty or unfit displayName; what names the
// kind of object for the message.
func checkDisplayName(v, what string, fail func(string, ...any)) {
	if v == "" {
		fail("displayName is empty; every %s needs one", what)
	} else if msg := checkText("displayName", v, 256); msg != "" {
		fail("%s", msg)
	}
}

// readTable reads a CSV file with a header row naming known columns
// (in any order and case). Rows whose cells are all empty are skipped, as
// spreadsheets leave them at the end.
func readTable(kind Kind, name string, data []byte, errs *Errors) []record {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Excel's UTF-8 byte order mark
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		errs.Add(name, line, "the file is not UTF-8 text; save it as \"CSV UTF-8\"")
		return nil
	}
	if nul := bytes.IndexByte(data, 0); nul >= 0 {
		errs.Add(name, 1+bytes.Count(data[:nul], []byte("\n")), "the file contains a NUL character")
		return nil
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		errs.Add(name, 0, "the file is empty; a header row naming the columns is required (%s)", columnList(kind))
		return nil
	}
	if err != nil {
		addParseError(errs, name, err)
		return nil
	}
	known := map[string]string{}
	for _, c := range fileColumns[kind] {
		known[strings.ToLower(c.name)] = c.name
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	bad := false
	for i, h := range header {
		h = strings.TrimSpace(h)
		c, ok := known[strings.ToLower(h)]
		switch {
		case h == "":
			errs.Add(name, 1, "column %d of the header row has no name", i+1)
			bad = true
		case !ok:
			errs.Add(name, 1, "unknown column %q; %s files have the columns %s", clip(h), kind, columnList(kind))
			bad = true
		case seen[c]:
			errs.Add(name, 1, "column %q appears twice in the header row", c)
			bad = true
		}
		seen[c] = true
		cols[i] = c
	}
	for _, c := range fileColumns[kind] {
		if c.required && !seen[c.name] {
			errs.Add(name, 1, "the header row has no %q column (the first line must name the columns: %s)", c.name, columnList(kind))
			bad = true
		}
	}
	if bad {
		return nil
	}
	var out []record
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			addParseError(errs, name, err)
			return nil
		}
		if allEmpty(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			errs.Add(name, line, "%d cells, but the header row names %d columns", len(rec), len(cols))
			continue
		}
		r := record{line: line, cells: make(map[string]string, len(cols))}
		for i, v := range rec {
			r.cells[cols[i]] = unprotect(strings.TrimSpace(v))
		}
		out = append(out, r)
	}
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func addParseError(errs *Errors, name string, err error) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		errs.Add(name, pe.Line, "%v", pe.Err)
		return
	}
	errs.Add(name, 0, "%v", err)
}

func allEmpty(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// unprotect undoes the apostrophe that Allot's exports (and careful
// spreadsheet users) put before a value a spreadsheet would run as a
// formula, so that an exported value imports as itself.
func unprotect(v string) string {
	if len(v) >= 2 && v[0] == '\'' && strings.ContainsRune(formulaStart, rune(v[1])) {
		return v[1:]
	}
	return v
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		r := []rune(s)
		return string(r[:60]) + "…"
	}
	return s
}

// ParseUsers parses users.csv; name is what errors cite.
func ParseUsers(name string, data []byte, errs *Errors) []UserRow {
	defer errs.inLineOrder(len(errs.List))
	var out []UserRow
	first := map[string]int{}
	for _, r := range readTable(Users, name, data, errs) {
		u := UserRow{Line: r.line}
		u.UserPrincipalName, _ = r.get("userPrincipalName")
		u.DisplayName, _ = r.get("displayName")
		ok := true
		fail := func(format string, args ...any) { errs.Add(name, r.line, format, args...); ok = false }
		if msg := checkUPN(u.UserPrincipalName); msg != "" {
			fail("%s", msg)
		} else if prev, dup := first[strings.ToLower(u.UserPrincipalName)]; dup {
			fail("userPrincipalName %q already appears on line %d", clip(u.UserPrincipalName), prev)
		} else {
			first[strings.ToLower(u.UserPrincipalName)] = r.line
		}
		checkDisplayName(u.DisplayName, "user", fail)
		u.Mail = r.text("mail", 256, fail)
		if v, has := r.get("usageLocation"); has {
			v = strings.ToUpper(v)
			if v != "" && !allot.IsCountry(v) {
				fail("usageLocation %q is not a country code (ISO 3166-1 alpha-2, such as US or GB)", clip(v))
			}
			u.UsageLocation = &v
		}
		u.ProxyAddresses = r.addresses(fail)
		u.AccountEnabled = r.boolean("accountEnabled", fail)
		r.profile(&u, fail)
		if ok {
			out = append(out, u)
		}
	}
	return out
}

// ParseGroups parses groups.csv.
func ParseGroups(name string, data []byte, errs *Errors) []GroupRow {
	defer errs.inLineOrder(len(errs.List))
	var out []GroupRow
	first := map[string]int{}
	for _, r := range readTable(Groups, name, data, errs) {
		g := GroupRow{Line: r.line}
		g.MailNickname, _ = r.get("mailNickname")
		g.DisplayName, _ = r.get("displayName")
		ok := true
		fail := func(format string, args ...any) { errs.Add(name, r.line, format, args...); ok = false }
		if msg := checkNickname("mailNickname", g.MailNickname); msg != "" {
			fail("%s", msg)
		} else if prev, dup := first[strings.ToLower(g.MailNickname)]; dup {
			fail("mailNickname %q already appears on line %d", g.MailNickname, prev)
		} else {
			first[strings.ToLower(g.MailNickname)] = r.line
		}
		checkDisplayName(g.DisplayName, "group", fail)
		g.Description = r.text("description", 1024, fail)
		if v, has := r.get("groupTypes"); has {
			types := []string{}
			for _, t := range splitList(v) {
				if !strings.EqualFold(t, "Unified") {
					fail("groupTypes %q is not Unified (a Microsoft 365 group) or empty (a security group)", clip(t))
					continue
				}
				types = append(types, "Unified")
			}
			g.GroupTypes = &types
		}
		g.MailEnabled = r.boolean("mailEnabled", fail)
		g.SecurityEnabled = r.boolean("securityEnabled", fail)
		g.ProxyAddresses = r.addresses(fail)
		if ok {
			out = append(out, g)
		}
	}
	return out
}

// ParseMemberships parses memberships.csv.
func ParseMemberships(name string, data []byte, errs *Errors) []MembershipRow {
	defer errs.inLineOrder(len(errs.List))
	var out []MembershipRow
	first := map[[3]string]int{}
	for _, r := range readTable(Memberships, name, data, errs) {
		m := MembershipRow{Line: r.line}
		m.Group, _ = r.get("groupMailNickname")
		m.User, _ = r.get("userPrincipalName")
		m.MemberGroup, _ = r.get("memberMailNickname")
		ok := true
		fail := func(format string, args ...any) { errs.Add(name, r.line, format, args...); ok = false }
		if msg := checkNickname("groupMailNickname", m.Group); msg != "" {
			fail("%s", msg)
		}
		switch {
		case m.User == "" && m.MemberGroup == "":
			fail("no member: fill userPrincipalName (a user) or memberMailNickname (a group)")
		case m.User != "" && m.MemberGroup != "":
			fail("two members: fill either userPrincipalName or memberMailNickname, not both")
		case m.User != "":
			if msg := checkUPN(m.User); msg != "" {
				fail("%s", msg)
			}
		default:
			if msg := checkNickname("memberMailNickname", m.MemberGroup); msg != "" {
				fail("%s", msg)
			} else if strings.EqualFold(m.MemberGroup, m.Group) {
				fail("group %q cannot be a member of itself", m.Group)
			}
		}
		if !ok {
			continue
		}
		key := [3]string{strings.ToLower(m.Group), strings.ToLower(m.User), strings.ToLower(m.MemberGroup)}
		if prev, dup := first[key]; dup {
			fail("the same membership already appears on line %d", prev)
			continue
		}
		first[key] = r.line
		out = append(out, m)
	}
	return out
}

func checkUPN(upn string) string {
	at := strings.IndexByte(upn, '@')
	switch {
	case upn == "":
		return "userPrincipalName is empty"
	case at <= 0 || at == len(upn)-1 || strings.ContainsAny(upn, " \t\r\n") || len(upn) > 113:
		return fmt.Sprintf("userPrincipalName %q is not a valid name such as alice@contoso.com", clip(upn))
	}
	return ""
}

func checkText(col, v string, limit int) string {
	if len(v) > limit {
		return fmt.Sprintf("%s is longer than %d characters", col, limit)
	}
	if strings.ContainsAny(v, "\r\n") {
		return fmt.Sprintf("%s contains a line break", col)
	}
	return ""
}

// checkNickname applies Graph's rule for mailNickname: ASCII without
// spaces or the characters @ ( ) \ [ ] " ; : < > , and at most 64 long.
func checkNickname(col, v string) string {
	if v == "" {
		return col + " is empty"
	}
	if len(v) > 64 {
		return fmt.Sprintf("%s %q is longer than 64 characters", col, clip(v))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' || strings.IndexByte(`@()\[]";:<>,`, c) >= 0 {
			return fmt.Sprintf("%s %q may hold only ASCII letters, digits and . - _ and no spaces", col, clip(v))
		}
	}
	return ""
}

// splitList splits a cell holding several values separated by semicolons.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func splitAddresses(v string) ([]string, string) {
	list := splitList(v)
	if list == nil {
		list = []string{}
	}
	if len(list) > allot.MaxAddresses {
		return list, fmt.Sprintf("more than %d proxyAddresses", allot.MaxAddresses)
	}
	for _, a := range list {
		n := a
		if i := strings.IndexByte(n, ':'); i >= 0 && strings.EqualFold(n[:i], "smtp") {
			n = n[i+1:]
		}
		if at := strings.IndexByte(n, '@'); at <= 0 || at == len(n)-1 || strings.ContainsAny(n, " \t") || len(n) > allot.MaxAddress {
			return list, fmt.Sprintf("proxyAddresses: %q is not an address such as smtp:alice@contoso.com (separate addresses with ;)", clip(a))
		}
	}
	return list, ""
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "yes", "1":
		return true, true
	case "false", "no", "0":
		return false, true
	}
	return false, false
}

// formulaStart are the characters that make a spreadsheet read a cell as
// a formula (OWASP's list for CSV injection).
const formulaStart = "=+-@\t\r"

// Protect returns v as a spreadsheet shows it but never runs it: a value
// starting with = + - @, a tab or a carriage return gets an apostrophe in
// front.
func Protect(v string) string {
	if v != "" && strings.ContainsRune(formulaStart, rune(v[0])) {
		return "'" + v
	}
	return v
}

// Writer writes CSV records with every cell passed through Protect.
type Writer struct {
	cw  *csv.Writer
	rec []string
}

// NewWriter writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{cw: csv.NewWriter(w)} }

// Write writes one record.
func (w *Writer) Write(cells ...string) error {
	w.rec = w.rec[:0]
	for _, c := range cells {
		w.rec = append(w.rec, Protect(c))
	}
	return w.cw.Write(w.rec)
}

// Flush writes any buffered data and reports a write error.
func (w *Writer) Flush() error {
	w.cw.Flush()
	return w.cw.Error()
}

// ImportService applies parsed imports (docs/IMPORT-EXPORT.md); the store
// implements it.
type ImportService interface {
	// ImportCSV applies in to the caller's tenant, all or nothing
	// (PermManageUsers and PermManageGroups for what it changes). Problems
	// with the data come back in the report's Errors, with file and line,
	// and nothing is applied; with dryRun nothing is applied either and the
	// report says what would be. EINVALID for an empty import.
	ImportCSV(ctx context.Context, in *Import, dryRun bool) (*Report, error)
}
