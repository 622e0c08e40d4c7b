package store_test

// Address uniqueness (docs/RULES.md §2.2 check 2; who owns an address, §2.1),
// and the address changes that queue a user again (§2.3.3).

import (
	"testing"

	"github.com/allot-dev/allot"
)

// A change of a user's proxyAddresses queues it again: listing an address a
// group owns refuses its mailbox license, dropping it grants the license
// (docs/RULES.md §2.3.3, §2.2 check 2). Addresses compare case-insensitively
// (§2.1).
func TestProxyAddressChangeReevaluatesUser(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	rvGroupWithAddr(e, "Shared", "shared@x")
	g := e.group("G")
	rvAssign(e, g.ID, lic(skuE1))
	u := e.user("u@x", "", "SMTP:Shared@X")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	e.drain(10)
	rvWant(e, u.ID, skuE1, g.ID, allot.StateError, allot.UniquenessViolation)
	own := []string{"own@x"}
	_, err := e.db.UpdateUser(e.ctx, u.ID, allot.UserUpdate{ProxyAddresses: &own})
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	back := []string{"own@x", "smtp:shared@x"}
	_, err = e.db.UpdateUser(e.ctx, u.ID, allot.UserUpdate{ProxyAddresses: &back})
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuE1, g.ID, allot.StateError, allot.UniquenessViolation)
	rvWantConsumed(e, skuE1, 0)
}

// A user losing its mailbox plan frees its address; a lister waiting on
// UniquenessViolation gets its license; the first user can then no longer
// take its mailbox back directly (docs/RULES.md §2.3.3: an address becoming
// free or taken by another owner).
func TestMailboxLossFreesAddressForOtherLister(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	e.sub(skuE3, 5)
	a := e.user("a@x", "", "same@x")
	b := e.user("b@x", "", "SAME@x")
	rvDirect(e, a.ID, lic(skuE1))
	g := e.group("G")
	e.must(e.db.AddMember(e.ctx, g.ID, b.ID))
	rvAssign(e, g.ID, lic(skuE3))
	e.drain(10)
	rvWant(e, b.ID, skuE3, g.ID, allot.StateError, allot.UniquenessViolation)
	rvDirect(e, a.ID, nil, skuE1)
	e.drain(10)
	e.check()
	rvWant(e, b.ID, skuE3, g.ID, allot.StateActive, allot.NoLicenseError)
	if _, err := e.db.AssignUserLicense(e.ctx, a.ID, lic(skuE1), nil); allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("a takes the address back: %v", err)
	}
	// Disabling the mailbox plan in b's group frees it again.
	rvAssign(e, g.ID, lic(skuE3, pExo2))
	e.drain(10)
	rvDirect(e, a.ID, lic(skuE1))
	e.drain(10)
	e.check()
	rvWant(e, a.ID, skuE1, "", allot.StateActive, allot.NoLicenseError)
}

// A group created, changed or deleted with an address a licensed user lists
// queues that user again (docs/RULES.md §2.3.3): while the group lists the
// address it owns it, and the user's mailbox license is refused (§2.2 check 2).
func TestGroupAddressChangesReevaluateListers(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE3, 5)
	g := e.group("G")
	b := e.user("b@x", "", "b@x")
	e.must(e.db.AddMember(e.ctx, g.ID, b.ID))
	rvAssign(e, g.ID, lic(skuE3))
	e.drain(10)
	rvWant(e, b.ID, skuE3, g.ID, allot.StateActive, allot.NoLicenseError)
	// Created: the group owns the address.
	mg := rvGroupWithAddr(e, "Mail", "B@X")
	e.drain(10)
	e.check()
	rvWant(e, b.ID, skuE3, g.ID, allot.StateError, allot.UniquenessViolation)
	rvWantConsumed(e, skuE3, 0)
	// Changed away: free again.
	other := []string{"other@x"}
	_, err := e.db.UpdateGroup(e.ctx, mg.ID, allot.GroupUpdate{ProxyAddresses: &other})
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, b.ID, skuE3, g.ID, allot.StateActive, allot.NoLicenseError)
	// Changed back: taken.
	again := []string{"smtp:b@x"}
	_, err = e.db.UpdateGroup(e.ctx, mg.ID, allot.GroupUpdate{ProxyAddresses: &again})
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, b.ID, skuE3, g.ID, allot.StateError, allot.UniquenessViolation)
	// Deleted: free.
	e.must(e.db.DeleteGroup(e.ctx, mg.ID))
	e.drain(10)
	e.check()
	rvWant(e, b.ID, skuE3, g.ID, allot.StateActive, allot.NoLicenseError)
}

// A mailbox user that adds an address another mailbox user already owns gets
// the UniquenessViolation itself; the owner keeps its license (docs/RULES.md
// §2.2 check 2). Graph refuses such a duplicate outright: the author of the
// change, not the owner, carries the error.
func TestAddressChangeDoesNotStealFromOwner(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	g := e.group("G")
	rvAssign(e, g.ID, lic(skuE1))
	a := e.user("a@x", "", "a@x")
	b := e.user("b@x", "", "b@x")
	e.must(e.db.AddMember(e.ctx, g.ID, b.ID))
	e.must(e.db.AddMember(e.ctx, g.ID, a.ID))
	e.drain(10)
	rvWant(e, a.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	rvWant(e, b.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	p := []string{"a@x", "B@x"}
	_, err := e.db.UpdateUser(e.ctx, a.ID, allot.UserUpdate{ProxyAddresses: &p})
	e.must(err)
	e.drain(10)
	e.check()
	sa, sb := rvState(e, a.ID, skuE1, g.ID), rvState(e, b.ID, skuE1, g.ID)
	if sb.State != allot.StateActive || sa.Error != allot.UniquenessViolation {
		t.Fatalf("owner b: %s/%s; a (who added b's address): %s/%s", sb.State, sb.Error, sa.State, sa.Error)
	}
}
