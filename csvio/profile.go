package csvio

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// The columns of users.csv for allot.Profile's SignIn: Graph's
// signInActivity properties, which a file sets one by one.
const (
	ColLastSignIn               = "lastSignInDateTime"
	ColLastNonInteractiveSignIn = "lastNonInteractiveSignInDateTime"
)

// profileColumns are users.csv's optional columns for allot.Profile, in
// the order Columns lists them and reports name them.
var profileColumns = func() []string {
	cols := append(allot.ProfileTextNames(), allot.FieldBusinessPhones, allot.FieldOtherMails, allot.FieldOnPremisesSyncEnabled,
		ColLastSignIn, ColLastNonInteractiveSignIn)
	for i := range allot.NumExtensionFields {
		cols = append(cols, allot.ExtensionName(i))
	}
	return cols
}()

// SignInColumns says which of signInActivity's two times a file has.
type SignInColumns struct {
	Last, LastNonInteractive bool
}

// profile reads the profile columns the header has into u. The values are
// checked by allot.Profile.Normalized, as the API's are, so that a file
// accepts what a PATCH accepts; the file adds only its own rules (no line
// break in a one-line property, times in RFC 3339).
func (r record) profile(u *UserRow, fail func(string, ...any)) {
	p := &u.Profile
	for _, name := range allot.ProfileTextNames() {
		v, has := r.get(name)
		if !has {
			continue
		}
		if strings.ContainsAny(v, "\r\n") {
			fail("%s contains a line break", name)
		}
		*p.Text(name) = v
		u.ProfileFields = append(u.ProfileFields, name)
	}
	for _, l := range []struct {
		name string
		to   *[]string
	}{{allot.FieldBusinessPhones, &p.BusinessPhones}, {allot.FieldOtherMails, &p.OtherMails}} {
		if v, has := r.get(l.name); has {
			*l.to = splitList(v)
			u.ProfileFields = append(u.ProfileFields, l.name)
		}
	}
	if b := r.boolean(allot.FieldOnPremisesSyncEnabled, fail); b != nil {
		p.OnPremisesSyncEnabled = b
		u.ProfileFields = append(u.ProfileFields, allot.FieldOnPremisesSyncEnabled)
	}
	u.SignInColumns.Last = r.time(ColLastSignIn, &p.SignIn.Last, fail)
	u.SignInColumns.LastNonInteractive = r.time(ColLastNonInteractiveSignIn, &p.SignIn.LastNonInteractive, fail)
	if u.SignInColumns.Last || u.SignInColumns.LastNonInteractive {
		u.ProfileFields = append(u.ProfileFields, allot.FieldSignIn)
	}
	for i := range allot.NumExtensionFields {
		if v, has := r.get(allot.ExtensionName(i)); has {
			p.ExtensionAttributes[i] = v
			u.ProfileFields = append(u.ProfileFields, allot.ExtensionName(i))
		}
	}
	if len(u.ProfileFields) == 0 {
		return
	}
	n, err := p.Normalized()
	if err != nil {
		for _, e := range unjoin(err) {
			fail("%s", allot.ErrorMessage(e))
		}
		return
	}
	*p = n
}

// time reads a time column into t, an empty cell as the zero time (none);
// it reports whether the header has the column.
func (r record) time(col string, t *time.Time, fail func(string, ...any)) bool {
	v, has := r.get(col)
	if !has || v == "" {
		return has
	}
	parsed, err := time.Parse(time.RFC3339, v)
	if err != nil {
		fail("%s %q is not a time such as 2025-01-31T09:00:00Z (RFC 3339)", col, clip(v))
		return true
	}
	*t = parsed.UTC()
	return true
}

// unjoin undoes errors.Join, so that each problem of a row is its own error.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// columnList is a file's columns for a message, with the fifteen extension
// attributes as one.
func columnList(k Kind) string {
	var out []string
	for _, c := range Columns(k) {
		if strings.HasPrefix(c, "extensionAttribute") {
			if c == allot.ExtensionName(0) {
				out = append(out, fmt.Sprintf("%s…%d", c, allot.NumExtensionFields))
			}
			continue
		}
		out = append(out, c)
	}
	return strings.Join(out, ",")
}

// UserRecord is u's line of users.csv, a cell for each of Columns(Users):
// what an export writes for the import to read back as u.
func UserRecord(u *allot.User) []string {
	p := &u.Profile
	cells := map[string]string{"userPrincipalName": u.UserPrincipalName, "displayName": u.DisplayName, "mail": u.Mail,
		"usageLocation": u.UsageLocation, "proxyAddresses": strings.Join(u.ProxyAddresses, ";"), "accountEnabled": strconv.FormatBool(u.AccountEnabled),
		allot.FieldBusinessPhones: strings.Join(p.BusinessPhones, ";"), allot.FieldOtherMails: strings.Join(p.OtherMails, ";"),
		ColLastSignIn: formatTime(p.SignIn.Last), ColLastNonInteractiveSignIn: formatTime(p.SignIn.LastNonInteractive)}
	if p.OnPremisesSyncEnabled != nil {
		cells[allot.FieldOnPremisesSyncEnabled] = strconv.FormatBool(*p.OnPremisesSyncEnabled)
	}
	for _, name := range allot.ProfileTextNames() {
		cells[name] = *p.Text(name)
	}
	for i, v := range p.ExtensionAttributes {
		cells[allot.ExtensionName(i)] = v
	}
	var out []string
	for _, c := range Columns(Users) {
		out = append(out, cells[c])
	}
	return out
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
