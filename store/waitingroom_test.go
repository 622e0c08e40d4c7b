package store_test

import (
	"slices"
	"testing"

	"github.com/allot-dev/allot"
)

// waitingIDs is the whole waiting room of sku, read a page of two at a time
// so that paging is exercised too.
func (e *env) waitingIDs(sku string) []string {
	e.t.Helper()
	var ids []string
	for skip := 0; ; skip += 2 {
		room, err := e.db.WaitingRoom(e.ctx, sku, skip, 2)
		e.must(err)
		for i, u := range room.Users {
			if u.Position != skip+i+1 {
				e.t.Fatalf("position %d at index %d of page %d", u.Position, i, skip)
			}
			ids = append(ids, u.UserID)
		}
		if len(room.Users) < 2 {
			if room.Total != len(ids) {
				e.t.Fatalf("total %d, listed %d", room.Total, len(ids))
			}
			return ids
		}
	}
}

// TestWaitingRoom/OrderIsTheOrderSeatsAreGiven: the waiting room lists the
// users in exactly the order that buying one seat at a time licenses them,
// which is neither user id nor membership order here.
func TestWaitingRoom(t *testing.T) {
	t.Run("OrderIsTheOrderSeatsAreGiven", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE1, 1)
		var users []*allot.User
		for _, n := range []string{"u1@x", "u2@x", "u3@x", "u4@x", "u5@x", "u6@x"} {
			users = append(users, e.user(n, ""))
		}
		sales, support := e.group("Sales"), e.group("Support")
		// Sales joins in reverse creation (and id) order; u6, whose id is
		// the highest, waits through a second group that is licensed later,
		// and u2 waits through both groups.
		for i := 4; i >= 0; i-- {
			e.must(e.db.AddMember(e.ctx, sales.ID, users[i].ID))
		}
		e.must(e.db.AddMember(e.ctx, support.ID, users[5].ID))
		e.must(e.db.AddMember(e.ctx, support.ID, users[1].ID))
		_, err := e.db.AssignGroupLicense(e.ctx, sales.ID, lic(skuE1), []string{})
		e.must(err)
		e.drain(1)
		_, err = e.db.AssignGroupLicense(e.ctx, support.ID, lic(skuE1), []string{})
		e.must(err)
		e.drain(1)
		e.check()

		room, err := e.db.WaitingRoom(e.ctx, skuE1, 0, 10)
		e.must(err)
		if room.Total != 5 || len(room.Users) != 5 || room.Available != 0 {
			t.Fatalf("room %+v", room)
		}
		for i := 1; i < len(room.Users); i++ {
			if !room.Users[i-1].WaitingSince.Before(room.Users[i].WaitingSince) {
				t.Fatalf("waiting times not increasing: %+v", room.Users)
			}
		}
		u2 := room.Users[slices.IndexFunc(room.Users, func(u allot.WaitingUser) bool { return u.UserID == users[1].ID })]
		if len(u2.Groups) != 2 || u2.Direct || u2.UserPrincipalName != "u2@x" {
			t.Fatalf("u2 waits through %+v", u2)
		}
		if g := room.Users[0].Groups; len(g) != 1 || g[0].ID != sales.ID || g[0].DisplayName != "Sales" {
			t.Fatalf("first waits through %+v", g)
		}

		order := e.waitingIDs(skuE1)
		want := []string{users[3].ID, users[2].ID, users[1].ID, users[0].ID, users[5].ID}
		if !slices.Equal(order, want) {
			t.Fatalf("waiting room %v, want %v", order, want)
		}
		for i, next := range order {
			_, err := e.db.Purchase(e.ctx, skuE1, 1, nil)
			e.must(err)
			e.drain(1)
			e.check()
			for _, id := range order[i:] {
				held := false
				for _, st := range e.states(id) {
					held = held || (st.SkuID == skuE1 && st.State == allot.StateActive)
				}
				if held != (id == next) {
					t.Fatalf("after seat %d: user %s holds=%v, the waiting room said %s was next", i+1, id, held, next)
				}
			}
			if rest := e.waitingIDs(skuE1); !slices.Equal(rest, order[i+1:]) && !(len(rest) == 0 && i == len(order)-1) {
				t.Fatalf("after seat %d the room is %v, want %v", i+1, rest, order[i+1:])
			}
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE1, 1)
		if _, err := e.db.WaitingRoom(e.ctx, skuUnsold, 0, 10); allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Fatalf("unsubscribed SKU: %v", err)
		}
		for _, p := range [][2]int{{-1, 10}, {0, 0}, {0, 1000}} {
			if _, err := e.db.WaitingRoom(e.ctx, skuE1, p[0], p[1]); allot.ErrorCode(err) != allot.EINVALID {
				t.Fatalf("skip %d top %d: %v", p[0], p[1], err)
			}
		}
		room, err := e.db.WaitingRoom(e.ctx, skuE1, 0, 10)
		e.must(err)
		if room.Total != 0 || room.Users == nil || room.Available != 1 {
			t.Fatalf("empty room %+v", room)
		}
	})
}

// TestPlaceInLineSurvivesAnotherUnitsError: the place in line belongs to the
// user and the SKU. u0 waits for s0 through g1, then also through g2; when
// g1's unit fails on location instead, u0 still waits through g2 without a
// break, so the first seat bought is u0's, not that of u1 who came later.
func TestPlaceInLineSurvivesAnotherUnitsError(t *testing.T) {
	e := newEnv(t, "")
	s0, s1 := skuExoP1, skuPhone // pExo1 is available everywhere, pCalling in US and GB only
	e.sub(s0, 0)
	e.sub(s1, 10)
	u0, u1 := e.user("u0@x", "US"), e.user("u1@x", "US")
	g1, g2 := e.group("g1"), e.group("g2")
	_, err := e.db.AssignGroupLicense(e.ctx, g1.ID, append(lic(s0), lic(s1)...), []string{})
	e.must(err)
	_, err = e.db.AssignGroupLicense(e.ctx, g2.ID, lic(s0), []string{})
	e.must(err)
	e.drain(5)
	e.must(e.db.AddMember(e.ctx, g1.ID, u0.ID))
	e.drain(5)
	e.must(e.db.AddMember(e.ctx, g1.ID, u1.ID))
	e.drain(5)
	e.must(e.db.AddMember(e.ctx, g2.ID, u0.ID))
	e.drain(5)
	de := "DE"
	_, err = e.db.UpdateUser(e.ctx, u0.ID, allot.UserUpdate{UsageLocation: &de})
	e.must(err)
	e.drain(5)
	st := e.states(u0.ID)
	if got := st[s0+" "+g1.ID].Error; got != allot.OtherViolation {
		t.Fatalf("s0/g1 of u0: %s, want Other", got)
	}
	if got := st[s0+" "+g2.ID].Error; got != allot.CountViolation {
		t.Fatalf("s0/g2 of u0: %s, want CountViolation", got)
	}
	if ids := e.waitingIDs(s0); !slices.Equal(ids, []string{u0.ID, u1.ID}) {
		t.Fatalf("waiting room %v, want u0 then u1", ids)
	}
	_, err = e.db.SetSeats(e.ctx, s0, 1)
	e.must(err)
	e.drain(5)
	e.check()
	if got := e.states(u0.ID)[s0+" "+g2.ID].State; got != allot.StateActive {
		t.Errorf("u0's s0/g2 is %s: the seat went to a user who waited less", got)
	}
	if got := e.states(u1.ID)[s0+" "+g1.ID].Error; got != allot.CountViolation {
		t.Errorf("u1's s0/g1 is %s, want CountViolation", got)
	}
}
