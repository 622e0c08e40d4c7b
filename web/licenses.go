package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

// --- Billing › Licenses: the Subscriptions tab ---

type productRow struct {
	ID, Name, PartNumber       string
	Assigned, Available, Total int
	Over                       int // licenses assigned beyond those owned
	Plans                      int
	CapabilityStatus           string
}

func (s *server) productRowOf(cat *allot.Catalog, sub allot.Subscription) productRow {
	p := productRow{ID: sub.SkuID, Name: skuName(cat, sub.SkuID), Assigned: sub.ConsumedUnits, Available: sub.Available(),
		Total: sub.Enabled, CapabilityStatus: sub.CapabilityStatus}
	if sku := cat.SKUs[sub.SkuID]; sku != nil {
		p.PartNumber, p.Plans = sku.PartNumber, len(sku.Plans)
	}
	if sub.OverAllocated() {
		p.Over = sub.ConsumedUnits - sub.Enabled
	}
	return p
}

// --- a product's page: its tabs, with the Users and Groups tabs here ---

type productData struct {
	Product    productRow
	Tab        string // "users" or "groups"
	URL        string // the product page
	Users      []userRow
	UserCount  int
	Groups     []groupRow
	GroupCount int
	Next       string // the next page of the tab's list
	Panel      *panel
	Query      string // the Users tab's search
	// ErrorChart is the product's users in error by kind, a figure; empty
	// when nobody is in error on it.
	ErrorChart template.HTML
	// Progress are the walks under way for the product (the Groups tab).
	Progress []groupProgress
	// Live is where the Groups tab's script reads its progress and statuses again.
	Live string
}

// productExtraData is a product's Waiting room tab (web/waitingroom.go) or
// its Price & cost tab (web/cost.go), which share a template.
type productExtraData struct {
	*productData
	Room *allot.WaitingRoom
	Next string // the next page of the waiting room
	Cost *allot.ProductCost
	// Groups are the groups holding seats of this product, with their spend.
	Groups []groupSeats
	Form   priceForm
}

type userRow struct {
	ID, Name, UPN, Location string
	Via                     []string // "Direct" and group names
}

type groupRow struct {
	ID, Name, Type string
	Dynamic        bool   // membership by rule
	RuleState      string // of a dynamic group: On or Paused
	Status         groupStatus
	AppsOff        int
	Products       []string
	Members        int // user members
}

// panel is the side panel or dialog open over a page.
type panel struct {
	Kind    string // "assign", "confirm", "group", "manage", "details"
	Assign  *assignData
	Confirm *confirmData
	Group   *groupPanelData
	Manage  *manageData
	Details *detailsData
}

func productURL(sku string) string { return "/billing/licenses/" + url.PathEscape(sku) }

// product reads the product of the URL, without its lists.
func (s *server) product(r *http.Request) (*productData, error) {
	sub, err := s.svc.Subscriptions.Subscription(r.Context(), strings.ToLower(r.PathValue("sku")))
	if err != nil {
		return nil, err
	}
	return &productData{Product: s.productRowOf(s.svc.Subscriptions.Catalog(), *sub), URL: productURL(sub.SkuID)}, nil
}

// loadProduct reads the product's page with one tab's list from the
// cursor after (the page behind a panel passes "").
func (s *server) loadProduct(r *http.Request, tab, after string) (*productData, error) {
	ctx := r.Context()
	d, err := s.product(r)
	if err != nil {
		return nil, err
	}
	d.Tab = tab
	cat := s.svc.Subscriptions.Catalog()
	skuID := d.Product.ID
	userAfter, groupAfter := after, ""
	if tab != "users" {
		userAfter, groupAfter = "", after
	} else {
		d.Query = strings.TrimSpace(r.URL.Query().Get("q"))
		if len(d.Query) > 256 {
			d.Query = strings.ToValidUTF8(d.Query[:256], "")
		}
	}
	// Off its own tab a list is read for its count alone.
	userTop, groupTop := s.pageSize, 1
	if tab != "users" {
		userTop, groupTop = 1, s.pageSize
	}
	users, err := s.svc.Users.ListUsers(ctx, allot.ListOptions{Filter: &allot.AnyLicense{SkuID: skuID}, OrderBy: "displayName", Top: userTop,
		After: userAfter, WithLicensing: tab == "users", Count: true, Search: d.Query})
	if err != nil {
		return nil, err
	}
	d.UserCount = users.Count
	groups, err := s.svc.Groups.ListGroups(ctx, allot.ListOptions{Filter: &allot.AnyLicense{SkuID: skuID}, OrderBy: "displayName", Top: groupTop, After: groupAfter, Count: true})
	if err != nil {
		return nil, err
	}
	d.GroupCount = groups.Count
	if d.ErrorChart, err = s.productErrorChart(r, cat, skuID); err != nil {
		return nil, err
	}
	if tab == "users" {
		groupName := s.groupNames(r)
		for _, u := range users.Items {
			row := userRow{ID: u.ID, Name: u.DisplayName, UPN: u.UserPrincipalName, Location: u.UsageLocation}
			for _, st := range u.States {
				if st.SkuID != skuID || st.State != allot.StateActive {
					continue
				}
				if st.Direct() {
					row.Via = append([]string{"Direct"}, row.Via...)
				} else {
					row.Via = append(row.Via, groupName(st.Source))
				}
			}
			d.Users = append(d.Users, row)
		}
		if users.NextCursor != "" {
			v := url.Values{"after": {users.NextCursor}}
			if d.Query != "" {
				v.Set("q", d.Query)
			}
			d.Next = d.URL + "?" + v.Encode()
		}
	} else {
		ids := make([]string, 0, len(groups.Items))
		for i := range groups.Items {
			ids = append(ids, groups.Items[i].ID)
		}
		counts, err := s.svc.Groups.MemberCounts(ctx, ids)
		if err != nil {
			return nil, err
		}
		errs, err := s.svc.Groups.ProductErrorCounts(ctx, skuID, ids)
		if err != nil {
			return nil, err
		}
		for i := range groups.Items {
			row := groupRowOf(cat, &groups.Items[i], skuID)
			row.Members = counts[row.ID]
			row.Status = productStatusOf(&groups.Items[i], errs[row.ID])
			d.Groups = append(d.Groups, row)
		}
		if groups.NextCursor != "" {
			d.Next = d.URL + "/groups?after=" + url.QueryEscape(groups.NextCursor)
		}
	}
	return d, nil
}

func groupRowOf(cat *allot.Catalog, g *allot.Group, skuID string) groupRow {
	row := groupRow{ID: g.ID, Name: g.DisplayName, Type: groupType(g), Status: statusOf(g), Dynamic: isDynamic(g), RuleState: g.MembershipRuleProcessingState}
	for _, l := range g.AssignedLicenses {
		row.Products = append(row.Products, skuName(cat, l.SkuID))
		if l.SkuID == skuID {
			row.AppsOff = len(l.DisabledPlans)
		}
	}
	return row
}

// groupNames returns a lookup of group names that reads each group once.
func (s *server) groupNames(r *http.Request) func(id string) string {
	cache := map[string]string{}
	return func(id string) string {
		if n, ok := cache[id]; ok {
			return n
		}
		n := "a deleted group"
		if g, err := s.svc.Groups.Group(r.Context(), id); err == nil {
			n = g.DisplayName
		}
		cache[id] = n
		return n
	}
}

func (s *server) renderProduct(w http.ResponseWriter, r *http.Request, status int, d *productData) {
	title := d.Product.Name
	if d.Panel != nil {
		switch d.Panel.Kind {
		case "assign":
			title = "Assign licenses – " + title
		case "group":
			title = d.Panel.Group.Group.Name + " – " + title
		}
	}
	s.render(w, r, status, "product", s.newView(w, r, title, "licenses", d))
}

func (s *server) productUsersTab(w http.ResponseWriter, r *http.Request) error {
	d, err := s.loadProduct(r, "users", r.URL.Query().Get("after"))
	if err != nil {
		return err
	}
	if r.URL.Query().Get("fragment") == "rows" {
		w.Header().Set("X-Next-Page", d.Next)
		a, _ := allot.ActorFromContext(r.Context())
		s.renderTemplate(w, r, http.StatusOK, "product", "user-rows", &view{Data: d, Can: permsOf(a.Role)})
		return nil
	}
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}

func (s *server) productGroupsTab(w http.ResponseWriter, r *http.Request) error {
	after := r.URL.Query().Get("after")
	d, err := s.loadProduct(r, "groups", after)
	if err != nil {
		return err
	}
	if d.Progress, err = s.productProgress(r, d); err != nil {
		return err
	}
	// Ends in "?" or "&", ready for the script's fragment=live.
	d.Live = d.URL + "/groups?"
	if after != "" {
		d.Live += "after=" + url.QueryEscape(after) + "&"
	}
	if r.URL.Query().Get("fragment") == "live" {
		s.renderTemplate(w, r, http.StatusOK, "product", "groups-live-answer", s.newView(w, r, d.Product.Name, "licenses", d))
		return nil
	}
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}

// --- Assign licenses panel ---

type assignData struct {
	Query       string
	Suggestions []groupOption
	Selected    []groupOption
	Plans       []planOption
	AppsChanged bool
	// IncludeNested is the "Include nested groups" box (docs/NESTED-GROUPS.md).
	IncludeNested bool
	Preview       *previewData // the Preview button's answer (web/preview.go)
	Done          bool
	Error         string
	Max           int
}

type groupOption struct {
	ID, Name, Type string
	HasProduct     bool
	Members        int // user members
}

type planOption struct {
	ID, Name string
	On       bool
}

func (s *server) plansOf(skuID string, off []string) []planOption {
	cat := s.svc.Subscriptions.Catalog()
	var out []planOption
	if sku := cat.SKUs[skuID]; sku != nil {
		for _, p := range sku.Plans {
			out = append(out, planOption{ID: p, Name: planName(cat, p), On: !slices.Contains(off, p)})
		}
	}
	return out
}

// suggestions are the groups whose name matches q (the first ten by name
// when q is empty), minus those already selected.
func (s *server) suggestions(r *http.Request, skuID, q string, selected []groupOption) ([]groupOption, error) {
	page, err := s.svc.Groups.ListGroups(r.Context(), allot.ListOptions{Search: q, OrderBy: "displayName", Top: 10})
	if err != nil {
		return nil, err
	}
	var out []groupOption
	var ids []string
	for i := range page.Items {
		g := &page.Items[i]
		if slices.ContainsFunc(selected, func(o groupOption) bool { return o.ID == g.ID }) {
			continue
		}
		out = append(out, optionOf(g, skuID))
		ids = append(ids, g.ID)
	}
	// How big a group is decides whether its licenses fit the seats left.
	counts, err := s.svc.Groups.MemberCounts(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Members = counts[out[i].ID]
	}
	return out, nil
}

func optionOf(g *allot.Group, skuID string) groupOption {
	return groupOption{ID: g.ID, Name: g.DisplayName, Type: groupType(g),
		HasProduct: slices.ContainsFunc(g.AssignedLicenses, func(l allot.AssignedLicense) bool { return l.SkuID == skuID })}
}

// assignPanel is the Assign licenses panel. Its Search and Preview
// buttons are GETs of the panel with the form in the query (q, group,
// plan, apps_shown, include_nested, preview=1), and a refused Assign comes
// back here with what was selected kept for one page.
func (s *server) assignPanel(w http.ResponseWriter, r *http.Request) error {
	if dropToken(w, r) {
		return nil
	}
	d, err := s.loadProduct(r, "groups", "")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if q.Get("done") == "1" {
		d.Panel = &panel{Kind: "assign", Assign: &assignData{Plans: s.plansOf(d.Product.ID, nil), Max: allot.MaxBatch, Done: true}}
		s.renderProduct(w, r, http.StatusOK, d)
		return nil
	}
	if kept := s.keptForm(r); kept != nil {
		q = kept
	}
	a, off, err := s.readAssignForm(r, q, d.Product.ID)
	if err != nil {
		return err
	}
	d.Panel = &panel{Kind: "assign", Assign: a}
	status := http.StatusOK
	if q.Get("preview") == "1" {
		if err := s.assignPreview(r, a, d.Product.ID, off); err != nil {
			return err
		}
		if a.Error != "" {
			status = http.StatusBadRequest
		}
	}
	s.renderProduct(w, r, status, d)
	return nil
}

// dropToken answers a GET that a form sent with its CSRF token (a button
// with formmethod="get" in a form that also posts) with a redirect to the
// same address without it, so that the token stays out of the history,
// bookmarks and logs.
func dropToken(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if !q.Has(csrfField) {
		return false
	}
	q.Del(csrfField)
	to := r.URL.EscapedPath()
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return true
}

// assignSuggest answers the panel's script with the suggestions for what
// is typed so far (an HTML fragment).
func (s *server) assignSuggest(w http.ResponseWriter, r *http.Request) error {
	sku := strings.ToLower(r.PathValue("sku"))
	if _, err := s.svc.Subscriptions.Subscription(r.Context(), sku); err != nil {
		return err
	}
	var selected []groupOption
	for _, id := range r.URL.Query()["selected"] {
		selected = append(selected, groupOption{ID: id})
	}
	sug, err := s.suggestions(r, sku, strings.TrimSpace(r.URL.Query().Get("q")), selected)
	if err != nil {
		return err
	}
	s.renderTemplate(w, r, http.StatusOK, "product", "suggestions", sug)
	return nil
}

// assignFields are the Assign licenses panel's fields, kept when Assign
// is refused and carried by its GETs.
var assignFields = []string{"q", "group", "plan", "apps_shown", "include_nested"}

// assignPanelPost is the panel's Assign: it assigns the product to the
// selected groups. Search and Preview are GETs of the panel; a page drawn
// before they were still posts them, and is sent there.
func (s *server) assignPanelPost(w http.ResponseWriter, r *http.Request) error {
	d, err := s.product(r)
	if err != nil {
		return err
	}
	panelURL := d.URL + "/groups/assign"
	if r.PostForm.Get("action") != "assign" {
		q := url.Values{}
		for _, name := range assignFields {
			if vs := r.PostForm[name]; len(vs) > 0 {
				q[name] = vs
			}
		}
		if r.PostForm.Get("action") == "preview" {
			q.Set("preview", "1")
		}
		http.Redirect(w, r, panelURL+"?"+q.Encode(), http.StatusSeeOther)
		return nil
	}
	a, off, err := s.readAssignForm(r, r.PostForm, d.Product.ID)
	if err != nil {
		return err
	}
	return s.assignSelected(w, r, d, a, off)
}

// readAssignForm reads the panel as sent, with new suggestions, and the
// apps to turn off: every plan of the product whose box was left off.
func (s *server) readAssignForm(r *http.Request, f url.Values, sku string) (a *assignData, off []string, err error) {
	a = &assignData{Query: strings.TrimSpace(f.Get("q")), Max: allot.MaxBatch}
	if len(a.Query) > 256 {
		a.Query = strings.ToValidUTF8(a.Query[:256], "")
	}
	if f.Get("apps_shown") == "1" {
		for _, p := range s.plansOf(sku, nil) {
			if !slices.Contains(f["plan"], p.ID) {
				off = append(off, p.ID)
			}
		}
	}
	a.Plans, a.AppsChanged = s.plansOf(sku, off), len(off) > 0
	a.IncludeNested = f.Get("include_nested") == "1"
	ids := formIDs(f["group"])
	if len(ids) > 999 {
		return nil, nil, badRequest("Too many groups were selected.")
	}
	for _, id := range ids {
		g, err := s.svc.Groups.Group(r.Context(), id)
		if err != nil {
			if code := allot.ErrorCode(err); code == allot.ENOTFOUND || code == allot.EINVALID {
				continue // deleted meanwhile; it simply drops out of the selection
			}
			return nil, nil, err
		}
		a.Selected = append(a.Selected, optionOf(g, sku))
	}
	if a.Suggestions, err = s.suggestions(r, sku, a.Query, a.Selected); err != nil {
		return nil, nil, err
	}
	return a, off, nil
}

// assignSelected assigns the product to the selected groups. What the
// panel or the domain refuses goes back to the panel with the selection
// kept, so that it can be corrected rather than made again.
func (s *server) assignSelected(w http.ResponseWriter, r *http.Request, d *productData, a *assignData, off []string) error {
	refuse := func(text string) error {
		return s.redirectKeeping(w, r, d.URL+"/groups/assign", flash{Kind: "error", Text: text}, assignFields...)
	}
	switch {
	case len(a.Selected) == 0:
		return refuse("Select at least one group from the Suggested groups list, then select Assign.")
	case len(a.Selected) > allot.MaxBatch:
		return refuse(fmt.Sprintf("You can assign licenses to at most %d groups at a time, and %d are selected. Clear some, then select Assign.", allot.MaxBatch, len(a.Selected)))
	case len(off) == len(a.Plans) && len(off) > 0:
		return refuse("Every app and service is turned off. Turn at least one on, then select Assign.")
	}
	var gids, gnames []string
	for _, o := range a.Selected {
		gids, gnames = append(gids, o.ID), append(gnames, o.Name)
	}
	if off == nil {
		off = []string{}
	}
	nested := a.IncludeNested // the box as shown: unticked switches nesting off
	if err := s.svc.Licenses.AssignGroupsLicense(r.Context(), gids, allot.AssignedLicense{SkuID: d.Product.ID, DisabledPlans: off, IncludeNestedGroups: &nested}); err != nil {
		if code := allot.ErrorCode(err); code == allot.EINVALID || code == allot.ECONFLICT || code == allot.ENOTFOUND {
			return refuse("Nothing was assigned: " + plainMessage(err))
		}
		return err
	}
	text := fmt.Sprintf("%s is assigned to %s: %s. Their members get licenses in the background; the Status column on the Groups tab shows the progress.",
		d.Product.Name, plural(len(gids), "group", "groups"), names(gnames, allot.MaxBatch))
	if len(off) > 0 {
		var offNames []string
		for _, p := range off {
			offNames = append(offNames, planName(s.svc.Subscriptions.Catalog(), p))
		}
		text += " Turned off: " + names(offNames, 50) + "."
	}
	if nested {
		text += " Members of groups nested in them (up to 5 levels) get it too."
	}
	return s.redirect(w, r, d.URL+"/groups/assign?done=1", flash{Kind: "success", Text: text})
}

// formIDs are the ids a form lists, trimmed and in lower case, each once
// in the order given (the order the page shows them back in).
func formIDs(values []string) []string {
	ids := make([]string, len(values))
	for i, v := range values {
		ids[i] = strings.ToLower(strings.TrimSpace(v))
	}
	seen := make(map[string]bool, len(ids))
	return slices.DeleteFunc(ids, func(id string) bool {
		drop := id == "" || seen[id]
		seen[id] = true
		return drop
	})
}

// --- Unassign licenses (Groups tab and Users tab), with a confirm step ---

type confirmData struct {
	Title, Text  string
	Items        []string
	Action       string
	Fields       []field
	Confirm      string // the button that goes ahead
	Cancel       string // where the other button goes
	CancelLabel  string
	Danger       bool
	ConfirmField string // a field the confirm button sends, e.g. "confirm"
}

type field struct{ Name, Value string }

// unassignConfirm is the dialog that asks before the product is unassigned
// from the groups or users named, each sent again as the field name.
func unassignConfirm(action, cancel, name string, ids, names []string, text string) *panel {
	c := &confirmData{Title: "Unassign licenses", Action: action, Confirm: "Unassign", Cancel: cancel,
		CancelLabel: "Cancel", Danger: true, ConfirmField: "confirm", Text: text, Items: names}
	for _, id := range ids {
		c.Fields = append(c.Fields, field{name, id})
	}
	return &panel{Kind: "confirm", Confirm: c}
}

// selectedGroups reads the groups a form or query lists for Unassign
// licenses; ok is false when the request was answered (nothing selected).
func (s *server) selectedGroups(w http.ResponseWriter, r *http.Request, d *productData, values []string) (groups []*allot.Group, ok bool, err error) {
	ids := formIDs(values)
	if len(ids) == 0 {
		return nil, false, s.redirect(w, r, d.URL+"/groups", flash{Kind: "error", Text: "Select the check boxes of the groups to unassign licenses from, then select Unassign licenses."})
	}
	if len(ids) > s.pageSize {
		return nil, false, badRequest("Too many groups were selected.")
	}
	for _, id := range ids {
		g, err := s.svc.Groups.Group(r.Context(), id)
		if err != nil {
			return nil, false, err
		}
		groups = append(groups, g)
	}
	return groups, true, nil
}

// unassignGroupsConfirm is the dialog that asks before the product is
// unassigned from the selected groups (GET …/groups/unassign?group=…).
func (s *server) unassignGroupsConfirm(w http.ResponseWriter, r *http.Request) error {
	d, err := s.loadProduct(r, "groups", "")
	if err != nil {
		return err
	}
	groups, ok, err := s.selectedGroups(w, r, d, r.URL.Query()["group"])
	if !ok || err != nil {
		return err
	}
	var gids, gnames []string
	for _, g := range groups {
		gids, gnames = append(gids, g.ID), append(gnames, g.DisplayName)
	}
	d.Panel = unassignConfirm(d.URL+"/groups/unassign", d.URL+"/groups", "group", gids, gnames,
		fmt.Sprintf("Unassign %s from %s? Members lose the licenses they have only through these groups, and the seats are freed.", d.Product.Name, plural(len(groups), "group", "groups")))
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}

// unassignGroups unassigns the product from the groups the dialog lists
// (confirm=1); without it, it sends to the dialog.
func (s *server) unassignGroups(w http.ResponseWriter, r *http.Request) error {
	d, err := s.product(r)
	if err != nil {
		return err
	}
	if r.PostForm.Get("confirm") != "1" {
		return redirectSelection(w, r, d.URL+"/groups/unassign", "group", r.PostForm["group"])
	}
	groups, ok, err := s.selectedGroups(w, r, d, r.PostForm["group"])
	if !ok || err != nil {
		return err
	}
	var done, failed []string
	for _, g := range groups {
		if _, err := s.svc.Licenses.AssignGroupLicense(r.Context(), g.ID, []allot.AssignedLicense{}, []string{d.Product.ID}); err != nil {
			if allot.ErrorCode(err) == allot.EINTERNAL {
				return err
			}
			failed = append(failed, g.DisplayName+": "+plainMessage(err))
			continue
		}
		done = append(done, g.DisplayName)
	}
	return s.redirect(w, r, d.URL+"/groups", unassigned(d.Product.Name, "group", "groups", done, failed, " Its members' licenses are being removed in the background."))
}

// redirectSelection sends a POST that only asks for a confirm dialog (a
// page drawn before the dialog was a GET) to the dialog's GET.
func redirectSelection(w http.ResponseWriter, r *http.Request, to, name string, ids []string) error {
	ids = formIDs(ids)
	if len(ids) > allot.MaxPageSize {
		return badRequest("Too many were selected.")
	}
	http.Redirect(w, r, to+"?"+url.Values{name: ids}.Encode(), http.StatusSeeOther)
	return nil
}

// unassigned says which of the groups or users lost the product, and lists
// those that did not, with the reason of each.
func unassigned(product, one, many string, done, failed []string, more string) flash {
	f := flash{Kind: "success", Items: failed}
	if len(done) > 0 {
		f.Text = fmt.Sprintf("%s is unassigned from %s: %s.", product, plural(len(done), one, many), names(done, 50)) + more
	}
	if len(failed) > 0 {
		f.Kind = "error"
		f.Text = strings.TrimSpace(f.Text + fmt.Sprintf(" Not unassigned from %s:", plural(len(failed), one, many)))
	}
	return f
}

// selectedProductUsers reads the users a form or query lists for
// Unassign licenses; ok is false when the request was answered.
func (s *server) selectedProductUsers(w http.ResponseWriter, r *http.Request, d *productData, values []string) (users []*allot.User, ok bool, err error) {
	ids := formIDs(values)
	if len(ids) == 0 {
		return nil, false, s.redirect(w, r, d.URL, flash{Kind: "error", Text: "Select the check boxes of the users to unassign licenses from, then select Unassign licenses."})
	}
	if len(ids) > s.pageSize {
		return nil, false, badRequest("Too many users were selected.")
	}
	for _, id := range ids {
		u, err := s.svc.Users.User(r.Context(), id)
		if err != nil {
			return nil, false, err
		}
		users = append(users, u)
	}
	return users, true, nil
}

// unassignUsersConfirm is the dialog that asks before the product is
// unassigned from the selected users (GET …/users/unassign?user=…).
func (s *server) unassignUsersConfirm(w http.ResponseWriter, r *http.Request) error {
	d, err := s.loadProduct(r, "users", "")
	if err != nil {
		return err
	}
	users, ok, err := s.selectedProductUsers(w, r, d, r.URL.Query()["user"])
	if !ok || err != nil {
		return err
	}
	var uids, unames []string
	for _, u := range users {
		uids, unames = append(uids, u.ID), append(unames, u.DisplayName)
	}
	d.Panel = unassignConfirm(d.URL+"/users/unassign", d.URL, "user", uids, unames,
		fmt.Sprintf("Unassign %s from %s? Licenses that come from a group stay until the user leaves the group or the group's license is unassigned.", d.Product.Name, plural(len(users), "user", "users")))
	s.renderProduct(w, r, http.StatusOK, d)
	return nil
}

// unassignUsers unassigns the product from the users the dialog lists
// (confirm=1); without it, it sends to the dialog.
func (s *server) unassignUsers(w http.ResponseWriter, r *http.Request) error {
	d, err := s.product(r)
	if err != nil {
		return err
	}
	if r.PostForm.Get("confirm") != "1" {
		return redirectSelection(w, r, d.URL+"/users/unassign", "user", r.PostForm["user"])
	}
	users, ok, err := s.selectedProductUsers(w, r, d, r.PostForm["user"])
	if !ok || err != nil {
		return err
	}
	groupName := s.groupNames(r)
	var done, failed []string
	for _, u := range users {
		direct, viaGroups := false, []string{}
		for _, st := range u.States {
			if st.SkuID == d.Product.ID && st.Direct() {
				direct = true
			} else if st.SkuID == d.Product.ID && st.State == allot.StateActive {
				viaGroups = append(viaGroups, groupName(st.Source))
			}
		}
		if !direct {
			failed = append(failed, fmt.Sprintf("%s: the license comes from %s; unassign it from the group, or remove the user from the group.", u.DisplayName, plural(len(viaGroups), "group", "groups")+" ("+strings.Join(viaGroups, ", ")+")"))
			continue
		}
		if _, err := s.svc.Licenses.AssignUserLicense(r.Context(), u.ID, []allot.AssignedLicense{}, []string{d.Product.ID}); err != nil {
			if allot.ErrorCode(err) == allot.EINTERNAL {
				return err
			}
			failed = append(failed, u.DisplayName+": "+plainMessage(err))
			continue
		}
		msg := u.DisplayName
		if len(viaGroups) > 0 {
			msg += " (still licensed through " + strings.Join(viaGroups, ", ") + ")"
		}
		done = append(done, msg)
	}
	return s.redirect(w, r, d.URL, unassigned(d.Product.Name, "user", "users", done, failed, ""))
}
