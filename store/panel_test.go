package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/allot-dev/allot"
)

// TestLicensePanel: one product's counts of a group, by error, adding up
// to the members mid-walk; pages in name order whatever the ids (created
// in the opposite order here), none repeated; search; the other
// products' errors; the walks ProductProgress lists.
func TestLicensePanel(t *testing.T) {
	e := newEnv(t, "")
	e.sub(skuE1, 3)
	e.sub(skuAudio, 1)
	g := e.group("Team")
	var ids []string
	for i := 6; i >= 1; i-- { // ids grow while names shrink
		loc := "US"
		if i == 6 {
			loc = "" // no location, no default
		}
		u := e.user(fmt.Sprintf("user%d@contoso.example", i), loc)
		ids = append(ids, u.ID)
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), nil)
	e.must(err)

	// Mid-walk: two done, four not yet.
	if _, err := e.db.ProcessBatch(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	p, err := e.db.LicensePanel(e.ctx, g.ID, skuE1, allot.PanelQuery{})
	e.must(err)
	if p.Members != 6 || p.Assigned+p.Failed != 2 || p.Group.ProcessingState != allot.ProcessingInProgress || p.Group.MembersDone != 2 {
		t.Fatalf("mid-walk: members %d, assigned %d, failed %d, %s %d of %d", p.Members, p.Assigned, p.Failed, p.Group.ProcessingState, p.Group.MembersDone, p.Group.MembersTotal)
	}
	progress, err := e.db.ProductProgress(e.ctx, skuE1)
	e.must(err)
	if len(progress) != 1 || progress[0].ID != g.ID {
		t.Fatalf("ProductProgress mid-walk: %+v", progress)
	}
	e.drain(100)

	p, err = e.db.LicensePanel(e.ctx, g.ID, skuE1, allot.PanelQuery{Errors: true})
	e.must(err)
	// Three seats for five members with a location; user6 has none.
	if p.Assigned != 3 || p.Failed != 3 || p.ByError[allot.CountViolation] != 2 || p.ByError[allot.ProhibitedInUsageLocationViolation] != 1 || p.Users.Count != 3 {
		t.Fatalf("after the walk: %+v", p)
	}
	p, err = e.db.LicensePanel(e.ctx, g.ID, skuE1, allot.PanelQuery{Errors: true, Error: allot.CountViolation})
	e.must(err)
	if p.Users.Count != 2 || len(p.Users.Items) != 2 {
		t.Fatalf("the CountViolation filter lists %d of %d", len(p.Users.Items), p.Users.Count)
	}

	// Pages of one, in name order.
	var names []string
	after := ""
	for {
		p, err := e.db.LicensePanel(e.ctx, g.ID, skuE1, allot.PanelQuery{Top: 1, After: after})
		e.must(err)
		for _, u := range p.Users.Items {
			names = append(names, u.DisplayName)
		}
		if after = p.Users.NextCursor; after == "" {
			break
		}
	}
	if !slices.IsSorted(names) || len(names) != 3 || len(slices.Compact(slices.Clone(names))) != 3 {
		t.Fatalf("pages list %v", names)
	}
	if _, err := e.db.LicensePanel(e.ctx, g.ID, skuE1, allot.PanelQuery{After: "not a cursor"}); allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("a bad cursor: %v", err)
	}
	p, err = e.db.LicensePanel(e.ctx, g.ID, skuE1, allot.PanelQuery{Errors: true, Search: "USER6@"})
	e.must(err)
	if p.Users.Count != 1 || p.Users.Items[0].ID != ids[0] {
		t.Fatalf("search user6@: %+v", p.Users)
	}

	// A second product: the group is one unit, so Audio's lack of seats
	// makes E1 Other; each product counts its own states.
	_, err = e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuAudio), nil)
	e.must(err)
	e.drain(100)
	audio, err := e.db.LicensePanel(e.ctx, g.ID, skuAudio, allot.PanelQuery{})
	e.must(err)
	e1, err := e.db.LicensePanel(e.ctx, g.ID, skuE1, allot.PanelQuery{})
	e.must(err)
	if audio.Assigned+audio.Failed != 6 || e1.Assigned+e1.Failed != 6 || audio.OtherErrors[skuE1] != e1.Failed || e1.OtherErrors[skuAudio] != audio.Failed {
		t.Fatalf("two products: audio %+v, e1 %+v", audio, e1)
	}
	if audio.Subscription.SkuID != skuAudio || audio.Subscription.ConsumedUnits != audio.Assigned {
		t.Fatalf("audio's seats %+v beside %d assigned", audio.Subscription, audio.Assigned)
	}
	counts, err := e.db.MemberCounts(e.ctx, []string{g.ID, "00000000-0000-0000-0000-000000000000"})
	e.must(err)
	if len(counts) != 1 || counts[g.ID] != 6 {
		t.Fatalf("MemberCounts %v", counts)
	}

	// Unassigned: the walk that takes the licenses is listed until it ends.
	_, err = e.db.AssignGroupLicense(e.ctx, g.ID, []allot.AssignedLicense{}, []string{skuE1})
	e.must(err)
	progress, err = e.db.ProductProgress(e.ctx, skuE1)
	e.must(err)
	if len(progress) != 1 {
		t.Fatalf("ProductProgress after the unassignment: %+v", progress)
	}
	e.drain(100)
	if progress, err = e.db.ProductProgress(e.ctx, skuE1); err != nil || len(progress) != 0 {
		t.Fatalf("ProductProgress after the walk: %+v, %v", progress, err)
	}
	e.check()
}
