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

// The group side panel: "Successfully assigned" and "Actions needed" tabs
// of one product, 999 users a page, and the actions of the reference's
// error sections. Everything it counts comes from one read of the store
// (GroupService.LicensePanel), so the numbers add up while a walk runs.

type groupPanelData struct {
	Group        groupRow
	Tab          string // "success" or "actions"
	Kind         string // the error filter of the Actions needed tab; "" for all
	Query        string // the search
	Members      int
	SuccessCount int
	ErrorCount   int
	Pending      int // members not evaluated for the product yet
	Kinds        []kindCount
	Others       []otherProduct
	Progress     *progressData
	Rows         []memberRow
	ListCount    int // users of the list with its filter and search, all pages
	Next         string
	URL          string // the panel, without a tab
	Self         string // the panel as shown: tab, filter and search
	Max          int
	Product      string
	Dynamic      bool       // members are managed by the rule
	Seats        productRow // the product's licenses at the panel's moment
	// Select is whether the rows have check boxes: only when a button of
	// the toolbar, for the role signed in, acts on them.
	Select bool
}

// kindCount is one error kind of the Actions needed tab's filter.
type kindCount struct {
	Code, Words string
	Count       int
}

// otherProduct is another product of the group whose members have errors.
type otherProduct struct {
	Name, URL string
	Count     int
}

type memberRow struct {
	ID, Name, UPN, Location string
	Errors                  []string
}

func groupPanelURL(sku, group string) string {
	return productURL(sku) + "/groups/" + url.PathEscape(group)
}

// panelQuery is the part of a panel's address that chooses its list.
func panelQuery(tab, kind, q string) url.Values {
	v := url.Values{"tab": {tab}}
	if kind != "" && tab == "actions" {
		v.Set("kind", kind)
	}
	if q != "" {
		v.Set("q", q)
	}
	return v
}

// errorKinds are the filter's kinds, in the order of the reference's
// error sections.
var errorKinds = []allot.LicenseError{allot.CountViolation, allot.ProhibitedInUsageLocationViolation, allot.MutuallyExclusiveViolation,
	allot.DependencyViolation, allot.UniquenessViolation, allot.OtherViolation}

func (s *server) loadGroupPanel(r *http.Request, d *productData, tab, kind, query, after string) (*groupPanelData, error) {
	ctx := r.Context()
	query = strings.TrimSpace(query)
	if len(query) > 256 {
		query = strings.ToValidUTF8(query[:256], "")
	}
	if !slices.Contains(errorKinds, allot.LicenseError(kind)) {
		kind = ""
	}
	lq := allot.PanelQuery{Errors: tab != "success", Error: allot.LicenseError(kind), Search: query, Top: s.pageSize, After: after}
	if tab != "success" && tab != "actions" {
		// No tab asked: the counts decide, so both tabs need one read.
		head, err := s.svc.Groups.LicensePanel(ctx, r.PathValue("group"), d.Product.ID, allot.PanelQuery{Top: 1})
		if err != nil {
			return nil, err
		}
		tab = "success"
		if head.Failed > 0 {
			tab = "actions"
		}
		lq.Errors = tab == "actions"
	}
	if tab == "success" {
		kind, lq.Error = "", ""
	}
	lp, err := s.svc.Groups.LicensePanel(ctx, r.PathValue("group"), d.Product.ID, lq)
	if err != nil {
		return nil, err
	}
	cat := s.svc.Subscriptions.Catalog()
	g := &lp.Group
	// The page behind shows the seats of the same moment as the panel.
	d.Product = s.productRowOf(cat, lp.Subscription)
	p := &groupPanelData{Group: groupRowOf(cat, g, d.Product.ID), Tab: tab, Kind: kind, Query: query, URL: groupPanelURL(d.Product.ID, g.ID),
		Members: lp.Members, SuccessCount: lp.Assigned, ErrorCount: lp.Failed, Pending: max(lp.Members-lp.Assigned-lp.Failed, 0),
		ListCount: lp.Users.Count, Max: allot.MaxBatch, Product: d.Product.Name, Dynamic: isDynamic(g)}
	p.Seats = d.Product
	a, _ := allot.ActorFromContext(ctx)
	can := permsOf(a.Role)
	p.Select = tab == "actions" || can.ManageLicenses || can.EditUser() || (can.ManageGroups && !p.Dynamic)
	p.Group.Status = panelStatus(lp)
	p.Self = p.URL + "?" + panelQuery(tab, kind, query).Encode()
	p.Progress = walkProgress(g, hasProduct(g, d.Product.ID))
	for _, k := range errorKinds {
		if n := lp.ByError[k]; n > 0 || k == allot.LicenseError(kind) {
			words := errorWords(k, false)
			if k == allot.ProhibitedInUsageLocationViolation {
				words = "Usage location not specified or not allowed" // one kind, both cases
			}
			p.Kinds = append(p.Kinds, kindCount{Code: string(k), Words: words, Count: n})
		}
	}
	for sku, n := range lp.OtherErrors {
		p.Others = append(p.Others, otherProduct{Name: skuName(cat, sku), URL: groupPanelURL(sku, g.ID) + "?tab=actions", Count: n})
	}
	slices.SortFunc(p.Others, func(a, b otherProduct) int { return strings.Compare(a.Name, b.Name) })
	defaultLoc := ""
	if t, err := s.svc.Tenants.Tenant(ctx); err == nil {
		defaultLoc = t.DefaultUsageLocation
	}
	groupName := s.groupNames(r)
	for i := range lp.Users.Items {
		u := &lp.Users.Items[i]
		row := memberRow{ID: u.ID, Name: u.DisplayName, UPN: u.UserPrincipalName, Location: u.UsageLocation}
		row.Errors = stateErrors(cat, groupName, u, g.ID, d.Product.ID, u.UsageLocation == "" && defaultLoc == "")
		p.Rows = append(p.Rows, row)
	}
	if lp.Users.NextCursor != "" {
		v := panelQuery(tab, kind, query)
		v.Set("after", lp.Users.NextCursor)
		p.Next = p.URL + "?" + v.Encode()
	}
	return p, nil
}

func hasProduct(g *allot.Group, sku string) bool {
	return slices.ContainsFunc(g.AssignedLicenses, func(l allot.AssignedLicense) bool { return l.SkuID == sku })
}

// panelStatus is the Status of one product of a group: the group's walk
// concerns all its products, its errors only this one's.
func panelStatus(lp *allot.LicensePanel) groupStatus {
	st := statusOf(&lp.Group)
	if st.Class == "progress" {
		return st
	}
	if lp.Failed > 0 {
		return groupStatus{"Errors & issues", "", "error"}
	}
	return groupStatus{"All licenses assigned", "", "ok"}
}

// stateErrors are a user's errors for one product from one source in
// plain words; "Other" says which of the group's products failed and why,
// which the state's detail tells.
func stateErrors(cat *allot.Catalog, groupName func(string) string, u *allot.User, source, sku string, noLocation bool) []string {
	var out []string
	for _, st := range u.States {
		if st.Source != source || st.State != allot.StateError || (sku != "" && st.SkuID != sku) {
			continue
		}
		w := errorWords(st.Error, noLocation)
		if st.Error == allot.OtherViolation && st.Detail != "" {
			w += ": " + readable(cat, groupName, st.Detail)
		}
		out = append(out, w)
	}
	return out
}

func (s *server) groupPanel(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	switch q.Get("fragment") {
	case "rows", "live": // for the script: the next page of rows, or the counts and progress
		d, err := s.product(r)
		if err != nil {
			return err
		}
		p, err := s.loadGroupPanel(r, d, q.Get("tab"), q.Get("kind"), q.Get("q"), q.Get("after"))
		if err != nil {
			return err
		}
		if q.Get("fragment") == "live" {
			s.renderTemplate(w, r, http.StatusOK, "product", "panel-live", p)
			return nil
		}
		w.Header().Set("X-Next-Page", p.Next)
		s.renderTemplate(w, r, http.StatusOK, "product", "member-rows", p)
		return nil
	}
	d, err := s.loadProduct(r, "groups", "")
	if err != nil {
		return err
	}
	p, err := s.loadGroupPanel(r, d, q.Get("tab"), q.Get("kind"), q.Get("q"), q.Get("after"))
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
	back := groupPanelURL(sku, gid) + "?" + panelQuery(tab, f.Get("kind"), strings.TrimSpace(f.Get("q"))).Encode()
	action := f.Get("action")
	switch action {
	case "reprocess", "reprocess-all":
		if !can.ManageLicenses {
			return forbidden(permWords[allot.PermManageLicenses])
		}
	case "remove-member", "add-member":
		if !can.ManageGroups {
			return forbidden(permWords[allot.PermManageGroups])
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
	switch action {
	case "reprocess-all":
		return s.reprocessGroup(w, r, gid, back)
	case "add-member":
		return s.addMember(w, r, gid, back)
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
	case "remove-member":
		return s.removeMembers(w, r, gid, ids, back)
	}
	// Purchase license: the confirm dialog, a GET of the selected users.
	return redirectTo(w, r, purchaseURL(sku, gid, "", ids, tab))
}

// purchaseURL is the Purchase license dialog (step "") or Manage product
// licenses (step "/manage") for the users selected on a tab of the panel.
func purchaseURL(sku, gid, step string, ids []string, tab string) string {
	return groupPanelURL(sku, gid) + "/purchase" + step + "?" + url.Values{"user": ids, "tab": {tabOf(tab)}}.Encode()
}

func redirectTo(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// purchaseSelection reads the users a Purchase license step lists; ok is
// false when the request was answered (none, or too many).
func (s *server) purchaseSelection(w http.ResponseWriter, r *http.Request, values []string) (users []*allot.User, unames []string, tab string, ok bool, err error) {
	sku, gid := strings.ToLower(r.PathValue("sku")), strings.ToLower(r.PathValue("group"))
	tab = tabOf(r.URL.Query().Get("tab"))
	if r.Method == http.MethodPost {
		tab = tabOf(r.PostForm.Get("tab"))
	}
	ids, problem := selectedUsers(values)
	if problem != "" {
		return nil, nil, "", false, s.redirect(w, r, groupPanelURL(sku, gid)+"?"+panelQuery(tab, "", "").Encode(), flash{Kind: "error", Text: problem})
	}
	users, unames, err = s.usersByID(r, ids)
	return users, unames, tab, err == nil, err
}

// purchaseConfirm is Purchase license's dialog: Yes opens Manage product
// licenses for the same users.
func (s *server) purchaseConfirm(w http.ResponseWriter, r *http.Request) error {
	users, unames, tab, ok, err := s.purchaseSelection(w, r, r.URL.Query()["user"])
	if !ok || err != nil {
		return err
	}
	d, err := s.loadProduct(r, "groups", "")
	if err != nil {
		return err
	}
	gid := strings.ToLower(r.PathValue("group"))
	if _, err := s.svc.Groups.Group(r.Context(), gid); err != nil {
		return err
	}
	c := &confirmData{Title: "Purchase license", Action: groupPanelURL(d.Product.ID, gid) + "/purchase/manage", Confirm: "Yes",
		Cancel: groupPanelURL(d.Product.ID, gid) + "?" + panelQuery(tab, "", "").Encode(), CancelLabel: "No",
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
	groupName := s.groupNames(r)
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
			errs = stateErrors(cat, groupName, u, group, sku, u.UsageLocation == "" && defaultLoc == "")
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
		return s.redirect(w, r, back, flash{Kind: "error", Text: "Nothing was reprocessed: " + plainMessage(err)})
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
	Users []detailsUser
	Back  string
}

// detailsUser is one user of View error details: its facts, and each
// license state with the way out of its error (who holds a conflicting
// address, which role can fix it).
type detailsUser struct {
	userDetails
	Views []stateView
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
		ud := s.userDetailsOf(r, u, defaultLoc)
		views, err := s.stateViews(r, u, ud.States, u.UsageLocation == "" && defaultLoc == "")
		if err != nil {
			return err
		}
		dd.Users = append(dd.Users, detailsUser{userDetails: ud, Views: views})
	}
	d.Panel = &panel{Kind: "details", Details: dd}
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}

// --- Purchase license: Manage product licenses › Buy › Done ---

type manageData struct {
	Users    []userRow
	Quantity string // as typed, when a Buy was refused
	Tab      string // the panel's tab it was opened from
	Action   string
	Back     string
	Done     bool
	Error    string
	// Progress is the bought licenses reaching the waiting users, after Buy;
	// Live is where the page's script reads it again.
	Progress *progressData
	Live     string
}

// managePanelPost is the dialog's Yes: Manage product licenses, a GET of
// the same users.
func (s *server) managePanelPost(w http.ResponseWriter, r *http.Request) error {
	ids, problem := selectedUsers(r.PostForm["user"])
	if problem != "" {
		return badRequest(problem)
	}
	return redirectTo(w, r, purchaseURL(strings.ToLower(r.PathValue("sku")), strings.ToLower(r.PathValue("group")), "/manage", ids, r.PostForm.Get("tab")))
}

// managePanel is Manage product licenses for the selected users (GET
// …/purchase/manage?user=…&tab=…); a refused Buy comes back here with
// the number typed.
func (s *server) managePanel(w http.ResponseWriter, r *http.Request) error {
	users, _, tab, ok, err := s.purchaseSelection(w, r, r.URL.Query()["user"])
	if !ok || err != nil {
		return err
	}
	d, err := s.loadProduct(r, "groups", "")
	if err != nil {
		return err
	}
	gid := strings.ToLower(r.PathValue("group"))
	if _, err := s.svc.Groups.Group(r.Context(), gid); err != nil {
		return err
	}
	m := &manageData{Quantity: strconv.Itoa(len(users)), Tab: tab, Action: groupPanelURL(d.Product.ID, gid) + "/purchase",
		Back: groupPanelURL(d.Product.ID, gid) + "?tab=" + tab}
	if kept := s.keptForm(r); kept != nil {
		if m.Quantity = strings.TrimSpace(kept.Get("quantity")); len(m.Quantity) > 20 {
			m.Quantity = strings.ToValidUTF8(m.Quantity[:20], "")
		}
	}
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
		if len(ids) == 0 {
			return badRequest(fmt.Sprintf("Enter a number of licenses to buy between 1 and %d.", maxPurchase))
		}
		return s.redirectKeeping(w, r, purchaseURL(sku, gid, "/manage", ids, r.PostForm.Get("tab")), flash{Kind: "error",
			Text: fmt.Sprintf("Nothing was bought: “%s” is not a number of licenses. Enter a whole number between 1 and %d.", clipTyped(r.PostForm.Get("quantity"), 20), maxPurchase)}, "quantity")
	}
	of := s.waitingFor(r, sku, qty)
	done := groupPanelURL(sku, gid) + "/purchased?of=" + strconv.Itoa(of)
	sub, err := s.svc.Subscriptions.Purchase(r.Context(), sku, qty, ids)
	if err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			return err
		}
		return s.redirect(w, r, done, flash{Kind: "error", Text: "Nothing was bought: " + plainMessage(err)})
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
	of := atoiOr(r.URL.Query().Get("of"), 0)
	m := &manageData{Done: true, Back: groupPanelURL(d.Product.ID, gid) + "?tab=actions",
		Live: groupPanelURL(d.Product.ID, gid) + "/purchased?of=" + strconv.Itoa(of)}
	if m.Progress, err = s.purchaseProgress(r, d.Product.ID, of); err != nil {
		return err
	}
	if r.URL.Query().Get("fragment") == "live" {
		s.renderTemplate(w, r, http.StatusOK, "product", "purchase-live", m)
		return nil
	}
	d.Panel = &panel{Kind: "manage", Manage: m}
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}

// --- Reprocess every member, and the group's members (docs/ADMIN-CENTER.md) ---

// reprocessGroup queues a walk of every member; the panel then shows its
// progress.
func (s *server) reprocessGroup(w http.ResponseWriter, r *http.Request, gid, back string) error {
	if err := s.svc.Licenses.ReprocessGroup(r.Context(), gid); err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			return err
		}
		return s.redirect(w, r, back, flash{Kind: "error", Text: "Nothing was reprocessed: " + plainMessage(err)})
	}
	return s.redirect(w, r, back, flash{Kind: "success", Text: "Every member of the group is being reprocessed; the progress bar shows how far it is."})
}

// removeMembers takes the selected users out of the group: the article's
// advice for a license a user should not have from it. Each leaves the
// group's licenses in the background, as any member who leaves.
func (s *server) removeMembers(w http.ResponseWriter, r *http.Request, gid string, ids []string, back string) error {
	users, _, err := s.usersByID(r, ids)
	if err != nil {
		return err
	}
	var done, failed []string
	for _, u := range users {
		if err := s.svc.Groups.RemoveMember(r.Context(), gid, u.ID); err != nil {
			if allot.ErrorCode(err) == allot.EINTERNAL {
				return err
			}
			failed = append(failed, u.DisplayName+": "+plainMessage(err))
			continue
		}
		done = append(done, u.DisplayName)
	}
	f := flash{Kind: "success", Items: failed}
	if len(done) > 0 {
		f.Text = fmt.Sprintf("Removed %s from the group: %s. Their licenses from it are being removed.", plural(len(done), "user", "users"), names(done, allot.MaxBatch))
	}
	if len(failed) > 0 {
		f.Kind = "error"
		f.Text = strings.TrimSpace(f.Text + fmt.Sprintf(" Not removed: %s:", plural(len(failed), "user", "users")))
	}
	return s.redirect(w, r, back, f)
}

// addMember adds the user named by its user name (UPN) or id, or the one
// user whose name or user name contains what was typed.
func (s *server) addMember(w http.ResponseWriter, r *http.Request, gid, back string) error {
	typed := strings.TrimSpace(r.PostForm.Get("member"))
	if typed == "" || len(typed) > 256 {
		return s.redirect(w, r, back, flash{Kind: "error", Text: "Type the user name (or a part of the name) of the user to add, then select Add member."})
	}
	u, err := s.svc.Users.User(r.Context(), typed)
	if err != nil && allot.ErrorCode(err) != allot.EINTERNAL { // not a user name or id: look for it by name
		page, lerr := s.svc.Users.ListUsers(r.Context(), allot.ListOptions{Search: typed, OrderBy: "displayName", Top: 6})
		if lerr != nil {
			return lerr
		}
		switch len(page.Items) {
		case 0:
			return s.redirect(w, r, back, flash{Kind: "error", Text: fmt.Sprintf("No user matches %q.", typed)})
		case 1:
			u, err = &page.Items[0], nil
		default:
			var found []string
			for _, m := range page.Items {
				found = append(found, m.DisplayName+" ("+m.UserPrincipalName+")")
			}
			return s.redirect(w, r, back, flash{Kind: "error", Text: fmt.Sprintf("Several users match %q; type the user name of one:", typed), Items: found})
		}
	}
	if err != nil {
		return err
	}
	if err := s.svc.Groups.AddMember(r.Context(), gid, u.ID); err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			return err
		}
		return s.redirect(w, r, back, flash{Kind: "error", Text: u.DisplayName + " was not added: " + plainMessage(err)})
	}
	return s.redirect(w, r, back, flash{Kind: "success", Text: u.DisplayName + " is now a member of the group, and gets its licenses in the background."})
}

// groupMembersPost is Add member and Remove of Active groups (POST
// /groups/{id}/members with op=add and member=, or op=remove and user=,
// the latter from the dialog of the member's row), the same actions as
// the panel's. A dynamic group's members are its rule's.
func (s *server) groupMembersPost(w http.ResponseWriter, r *http.Request) error {
	gid := strings.ToLower(r.PathValue("id"))
	back := "/groups/" + url.PathEscape(gid)
	g, err := s.svc.Groups.Group(r.Context(), gid)
	if err != nil {
		return err
	}
	if isDynamic(g) {
		return s.redirect(w, r, back, flash{Kind: "error", Text: "Members of " + g.DisplayName + " are managed by its rule: change the rule to add or remove users."})
	}
	switch r.PostForm.Get("op") {
	case "add":
		return s.addMember(w, r, gid, back)
	case "remove":
		ids, problem := selectedUsers(r.PostForm["user"])
		if problem != "" {
			return s.redirect(w, r, back, flash{Kind: "error", Text: problem})
		}
		return s.removeMembers(w, r, gid, ids, back)
	}
	return badRequest("Unknown action.")
}
