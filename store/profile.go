package store

import (
	"fmt"
	"strings"

	"github.com/allot-dev/allot"
)

// profileColumns maps each of allot.Profile's text properties (Graph name)
// to its column in users (migration 12).
var profileColumns = func() map[string]string {
	m := map[string]string{}
	for _, name := range allot.ProfileTextNames() {
		m[name] = snake(name)
	}
	for i := range allot.NumExtensionFields {
		m[allot.ExtensionName(i)] = fmt.Sprintf("ext_attr_%d", i+1)
	}
	return m
}()

// snake turns a Graph name into its column: jobTitle -> job_title.
func snake(name string) string {
	var b strings.Builder
	for _, r := range name {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// profileCols are the profile's columns in the order profileValues and
// profileScan use.
var profileCols = func() []string {
	var cols []string
	for _, name := range allot.ProfileTextNames() {
		cols = append(cols, profileColumns[name])
	}
	for i := range allot.NumExtensionFields {
		cols = append(cols, profileColumns[allot.ExtensionName(i)])
	}
	return append(cols, "business_phones", "other_mails", "on_prem_sync", "last_sign_in", "last_non_interactive_sign_in")
}()

// profileValues are p's column values, in profileCols' order.
func profileValues(p *allot.Profile) []any {
	var out []any
	for _, name := range allot.ProfileTextNames() {
		out = append(out, *p.Text(name))
	}
	for _, v := range p.ExtensionAttributes {
		out = append(out, v)
	}
	sync := -1
	if p.OnPremisesSyncEnabled != nil {
		sync = b2i(*p.OnPremisesSyncEnabled)
	}
	return append(out, toJSON(list(p.BusinessPhones)), toJSON(list(p.OtherMails)), sync, fmtTime(p.SignIn.Last), fmtTime(p.SignIn.LastNonInteractive))
}

func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// profileScan returns scan destinations for profileCols and a function
// that moves what was scanned into p.
func profileScan(p *allot.Profile) ([]any, func()) {
	var dest []any
	for _, name := range allot.ProfileTextNames() {
		dest = append(dest, p.Text(name))
	}
	for i := range p.ExtensionAttributes {
		dest = append(dest, &p.ExtensionAttributes[i])
	}
	var phones, mails, last, lastNI string
	var sync int
	dest = append(dest, &phones, &mails, &sync, &last, &lastNI)
	return dest, func() {
		p.BusinessPhones, p.OtherMails = strList(phones), strList(mails)
		p.SignIn.Last, p.SignIn.LastNonInteractive = parseTime(last), parseTime(lastNI)
		if sync >= 0 {
			b := sync == 1
			p.OnPremisesSyncEnabled = &b
		}
	}
}

// applyProfile sets the fields of p that fields names to their values in
// from (allot.UserUpdate.ProfileFields).
func applyProfile(p *allot.Profile, from allot.Profile, fields []string) {
	for _, f := range fields {
		switch f {
		case allot.FieldBusinessPhones:
			p.BusinessPhones = from.BusinessPhones
		case allot.FieldOtherMails:
			p.OtherMails = from.OtherMails
		case allot.FieldOnPremisesSyncEnabled:
			p.OnPremisesSyncEnabled = from.OnPremisesSyncEnabled
		case allot.FieldSignIn:
			p.SignIn = from.SignIn
		default:
			if t := p.Text(f); t != nil {
				*t = *from.Text(f)
				continue
			}
			for i := range p.ExtensionAttributes {
				if allot.ExtensionName(i) == f {
					p.ExtensionAttributes[i] = from.ExtensionAttributes[i]
				}
			}
		}
	}
}

// profileAudit adds the profile's non-empty text properties to an audit
// view of a user, so that a change shows in the old and new values.
func profileAudit(m map[string]any, p *allot.Profile) map[string]any {
	for _, name := range allot.ProfileTextNames() {
		if v := *p.Text(name); v != "" && !(name == "userType" && v == allot.UserMember) {
			m[name] = v
		}
	}
	for i, v := range p.ExtensionAttributes {
		if v != "" {
			m[allot.ExtensionName(i)] = v
		}
	}
	if len(p.BusinessPhones) > 0 {
		m[allot.FieldBusinessPhones] = p.BusinessPhones
	}
	if len(p.OtherMails) > 0 {
		m[allot.FieldOtherMails] = p.OtherMails
	}
	return m
}
