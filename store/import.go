package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
)

// errRollback ends an import's transaction without applying it: a dry run,
// or an import with errors.
var errRollback = errors.New("import rolled back")

// ImportCSV applies parsed users, groups and memberships files
// (docs/IMPORT-EXPORT.md) to the caller's tenant in one transaction, all or
// nothing. Users are matched by userPrincipalName and groups by
// mailNickname, by their keys (allot.IdentifierKey: case, NFC or NFD and
// full-width spellings aside); what matches and differs is updated,
// what does not match is created, and nothing absent from the files is
// touched, except members of the files' groups with PruneMemberships.
// Every change validates, audits and queues licensing work as the single
// write paths do (CreateUser, UpdateUser, CreateGroup, UpdateGroup,
// AddMember, RemoveMember), with set-wise statements.
//
// Problems with the data are returned in the report's Errors, with the
// file and line; then nothing is applied. With dryRun the import is
// carried out to the end and rolled back, so the report of a dry run is
// exactly what the same import would then do.
func (s *DB) ImportCSV(ctx context.Context, in *csvio.Import, dryRun bool) (*csvio.Report, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if in == nil || in.Empty() {
		return nil, allot.Errorf(allot.EINVALID, "Nothing to import: give a users, groups or memberships file.")
	}
	if in.PruneMemberships && in.MembershipsFile == "" {
		return nil, allot.Errorf(allot.EINVALID, "pruneMemberships needs a memberships file: it removes the members that file does not list.")
	}
	var rep *csvio.Report
	var changed bool
	err = s.tx(ctx, func(tx *txn) error {
		rep = &csvio.Report{DryRun: dryRun, Changes: []csvio.Change{}}
		p := &importer{s: s, ctx: ctx, tx: tx, tenant: a.TenantID, in: in, rep: rep, now: s.now()}
		if err := p.plan(); err != nil {
			return err
		}
		if rep.Errors.Len() > 0 {
			return errRollback
		}
		changed = len(p.newUsers)+len(p.userUpdates)+len(p.newGroups)+len(p.groupUpdates)+len(p.adds)+len(p.removes) > 0
		if !changed {
			return errRollback // nothing to write, not even the summary
		}
		if err := p.apply(); err != nil {
			return err
		}
		if dryRun {
			return errRollback
		}
		return nil
	})
	if err != nil && !errors.Is(err, errRollback) {
		return nil, err
	}
	if dryRun || rep.Errors.Len() > 0 || !changed {
		return rep, nil
	}
	rep.Applied = true
	if len(in.Users)+len(in.Memberships) >= 1000 {
		if err := s.analyzePostgres(ctx, "users", "dir_groups", "memberships", "addresses"); err != nil {
			return nil, err
		}
	}
	s.notify()
	return rep, nil
}

// importer is one import in progress: what exists, and what the files
// make of it.
type importer struct {
	s      *DB
	ctx    context.Context
	tx     *txn
	tenant string
	in     *csvio.Import
	rep    *csvio.Report
	now    time.Time // of every object and audit line the import writes

	users       map[string]*allot.User // existing, by the key of their userPrincipalName (allot.IdentifierKey)
	userAfter   map[string]*allot.User // as the import leaves them, by the same key
	newUsers    []*allot.User
	userUpdates []userChange

	groups       map[string][]*allot.Group // existing, by the key of their mailNickname
	groupByID    map[string]*allot.Group
	groupAfter   map[string]*allot.Group // groups.csv's groups as the import leaves them
	newGroupIDs  map[string]bool
	newGroups    []*allot.Group
	groupUpdates []groupChange

	adds, removes []memberChange
	audit         [][]any
}

type userChange struct {
	before, after *allot.User
	requeue       bool // location or addresses changed: the user is evaluated again
	addresses     bool // the normalised addresses changed
}

type groupChange struct {
	before, after *allot.Group
	addresses     bool
}

func (p *importer) fail(file string, line int, format string, args ...any) {
	p.rep.Errors.Add(file, line, format, args...)
}

func (p *importer) plan() error {
	if err := p.loadUsers(); err != nil {
		return err
	}
	if err := p.planUsers(); err != nil {
		return err
	}
	if p.in.GroupsFile != "" || p.in.MembershipsFile != "" {
		if err := p.loadGroups(); err != nil {
			return err
		}
	}
	if err := p.planGroups(); err != nil {
		return err
	}
	return p.planMemberships()
}

// loadUsers reads the existing users that the files name.
func (p *importer) loadUsers() error {
	p.users, p.userAfter = map[string]*allot.User{}, map[string]*allot.User{}
	var names []string
	// The lower-case spelling as given also finds a non-ASCII name stored
	// before keys were normalised, as findUser does.
	for _, r := range p.in.Users {
		names = append(names, allot.IdentifierKey(r.UserPrincipalName), strings.ToLower(strings.TrimSpace(r.UserPrincipalName)))
	}
	for _, m := range p.in.Memberships {
		if m.User != "" {
			names = append(names, allot.IdentifierKey(m.User), strings.ToLower(strings.TrimSpace(m.User)))
		}
	}
	return p.tx.each(p.ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND u.upn_key IN (%s)`, slices.Compact(slices.Sorted(slices.Values(names))), []any{p.tenant},
		func(r *sql.Rows) error {
			u, err := scanUser(r)
			if err == nil {
				p.users[allot.IdentifierKey(u.UserPrincipalName)] = u
			}
			return err
		})
}

func (p *importer) planUsers() error {
	var upns, addrClaims []nameClaim
	for _, r := range p.in.Users {
		before, after := p.userRow(r)
		if after == nil {
			continue
		}
		p.userAfter[allot.IdentifierKey(r.UserPrincipalName)] = after
		upns = append(upns, nameClaim{name: after.UserPrincipalName, owner: after.ID, where: fmt.Sprintf("line %d", r.Line), line: r.Line})
		var old []string
		if before != nil {
			old = before.ProxyAddresses
		}
		addrClaims = append(addrClaims, addressClaims(before == nil, old, after.ProxyAddresses, after.ID, r.Line)...)
		p.recordUser(r.Line, before, after)
	}
	return p.checkNames(p.in.UsersFile, []nameColumns{upnNames, addressNames}, upns, addrClaims)
}

// userRow is the user a row of users.csv matches (nil for a new one) and
// what the row makes of it; after is nil when the row fails, reported.
func (p *importer) userRow(r csvio.UserRow) (before, after *allot.User) {
	file := p.in.UsersFile
	key := allot.IdentifierKey(r.UserPrincipalName)
	if prev := p.userAfter[key]; prev != nil {
		// Two spellings of one name (NFC and NFD, full-width) that the
		// parser's case-insensitive comparison let through.
		p.fail(file, r.Line, "userPrincipalName %q is the same name as %q on an earlier line", r.UserPrincipalName, prev.UserPrincipalName)
		return nil, nil
	}
	before = p.users[key]
	var u allot.User
	if before != nil {
		u = *before
		u.ProxyAddresses = slices.Clone(before.ProxyAddresses)
	} else {
		u = allot.User{ID: p.s.newID(), AccountEnabled: true, ProxyAddresses: []string{}, CreatedAt: p.now}
	}
	u.ModifiedAt = p.now
	u.UserPrincipalName, u.DisplayName = allot.IdentifierForm(r.UserPrincipalName), r.DisplayName
	if r.Mail != nil {
		u.Mail = *r.Mail
	}
	if r.UsageLocation != nil {
		loc, err := allot.NormalizeLocation(*r.UsageLocation)
		if err != nil {
			p.fail(file, r.Line, "%s", allot.ErrorMessage(err))
			return nil, nil
		}
		u.UsageLocation = loc
	}
	if r.ProxyAddresses != nil {
		u.ProxyAddresses = allot.CleanAddresses(*r.ProxyAddresses)
	}
	if r.AccountEnabled != nil {
		u.AccountEnabled = *r.AccountEnabled
	}
	// As UpdateUser: the row's profile is checked, then only its columns
	// are applied. A sign-in column the file lacks keeps its time, since
	// applyProfile sets signInActivity's two times together.
	profile, profileErr := r.Profile.Normalized()
	if !r.SignInColumns.Last {
		profile.SignIn.Last = u.Profile.SignIn.Last
	}
	if !r.SignInColumns.LastNonInteractive {
		profile.SignIn.LastNonInteractive = u.Profile.SignIn.LastNonInteractive
	}
	applyProfile(&u.Profile, profile, r.ProfileFields)
	if before == nil && profileErr == nil {
		// As CreateUser: a new user's whole profile is in its stored form
		// (userType Member when the file has no userType).
		u.Profile, profileErr = u.Profile.Normalized()
	}
	// The checks of CreateUser and UpdateUser, should the parser have let
	// something through.
	if msg := invalid(u.DisplayName, allot.CheckUPN(r.UserPrincipalName), allot.CheckText("displayName", u.DisplayName, 256),
		allot.CheckText("mail", u.Mail, 256), allot.CheckAddresses(u.ProxyAddresses), profileErr); msg != "" {
		p.fail(file, r.Line, "%s", msg)
		return nil, nil
	}
	return before, &u
}

// recordUser counts and reports what a row does to its user, and keeps
// the user to create or update.
func (p *importer) recordUser(line int, before, after *allot.User) {
	change := csvio.Change{File: p.in.UsersFile, Line: line, Object: "user", Key: after.UserPrincipalName}
	if before == nil {
		p.newUsers = append(p.newUsers, after)
		p.rep.Users.Created++
		change.Action = "create"
		p.rep.AddChange(change)
		return
	}
	var fields changedFields
	addrs := !slices.Equal(normalizeAll(before.ProxyAddresses), normalizeAll(after.ProxyAddresses))
	fields.add("userPrincipalName", before.UserPrincipalName != after.UserPrincipalName)
	fields.add("displayName", before.DisplayName != after.DisplayName)
	fields.add("mail", before.Mail != after.Mail)
	fields.add("usageLocation", before.UsageLocation != after.UsageLocation)
	fields.add("proxyAddresses", !slices.Equal(before.ProxyAddresses, after.ProxyAddresses))
	fields.add("accountEnabled", before.AccountEnabled != after.AccountEnabled)
	fields.addProfile(&before.Profile, &after.Profile)
	if fields == nil {
		p.rep.Users.Unchanged++
		return
	}
	p.rep.Users.Updated++
	change.Action, change.Fields = "update", fields
	p.rep.AddChange(change)
	p.userUpdates = append(p.userUpdates, userChange{before: before, after: after,
		requeue: addrs || before.UsageLocation != after.UsageLocation, addresses: addrs})
}

// addressClaims are the addresses an object of a file claims: all of them
// for a new object, none unless they changed for an existing one.
func addressClaims(created bool, before, after []string, owner string, line int) []nameClaim {
	if !created && slices.Equal(normalizeAll(before), normalizeAll(after)) {
		return nil
	}
	var out []nameClaim
	for _, ad := range normalizeAll(after) {
		out = append(out, nameClaim{name: ad, owner: owner, where: fmt.Sprintf("line %d", line), line: line})
	}
	return out
}

// checkNames refuses, each at its line, the names of a file that look like
// another object's (lookalike.go); claims[i] are names of kind cols[i].
func (p *importer) checkNames(file string, cols []nameColumns, claims ...[]nameClaim) error {
	fail := func(c nameClaim, err error) { p.fail(file, c.line, "%s", allot.ErrorMessage(err)) }
	for i, c := range cols {
		if err := p.s.checkClaims(p.ctx, p.tx, p.tenant, c, claims[i], fail); err != nil {
			return err
		}
	}
	return nil
}

// loadGroups reads the tenant's groups: there is no index on
// mailNickname, and groups are few next to users.
func (p *importer) loadGroups() error {
	p.groups, p.groupByID = map[string][]*allot.Group{}, map[string]*allot.Group{}
	rows, err := p.tx.Query(p.ctx, `SELECT `+groupCols+` FROM dir_groups g WHERE g.tenant_id = ? ORDER BY g.id`, p.tenant)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return err
		}
		p.groupByID[g.ID] = g
		if g.MailNickname != "" {
			key := allot.IdentifierKey(g.MailNickname)
			p.groups[key] = append(p.groups[key], g)
		}
	}
	return rows.Err()
}

func (p *importer) planGroups() error {
	p.groupAfter, p.newGroupIDs = map[string]*allot.Group{}, map[string]bool{}
	var nicks, addrClaims []nameClaim
	for _, r := range p.in.Groups {
		before, after := p.groupRow(r)
		if after == nil {
			continue
		}
		p.groupAfter[allot.IdentifierKey(r.MailNickname)] = after
		nicks = append(nicks, nameClaim{name: after.MailNickname, owner: after.ID, where: fmt.Sprintf("line %d", r.Line), line: r.Line})
		var old []string
		if before != nil {
			old = before.ProxyAddresses
		}
		addrClaims = append(addrClaims, addressClaims(before == nil, old, after.ProxyAddresses, after.ID, r.Line)...)
		p.recordGroup(r.Line, before, after)
	}
	return p.checkNames(p.in.GroupsFile, []nameColumns{nicknameNames, addressNames}, nicks, addrClaims)
}

// groupRow is the group a row of groups.csv matches (nil for a new one)
// and what the row makes of it; after is nil when the row fails, reported.
func (p *importer) groupRow(r csvio.GroupRow) (before, after *allot.Group) {
	file := p.in.GroupsFile
	key := allot.IdentifierKey(r.MailNickname)
	if prev := p.groupAfter[key]; prev != nil {
		p.fail(file, r.Line, "mailNickname %q is the same name as %q on an earlier line", r.MailNickname, prev.MailNickname)
		return nil, nil
	}
	matches := p.groups[key]
	if len(matches) > 1 {
		p.fail(file, r.Line, "mailNickname %q matches %d groups of the tenant; give them distinct mailNicknames first", r.MailNickname, len(matches))
		return nil, nil
	}
	var g allot.Group
	if len(matches) == 1 {
		before = matches[0]
		g = *before
		g.ProxyAddresses = slices.Clone(before.ProxyAddresses)
	} else {
		g = allot.Group{ID: p.s.newID(), GroupTypes: []string{}, ProxyAddresses: []string{}, SecurityEnabled: true, CreatedAt: p.now}
		if r.GroupTypes != nil && slices.ContainsFunc(*r.GroupTypes, func(t string) bool { return strings.EqualFold(t, allot.GroupDynamic) }) {
			p.fail(file, r.Line, "group %q: a group with dynamic membership needs a membershipRule; create it through the API or the admin center", r.MailNickname)
			return nil, nil
		}
		if r.GroupTypes != nil && len(*r.GroupTypes) > 0 {
			// A Microsoft 365 group is mail-enabled and, by default, not a security group.
			g.GroupTypes, g.MailEnabled, g.SecurityEnabled = slices.Clone(*r.GroupTypes), true, false
		}
	}
	if before != nil && r.GroupTypes != nil && !slices.Equal(normTypes(before.GroupTypes), normTypes(*r.GroupTypes)) {
		p.fail(file, r.Line, "groupTypes of an existing group cannot be changed (group %q has %q)", r.MailNickname, strings.Join(before.GroupTypes, ";"))
		return nil, nil
	}
	g.MailNickname, g.DisplayName = allot.IdentifierForm(r.MailNickname), r.DisplayName
	if r.Description != nil {
		g.Description = *r.Description
	}
	if r.MailEnabled != nil {
		g.MailEnabled = *r.MailEnabled
	}
	if r.SecurityEnabled != nil {
		g.SecurityEnabled = *r.SecurityEnabled
	}
	if r.ProxyAddresses != nil {
		g.ProxyAddresses = allot.CleanAddresses(*r.ProxyAddresses)
	}
	if msg := invalid(g.DisplayName, allot.CheckText("displayName", g.DisplayName, 256), allot.CheckText("description", g.Description, 1024),
		allot.CheckNickname(r.MailNickname), allot.CheckAddresses(g.ProxyAddresses)); msg != "" {
		p.fail(file, r.Line, "%s", msg)
		return nil, nil
	}
	return before, &g
}

// recordGroup counts and reports what a row does to its group, and keeps
// the group to create or update.
func (p *importer) recordGroup(line int, before, after *allot.Group) {
	change := csvio.Change{File: p.in.GroupsFile, Line: line, Object: "group", Key: after.MailNickname}
	if before == nil {
		p.newGroups = append(p.newGroups, after)
		p.newGroupIDs[after.ID] = true
		p.rep.Groups.Created++
		change.Action = "create"
		p.rep.AddChange(change)
		return
	}
	var fields changedFields
	fields.add("mailNickname", before.MailNickname != after.MailNickname)
	fields.add("displayName", before.DisplayName != after.DisplayName)
	fields.add("description", before.Description != after.Description)
	fields.add("mailEnabled", before.MailEnabled != after.MailEnabled)
	fields.add("securityEnabled", before.SecurityEnabled != after.SecurityEnabled)
	fields.add("proxyAddresses", !slices.Equal(before.ProxyAddresses, after.ProxyAddresses))
	if fields == nil {
		p.rep.Groups.Unchanged++
		return
	}
	p.rep.Groups.Updated++
	change.Action, change.Fields = "update", fields
	p.rep.AddChange(change)
	p.groupUpdates = append(p.groupUpdates, groupChange{before: before, after: after,
		addresses: !slices.Equal(normalizeAll(before.ProxyAddresses), normalizeAll(after.ProxyAddresses))})
}

// invalid is the message for a row that fails the checks of the single
// write paths (errs), or lacks a displayName; "" when it passes.
func invalid(displayName string, errs ...error) string {
	if err := errors.Join(errs...); err != nil {
		return allot.ErrorMessage(err)
	}
	if strings.TrimSpace(displayName) == "" {
		return "displayName is required."
	}
	return ""
}

// changedFields names, in order, the fields an update changes.
type changedFields []string

func (f *changedFields) add(name string, differs bool) {
	if differs {
		*f = append(*f, name)
	}
}

// addProfile names the profile properties that differ, by their columns
// in users.csv.
func (f *changedFields) addProfile(before, after *allot.Profile) {
	for _, name := range allot.ProfileTextNames() {
		f.add(name, *before.Text(name) != *after.Text(name))
	}
	f.add(allot.FieldBusinessPhones, !slices.Equal(before.BusinessPhones, after.BusinessPhones))
	f.add(allot.FieldOtherMails, !slices.Equal(before.OtherMails, after.OtherMails))
	a, b := before.OnPremisesSyncEnabled, after.OnPremisesSyncEnabled
	f.add(allot.FieldOnPremisesSyncEnabled, (a == nil) != (b == nil) || a != nil && *a != *b)
	f.add(csvio.ColLastSignIn, !before.SignIn.Last.Equal(after.SignIn.Last))
	f.add(csvio.ColLastNonInteractiveSignIn, !before.SignIn.LastNonInteractive.Equal(after.SignIn.LastNonInteractive))
	for i := range before.ExtensionAttributes {
		f.add(allot.ExtensionName(i), before.ExtensionAttributes[i] != after.ExtensionAttributes[i])
	}
}

func normTypes(t []string) []string {
	out := []string{}
	for _, x := range t {
		out = append(out, strings.ToLower(x))
	}
	slices.Sort(out)
	return out
}

// group resolves a mailNickname named in memberships.csv: a group of
// groups.csv, else an existing group.
func (p *importer) group(nick string, line int) *allot.Group {
	key := allot.IdentifierKey(nick)
	if g := p.groupAfter[key]; g != nil {
		return g
	}
	switch matches := p.groups[key]; len(matches) {
	case 1:
		return matches[0]
	case 0:
		if p.in.GroupsFile != "" {
			p.fail(p.in.MembershipsFile, line, "group %q is neither in %s nor a group of the tenant", nick, p.in.GroupsFile)
		} else {
			p.fail(p.in.MembershipsFile, line, "group %q is not a group of the tenant", nick)
		}
	default:
		p.fail(p.in.MembershipsFile, line, "mailNickname %q matches %d groups of the tenant; give them distinct mailNicknames first", nick, len(matches))
	}
	return nil
}

func (p *importer) user(upn string, line int) *allot.User {
	key := allot.IdentifierKey(upn)
	if u := p.userAfter[key]; u != nil {
		return u
	}
	if u := p.users[key]; u != nil {
		return u
	}
	if p.in.UsersFile != "" {
		p.fail(p.in.MembershipsFile, line, "user %q is neither in %s nor a user of the tenant", upn, p.in.UsersFile)
	} else {
		p.fail(p.in.MembershipsFile, line, "user %q is not a user of the tenant", upn)
	}
	return nil
}

// wantedMembership is a row of memberships.csv resolved to ids.
type wantedMembership struct {
	line                int
	group, member, kind string
	groupKey, memberKey string // the names the row gives, for the report
}

func (p *importer) planMemberships() error {
	if p.in.MembershipsFile == "" {
		return nil
	}
	want := p.wantedMemberships()
	if p.rep.Errors.Len() > 0 {
		return nil
	}
	existing, err := p.existingMemberships(want)
	if err != nil {
		return err
	}
	keep := p.planAdds(want, existing)
	if !p.in.PruneMemberships {
		return nil
	}
	return p.planRemoves(existing, keep)
}

// wantedMemberships resolves the rows of memberships.csv, reporting those
// naming what does not exist.
func (p *importer) wantedMemberships() []wantedMembership {
	var want []wantedMembership
	for _, r := range p.in.Memberships {
		g := p.group(r.Group, r.Line)
		if g != nil && g.MembershipRuleProcessingState != "" {
			p.fail(p.in.MembershipsFile, r.Line, "group %q has dynamic membership: its membershipRule decides its members", r.Group)
			continue
		}
		var w wantedMembership
		if r.User != "" {
			if u := p.user(r.User, r.Line); u != nil && g != nil {
				w = wantedMembership{r.Line, g.ID, u.ID, allot.MemberUser, g.MailNickname, u.UserPrincipalName}
			}
		} else if m := p.group(r.MemberGroup, r.Line); m != nil && g != nil {
			if m.ID == g.ID {
				p.fail(p.in.MembershipsFile, r.Line, "group %q cannot be a member of itself", r.Group)
				continue
			}
			w = wantedMembership{r.Line, g.ID, m.ID, allot.MemberGroup, g.MailNickname, m.MailNickname}
		}
		if w.group != "" {
			want = append(want, w)
		}
	}
	return want
}

// existingMemberships reads the memberships that exist: of the pruned
// groups, all of them; otherwise those of the members named, which is all
// that is compared. They map to the member's kind.
func (p *importer) existingMemberships(want []wantedMembership) (map[[2]string]string, error) {
	existing := map[[2]string]string{}
	scan := func(r *sql.Rows) error {
		var g, m, kind string
		err := r.Scan(&g, &m, &kind)
		existing[[2]string{g, m}] = kind
		return err
	}
	if p.in.PruneMemberships {
		var scope []string
		for _, g := range p.groupAfter {
			scope = append(scope, g.ID)
		}
		for _, w := range want {
			scope = append(scope, w.group)
		}
		slices.Sort(scope)
		scope = slices.Compact(scope)
		err := p.tx.each(p.ctx, `SELECT group_id, member_id, member_kind FROM memberships WHERE tenant_id = ? AND group_id IN (%s)`, scope, []any{p.tenant}, scan)
		return existing, err
	}
	var members []string
	for _, w := range want {
		members = append(members, w.member)
	}
	err := p.tx.each(p.ctx, `SELECT group_id, member_id, member_kind FROM memberships WHERE tenant_id = ? AND member_id IN (%s)`, slices.Compact(slices.Sorted(slices.Values(members))), []any{p.tenant}, scan)
	return existing, err
}

// planAdds keeps the wanted memberships that do not exist yet to add, and
// returns every wanted one.
func (p *importer) planAdds(want []wantedMembership, existing map[[2]string]string) map[[2]string]bool {
	keep := map[[2]string]bool{}
	for _, w := range want {
		pair := [2]string{w.group, w.member}
		if keep[pair] {
			// Two spellings of one membership (a user renamed in users.csv).
			p.fail(p.in.MembershipsFile, w.line, "the membership of %q in %q appears twice", w.memberKey, w.groupKey)
			continue
		}
		keep[pair] = true
		if _, ok := existing[pair]; ok {
			p.rep.Memberships.Unchanged++
			continue
		}
		p.adds = append(p.adds, memberChange{w.group, w.member, w.kind})
		p.rep.Memberships.Added++
		p.rep.AddChange(csvio.Change{File: p.in.MembershipsFile, Line: w.line, Object: "membership", Action: "add", Key: w.groupKey, Member: w.memberKey})
	}
	return keep
}

// planRemoves keeps the existing memberships the file does not list to
// remove, reported by the groups' and members' names.
func (p *importer) planRemoves(existing map[[2]string]string, keep map[[2]string]bool) error {
	var gone []memberChange
	var goneUsers []string
	for pair, kind := range existing {
		if x := p.groupByID[pair[0]]; x != nil && x.MembershipRuleProcessingState != "" {
			continue // its rule decides its members, not the file
		}
		if !keep[pair] {
			gone = append(gone, memberChange{pair[0], pair[1], kind})
			if kind == allot.MemberUser {
				goneUsers = append(goneUsers, pair[1])
			}
		}
	}
	upn := map[string]string{}
	if err := p.tx.each(p.ctx, `SELECT id, upn FROM users WHERE tenant_id = ? AND id IN (%s)`, goneUsers, []any{p.tenant}, func(r *sql.Rows) error {
		var id, name string
		err := r.Scan(&id, &name)
		upn[id] = name
		return err
	}); err != nil {
		return err
	}
	name := func(c memberChange) (string, string) {
		g, m := c.group, c.member
		if x := p.groupByID[c.group]; x != nil && x.MailNickname != "" {
			g = x.MailNickname
		}
		if c.kind == allot.MemberUser && upn[c.member] != "" {
			m = upn[c.member]
		} else if x := p.groupByID[c.member]; x != nil && x.MailNickname != "" {
			m = x.MailNickname
		}
		return g, m
	}
	sort.Slice(gone, func(i, j int) bool {
		gi, mi := name(gone[i])
		gj, mj := name(gone[j])
		return gi < gj || gi == gj && mi < mj
	})
	for _, c := range gone {
		g, m := name(c)
		p.removes = append(p.removes, c)
		p.rep.Memberships.Removed++
		p.rep.AddChange(csvio.Change{Object: "membership", Action: "remove", Key: g, Member: m})
	}
	return nil
}

func (p *importer) addAudit(activity, targetType, targetID, before, after string) {
	p.audit = append(p.audit, auditRow(p.ctx, p.tenant, fmtTime(p.now), activity, targetType, targetID, before, after, "success"))
}

func (p *importer) apply() error {
	for _, step := range []func() error{p.applyUsers, p.applyGroups, p.applyMemberships, p.applyRules} {
		if err := step(); err != nil {
			return err
		}
	}
	p.addAudit("Import directory", "Tenant", p.tenant, "", toJSON(map[string]any{"format": "csv",
		"users": p.rep.Users, "groups": p.rep.Groups, "memberships": p.rep.Memberships}))
	return p.tx.insertRows(p.ctx, auditCols, p.audit)
}

func (p *importer) applyUsers() error {
	s, ctx, tx := p.s, p.ctx, p.tx
	for _, u := range p.newUsers {
		p.addAudit("Add user", "User", u.ID, "", userCreatedJSON(u))
	}
	if err := insertUsers(ctx, tx, p.tenant, p.newUsers); err != nil {
		return err
	}
	var requeue, moved []string
	for _, c := range p.userUpdates {
		u := c.after
		if err := updateUserRow(ctx, tx, p.tenant, u); err != nil {
			return err
		}
		p.addAudit("Update user", "User", u.ID, userAuditJSON(c.before), userAuditJSON(u))
		if c.requeue {
			requeue = append(requeue, u.ID)
		}
		if c.addresses {
			moved = append(moved, u.ID)
		}
	}
	// As UpdateUser: the users first, evaluated against the owners as they
	// are; then, for users owning their addresses (a mailbox), everyone
	// listing an address they drop or add.
	if err := s.enqueueUsers(ctx, tx, p.tenant, requeue, ""); err != nil {
		return err
	}
	mailbox, err := tx.idSet(ctx, `SELECT DISTINCT user_id FROM license_states WHERE tenant_id = ? AND mailbox = 1 AND user_id IN (%s)`, moved, p.tenant)
	if err != nil {
		return err
	}
	for _, c := range p.userUpdates {
		if !c.addresses {
			continue
		}
		if mailbox[c.after.ID] {
			if err := s.enqueueAddressListers(ctx, tx, p.tenant, append(slices.Clone(c.before.ProxyAddresses), c.after.ProxyAddresses...), c.after.ID); err != nil {
				return err
			}
		}
		if err := s.setAddresses(ctx, tx, p.tenant, c.after.ID, allot.MemberUser, c.after.ProxyAddresses); err != nil {
			return err
		}
	}
	return nil
}

// applyRules brings the new and changed users' dynamic memberships in
// line with the rules, as a change through the API does.
func (p *importer) applyRules() error {
	ids := make([]string, 0, len(p.newUsers)+len(p.userUpdates))
	for _, u := range p.newUsers {
		ids = append(ids, u.ID)
	}
	for _, c := range p.userUpdates {
		ids = append(ids, c.after.ID)
	}
	if err := p.s.refreshDynamic(p.ctx, p.tx, p.tenant, ids, false); err != nil {
		return err
	}
	// Groups nested by memberships.csv may give a dynamic group licenses
	// its own rule reads (docs/RULES.md §2.5).
	return p.s.checkRuleLoops(p.ctx, p.tx, p.tenant, p.s.catalogIn(p.ctx, p.tx))
}

func (p *importer) applyGroups() error {
	s, ctx, tx := p.s, p.ctx, p.tx
	var owned []string
	for _, g := range p.newGroups {
		owned = append(owned, g.ProxyAddresses...)
		p.addAudit("Add group", "Group", g.ID, "", groupCreatedJSON(g))
	}
	if err := insertGroups(ctx, tx, p.tenant, p.newGroups); err != nil {
		return err
	}
	// A group owns the addresses it lists: their user listers are queued.
	if err := s.enqueueAddressListers(ctx, tx, p.tenant, owned, ""); err != nil {
		return err
	}
	for _, c := range p.groupUpdates {
		g := c.after
		if c.addresses {
			if err := s.enqueueAddressListers(ctx, tx, p.tenant, append(slices.Clone(c.before.ProxyAddresses), g.ProxyAddresses...), ""); err != nil {
				return err
			}
			if err := s.setAddresses(ctx, tx, p.tenant, g.ID, allot.MemberGroup, g.ProxyAddresses); err != nil {
				return err
			}
		}
		g.ModifiedAt = p.now
		if err := updateGroupRow(ctx, tx, p.tenant, g); err != nil {
			return err
		}
		p.addAudit("Update group", "Group", g.ID, toJSON(c.before), toJSON(g))
	}
	return nil
}

func (p *importer) applyMemberships() error {
	s, ctx, tx := p.s, p.ctx, p.tx
	touched := map[string][]string{} // group -> users who joined or left, in file order
	var order []string
	touch := func(c memberChange) {
		if c.kind != allot.MemberUser || p.newGroupIDs[c.group] {
			return // a new group has no licenses, so its members need no evaluation
		}
		if touched[c.group] == nil {
			order = append(order, c.group)
		}
		touched[c.group] = append(touched[c.group], c.member)
	}
	for _, c := range p.adds {
		p.addAudit("Add member to group", "Group", c.group, "", toJSON(map[string]string{"memberId": c.member, "memberType": c.kind}))
		touch(c)
	}
	if err := insertMemberships(ctx, tx, p.tenant, fmtTime(p.now), p.adds); err != nil {
		return err
	}
	var changed []string
	for _, c := range append(slices.Clone(p.adds), p.removes...) {
		changed = append(changed, c.group)
	}
	if err := touchGroups(ctx, tx, p.tenant, fmtTime(p.now), slices.Compact(slices.Sorted(slices.Values(changed)))); err != nil {
		return err
	}
	for _, c := range p.removes {
		if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_id = ?`, p.tenant, c.group, c.member); err != nil {
			return err
		}
		p.addAudit("Remove member from group", "Group", c.group, toJSON(map[string]string{"memberId": c.member, "memberType": c.kind}), "")
		touch(c)
	}
	// As enqueueIfLicensed, per group rather than per user: a user joining
	// or leaving a group is queued when the group has assignments, or when
	// the user still has states from it.
	for _, g := range order {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM assignments WHERE tenant_id = ? AND target_id = ?`, p.tenant, g).Scan(&n); err != nil {
			return err
		}
		ids := touched[g]
		if n == 0 {
			licensed, err := tx.idSet(ctx, `SELECT DISTINCT user_id FROM license_states WHERE tenant_id = ? AND source = ? AND user_id IN (%s)`, ids, p.tenant, g)
			if err != nil {
				return err
			}
			ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !licensed[id] })
		}
		if err := s.enqueueUsers(ctx, tx, p.tenant, ids, g); err != nil {
			return err
		}
	}
	return nil
}
