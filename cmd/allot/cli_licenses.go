package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/allot-dev/allot"
)

// subscriptionBody is an item of GET /allot/v1/subscriptions.
type subscriptionBody struct {
	SkuID            string `json:"skuId"`
	SkuPartNumber    string `json:"skuPartNumber"`
	DisplayName      string `json:"displayName"`
	Seats            int    `json:"seats"`
	Consumed         int    `json:"consumed"`
	Available        int    `json:"available"`
	CapabilityStatus string `json:"capabilityStatus"`
}

func productsTable() *table {
	return newTable("skuPartNumber", "PRODUCT", "displayName", "NAME", "assigned", "ASSIGNED",
		"available", "AVAILABLE", "total", "TOTAL", "capabilityStatus", "STATE", "skuId", "SKU ID")
}

func (t *table) addSubscription(s subscriptionBody) {
	t.add(s.SkuPartNumber, s.DisplayName, s.Consumed, s.Available, s.Seats, s.CapabilityStatus, s.SkuID)
}

func defineProducts(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		var subs []subscriptionBody
		err := e.c.list(ctx, "/allot/v1/subscriptions", nil, func(raw json.RawMessage) error {
			var s subscriptionBody
			err := json.Unmarshal(raw, &s)
			subs = append(subs, s)
			return err
		})
		if err != nil {
			return err
		}
		sort.Slice(subs, func(i, j int) bool { return subs[i].SkuPartNumber < subs[j].SkuPartNumber })
		t := productsTable()
		for _, s := range subs {
			t.addSubscription(s)
		}
		return t.write(e.stdout, e.format)
	}
}

func noArgs(pos []string) error {
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

// assignLicenseBody is Graph's assignLicense action.
type assignLicenseBody struct {
	AddLicenses    []addLicense `json:"addLicenses"`
	RemoveLicenses []string     `json:"removeLicenses"`
}

type addLicense struct {
	SkuID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

// defineAssign is assign (add) and unassign (!add): they share their flags
// and their checks.
func defineAssign(add bool) defineFunc {
	return func(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
		a := assignFlags{verb: map[bool]string{true: "assign", false: "unassign"}[add]}
		a.product = fs.String("product", "", "the product: a part number or SKU `id`")
		fs.Var(&a.groups, "group", "a `group` by id or display name; repeat for several (up to 20)")
		fs.Var(&a.users, "user", "a `user` by id or userPrincipalName; repeat for several")
		if add {
			fs.Var(&a.plans, "disable-plan", "a service `plan` of the product to leave off, by name or id; repeat for several")
			fs.Var(&a.nested, "include-nested", "groups only: also license the users of nested groups (=false to switch off)")
		}
		a.wait = fs.Bool("wait", false, "wait until the groups are processed, showing progress on stderr")
		addPollFlag(fs, e)
		return func(ctx context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			if err := a.check(); err != nil {
				return err
			}
			r := &resolver{c: e.c}
			sku, err := r.sku(ctx, *a.product)
			if err != nil {
				return err
			}
			disabled, err := r.plans(ctx, sku, a.plans)
			if err != nil {
				return err
			}
			if len(a.users) > 0 {
				us, err := r.users(ctx, a.users)
				if err != nil {
					return err
				}
				return e.assignUsers(ctx, r, sku, disabled, us, add)
			}
			gs, err := r.groups(ctx, a.groups)
			if err != nil {
				return err
			}
			if add {
				err = e.assignGroups(ctx, gs, sku, disabled, a.nested)
			} else {
				err = e.unassignGroups(ctx, gs, sku)
			}
			if err != nil {
				return err
			}
			return e.reportGroups(ctx, gs, sku.PartNumber, *a.wait)
		}
	}
}

// assignFlags are the flags of assign and unassign.
type assignFlags struct {
	verb                 string
	product              *string
	groups, users, plans multiFlag
	nested               optionalBool
	wait                 *bool
}

func (a *assignFlags) check() error {
	switch {
	case *a.product == "":
		return usagef("%s: --product is required", a.verb)
	case len(a.groups) == 0 && len(a.users) == 0:
		return usagef("%s: give --group or --user", a.verb)
	case len(a.groups) > 0 && len(a.users) > 0:
		return usagef("%s: give --group or --user, not both", a.verb)
	case len(a.groups) > allot.MaxBatch:
		return usagef("%s: at most %d groups at once, %d given", a.verb, allot.MaxBatch, len(a.groups))
	case *a.wait && len(a.users) > 0:
		return usagef("%s: --wait is for groups; users are licensed at once", a.verb)
	case a.nested.set && len(a.users) > 0:
		return usagef("%s: --include-nested is for groups", a.verb)
	}
	return nil
}

func (e *cliEnv) assignGroups(ctx context.Context, gs []groupRef, sku *allot.SKU, disabled []string, nested optionalBool) error {
	body := map[string]any{"groupIds": groupIDs(gs), "skuId": sku.ID, "disabledPlans": disabled}
	if nested.set {
		body["includeNestedGroups"] = nested.v
	}
	return e.c.post(ctx, "/allot/v1/groups/assignLicense", body, nil)
}

// unassignGroups checks that every group has the product before removing
// it from any, so that a mistake changes nothing.
func (e *cliEnv) unassignGroups(ctx context.Context, gs []groupRef, sku *allot.SKU) error {
	for _, g := range gs {
		has, err := e.groupHas(ctx, g.ID, sku.ID)
		if err != nil {
			return err
		}
		if !has {
			return failf("group %s does not have %s; nothing was changed", g.Name, sku.PartNumber)
		}
	}
	for _, g := range gs {
		body := assignLicenseBody{AddLicenses: []addLicense{}, RemoveLicenses: []string{sku.ID}}
		if err := e.c.post(ctx, "/v1.0/groups/"+url.PathEscape(g.ID)+"/assignLicense", body, nil); err != nil {
			return fmt.Errorf("group %s: %w", g.Name, err)
		}
	}
	return nil
}

func groupIDs(gs []groupRef) []string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

// userIDs is never nil: the API wants a list, empty or not.
func userIDs(us []userRef) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

func (e *cliEnv) groupHas(ctx context.Context, groupID, skuID string) (bool, error) {
	var g struct {
		AssignedLicenses []struct{ SkuID string } `json:"assignedLicenses"`
	}
	if err := e.c.get(ctx, "/v1.0/groups/"+url.PathEscape(groupID), url.Values{"$select": {"assignedLicenses"}}, &g); err != nil {
		return false, err
	}
	for _, l := range g.AssignedLicenses {
		if strings.EqualFold(l.SkuID, skuID) {
			return true, nil
		}
	}
	return false, nil
}

// reportGroups prints one row per group: its processing state, and with
// wait, its members and those in error once processed.
func (e *cliEnv) reportGroups(ctx context.Context, gs []groupRef, product string, wait bool) error {
	t := newTable("id", "GROUP ID", "displayName", "GROUP", "product", "PRODUCT", "state", "STATE",
		"members", "MEMBERS", "membersWithErrors", "ERRORS")
	for _, g := range gs {
		var members, withErrors any // unknown until processed
		state := ""
		if wait {
			out, err := e.waitGroup(ctx, g)
			if err != nil {
				return err
			}
			state, members, withErrors = allot.ProcessingComplete, out.members, out.withErrors
		} else {
			p, err := e.groupProgress(ctx, g.ID)
			if err != nil {
				return err
			}
			state = p.state
		}
		t.add(g.ID, g.Name, product, state, members, withErrors)
	}
	return t.write(e.stdout, e.format)
}

// licenseStateBody is an item of GET /allot/v1/users/{id}/licenseStates.
type licenseStateBody struct {
	SkuID           string  `json:"skuId"`
	SkuPartNumber   string  `json:"skuPartNumber"`
	AssignedByGroup *string `json:"assignedByGroup"`
	State           string  `json:"state"`
	Error           string  `json:"error"`
	Detail          string  `json:"detail"`
}

func (e *cliEnv) licenseStates(ctx context.Context, userID string) ([]licenseStateBody, error) {
	var states []licenseStateBody
	err := e.c.list(ctx, "/allot/v1/users/"+url.PathEscape(userID)+"/licenseStates", nil, func(raw json.RawMessage) error {
		var s licenseStateBody
		err := json.Unmarshal(raw, &s)
		states = append(states, s)
		return err
	})
	return states, err
}

func (e *cliEnv) assignUsers(ctx context.Context, r *resolver, sku *allot.SKU, disabled []string, us []userRef, add bool) error {
	body := assignLicenseBody{AddLicenses: []addLicense{}, RemoveLicenses: []string{}}
	if add {
		body.AddLicenses = []addLicense{{SkuID: sku.ID, DisabledPlans: disabled}}
	} else {
		body.RemoveLicenses = []string{sku.ID}
	}
	t := newTable("userPrincipalName", "USER", "id", "USER ID", "product", "PRODUCT", "state", "STATE", "error", "ERROR", "detail", "DETAIL")
	for _, u := range us {
		if err := e.c.post(ctx, "/v1.0/users/"+url.PathEscape(u.ID)+"/assignLicense", body, nil); err != nil {
			// The users before this one are done: say so, since the command
			// stops here.
			if len(t.rows) > 0 {
				_ = t.write(e.stdout, e.format)
			}
			return fmt.Errorf("user %s: %w", u.UPN, err)
		}
		state, code, detail := "Removed", "", ""
		if add {
			states, err := e.licenseStates(ctx, u.ID)
			if err != nil {
				return err
			}
			for _, s := range states {
				if strings.EqualFold(s.SkuID, sku.ID) && s.AssignedByGroup == nil {
					state, code, detail = s.State, s.Error, r.readable(ctx, s.Detail)
					if code == string(allot.NoLicenseError) {
						code = ""
					}
				}
			}
		}
		t.add(u.UPN, u.ID, sku.PartNumber, state, code, detail)
	}
	return t.write(e.stdout, e.format)
}

func oneGroupArg(verb string, pos []string) (string, error) {
	switch len(pos) {
	case 0:
		return "", usagef("%s: give a group by id or display name", verb)
	case 1:
		return pos[0], nil
	}
	return "", usagef("%s: one group at a time; unexpected %q", verb, pos[1])
}

// groupArg resolves the one group that verb's arguments name.
func (r *resolver) groupArg(ctx context.Context, verb string, pos []string) (groupRef, error) {
	name, err := oneGroupArg(verb, pos)
	if err != nil {
		return groupRef{}, err
	}
	return r.group(ctx, name)
}

func defineGroupStatus(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		r := &resolver{c: e.c}
		g, err := r.groupArg(ctx, "group status", pos)
		if err != nil {
			return err
		}
		var body struct {
			AssignedLicenses []struct {
				SkuID         string   `json:"skuId"`
				DisabledPlans []string `json:"disabledPlans"`
			} `json:"assignedLicenses"`
		}
		if err := e.c.get(ctx, "/v1.0/groups/"+url.PathEscape(g.ID), url.Values{"$select": {"assignedLicenses"}}, &body); err != nil {
			return err
		}
		products := []string{}
		for _, l := range body.AssignedLicenses {
			p := r.partNumber(ctx, l.SkuID)
			if len(l.DisabledPlans) > 0 {
				var off []string
				for _, pl := range l.DisabledPlans {
					off = append(off, r.readable(ctx, pl))
				}
				sort.Strings(off)
				p += " (without " + strings.Join(off, ", ") + ")"
			}
			products = append(products, p)
		}
		sort.Strings(products)
		p, err := e.groupProgress(ctx, g.ID)
		if err != nil {
			return err
		}
		members, err := e.count(ctx, "/v1.0/groups/"+url.PathEscape(g.ID)+"/members/microsoft.graph.user")
		if err != nil {
			return err
		}
		withErrors, err := e.count(ctx, "/v1.0/groups/"+url.PathEscape(g.ID)+"/membersWithLicenseErrors")
		if err != nil {
			return err
		}
		var done, total any // only while processing
		if p.state != allot.ProcessingComplete && p.total > 0 {
			done, total = p.done, p.total
		}
		t := newTable("id", "Group ID", "displayName", "Group", "products", "Products",
			"state", "Processing", "processed", "Processed", "toProcess", "To process",
			"members", "Members", "membersWithErrors", "Members with errors")
		t.single = true
		t.add(g.ID, g.Name, products, p.state, done, total, members, withErrors)
		if e.format == formatTable {
			// A list of products reads better one to a line.
			t.rows[0][2] = strings.Join(products, "; ")
		}
		return t.write(e.stdout, e.format)
	}
}

// plainErrors says what each license error code means for the admin.
var plainErrors = map[allot.LicenseError]string{
	allot.CountViolation:                     "no seats left for the product",
	allot.MutuallyExclusiveViolation:         "conflicts with another license the user has",
	allot.DependencyViolation:                "a service plan it needs is missing or disabled",
	allot.ProhibitedInUsageLocationViolation: "not available in the user's usage location",
	allot.UniquenessViolation:                "an address of the user is used by another object",
	allot.OtherViolation:                     "failed for another reason",
}

func plainError(code string) string {
	if s, ok := plainErrors[allot.LicenseError(code)]; ok {
		return s
	}
	return code
}

func defineGroupErrors(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		r := &resolver{c: e.c}
		g, err := r.groupArg(ctx, "group errors", pos)
		if err != nil {
			return err
		}
		type member struct{ ID, UPN, Name string }
		var members []member
		q := url.Values{"$select": {"id,userPrincipalName,displayName"}}
		err = e.c.list(ctx, "/v1.0/groups/"+url.PathEscape(g.ID)+"/membersWithLicenseErrors", q, func(raw json.RawMessage) error {
			var m struct{ ID, UserPrincipalName, DisplayName string }
			err := json.Unmarshal(raw, &m)
			members = append(members, member{m.ID, m.UserPrincipalName, m.DisplayName})
			return err
		})
		if err != nil {
			return err
		}
		t := newTable("userPrincipalName", "USER", "displayName", "NAME", "product", "PRODUCT",
			"error", "ERROR", "reason", "REASON", "detail", "DETAIL", "userId", "USER ID")
		for _, m := range members {
			states, err := e.licenseStates(ctx, m.ID)
			if isNotFound(err) {
				continue // deleted since the list was read
			}
			if err != nil {
				return err
			}
			for _, s := range states {
				if s.State != allot.StateError || s.AssignedByGroup == nil || !strings.EqualFold(*s.AssignedByGroup, g.ID) {
					continue
				}
				part := s.SkuPartNumber
				if part == "" {
					part = s.SkuID
				}
				t.add(m.UPN, m.Name, part, s.Error, plainError(s.Error), r.readable(ctx, s.Detail), m.ID)
			}
		}
		if len(t.rows) == 0 && e.format == formatTable {
			fmt.Fprintf(e.stdout, "No member of %s has a license error from it.\n", g.Name)
			return nil
		}
		return t.write(e.stdout, e.format)
	}
}

func defineReprocess(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	group := fs.String("group", "", "a `group` by id or display name")
	var users multiFlag
	fs.Var(&users, "user", "a `user` by id or userPrincipalName; repeat for several (up to 20)")
	wait := fs.Bool("wait", false, "wait until the group is processed, showing progress on stderr")
	addPollFlag(fs, e)
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		switch {
		case *group == "" && len(users) == 0:
			return usagef("reprocess: give --group or --user")
		case *group != "" && len(users) > 0:
			return usagef("reprocess: give --group or --user, not both")
		case len(users) > allot.MaxBatch:
			return usagef("reprocess: at most %d users at once, %d given", allot.MaxBatch, len(users))
		case *wait && len(users) > 0:
			return usagef("reprocess: --wait is for a group; users are reprocessed at once")
		}
		r := &resolver{c: e.c}
		if *group != "" {
			g, err := r.group(ctx, *group)
			if err != nil {
				return err
			}
			if err := e.c.post(ctx, "/allot/v1/groups/"+url.PathEscape(g.ID)+"/reprocess", nil, nil); err != nil {
				return err
			}
			return e.reportGroups(ctx, []groupRef{g}, "", *wait)
		}
		us, err := r.users(ctx, users)
		if err != nil {
			return err
		}
		if err := e.c.post(ctx, "/allot/v1/users/reprocess", map[string]any{"userIds": userIDs(us)}, nil); err != nil {
			return err
		}
		t := newTable("userPrincipalName", "USER", "id", "USER ID", "licenses", "LICENSES", "errors", "ERRORS")
		for _, u := range us {
			states, err := e.licenseStates(ctx, u.ID)
			if err != nil {
				return err
			}
			var lics, errs []string
			for _, s := range states {
				lics = append(lics, s.SkuPartNumber)
				if s.State == allot.StateError {
					errs = append(errs, s.SkuPartNumber+": "+plainError(s.Error))
				}
			}
			t.add(u.UPN, u.ID, uniqSorted(lics), uniqSorted(errs))
		}
		return t.write(e.stdout, e.format)
	}
}

// uniqSorted is xs sorted without repeats, never nil: a table shows an
// empty list as [] in JSON.
func uniqSorted(xs []string) []string {
	slices.Sort(xs)
	return append([]string{}, slices.Compact(xs)...)
}

func definePurchase(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	product := fs.String("product", "", "the product: a part number or SKU `id`")
	seats := fs.Int("seats", 0, "how many `seats` to buy (1 to 10000)")
	var users multiFlag
	fs.Var(&users, "user", "a waiting `user` to give one of the seats first, by id or userPrincipalName; repeat for several")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		switch {
		case *product == "":
			return usagef("purchase: --product is required")
		case *seats < 1:
			return usagef("purchase: --seats must be at least 1")
		case len(users) > *seats:
			return usagef("purchase: %d users but only %d seats", len(users), *seats)
		}
		r := &resolver{c: e.c}
		sku, err := r.sku(ctx, *product)
		if err != nil {
			return err
		}
		us, err := r.users(ctx, users)
		if err != nil {
			return err
		}
		var sub subscriptionBody
		err = e.c.post(ctx, "/allot/v1/subscriptions/"+url.PathEscape(sku.ID)+"/purchase",
			map[string]any{"quantity": *seats, "userIds": userIDs(us)}, &sub)
		if err != nil {
			return err
		}
		t := productsTable()
		t.single = true
		t.addSubscription(sub)
		return t.write(e.stdout, e.format)
	}
}

func defineStatus(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		st, err := e.status(ctx)
		if err != nil {
			return err
		}
		t := newTable("id", "GROUP ID", "displayName", "GROUP", "state", "STATE", "done", "DONE", "total", "TOTAL")
		for _, g := range st.Groups {
			t.add(g.ID, g.DisplayName, g.State, g.Done, g.Total)
		}
		switch e.format {
		case formatJSON:
			b, err := json.MarshalIndent(st, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s\n", b)
			return err
		case formatCSV:
			return t.write(e.stdout, e.format)
		}
		idle := "busy"
		if st.Idle {
			idle = "idle"
		}
		fmt.Fprintf(e.stdout, "Worker: %s. Queue: %d item(s), the oldest waiting %ds.\n", idle, st.QueueDepth, st.OldestQueuedSeconds)
		if len(st.Groups) == 0 {
			fmt.Fprintln(e.stdout, "No group is being processed.")
			return nil
		}
		fmt.Fprintln(e.stdout)
		return t.write(e.stdout, e.format)
	}
}
