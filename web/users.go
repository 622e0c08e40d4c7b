package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
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
	page, err := s.svc.Users.ListUsers(r.Context(), allot.ListOptions{Search: d.Query, OrderByName: true, Top: 100, After: q.Get("after"), WithLicensing: true, Count: true})
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
	Mail    string
	Enabled bool
	Groups  []groupRow
	More    bool
	Panel   *editData
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
	groups, err := s.svc.Users.MemberOf(r.Context(), u.ID, allot.ListOptions{OrderByName: true, Top: 100})
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
	Via              []string // groups the user also gets it from
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
	for _, sub := range subs {
		p := editProduct{ID: sub.SkuID, Name: skuName(cat, sub.SkuID), Available: sub.Available(), Total: sub.Enabled}
		var off []string
		for _, st := range u.States {
			if st.SkuID != sub.SkuID {
				continue
			}
			if st.Direct() {
				p.Direct, off = true, st.DisabledPlans
			} else {
				p.Via = append(p.Via, groupName(st.Source))
			}
		}
		p.Apps = s.plansOf(sub.SkuID, off)
		e.Products = append(e.Products, p)
	}
	sort.SliceStable(e.Products, func(i, j int) bool { return e.Products[i].Name < e.Products[j].Name })
	d.Panel = e
	s.render(w, r, http.StatusOK, "user", s.newView(w, r, "Edit "+d.User.Name, "users", d))
	return nil
}

func (s *server) editUserPost(w http.ResponseWriter, r *http.Request) error {
	a, _ := allot.ActorFromContext(r.Context())
	can := permsOf(a.Role)
	if !can.EditUser() {
		return forbidden("edit users")
	}
	u, err := s.svc.Users.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	f := r.PostForm
	// The panel shows a role only the fields it may change; a form with
	// another is forged, whatever its values.
	for field, ok := range map[string]bool{"usageLocation": can.EditLocation, "proxy": can.ManageUsers, "licenses_shown": can.ManageLicenses} {
		if _, present := f[field]; present && !ok {
			return forbidden(map[string]string{"usageLocation": permWords[allot.PermEditLocation], "proxy": permWords[allot.PermManageUsers],
				"licenses_shown": permWords[allot.PermManageLicenses]}[field])
		}
	}
	self := "/users/" + url.PathEscape(u.ID) + "/edit?return=" + url.QueryEscape(returnTo(r, "/users/"+url.PathEscape(u.ID)))
	cat := s.svc.Subscriptions.Catalog()
	var upd allot.UserUpdate
	var saved []string
	// Usage location.
	if _, ok := f["usageLocation"]; ok {
		loc := strings.ToUpper(strings.TrimSpace(f.Get("usageLocation")))
		if loc != u.UsageLocation {
			if !can.EditLocation {
				return forbidden(permWords[allot.PermEditLocation])
			}
			upd.UsageLocation = &loc
			from, to := countryName(u.UsageLocation), countryName(loc)
			if from == "" {
				from = "none"
			}
			if to == "" {
				to = "none"
			}
			saved = append(saved, fmt.Sprintf("usage location changed from %s to %s", from, to))
		}
	}
	// Proxy addresses, one a line.
	if _, ok := f["proxy"]; ok {
		var proxy []string
		for _, l := range strings.Split(f.Get("proxy"), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				proxy = append(proxy, l)
			}
		}
		if !slices.Equal(proxy, u.ProxyAddresses) && !(len(proxy) == 0 && len(u.ProxyAddresses) == 0) {
			if !can.ManageUsers {
				return forbidden(permWords[allot.PermManageUsers])
			}
			if proxy == nil {
				proxy = []string{}
			}
			upd.ProxyAddresses = &proxy
			saved = append(saved, "proxy addresses changed")
		}
	}
	// Licenses and apps: the direct licenses wanted, each with the apps left on.
	var add []allot.AssignedLicense
	var remove []string
	var licChanges []string
	if f.Get("licenses_shown") == "1" {
		current := map[string][]string{}
		for _, st := range u.States {
			if st.Direct() {
				current[st.SkuID] = st.DisabledPlans
			}
		}
		want := dedupe(f["license"])
		for _, sku := range want {
			if cat.SKUs[sku] == nil {
				return badRequest("Unknown product.")
			}
			var off []string
			for _, p := range cat.SKUs[sku].Plans {
				if !slices.Contains(f["app:"+sku], p) {
					off = append(off, p)
				}
			}
			if off == nil {
				off = []string{}
			}
			before, had := current[sku]
			switch {
			case !had:
				add = append(add, allot.AssignedLicense{SkuID: sku, DisabledPlans: off})
				licChanges = append(licChanges, skuName(cat, sku)+" assigned")
			case !sameSet(before, off):
				add = append(add, allot.AssignedLicense{SkuID: sku, DisabledPlans: off})
				licChanges = append(licChanges, "apps of "+skuName(cat, sku)+" changed")
			}
		}
		for sku := range current {
			if !slices.Contains(want, sku) {
				remove = append(remove, sku)
				licChanges = append(licChanges, skuName(cat, sku)+" removed")
			}
		}
		sort.Strings(remove)
		if len(add)+len(remove) > 0 && !can.ManageLicenses {
			return forbidden(permWords[allot.PermManageLicenses])
		}
	}
	if len(saved) == 0 && len(licChanges) == 0 {
		return s.redirect(w, r, self, flash{Kind: "info", Text: "Nothing was changed, so nothing was saved."})
	}
	if len(saved) > 0 {
		if _, err := s.svc.Users.UpdateUser(r.Context(), u.ID, upd); err != nil {
			if allot.ErrorCode(err) == allot.EINTERNAL {
				return err
			}
			return s.redirect(w, r, self, flash{Kind: "error", Text: "Nothing was saved: " + allot.ErrorMessage(err)})
		}
	}
	if len(licChanges) > 0 {
		if add == nil {
			add = []allot.AssignedLicense{}
		}
		if remove == nil {
			remove = []string{}
		}
		if _, err := s.svc.Licenses.AssignUserLicense(r.Context(), u.ID, add, remove); err != nil {
			if allot.ErrorCode(err) == allot.EINTERNAL {
				return err
			}
			text := "Licenses and apps were not changed: " + allot.ErrorMessage(err)
			if len(saved) > 0 {
				text = "Saved: " + strings.Join(saved, "; ") + ". " + text
			}
			return s.redirect(w, r, self, flash{Kind: "error", Text: text})
		}
	}
	text := "Changes saved: " + strings.Join(append(saved, licChanges...), "; ") + "."
	if len(saved) > 0 && can.ManageLicenses {
		// A new location or new addresses would be applied by background
		// processing; reprocess the user now, so that the message can
		// tell the outcome. (A license change already evaluated the user.)
		if err := s.svc.Licenses.ReprocessUsers(r.Context(), []string{u.ID}); err != nil {
			return err
		}
	}
	switch after, err := s.svc.Users.User(r.Context(), u.ID); {
	case err != nil:
		return err
	case len(saved) > 0 && !can.ManageLicenses:
		text += " The user's licenses are being updated in the background."
	default:
		var errs []string
		for _, st := range after.States {
			if st.State == allot.StateError {
				errs = append(errs, skuName(cat, st.SkuID)+": "+errorWords(st.Error, after.UsageLocation == ""))
			}
		}
		if len(errs) == 0 {
			text += " Every license of this user is now assigned."
		} else {
			text += " Still in error: " + strings.Join(errs, "; ") + "."
		}
	}
	return s.redirect(w, r, self, flash{Kind: "success", Text: text})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
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
	page, err := s.svc.Groups.ListGroups(r.Context(), allot.ListOptions{Search: d.Query, OrderByName: true, Top: 100, After: q.Get("after"), Count: true})
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
	cat := s.svc.Subscriptions.Catalog()
	d := groupData{Group: groupRowOf(cat, g, ""), Description: g.Description, Mail: g.MailNickname}
	for _, l := range g.AssignedLicenses {
		gl := groupLicense{ID: l.SkuID, Name: skuName(cat, l.SkuID)}
		for _, p := range l.DisabledPlans {
			gl.AppsOff = append(gl.AppsOff, planName(cat, p))
		}
		d.Licenses = append(d.Licenses, gl)
	}
	members, err := s.svc.Groups.Members(r.Context(), g.ID, false, allot.ListOptions{Top: s.pageSize, After: r.URL.Query().Get("after"), Count: true})
	if err != nil {
		return err
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
	s.render(w, r, http.StatusOK, "group", s.newView(w, r, g.DisplayName, "groups", d))
	return nil
}
