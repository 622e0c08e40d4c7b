package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
)

// The group side panel: "Successfully assigned" and "Actions needed" tabs,
// 999 users a page, and the actions of the reference's error sections.

type groupPanelData struct {
	Group        groupRow
	Tab          string // "success" or "actions"
	SuccessCount int
	ErrorCount   int
	Rows         []memberRow
	Next         string
	URL          string // the panel, without a tab
	Max          int
	Product      string
}

type memberRow struct {
	ID, Name, UPN, Location string
	Errors                  []string
}

func groupPanelURL(sku, group string) string {
	return productURL(sku) + "/groups/" + url.PathEscape(group)
}

func (s *server) loadGroupPanel(r *http.Request, d *productData, tab, after string) (*groupPanelData, error) {
	ctx := r.Context()
	g, err := s.svc.Groups.Group(ctx, r.PathValue("group"))
	if err != nil {
		return nil, err
	}
	cat := s.svc.Subscriptions.Catalog()
	p := &groupPanelData{Group: groupRowOf(cat, g, d.Product.ID), URL: groupPanelURL(d.Product.ID, g.ID), Max: allot.MaxBatch, Product: d.Product.Name}
	errs, err := s.svc.Groups.Members(ctx, g.ID, false, allot.ListOptions{ErrorsOnly: true, Top: 1, Count: true})
	if err != nil {
		return nil, err
	}
	p.ErrorCount = errs.Count
	if tab != "success" && tab != "actions" {
		tab = "success"
		if p.ErrorCount > 0 {
			tab = "actions"
		}
	}
	p.Tab = tab
	opt := allot.ListOptions{Top: s.pageSize, After: after, WithLicensing: true, Count: true}
	if tab == "actions" {
		opt.ErrorsOnly = true
	} else {
		opt.SuccessOnly = true
	}
	page, err := s.svc.Groups.Members(ctx, g.ID, false, opt)
	if err != nil {
		return nil, err
	}
	if tab == "actions" {
		p.ErrorCount = page.Count
		ok, err := s.svc.Groups.Members(ctx, g.ID, false, allot.ListOptions{SuccessOnly: true, Top: 1, Count: true})
		if err != nil {
			return nil, err
		}
		p.SuccessCount = ok.Count
	} else {
		p.SuccessCount = page.Count
	}
	defaultLoc := ""
	if t, err := s.svc.Tenants.Tenant(ctx); err == nil {
		defaultLoc = t.DefaultUsageLocation
	}
	for _, o := range page.Items {
		if o.User == nil {
			continue
		}
		u := o.User
		row := memberRow{ID: u.ID, Name: u.DisplayName, UPN: u.UserPrincipalName, Location: u.UsageLocation}
		row.Errors = stateErrors(cat, u, g.ID, u.UsageLocation == "" && defaultLoc == "", len(g.AssignedLicenses) > 1)
		p.Rows = append(p.Rows, row)
	}
	// A page comes in id order (the cursor's); within it, names read better.
	slices.SortStableFunc(p.Rows, func(a, b memberRow) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	if page.NextCursor != "" {
		p.Next = p.URL + "?tab=" + tab + "&after=" + url.QueryEscape(page.NextCursor)
	}
	return p, nil
}

// stateErrors are a user's errors from one source in plain words. "Other"
// only repeats a group's real error on its other products, so it is left
// out when the real one is there.
func stateErrors(cat *allot.Catalog, u *allot.User, source string, noLocation, nameProduct bool) []string {
	var real, other []string
	for _, st := range u.States {
		if st.Source != source || st.State != allot.StateError {
			continue
		}
		w := errorWords(st.Error, noLocation)
		if nameProduct {
			w += " (" + skuName(cat, st.SkuID) + ")"
		}
		if st.Error == allot.OtherViolation {
			other = append(other, w)
		} else {
			real = append(real, w)
		}
	}
	if len(real) > 0 {
		return real
	}
	return other
}

func (s *server) groupPanel(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("fragment") == "rows" { // the next page for the script: the rows only
		d, err := s.product(r)
		if err != nil {
			return err
		}
		p, err := s.loadGroupPanel(r, d, q.Get("tab"), q.Get("after"))
		if err != nil {
			return err
		}
		w.Header().Set("X-Next-Page", p.Next)
		s.renderTemplate(w, r, http.StatusOK, "product", "member-rows", p)
		return nil
	}
	d, err := s.loadProduct(r, "groups", "")
	if err != nil {
		return err
	}
	p, err := s.loadGroupPanel(r, d, q.Get("tab"), q.Get("after"))
	if err != nil {
		return err
	}
	d.Panel = &panel{Kind: "group", Group: p}
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}

// selectedUsers reads the checked users of a form: between 1 and 20.
func selectedUsers(ids []string) ([]string, string) {
	ids = formIDs(ids)
	switch {
	case len(ids) == 0:
		return nil, "Select the check boxes of one or more users first."
	case len(ids) > allot.MaxBatch:
		return nil, fmt.Sprintf("You can select up to %d users at a time, and %d are selected.", allot.MaxBatch, len(ids))
	}
	return ids, ""
}

func tabOf(v string) string {
	if v == "success" {
		return "success"
	}
	return "actions"
}

// groupPanelAction runs the button of the panel's toolbar that was pressed
// on the checked users.
func (s *server) groupPanelAction(w http.ResponseWriter, r *http.Request) error {
	a, _ := allot.ActorFromContext(r.Context())
	can := permsOf(a.Role)
	f := r.PostForm
	sku, gid := strings.ToLower(r.PathValue("sku")), strings.ToLower(r.PathValue("group"))
	tab := tabOf(f.Get("tab"))
	back := groupPanelURL(sku, gid) + "?tab=" + tab
	action := f.Get("action")
	switch action {
	case "reprocess":
		if !can.ManageLicenses {
			return forbidden(permWords[allot.PermManageLicenses])
		}
	case "purchase":
		if !can.Purchase {
			return forbidden(permWords[allot.PermPurchase])
		}
	case "edit":
		if !can.EditUser() {
			return forbidden("edit users")
		}
	case "details":
	default:
		return badRequest("Unknown action.")
	}
	ids, problem := selectedUsers(f["user"])
	if problem == "" && action == "edit" && len(ids) != 1 {
		problem = "Select exactly one user to edit."
	}
	if problem != "" {
		return s.redirect(w, r, back, flash{Kind: "error", Text: problem})
	}
	switch action {
	case "edit":
		http.Redirect(w, r, "/users/"+url.PathEscape(ids[0])+"/edit?return="+url.QueryEscape(back), http.StatusSeeOther)
		return nil
	case "details":
		q := url.Values{"user": ids, "tab": {tab}}
		http.Redirect(w, r, groupPanelURL(sku, gid)+"/details?"+q.Encode(), http.StatusSeeOther)
		return nil
	case "reprocess":
		return s.reprocess(w, r, sku, gid, ids, back)
	}
	// Purchase license: the confirm dialog.
	d, err := s.loadProduct(r, "groups", "")
	if err != nil {
		return err
	}
	users, unames, err := s.usersByID(r, ids)
	if err != nil {
		return err
	}
	c := &confirmData{Title: "Purchase license", Action: groupPanelURL(sku, gid) + "/purchase/manage", Confirm: "Yes", Cancel: back, CancelLabel: "No",
		Text:  fmt.Sprintf("Do you want to buy licenses of %s for the %s? The new licenses are assigned to them.", d.Product.Name, plural(len(users), "selected user", "selected users")),
		Items: unames, Fields: []field{{"tab", tab}}}
	for _, u := range users {
		c.Fields = append(c.Fields, field{"user", u.ID})
	}
	d.Panel = &panel{Kind: "confirm", Confirm: c}
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}

func (s *server) usersByID(r *http.Request, ids []string) ([]*allot.User, []string, error) {
	var users []*allot.User
	var names []string
	for _, id := range ids {
		u, err := s.svc.Users.User(r.Context(), id)
		if err != nil {
			return nil, nil, err
		}
		users, names = append(users, u), append(names, u.DisplayName)
	}
	return users, names, nil
}

// outcome tells, for each user, whether its licenses from the group (or
// the product, when group is empty) are now all active, and why not.
func (s *server) outcome(r *http.Request, ids []string, group, sku string) (ok, failed []string, err error) {
	defaultLoc := ""
	if t, err := s.svc.Tenants.Tenant(r.Context()); err == nil {
		defaultLoc = t.DefaultUsageLocation
	}
	cat := s.svc.Subscriptions.Catalog()
	for _, id := range ids {
		u, err := s.svc.Users.User(r.Context(), id)
		if err != nil {
			return nil, nil, err
		}
		var errs []string
		holds := slices.ContainsFunc(u.States, func(st allot.LicenseState) bool {
			return st.SkuID == sku && st.State == allot.StateActive && (group == "" || st.Source == group)
		})
		if group != "" {
			errs = stateErrors(cat, u, group, u.UsageLocation == "" && defaultLoc == "", false)
		} else if !holds {
			for _, st := range u.States {
				if st.SkuID == sku && st.State == allot.StateError {
					errs = append(errs, errorWords(st.Error, u.UsageLocation == "" && defaultLoc == ""))
				}
			}
		}
		if len(errs) == 0 && (holds || group != "") {
			ok = append(ok, u.DisplayName)
		} else {
			if len(errs) == 0 {
				errs = []string{"no license"}
			}
			failed = append(failed, u.DisplayName+" — "+strings.Join(errs, "; "))
		}
	}
	return ok, failed, nil
}

func (s *server) reprocess(w http.ResponseWriter, r *http.Request, sku, gid string, ids []string, back string) error {
	if err := s.svc.Licenses.ReprocessUsers(r.Context(), ids); err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			return err
		}
		return s.redirect(w, r, back, flash{Kind: "error", Text: "Nothing was reprocessed: " + allot.ErrorMessage(err)})
	}
	ok, failed, err := s.outcome(r, ids, gid, sku)
	if err != nil {
		return err
	}
	f := flash{Kind: "success", Text: fmt.Sprintf("Reprocessed %s.", plural(len(ids), "user", "users"))}
	if len(ok) > 0 {
		f.Text += fmt.Sprintf(" Licenses assigned: %s.", names(ok, allot.MaxBatch))
	}
	if len(failed) > 0 {
		f.Kind = "error"
		f.Text += fmt.Sprintf(" Still with errors: %s", plural(len(failed), "user:", "users:"))
		f.Items = failed
	}
	return s.redirect(w, r, back, f)
}

// --- View error details ---

type detailsData struct {
	Users []userDetails
	Back  string
}

type userDetails struct {
	ID, Name, UPN string
	Location      string
	DefaultLoc    string
	Proxy         []string
	States        []stateRow
}

type stateRow struct {
	Product, Via, State, Error, Detail, Updated, Waiting string
}

func (s *server) userDetailsOf(r *http.Request, u *allot.User, defaultLoc string) userDetails {
	cat := s.svc.Subscriptions.Catalog()
	groupName := s.groupNames(r)
	ud := userDetails{ID: u.ID, Name: u.DisplayName, UPN: u.UserPrincipalName, Location: u.UsageLocation, DefaultLoc: defaultLoc, Proxy: u.ProxyAddresses}
	for _, st := range u.States {
		row := stateRow{Product: skuName(cat, st.SkuID), Via: "Direct", State: st.State, Error: errorWords(st.Error, u.UsageLocation == "" && defaultLoc == ""),
			Detail: readable(cat, groupName, st.Detail), Updated: formatTime(st.LastUpdated), Waiting: formatTime(st.WaitingSince)}
		if !st.Direct() {
			row.Via = groupName(st.Source)
		}
		ud.States = append(ud.States, row)
	}
	return ud
}

func (s *server) errorDetails(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ids, problem := selectedUsers(q["user"])
	if problem != "" {
		return badRequest(problem)
	}
	d, err := s.loadProduct(r, "groups", "")
	if err != nil {
		return err
	}
	if _, err := s.svc.Groups.Group(r.Context(), r.PathValue("group")); err != nil {
		return err
	}
	users, _, err := s.usersByID(r, ids)
	if err != nil {
		return err
	}
	defaultLoc := ""
	if t, err := s.svc.Tenants.Tenant(r.Context()); err == nil {
		defaultLoc = t.DefaultUsageLocation
	}
	dd := &detailsData{Back: groupPanelURL(d.Product.ID, strings.ToLower(r.PathValue("group"))) + "?tab=" + tabOf(q.Get("tab"))}
	for _, u := range users {
		dd.Users = append(dd.Users, s.userDetailsOf(r, u, defaultLoc))
	}
	d.Panel = &panel{Kind: "details", Details: dd}
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}

// --- Purchase license: Manage product licenses › Buy › Done ---

type manageData struct {
	Users    []userRow
	Quantity int
	Action   string
	Back     string
	Done     bool
	Error    string
}

func (s *server) managePanel(w http.ResponseWriter, r *http.Request) error {
	d, err := s.loadProduct(r, "groups", "")
	if err != nil {
		return err
	}
	ids, problem := selectedUsers(r.PostForm["user"])
	if problem != "" {
		return badRequest(problem)
	}
	users, _, err := s.usersByID(r, ids)
	if err != nil {
		return err
	}
	gid := strings.ToLower(r.PathValue("group"))
	m := &manageData{Quantity: len(users), Action: groupPanelURL(d.Product.ID, gid) + "/purchase", Back: groupPanelURL(d.Product.ID, gid) + "?tab=" + tabOf(r.PostForm.Get("tab"))}
	for _, u := range users {
		m.Users = append(m.Users, userRow{ID: u.ID, Name: u.DisplayName, UPN: u.UserPrincipalName})
	}
	d.Panel = &panel{Kind: "manage", Manage: m}
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}

// maxPurchase bounds one purchase in the admin center.
const maxPurchase = 100000

func (s *server) buy(w http.ResponseWriter, r *http.Request) error {
	sku, gid := strings.ToLower(r.PathValue("sku")), strings.ToLower(r.PathValue("group"))
	ids := formIDs(r.PostForm["user"])
	if len(ids) > allot.MaxBatch {
		return badRequest(fmt.Sprintf("Licenses can be bought for at most %d users at a time.", allot.MaxBatch))
	}
	qty, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("quantity")))
	if err != nil || qty < 1 || qty > maxPurchase {
		return badRequest(fmt.Sprintf("Enter a number of licenses to buy between 1 and %d.", maxPurchase))
	}
	done := groupPanelURL(sku, gid) + "/purchased"
	sub, err := s.svc.Subscriptions.Purchase(r.Context(), sku, qty, ids)
	if err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			return err
		}
		return s.redirect(w, r, done, flash{Kind: "error", Text: "Nothing was bought: " + allot.ErrorMessage(err)})
	}
	name := skuName(s.svc.Subscriptions.Catalog(), sku)
	f := flash{Kind: "success", Text: fmt.Sprintf("You bought %s of %s; you now have %d in total, %d available.", plural(qty, "license", "licenses"), name, sub.Enabled, sub.Available())}
	if len(ids) > 0 {
		ok, failed, err := s.outcome(r, ids, "", sku)
		if err != nil {
			return err
		}
		if len(ok) > 0 {
			f.Text += fmt.Sprintf(" Assigned to %s: %s.", plural(len(ok), "selected user", "selected users"), names(ok, allot.MaxBatch))
		}
		if len(failed) > 0 {
			f.Kind = "error"
			f.Text += fmt.Sprintf(" Not assigned to %s (fix the error, then select Reprocess):", plural(len(failed), "selected user", "selected users"))
			f.Items = failed
		}
	}
	return s.redirect(w, r, done, f)
}

func (s *server) purchased(w http.ResponseWriter, r *http.Request) error {
	d, err := s.loadProduct(r, "groups", "")
	if err != nil {
		return err
	}
	gid := strings.ToLower(r.PathValue("group"))
	d.Panel = &panel{Kind: "manage", Manage: &manageData{Done: true, Back: groupPanelURL(d.Product.ID, gid) + "?tab=actions"}}
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}
