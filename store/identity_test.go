package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
)

// refused checks that err is a refusal with code and a message containing
// every one of want.
func refused(t *testing.T, what string, err error, code string, want ...string) {
	t.Helper()
	if allot.ErrorCode(err) != code {
		t.Fatalf("%s: got %v, want code %s", what, err, code)
	}
	for _, w := range want {
		if !strings.Contains(allot.ErrorMessage(err), w) {
			t.Fatalf("%s: message %q lacks %q", what, allot.ErrorMessage(err), w)
		}
	}
}

// footprint is what a refused write must leave unchanged: every user's
// name and addresses, and the audit log's length.
func (e *env) footprint() string {
	e.t.Helper()
	var b strings.Builder
	users, err := e.db.ListUsers(e.ctx, allot.ListOptions{Top: 999})
	e.must(err)
	for _, u := range users.Items {
		b.WriteString(u.ID + " " + u.UserPrincipalName + " " + strings.Join(u.ProxyAddresses, ",") + "\n")
	}
	groups, err := e.db.ListGroups(e.ctx, allot.ListOptions{Top: 999})
	e.must(err)
	for _, g := range groups.Items {
		b.WriteString(g.ID + " " + g.MailNickname + " " + strings.Join(g.ProxyAddresses, ",") + "\n")
	}
	audit, err := e.db.Audit(e.ctx, allot.AuditFilter{Top: 999})
	e.must(err)
	b.WriteString(strings.Repeat("a", len(audit.Items)))
	return b.String()
}

func (e *env) createUPN(upn string) error {
	_, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: upn, DisplayName: "x", AccountEnabled: true})
	return err
}

// Names that look like an existing user's, or hide an invisible character,
// are refused on create and on rename, with a message saying why, and
// nothing is written.
func TestConfusableUserPrincipalNamesRefused(t *testing.T) {
	e := newEnv(t, "US")
	admin := e.user("admin@contoso.com", "")
	e.user("josé@contoso.com", "")
	bob := e.user("bob@contoso.com", "")
	before := e.footprint()

	for _, c := range []struct {
		upn, code string
		want      []string
	}{
		{"\u0430dmin@contoso.com", allot.ECONFLICT, []string{"User principal name '\u0430dmin@contoso.com' is confusable with the existing 'admin@contoso.com'", "U+0430"}},
		{"\u0410DMIN@contoso.com", allot.ECONFLICT, []string{"confusable with the existing 'admin@contoso.com'", "U+0410"}},
		{"\uff41dmin@contoso.com", allot.ECONFLICT, []string{"same value for property userPrincipalName already exists"}},
		{"ad\u200bmin@contoso.com", allot.EINVALID, []string{"userPrincipalName", "U+200B"}},
		{"\u202eadmin@contoso.com", allot.EINVALID, []string{"U+202E"}},
		{"jose\u0301@contoso.com", allot.ECONFLICT, []string{"already exists"}},
		{"JOSÉ@CONTOSO.COM", allot.ECONFLICT, []string{"already exists"}},
		{"jos\u0435\u0301@contoso.com", allot.ECONFLICT, []string{"confusable with the existing 'josé@contoso.com'", "U+0435"}},
	} {
		refused(t, "create "+c.upn, e.createUPN(c.upn), c.code, c.want...)
		_, err := e.db.UpdateUser(e.ctx, bob.ID, allot.UserUpdate{UserPrincipalName: &c.upn})
		refused(t, "rename to "+c.upn, err, c.code, c.want...)
	}
	if after := e.footprint(); after != before {
		t.Fatalf("a refused write changed something:\n%s\n---\n%s", before, after)
	}

	// The other way round: a plain name that looks like an existing
	// non-ASCII one.
	e.user("\u0440\u0430yp\u0430l@contoso.com", "")
	refused(t, "create paypal", e.createUPN("paypal@contoso.com"), allot.ECONFLICT, "confusable with the existing", "U+0440")

	// A user may keep, or re-case, its own name.
	for _, upn := range []string{"admin@contoso.com", "Admin@Contoso.com"} {
		if _, err := e.db.UpdateUser(e.ctx, admin.ID, allot.UserUpdate{UserPrincipalName: &upn}); err != nil {
			t.Fatalf("rename admin to %s: %v", upn, err)
		}
	}
}

// The Kelvin sign (U+212A) is the letter K after NFKC: a user created with
// it is stored as plain "Kelly@", found by every spelling, and blocks
// "kelly@" as the same name (not merely a look-alike).
func TestKelvinSignIsK(t *testing.T) {
	e := newEnv(t, "US")
	u := e.user("\u212Aelly@contoso.com", "")
	if u.UserPrincipalName != "Kelly@contoso.com" {
		t.Fatalf("stored as %q", u.UserPrincipalName)
	}
	for _, name := range []string{"kelly@contoso.com", "KELLY@contoso.com", "\u212Aelly@contoso.com", "\u212AELLY@CONTOSO.COM"} {
		got, err := e.db.User(e.ctx, name)
		if err != nil || got.ID != u.ID {
			t.Fatalf("User(%q) = %v, %v", name, got, err)
		}
	}
	refused(t, "create kelly", e.createUPN("kelly@contoso.com"), allot.ECONFLICT, "already exists")

	// And the other way round.
	e.user("kevin@contoso.com", "")
	refused(t, "create Kevin with a Kelvin sign", e.createUPN("\u212Aevin@contoso.com"), allot.ECONFLICT, "already exists")
}

// NFD and NFC spellings of josé are one user: stored in NFC, found by
// either spelling, by any case, and by a $filter.
func TestNFDAndNFCAreOneUser(t *testing.T) {
	e := newEnv(t, "US")
	u := e.user("jose\u0301@contoso.com", "")
	if u.UserPrincipalName != "josé@contoso.com" {
		t.Fatalf("stored as %q, want NFC", u.UserPrincipalName)
	}
	for _, name := range []string{"josé@contoso.com", "jose\u0301@contoso.com", "JOSÉ@CONTOSO.COM", "JOSE\u0301@contoso.com"} {
		got, err := e.db.User(e.ctx, name)
		if err != nil || got.ID != u.ID {
			t.Fatalf("User(%q) = %v, %v", name, got, err)
		}
		page, err := e.db.ListUsers(e.ctx, allot.ListOptions{Filter: &allot.Compare{Property: "userPrincipalName", Op: "eq", Value: name}})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != u.ID {
			t.Fatalf("$filter userPrincipalName eq %q: %v, %v", name, page, err)
		}
	}
	refused(t, "create NFC", e.createUPN("josé@contoso.com"), allot.ECONFLICT, "already exists")
}

// A group's mailNickname need not be unique, but may not look like
// another group's.
func TestConfusableMailNicknamesRefused(t *testing.T) {
	e := newEnv(t, "US")
	sales := e.group("sales")
	other := e.group("marketing")
	before := e.footprint()
	for _, nick := range []string{"\u0455ales", "\u0405ALES", "s\u0430les"} {
		_, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{DisplayName: "x", MailNickname: nick, SecurityEnabled: true})
		refused(t, "create "+nick, err, allot.ECONFLICT, "Mail nickname '"+nick+"' is confusable with the existing 'sales'")
		_, err = e.db.UpdateGroup(e.ctx, other.ID, allot.GroupUpdate{MailNickname: &nick})
		refused(t, "rename to "+nick, err, allot.ECONFLICT, "confusable")
	}
	_, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{DisplayName: "x", MailNickname: "sa\u200bles", SecurityEnabled: true})
	refused(t, "zero-width space", err, allot.EINVALID, "mailNickname", "U+200B")
	if after := e.footprint(); after != before {
		t.Fatalf("a refused write changed something:\n%s\n---\n%s", before, after)
	}
	// The same nickname, in any case or width, is allowed as before.
	for _, nick := range []string{"sales", "Sales", "\uff53ales"} {
		g, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{DisplayName: "y", MailNickname: nick, SecurityEnabled: true})
		if err != nil {
			t.Fatalf("create %q: %v", nick, err)
		}
		if allot.IdentifierKey(g.MailNickname) != "sales" || strings.ContainsRune(g.MailNickname, '\uff53') {
			t.Fatalf("stored as %q", g.MailNickname)
		}
	}
	if _, err := e.db.UpdateGroup(e.ctx, sales.ID, allot.GroupUpdate{MailNickname: ptr("Sales")}); err != nil {
		t.Fatal(err)
	}
}

// An address another object lists may be listed again (who owns it is the
// licensing rules' business), but one that looks like it may not.
func TestConfusableAddressesRefused(t *testing.T) {
	e := newEnv(t, "US")
	e.user("a@contoso.com", "", "SMTP:info@contoso.com")
	g := e.group("helpdesk")
	b := e.user("b@contoso.com", "")
	before := e.footprint()
	for _, addrs := range [][]string{
		{"smtp:\u0456nfo@contoso.com"},
		{"\u0456nfo@contoso.com"},
		{"ok@contoso.com", "\u043ek@contoso.com"}, // two of one object
	} {
		_, err := e.db.UpdateUser(e.ctx, b.ID, allot.UserUpdate{ProxyAddresses: &addrs})
		refused(t, "user lists "+strings.Join(addrs, ","), err, allot.ECONFLICT, "Proxy address", "is confusable with")
		_, err = e.db.UpdateGroup(e.ctx, g.ID, allot.GroupUpdate{ProxyAddresses: &addrs})
		refused(t, "group lists "+strings.Join(addrs, ","), err, allot.ECONFLICT, "is confusable with")
		_, err = e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: "c@contoso.com", DisplayName: "c", ProxyAddresses: addrs})
		refused(t, "new user lists "+strings.Join(addrs, ","), err, allot.ECONFLICT, "is confusable with")
	}
	_, err := e.db.UpdateUser(e.ctx, b.ID, allot.UserUpdate{ProxyAddresses: &[]string{"smtp:in\u200bfo@contoso.com"}})
	refused(t, "zero-width space", err, allot.EINVALID, "proxyAddresses", "U+200B")
	if after := e.footprint(); after != before {
		t.Fatalf("a refused write changed something:\n%s\n---\n%s", before, after)
	}
	if _, err := e.db.UpdateUser(e.ctx, b.ID, allot.UserUpdate{ProxyAddresses: &[]string{"smtp:Info@contoso.com"}}); err != nil {
		t.Fatalf("listing the same address: %v", err)
	}
}

// The CSV import refuses look-alikes at their line, among its own rows and
// against the tenant, and applies nothing.
func TestImportRefusesConfusableNames(t *testing.T) {
	e := newEnv(t, "US")
	e.user("admin@contoso.com", "")
	before := e.footprint()
	rep, err := e.db.ImportCSV(e.ctx, &csvio.Import{UsersFile: "users.csv", Users: []csvio.UserRow{
		{Line: 2, UserPrincipalName: "\u0430dmin@contoso.com", DisplayName: "spoof"},
		{Line: 3, UserPrincipalName: "carol@contoso.com", DisplayName: "Carol"},
		{Line: 4, UserPrincipalName: "c\u0430rol@contoso.com", DisplayName: "Carol 2"},
		{Line: 5, UserPrincipalName: "da\u200bve@contoso.com", DisplayName: "Dave"},
		{Line: 6, UserPrincipalName: "jose\u0301@contoso.com", DisplayName: "José"},
		{Line: 7, UserPrincipalName: "josé@contoso.com", DisplayName: "José"},
	}}, false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for _, x := range rep.Errors.List {
		got[x.Line] = x.Message
	}
	for line, want := range map[int]string{
		2: "confusable with the existing 'admin@contoso.com'",
		4: "confusable with 'carol@contoso.com' (line 3)",
		5: "U+200B",
		7: "same name",
	} {
		if !strings.Contains(got[line], want) {
			t.Errorf("line %d: %q, want %q", line, got[line], want)
		}
	}
	if rep.Applied || e.footprint() != before {
		t.Fatalf("an import with errors was applied: %+v", rep)
	}
}

// The CSV import stores a name in its normal form, as CreateUser does.
func TestImportStoresNormalForm(t *testing.T) {
	e := newEnv(t, "US")
	rep, err := e.db.ImportCSV(e.ctx, &csvio.Import{UsersFile: "users.csv", Users: []csvio.UserRow{
		{Line: 2, UserPrincipalName: "\u212Aate@contoso.com", DisplayName: "Kate"},
	}}, false)
	if err != nil || !rep.Applied {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	if u, err := e.db.User(e.ctx, "kate@contoso.com"); err != nil || u.UserPrincipalName != "Kate@contoso.com" {
		t.Fatalf("import stored %v, %v", u, err)
	}
}

// The audit log records, beside the free-text name of a token, its kind,
// id and role: a token named after an administrator is told apart.
func TestAuditRecordsActorIdentity(t *testing.T) {
	e := newEnv(t, "US")
	tn, err := e.db.Tenant(e.ctx)
	e.must(err)
	secret, tok, err := e.db.CreateToken(e.ctx, tn.ID, allot.RoleUserAdministrator, "demo LicenseAdministrator", 0)
	e.must(err)
	a, err := e.db.Authenticate(context.Background(), secret)
	e.must(err)
	ctx := allot.NewContextWithActor(context.Background(), a)
	_, err = e.db.CreateUser(ctx, allot.UserCreate{UserPrincipalName: "t@contoso.com", DisplayName: "t"})
	e.must(err)
	page, err := e.db.Audit(e.ctx, allot.AuditFilter{Top: 1})
	e.must(err)
	got := page.Items[0]
	if got.Activity != "Add user" || got.Actor != "demo LicenseAdministrator" || got.ActorKind != allot.ActorToken ||
		got.ActorID != tok.ID || got.ActorRole != allot.RoleUserAdministrator {
		t.Fatalf("audit entry %+v", got)
	}
	// Processing acts as the system.
	g := e.group("g")
	e.sub(skuE1, 5)
	u, err := e.db.User(e.ctx, "t@contoso.com")
	e.must(err)
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	_, err = e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), nil)
	e.must(err)
	e.drain(10)
	page, err = e.db.Audit(e.ctx, allot.AuditFilter{TargetID: u.ID})
	e.must(err)
	if got := page.Items[0]; got.Activity != "Change user license" || got.ActorKind != allot.ActorSystem || got.ActorID != "" {
		t.Fatalf("processing's entry %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }
