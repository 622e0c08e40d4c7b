package web

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

// --- Users page and a user's details ---

type usersData struct {
	Query string
	Users []userListRow
	Count int
	Next  string
}

type userListRow struct {
	ID, Name, UPN, Location string
	Licenses                []string
	Errors                  int
}

func (s *server) usersPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := usersData{Query: strings.TrimSpace(q.Get("q"))}
	page, err := s.svc.Users.ListUsers(r.Context(), allot.ListOptions{Search: d.Query, OrderBy: "displayName", Top: 100, After: q.Get("after"), WithLicensing: true, Count: true})
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	d.Count = page.Count
	for _, u := range page.Items {
		row := userListRow{ID: u.ID, Name: u.DisplayName, UPN: u.UserPrincipalName, Location: u.UsageLocation}
		for _, l := range u.AssignedLicenses {
			row.Licenses = append(row.Licenses, skuName(cat, l.SkuID))
		}
		for _, st := range u.States {
			if st.State == allot.StateError {
				row.Errors++
			}
		}
		d.Users = append(d.Users, row)
	}
	if page.NextCursor != "" {
		d.Next = "/users?" + url.Values{"q": {d.Query}, "after": {page.NextCursor}}.Encode()
	}
	s.render(w, r, http.StatusOK, "users", s.newView(w, r, "Active users", "users", d))
	return nil
}

type userData struct {
	User    userDetails
	States  []stateView // User.States with what fixes each error
	Errors  int         // states in error
	Mail    string
	Enabled bool
	Groups  []groupRow
	More    bool
	Panel   *editData
}

// stateView is a license state with the way out of its error, so that a
// page never leaves people at a code: who holds a conflicting proxy
// address, and which role can fix it when the viewer's cannot.
type stateView struct {
	stateRow
	Holder, HolderURL string
	Fix               string
}

func (s *server) loadUser(r *http.Request) (*allot.User, *userData, error) {
	u, err := s.svc.Users.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	defaultLoc := ""
	if t, err := s.svc.Tenants.Tenant(r.Context()); err == nil {
		defaultLoc = t.DefaultUsageLocation
	}
	d := &userData{User: s.userDetailsOf(r, u, defaultLoc), Mail: u.Mail, Enabled: u.AccountEnabled}
	if d.States, err = s.stateViews(r, u, d.User.States, u.UsageLocation == "" && defaultLoc == ""); err != nil {
		return nil, nil, err
	}
	for _, st := range u.States {
		if st.State == allot.StateError {
			d.Errors++
		}
	}
	groups, err := s.svc.Users.MemberOf(r.Context(), u.ID, false, allot.ListOptions{OrderBy: "displayName", Top: 100})
	if err != nil {
		return nil, nil, err
	}
	cat := s.svc.Subscriptions.Catalog()
	for i := range groups.Items {
		d.Groups = append(d.Groups, groupRowOf(cat, &groups.Items[i], ""))
	}
	d.More = groups.NextCursor != ""
	return u, d, nil
}

func (s *server) userPage(w http.ResponseWriter, r *http.Request) error {
	_, d, err := s.loadUser(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "user", s.newView(w, r, d.User.Name, "users", d))
	return nil
}

// --- Edit user: usage location, licenses and apps, proxy addresses ---

type editData struct {
	Location    string
	DefaultLoc  string
	Countries   []allot.Country
	Products    []editProduct
	Proxy       string
	Return      string
	Action      string
	CanLocation bool
	CanLicenses bool
	CanProxy    bool
}

type editProduct struct {
	ID, Name         string
	Direct           bool
	Available, Total int
	Apps             []planOption
	Via              []string    // groups the user also gets it from
	Errors           []stateView // the user's states of it in error, whatever their source
}

// returnTo is where the panel's Close goes: a local path, else the user's page.
func returnTo(r *http.Request, fallback string) string {
	v := r.URL.Query().Get("return")
	if r.Method == http.MethodPost {
		v = r.PostForm.Get("return")
	}
	if p, ok := localPath(v); ok {
		return p
	}
	return fallback
}

func (s *server) editUser(w http.ResponseWriter, r *http.Request) error {
	a, _ := allot.ActorFromContext(r.Context())
	can := permsOf(a.Role)
	if !can.EditUser() {
		return forbidden("edit users")
	}
	u, d, err := s.loadUser(r)
	if err != nil {
		return err
	}
	subs, err := s.svc.Subscriptions.Subscriptions(r.Context())
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	e := &editData{Location: u.UsageLocation, DefaultLoc: d.User.DefaultLoc, Countries: allot.Countries, Proxy: strings.Join(u.ProxyAddresses, "\n"),
		Return: returnTo(r, "/users/"+url.PathEscape(u.ID)), Action: "/users/" + url.PathEscape(u.ID) + "/edit",
		CanLocation: can.EditLocation, CanLicenses: can.ManageLicenses, CanProxy: can.ManageUsers}
	groupName := s.groupNames(r)
	kept := s.keptForm(r)
	if kept != nil {
		// The form was refused: show what was typed, not what is stored.
		if _, ok := kept["usageLocation"]; ok {
			e.Location = kept.Get("usageLocation")
		}
		if _, ok := kept["proxy"]; ok {
			e.Proxy = kept.Get("proxy")
		}
	}
	for _, sub := range subs {
		p := editProduct{ID: sub.SkuID, Name: skuName(cat, sub.SkuID), Available: sub.Available(), Total: sub.Enabled}
		var off []string
		for i, st := range u.States {
			if st.SkuID != sub.SkuID {
				continue
			}
			if st.Direct() {
				p.Direct, off = true, st.DisabledPlans
			} else {
				p.Via = append(p.Via, groupName(st.Source))
			}
			if st.State == allot.StateError && i < len(d.States) {
				p.Errors = append(p.Errors, d.States[i])
			}
		}
		p.Apps = s.plansOf(sub.SkuID, off)
		if kept.Get("licenses_shown") == "1" {
			p.Direct = slices.Contains(kept["license"], sub.SkuID)
			for i := range p.Apps {
				p.Apps[i].On = slices.Contains(kept["app:"+sub.SkuID], p.Apps[i].ID)
			}
		}
		e.Products = append(e.Products, p)
	}
	slices.SortStableFunc(e.Products, func(a, b editProduct) int { return strings.Compare(a.Name, b.Name) })
	d.Panel = e
	s.render(w, r, http.StatusOK, "user", s.newView(w, r, "Edit "+d.User.Name, "users", d))
	return nil
}

func (s *server) editUserPost(w http.ResponseWriter, r *http.Request) error {
	a, _ := allot.ActorFromContext(r.Context())
	if !permsOf(a.Role).EditUser() {
		return forbidden("edit users")
	}
	u, err := s.svc.Users.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := refuseForgedFields(a.Role, r.PostForm); err != nil {
		return err
	}
	c, err := s.userChanges(u, parseUserForm(r.PostForm))
	if err != nil {
		return err
	}
	f, err := s.applyUserChanges(r, u, c, a.Role.Can(allot.PermManageLicenses))
	if err != nil {
		return err
	}
	self := "/users/" + url.PathEscape(u.ID) + "/edit?return=" + url.QueryEscape(returnTo(r, "/users/"+url.PathEscape(u.ID)))
	if f.Kind == "error" {
		return s.redirectKeeping(w, r, self, f, "usageLocation", "proxy", "licenses_shown", "license", "app:*")
	}
	return s.redirect(w, r, self, f)
}

// editFields are the Edit user panel's parts, each with the permission
// that shows it. The panel shows a role only the parts it may change, so a
// form with another is forged, whatever its values; that one check also
// keeps every change below to the roles that may make it.
var editFields = []struct {
	name string
	perm allot.Permission
}{
	{"usageLocation", allot.PermEditLocation},
	{"proxy", allot.PermManageUsers},
	{"licenses_shown", allot.PermManageLicenses},
}

func refuseForgedFields(role allot.Role, f url.Values) error {
	for _, field := range editFields {
		if _, present := f[field.name]; present && !role.Can(field.perm) {
			return forbidden(permWords[field.perm])
		}
	}
	return nil
}

// userForm is the Edit user form as sent; a part the panel did not show
// is nil (or licensesShown false), and changes nothing.
type userForm struct {
	location      *string   // upper case
	proxy         *[]string // one a line, blank lines dropped
	licensesShown bool
	licenses      []string            // the direct licenses wanted
	appsOn        map[string][]string // of each wanted license, the apps left on
}

func parseUserForm(f url.Values) userForm {
	var p userForm
	if _, ok := f["usageLocation"]; ok {
		loc := strings.ToUpper(strings.TrimSpace(f.Get("usageLocation")))
		p.location = &loc
	}
	if _, ok := f["proxy"]; ok {
		proxy := []string{}
		for _, l := range strings.Split(f.Get("proxy"), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				proxy = append(proxy, l)
			}
		}
		p.proxy = &proxy
	}
	if f.Get("licenses_shown") == "1" {
		p.licensesShown = true
		p.licenses = formIDs(f["license"])
		p.appsOn = map[string][]string{}
		for _, sku := range p.licenses {
			p.appsOn[sku] = f["app:"+sku]
		}
	}
	return p
}

// userChanges are what a form changes of a user, each also in words for
// the message.
type userChanges struct {
	update   allot.UserUpdate
	saved    []string // the update's changes
	add      []allot.AssignedLicense
	remove   []string
	licenses []string // the changes of add and remove
}

// userChanges compares the form with the user as stored: only what
// differs is changed, so that saving an untouched panel changes nothing.
func (s *server) userChanges(u *allot.User, p userForm) (*userChanges, error) {
	c := &userChanges{}
	if p.location != nil && *p.location != u.UsageLocation {
		c.update.UsageLocation = p.location
		c.saved = append(c.saved, fmt.Sprintf("usage location changed from %s to %s", countryOrNone(u.UsageLocation), countryOrNone(*p.location)))
	}
	if p.proxy != nil && !slices.Equal(*p.proxy, u.ProxyAddresses) {
		c.update.ProxyAddresses = p.proxy
		c.saved = append(c.saved, "proxy addresses changed")
	}
	if !p.licensesShown {
		return c, nil
	}
	cat := s.svc.Subscriptions.Catalog()
	current := map[string][]string{} // direct licenses, with their apps off
	for _, st := range u.States {
		if st.Direct() {
			current[st.SkuID] = st.DisabledPlans
		}
	}
	for _, sku := range p.licenses {
		if cat.SKUs[sku] == nil {
			return nil, badRequest("Unknown product.")
		}
		off := []string{}
		for _, plan := range cat.SKUs[sku].Plans {
			if !slices.Contains(p.appsOn[sku], plan) {
				off = append(off, plan)
			}
		}
		before, had := current[sku]
		switch {
		case !had:
			c.add = append(c.add, allot.AssignedLicense{SkuID: sku, DisabledPlans: off})
			c.licenses = append(c.licenses, skuName(cat, sku)+" assigned")
		case !sameSet(before, off):
			c.add = append(c.add, allot.AssignedLicense{SkuID: sku, DisabledPlans: off})
			c.licenses = append(c.licenses, "apps of "+skuName(cat, sku)+" changed")
		}
	}
	for _, sku := range slices.Sorted(maps.Keys(current)) {
		if !slices.Contains(p.licenses, sku) {
			c.remove = append(c.remove, sku)
			c.licenses = append(c.licenses, skuName(cat, sku)+" removed")
		}
	}
	return c, nil
}

func countryOrNone(code string) string {
	if n := countryName(code); n != "" {
		return n
	}
	return "none"
}

// sameSet compares lists of disabled plans, whose order means nothing.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// applyUserChanges saves c and returns the message that says what became
// of it. A refused change is a message, not an error page, since the
// panel can be corrected; so is a license change refused after the other
// changes were saved, which the message then names.
func (s *server) applyUserChanges(r *http.Request, u *allot.User, c *userChanges, canLicenses bool) (flash, error) {
	if len(c.saved) == 0 && len(c.licenses) == 0 {
		return flash{Kind: "info", Text: "Nothing was changed, so nothing was saved."}, nil
	}
	if len(c.saved) > 0 {
		if _, err := s.svc.Users.UpdateUser(r.Context(), u.ID, c.update); err != nil {
			if allot.ErrorCode(err) == allot.EINTERNAL {
				return flash{}, err
			}
			return flash{Kind: "error", Text: "Nothing was saved: " + plainMessage(err)}, nil
		}
	}
	if len(c.licenses) > 0 {
		add, remove := c.add, c.remove
		if add == nil {
			add = []allot.AssignedLicense{}
		}
		if remove == nil {
			remove = []string{}
		}
		if _, err := s.svc.Licenses.AssignUserLicense(r.Context(), u.ID, add, remove); err != nil {
			if allot.ErrorCode(err) == allot.EINTERNAL {
				return flash{}, err
			}
			text := "Licenses and apps were not changed: " + plainMessage(err)
			if len(c.saved) > 0 {
				text = "Saved: " + strings.Join(c.saved, "; ") + ". " + text
			}
			return flash{Kind: "error", Text: text}, nil
		}
	}
	text := "Changes saved: " + strings.Join(slices.Concat(c.saved, c.licenses), "; ") + "."
	if len(c.saved) > 0 && canLicenses {
		// A new location or new addresses would be applied by background
		// processing; reprocess the user now, so that the message can
		// tell the outcome. (A license change already evaluated the user.)
		if err := s.svc.Licenses.ReprocessUsers(r.Context(), []string{u.ID}); err != nil {
			return flash{}, err
		}
	}
	after, err := s.svc.Users.User(r.Context(), u.ID)
	if err != nil {
		return flash{}, err
	}
	if len(c.saved) > 0 && !canLicenses {
		// Not known to be fixed yet, so not green.
		return flash{Kind: "info", Text: text + " The user's licenses are being updated in the background."}, nil
	}
	cat := s.svc.Subscriptions.Catalog()
	var errs []string
	for _, st := range after.States {
		if st.State == allot.StateError {
			errs = append(errs, skuName(cat, st.SkuID)+": "+errorWords(st.Error, after.UsageLocation == ""))
		}
	}
	if len(errs) == 0 {
		return flash{Kind: "success", Text: text + " Every license of this user is now assigned."}, nil
	}
	// Saved, but green only when nothing is left to fix.
	return flash{Kind: "warning", Text: text + " Still in error: " + strings.Join(errs, "; ") + "."}, nil
}

// --- Groups page and a group's details ---

type groupsData struct {
	Query  string
	Groups []groupRow
	Count  int
	Next   string
}

func (s *server) groupsPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := groupsData{Query: strings.TrimSpace(q.Get("q"))}
	page, err := s.svc.Groups.ListGroups(r.Context(), allot.ListOptions{Search: d.Query, OrderBy: "displayName", Top: 100, After: q.Get("after"), Count: true})
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	d.Count = page.Count
	for i := range page.Items {
		d.Groups = append(d.Groups, groupRowOf(cat, &page.Items[i], ""))
	}
	if page.NextCursor != "" {
		d.Next = "/groups?" + url.Values{"q": {d.Query}, "after": {page.NextCursor}}.Encode()
	}
	s.render(w, r, http.StatusOK, "groups", s.newView(w, r, "Active groups", "groups", d))
	return nil
}

type groupData struct {
	Group       groupRow
	Description string
	Mail        string
	Licenses    []groupLicense
	Members     []memberItem
	MemberCount int
	Next        string
	Rule        *ruleFacts   // a dynamic group's rule; nil for assigned membership
	Confirm     *confirmData // the dialog open over the page
}

type groupLicense struct {
	ID, Name string
	AppsOff  []string
}

type memberItem struct {
	ID, Name, UPN, Kind string
}

func (s *server) groupPage(w http.ResponseWriter, r *http.Request) error {
	g, err := s.svc.Groups.Group(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := s.loadGroup(r, g)
	if err != nil {
		return err
	}
	if id := r.URL.Query().Get("remove"); id != "" {
		// Remove on a member's row: the dialog that asks first.
		if d.Confirm, err = s.removeMemberConfirm(r, g, id); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "group", s.newView(w, r, g.DisplayName, "groups", d))
	return nil
}

// removeMemberConfirm is the dialog before the user id leaves the
// assigned group g (Active groups, Remove on the member's row).
func (s *server) removeMemberConfirm(r *http.Request, g *allot.Group, id string) (*confirmData, error) {
	a, _ := allot.ActorFromContext(r.Context())
	if !a.Role.Can(allot.PermManageGroups) {
		return nil, forbidden(permWords[allot.PermManageGroups])
	}
	if isDynamic(g) {
		return nil, badRequest("Members of a dynamic group are managed by its rule.")
	}
	u, err := s.svc.Users.User(r.Context(), id)
	if err != nil {
		return nil, err
	}
	back := groupURL(g.ID)
	return &confirmData{Title: "Remove from group", Action: back + "/members", Confirm: "Remove", Cancel: back, CancelLabel: "Cancel", Danger: true,
		Text:   fmt.Sprintf("Remove %s from %s? The user loses the licenses it has only through this group.", u.DisplayName, g.DisplayName),
		Items:  []string{u.DisplayName + " (" + u.UserPrincipalName + ")"},
		Fields: []field{{"op", "remove"}, {"user", u.ID}}}, nil
}

func (s *server) loadGroup(r *http.Request, g *allot.Group) (*groupData, error) {
	cat := s.svc.Subscriptions.Catalog()
	d := &groupData{Group: groupRowOf(cat, g, ""), Description: g.Description, Mail: g.MailNickname, Rule: ruleFactsOf(g)}
	for _, l := range g.AssignedLicenses {
		gl := groupLicense{ID: l.SkuID, Name: skuName(cat, l.SkuID)}
		for _, p := range l.DisabledPlans {
			gl.AppsOff = append(gl.AppsOff, planName(cat, p))
		}
		d.Licenses = append(d.Licenses, gl)
	}
	members, err := s.svc.Groups.Members(r.Context(), g.ID, false, allot.ListOptions{Top: s.pageSize, After: r.URL.Query().Get("after"), Count: true})
	if err != nil {
		return nil, err
	}
	d.MemberCount = members.Count
	for _, m := range members.Items {
		switch {
		case m.User != nil:
			d.Members = append(d.Members, memberItem{ID: m.User.ID, Name: m.User.DisplayName, UPN: m.User.UserPrincipalName, Kind: "User"})
		case m.Group != nil:
			d.Members = append(d.Members, memberItem{ID: m.Group.ID, Name: m.Group.DisplayName, Kind: "Group (not expanded for licensing)"})
		}
	}
	if members.NextCursor != "" {
		d.Next = "/groups/" + url.PathEscape(g.ID) + "?after=" + url.QueryEscape(members.NextCursor)
	}
	return d, nil
}

// --- The way out of a license error ---

// takenAddress finds the address in the rules' UniquenessViolation detail.
var takenAddress = regexp.MustCompile(`proxy address (\S+) is already being used by another object`)

// stateViews adds to rows (userDetailsOf's, one per state of u in order)
// what fixes each error, for the role signed in.
func (s *server) stateViews(r *http.Request, u *allot.User, rows []stateRow, noLocation bool) ([]stateView, error) {
	a, _ := allot.ActorFromContext(r.Context())
	out := make([]stateView, len(rows))
	for i, row := range rows {
		out[i].stateRow = row
		if i >= len(u.States) || u.States[i].State != allot.StateError {
			continue
		}
		st := u.States[i]
		if st.Error == allot.UniquenessViolation {
			var err error
			if out[i].Holder, out[i].HolderURL, err = s.addressHolder(r, u.ID, st.Detail); err != nil {
				return nil, err
			}
		}
		out[i].Fix = fixWords(a.Role, st.Error, noLocation, out[i].Holder)
	}
	return out, nil
}

// addressHolder is the user or group other than self that lists the
// address a UniquenessViolation names, with its page; a group owns its
// addresses outright, so one is preferred to a user. "" when it is gone.
func (s *server) addressHolder(r *http.Request, self, detail string) (name, href string, err error) {
	m := takenAddress.FindStringSubmatch(detail)
	if m == nil {
		return "", "", nil
	}
	addr := allot.NormalizeAddress(m[1])
	ctx := r.Context()
	// Groups cannot be filtered by address; their lists are short, and a
	// conflict is rare, so a few pages are read.
	after := ""
	for range 5 {
		page, err := s.svc.Groups.ListGroups(ctx, allot.ListOptions{Top: allot.MaxPageSize, After: after})
		if err != nil {
			return "", "", err
		}
		for _, g := range page.Items {
			if slices.ContainsFunc(g.ProxyAddresses, func(p string) bool { return allot.NormalizeAddress(p) == addr }) {
				return g.DisplayName, "/groups/" + url.PathEscape(g.ID), nil
			}
		}
		if after = page.NextCursor; after == "" {
			break
		}
	}
	users, err := s.svc.Users.ListUsers(ctx, allot.ListOptions{Top: 10, Filter: &allot.Any{Collection: "proxyAddresses",
		Cond: &allot.Or{Left: &allot.Compare{Property: "proxyAddresses", Op: "eq", Value: addr},
			Right: &allot.Compare{Property: "proxyAddresses", Op: "eq", Value: "smtp:" + addr}}}})
	if err != nil {
		return "", "", err
	}
	for _, o := range users.Items {
		if o.ID != self {
			return o.DisplayName, "/users/" + url.PathEscape(o.ID), nil
		}
	}
	return "", "", nil
}

// fixWords says how to get out of a license error and, when the role
// signed in cannot do it, which role can.
func fixWords(role allot.Role, code allot.LicenseError, noLocation bool, holder string) string {
	var fix string
	var need []allot.Permission
	switch code {
	case allot.CountViolation:
		free, buy := role.Can(allot.PermManageLicenses), role.Can(allot.PermPurchase)
		switch {
		case free && buy:
			return "Free up a license (unassign it from someone who doesn't need it) or buy more, then reprocess."
		case free:
			return "Free up a license (unassign it from someone who doesn't need it), then reprocess. Buying more needs " + whoCan(allot.PermPurchase) + "."
		case buy:
			return "Buy more with Purchase license on the group's Actions needed tab. Freeing one up needs " + whoCan(allot.PermManageLicenses) + "."
		}
		return "Free up a license or buy more: that needs " + whoCan(allot.PermManageLicenses) + " to unassign one, or " + whoCan(allot.PermPurchase) + " to buy more."
	case allot.UniquenessViolation:
		fix, need = "Remove the address from this user in Edit user", []allot.Permission{allot.PermManageUsers}
		if holder != "" {
			fix += ", or from " + holder
		}
		fix += "."
	case allot.ProhibitedInUsageLocationViolation:
		need = []allot.Permission{allot.PermEditLocation}
		fix = "Select a location in Edit user."
		if !noLocation {
			fix = "Select another location in Edit user, or turn off the app that is not offered there."
		}
	case allot.MutuallyExclusiveViolation:
		fix, need = "Turn off one of the two apps, in Edit user or on the group's license.", []allot.Permission{allot.PermManageLicenses}
	case allot.DependencyViolation:
		fix, need = "Turn on the app it depends on, or assign a product that has it.", []allot.Permission{allot.PermManageLicenses}
	case allot.OtherViolation:
		return "Fix the error of the group's other product; this one follows."
	default:
		return ""
	}
	for _, p := range need {
		if !role.Can(p) {
			return fix + " Your role can't: that needs " + whoCan(need...) + "."
		}
	}
	return fix
}
