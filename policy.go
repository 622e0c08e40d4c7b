package allot

import "context"

// PolicyService reads and sets the tenant's licensing policy
// (docs/WAITING-ROOM-COST-POLICY.md).
type PolicyService interface {
	// Policy returns the tenant's licensing policy (PermRead).
	Policy(ctx context.Context) (*Policy, error)
	// SetPolicy replaces the list of SKUs whose direct assignment is
	// blocked (PermManageTenant); EINVALID for a SKU not in the catalog.
	SetPolicy(ctx context.Context, blockedDirect []string) (*Policy, error)
}

// Policy is a tenant's licensing policy.
type Policy struct {
	// BlockedDirectSKUs are SKUs that may not be newly assigned to a user
	// directly: groups are the only way. Existing direct assignments stay
	// and may be removed.
	BlockedDirectSKUs []string
}
