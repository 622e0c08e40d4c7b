package store_test

// Who gets a freed seat (docs/RULES.md §2.3.4). waitingroom_test.go tests the
// waiting room's listing and the place in line.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

// rvWaiting sets up one seat of E1 held by h (how: "direct" or "group"),
// and two members of G waiting for it: w1 started waiting first but has
// the larger user id, so "order they started waiting" and "user id" differ.
func rvWaiting(t *testing.T, how string) (e *env, h, w1, w2 *allot.User, hg, g *allot.Group) {
	e = newEnv(t, "US")
	e.sub(skuE1, 1)
	h = e.user("h@x", "")
	w2 = e.user("w2@x", "")
	w1 = e.user("w1@x", "")
	switch how {
	case "direct":
		rvDirect(e, h.ID, lic(skuE1))
	case "group":
		hg = e.group("HolderGroup")
		e.must(e.db.AddMember(e.ctx, hg.ID, h.ID))
		rvAssign(e, hg.ID, lic(skuE1))
		e.drain(1)
	}
	g = e.group("G")
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(1)
	e.must(e.db.AddMember(e.ctx, g.ID, w1.ID))
	e.drain(1)
	e.must(e.db.AddMember(e.ctx, g.ID, w2.ID))
	e.drain(1)
	e.check()
	s1, s2 := rvState(e, w1.ID, skuE1, g.ID), rvState(e, w2.ID, skuE1, g.ID)
	if s1.Error != allot.CountViolation || s2.Error != allot.CountViolation || !s1.WaitingSince.Before(s2.WaitingSince) {
		t.Fatalf("setup: w1 %+v w2 %+v", s1, s2)
	}
	if w1.ID < w2.ID {
		t.Fatalf("setup: ids")
	}
	return
}

// However a seat comes free (a holder leaves or is deleted, a direct or group
// license is removed, seats are set or bought), it goes to the user that
// started waiting first, not to the one with the smaller id (docs/RULES.md
// §2.3.4).
func TestEachWayOfFreeingSeatsServesWaitersInOrder(t *testing.T) {
	cases := []struct {
		name, how string
		free      func(e *env, h *allot.User, hg *allot.Group)
	}{
		{"holder leaves group", "group", func(e *env, h *allot.User, hg *allot.Group) { e.must(e.db.RemoveMember(e.ctx, hg.ID, h.ID)) }},
		{"holder deleted", "group", func(e *env, h *allot.User, hg *allot.Group) {
			e.must(e.db.DeleteUser(e.ctx, h.ID))
			rvWantConsumed(e, skuE1, 0) // freed at once (§2.3.6)
		}},
		{"direct license removed", "direct", func(e *env, h *allot.User, _ *allot.Group) { rvDirect(e, h.ID, nil, skuE1) }},
		{"group license removed", "group", func(e *env, h *allot.User, hg *allot.Group) { rvAssign(e, hg.ID, nil, skuE1) }},
		{"seats set", "direct", func(e *env, _ *allot.User, _ *allot.Group) {
			_, err := e.db.SetSeats(e.ctx, skuE1, 2)
			e.must(err)
		}},
		{"seats purchased", "direct", func(e *env, _ *allot.User, _ *allot.Group) {
			_, err := e.db.Purchase(e.ctx, skuE1, 1, nil)
			e.must(err)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, h, w1, w2, hg, g := rvWaiting(t, c.how)
			c.free(e, h, hg)
			e.drain(10)
			e.check()
			rvWant(e, w1.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
			rvWant(e, w2.ID, skuE1, g.ID, allot.StateError, allot.CountViolation)
			want := 1 // the holder's seat went to w1
			if strings.HasPrefix(c.name, "seats") {
				want = 2 // the holder keeps its seat, w1 takes the new one
			}
			rvWantConsumed(e, skuE1, want)
		})
	}
}

// Waiting users are evaluated in the order they started waiting until the
// seats run out, and seats bought for a named user go to that user first
// (docs/RULES.md §2.3.4).
func TestWaitingRoomFillsInOrderUntilSeatsRunOut(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 0)
	g := e.group("G")
	rvAssign(e, g.ID, lic(skuE1))
	var us []*allot.User
	for i := range 4 {
		u := e.user(fmt.Sprintf("u%d@x", i), "")
		us = append(us, u)
	}
	// Join in reverse id order, one batch each, so waiting order != id order.
	for i := len(us) - 1; i >= 0; i-- {
		e.must(e.db.AddMember(e.ctx, g.ID, us[i].ID))
		e.drain(1)
	}
	_, err := e.db.SetSeats(e.ctx, skuE1, 2)
	e.must(err)
	e.drain(10)
	e.check()
	for i, want := range []allot.LicenseError{allot.CountViolation, allot.CountViolation, allot.NoLicenseError, allot.NoLicenseError} {
		if s := rvState(e, us[i].ID, skuE1, g.ID); s.Error != want {
			t.Fatalf("u%d: %s, want %s", i, s.Error, want)
		}
	}
	// Purchase naming a user puts that user first (§2.3.4).
	_, err = e.db.Purchase(e.ctx, skuE1, 1, []string{us[0].ID})
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, us[0].ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	rvWant(e, us[1].ID, skuE1, g.ID, allot.StateError, allot.CountViolation)
}

// Who gets a freed seat does not depend on the worker's batch size: members
// are evaluated in membership order (docs/RULES.md §2.3.2) and start waiting
// in that order (§2.3.4), even when one batch evaluates them all at a single
// timestamp; the tie-break by user id must not override that order.
func TestWaitingOrderFollowsMembershipNotBatchSize(t *testing.T) {
	winner := func(batch int) string {
		e := newEnv(t, "US")
		e.sub(skuE1, 0)
		g := e.group("G")
		var names []string
		var ids []string
		for i := range 3 {
			u := e.user(fmt.Sprintf("u%d@x", i), "")
			ids = append(ids, u.ID)
			names = append(names, fmt.Sprintf("u%d", i))
		}
		for i := 2; i >= 0; i-- { // membership order u2, u1, u0
			e.must(e.db.AddMember(e.ctx, g.ID, ids[i]))
		}
		rvAssign(e, g.ID, lic(skuE1))
		e.drain(batch)
		_, err := e.db.SetSeats(e.ctx, skuE1, 1)
		e.must(err)
		e.drain(batch)
		e.check()
		for i, id := range ids {
			if rvState(e, id, skuE1, g.ID).State == allot.StateActive {
				return names[i]
			}
		}
		return "nobody"
	}
	one, many := winner(1), winner(10)
	if one != many {
		t.Fatalf("seat went to %s with batch size 1 but to %s with batch size 10; u2 joined first and was evaluated (started waiting) first", one, many)
	}
	if many != "u2" {
		t.Fatalf("seat went to %s, want u2 (first to wait)", many)
	}
}

// Free seats are held for the waiting room (docs/RULES.md §2.3.4): a user
// that never waited cannot take a freed seat ahead of the waiting user, even
// when another change queued it earlier.
func TestFreedSeatIsHeldForWaitingRoom(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 1)
	h := e.user("h@x", "")
	rvDirect(e, h.ID, lic(skuE1))
	g := e.group("G")
	rvAssign(e, g.ID, lic(skuE1))
	w := e.user("w@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, w.ID))
	e.drain(10)
	rvWant(e, w.ID, skuE1, g.ID, allot.StateError, allot.CountViolation)
	// A new group is licensed (queued, not yet processed) ...
	g2 := e.group("G2")
	n := e.user("n@x", "")
	e.must(e.db.AddMember(e.ctx, g2.ID, n.ID))
	rvAssign(e, g2.ID, lic(skuE1))
	// ... then the holder is deleted: the seat is free at once, and w has
	// been waiting for it all along.
	e.must(e.db.DeleteUser(e.ctx, h.ID))
	rvWantConsumed(e, skuE1, 0)
	e.drain(10)
	e.check()
	if s := rvState(e, w.ID, skuE1, g.ID); s.State != allot.StateActive {
		t.Fatalf("waiting user w: %s/%s; newcomer n: %+v", s.State, s.Error, rvState(e, n.ID, skuE1, g2.ID))
	}
}
