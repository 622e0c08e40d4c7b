package store_test

// Tenant isolation (docs/RULES.md §3).

import (
	"context"
	"testing"

	"github.com/allot-dev/allot"
)

// A caller sees only its own tenant: every call naming another tenant's
// object answers not found, never forbidden, and changes neither tenant
// (docs/RULES.md §3).
func TestOtherTenantsObjectsAreNotFound(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn2, err := e.db.CreateTenant(op, allot.Tenant{DisplayName: "Fabrikam", DefaultUsageLocation: "US"})
	e.must(err)
	ctx2 := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn2.ID, Role: allot.RoleGlobalAdministrator, Name: "other"})
	_, err = e.db.AddSubscription(ctx2, skuE3, 5)
	e.must(err)
	// Objects of tenant 2.
	u2, err := e.db.CreateUser(ctx2, allot.UserCreate{UserPrincipalName: "x@f", DisplayName: "x", ProxyAddresses: []string{"x@f"}, AccountEnabled: true})
	e.must(err)
	g2, err := e.db.CreateGroup(ctx2, allot.GroupCreate{DisplayName: "F", SecurityEnabled: true})
	e.must(err)
	e.must(e.db.AddMember(ctx2, g2.ID, u2.ID))
	_, err = e.db.AssignGroupLicense(ctx2, g2.ID, lic(skuE3), nil)
	e.must(err)
	_, tok2, err := e.db.CreateToken(ctx2, "", allot.RoleGlobalReader, "r", 0)
	e.must(err)
	e.drain(10)
	// Objects of tenant 1.
	u1 := e.user("u@x", "")
	g1 := e.group("G")
	e.drain(10)
	before2 := rvSnapshot(e, ctx2)
	before1 := rvSnapshot(e, e.ctx)

	nf := []string{allot.ENOTFOUND}
	name, loc := "n", "GB"
	calls := map[string]error{}
	calls["User"] = func() error { _, err := e.db.User(e.ctx, u2.ID); return err }()
	calls["User by UPN"] = func() error { _, err := e.db.User(e.ctx, "x@f"); return err }()
	calls["UpdateUser"] = func() error {
		_, err := e.db.UpdateUser(e.ctx, u2.ID, allot.UserUpdate{DisplayName: &name, UsageLocation: &loc})
		return err
	}()
	calls["DeleteUser"] = e.db.DeleteUser(e.ctx, u2.ID)
	calls["AssignUserLicense"] = func() error { _, err := e.db.AssignUserLicense(e.ctx, u2.ID, lic(skuE1), nil); return err }()
	calls["ReprocessUsers"] = e.db.ReprocessUsers(e.ctx, []string{u1.ID, u2.ID})
	calls["LicenseDetails"] = func() error { _, err := e.db.LicenseDetails(e.ctx, u2.ID); return err }()
	calls["AssignedPlans"] = func() error { _, err := e.db.AssignedPlans(e.ctx, u2.ID); return err }()
	calls["MemberOf"] = func() error { _, err := e.db.MemberOf(e.ctx, u2.ID, false, allot.ListOptions{}); return err }()
	calls["Group"] = func() error { _, err := e.db.Group(e.ctx, g2.ID); return err }()
	calls["UpdateGroup"] = func() error {
		_, err := e.db.UpdateGroup(e.ctx, g2.ID, allot.GroupUpdate{DisplayName: &name})
		return err
	}()
	calls["DeleteGroup"] = e.db.DeleteGroup(e.ctx, g2.ID)
	calls["AddMember other group"] = e.db.AddMember(e.ctx, g2.ID, u1.ID)
	calls["AddMember other user"] = e.db.AddMember(e.ctx, g1.ID, u2.ID)
	calls["AddMember other group as member"] = e.db.AddMember(e.ctx, g1.ID, g2.ID)
	calls["RemoveMember"] = e.db.RemoveMember(e.ctx, g2.ID, u2.ID)
	calls["Members"] = func() error { _, err := e.db.Members(e.ctx, g2.ID, true, allot.ListOptions{}); return err }()
	calls["AssignGroupLicense"] = func() error { _, err := e.db.AssignGroupLicense(e.ctx, g2.ID, nil, []string{skuE3}); return err }()
	calls["AssignGroupsLicense"] = e.db.AssignGroupsLicense(e.ctx, []string{g1.ID, g2.ID}, allot.AssignedLicense{SkuID: skuE1, DisabledPlans: []string{}})
	calls["ReprocessGroup"] = e.db.ReprocessGroup(e.ctx, g2.ID)
	calls["Purchase for other's user"] = func() error { _, err := e.db.Purchase(e.ctx, skuE1, 1, []string{u2.ID}); return err }()
	calls["Subscription of other"] = func() error { _, err := e.db.Subscription(e.ctx, skuE3); return err }()
	calls["SetSeats of other"] = func() error { _, err := e.db.SetSeats(e.ctx, skuE3, 50); return err }()
	calls["Purchase of other"] = func() error { _, err := e.db.Purchase(e.ctx, skuE3, 5, nil); return err }()
	calls["RevokeToken"] = e.db.RevokeToken(e.ctx, tok2.ID)
	calls["CreateToken for other tenant"] = func() error {
		_, _, err := e.db.CreateToken(e.ctx, tn2.ID, allot.RoleGlobalAdministrator, "x", 0)
		return err
	}()
	for what, err := range calls {
		rvCode(t, what, err, nf...)
	}
	if a, err := e.db.Audit(e.ctx, allot.AuditFilter{TargetID: u2.ID}); err != nil || len(a.Items) != 0 {
		t.Errorf("audit of other tenant's user: %v %d", err, len(a.Items))
	}
	if us, _ := e.db.ListUsers(e.ctx, allot.ListOptions{Search: "x@f"}); len(us.Items) != 0 {
		t.Errorf("list sees other tenant's users")
	}
	e.drain(10)
	if after := rvSnapshot(e, ctx2); after != before2 {
		t.Errorf("tenant 2 changed by tenant 1's calls:\n%s\n---\n%s", before2, after)
	}
	if after := rvSnapshot(e, e.ctx); after != before1 {
		t.Errorf("tenant 1 changed by refused calls:\n%s\n---\n%s", before1, after)
	}
	e.check()
}
