package store_test

// Deleting groups and users (docs/RULES.md §2.3.6).

import (
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

// A group that still has licenses assigned, or a removal not yet processed,
// cannot be deleted: the refusal is a 400 that mentions licenses and changes
// nothing (docs/RULES.md §2.3.6).
func TestDeletingLicensedGroupIsRefused(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	g := e.group("G")
	u := e.user("u@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuE1))
	rvCode(t, "delete licensed group (queued)", e.db.DeleteGroup(e.ctx, g.ID), allot.EINVALID)
	e.drain(10)
	before := rvSnapshot(e, e.ctx)
	err := e.db.DeleteGroup(e.ctx, g.ID)
	rvCode(t, "delete licensed group", err, allot.EINVALID)
	if err != nil && !strings.Contains(strings.ToLower(allot.ErrorMessage(err)), "license") {
		t.Errorf("message not clear: %q", allot.ErrorMessage(err))
	}
	if after := rvSnapshot(e, e.ctx); after != before {
		t.Fatalf("refused delete changed something")
	}
	// Unassigned but not yet processed: still refused.
	rvAssign(e, g.ID, nil, skuE1)
	rvCode(t, "delete while removal pending", e.db.DeleteGroup(e.ctx, g.ID), allot.EINVALID)
	e.drain(10)
	e.must(e.db.DeleteGroup(e.ctx, g.ID))
	e.drain(10)
	e.check()
	rvNoStates(e, u.ID)
	rvWantConsumed(e, skuE1, 0)
	if _, err := e.db.Group(e.ctx, g.ID); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("deleted group: %v", err)
	}
}

// A deleted user's seats are freed at once, before any processing, and its
// addresses are released to the next user listing them (docs/RULES.md
// §2.3.6).
func TestDeletingUserFreesSeatsAndAddresses(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	e.sub(skuE3, 5)
	e.sub(skuAudio, 5)
	g := e.group("G")
	a := e.user("a@x", "", "shared@x")
	e.must(e.db.AddMember(e.ctx, g.ID, a.ID))
	rvAssign(e, g.ID, lic(skuE1))
	rvDirect(e, a.ID, lic(skuE1))
	rvDirect(e, a.ID, lic(skuAudio))
	e.drain(10)
	b := e.user("b@x", "", "Shared@X")
	rvCode(t, "b takes a's address directly", func() error { _, err := e.db.AssignUserLicense(e.ctx, b.ID, lic(skuE3), nil); return err }(), allot.EINVALID)
	g3 := e.group("G3")
	e.must(e.db.AddMember(e.ctx, g3.ID, b.ID))
	rvAssign(e, g3.ID, lic(skuE3))
	e.drain(10)
	rvWant(e, b.ID, skuE3, g3.ID, allot.StateError, allot.UniquenessViolation)
	rvWantConsumed(e, skuE1, 1)
	rvWantConsumed(e, skuAudio, 1)
	e.must(e.db.DeleteUser(e.ctx, a.ID))
	// Freed at once, before any processing.
	rvWantConsumed(e, skuE1, 0)
	rvWantConsumed(e, skuAudio, 0)
	e.drain(10)
	e.check()
	rvWant(e, b.ID, skuE3, g3.ID, allot.StateActive, allot.NoLicenseError)
	if _, err := e.db.User(e.ctx, a.ID); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("deleted user: %v", err)
	}
	m, _ := e.db.Members(e.ctx, g.ID, false, allot.ListOptions{})
	if len(m.Items) != 0 {
		t.Fatalf("deleted user still a member")
	}
}
