package allot

import "context"

// Operations of a what-if preview (docs/PREVIEW.md), named as the API names them.
const (
	PreviewAssignLicense = "assignLicense" // a user's or a group's licenses: add, remove, change disabledPlans
	PreviewAddMember     = "addMember"
	PreviewRemoveMember  = "removeMember"
	PreviewSetSeats      = "setSeats"
	PreviewUpdateUser    = "updateUser" // usageLocation only
	// PreviewSetMembershipRule gives a group a membership rule: it becomes
	// dynamic if it is not, and the rule is applied to every user.
	PreviewSetMembershipRule = "setMembershipRule"
)

// PreviewMaxUsers bounds the users one preview evaluates, the work already
// queued for the tenant included: the preview holds the tenant's write
// lock while it runs.
const PreviewMaxUsers = 5000

// PreviewMaxListed bounds the users a preview lists; the totals count all.
const PreviewMaxListed = 1000

// PreviewChange is one change of a preview. Which fields count depends on Op:
// assignLicense takes UserID or GroupID with AddLicenses and RemoveLicenses;
// addMember and removeMember GroupID and MemberID; setSeats SkuID and
// Seats; updateUser UserID and UsageLocation ("" clears it);
// setMembershipRule GroupID and MembershipRule.
type PreviewChange struct {
	Op             string
	UserID         string
	GroupID        string
	MemberID       string
	AddLicenses    []AssignedLicense
	RemoveLicenses []string
	SkuID          string
	Seats          int
	UsageLocation  string
	MembershipRule string
}

// Permission is what the change needs, as the same request made for real.
func (c PreviewChange) Permission() Permission {
	switch c.Op {
	case PreviewAddMember, PreviewRemoveMember, PreviewSetMembershipRule:
		return PermManageGroups
	case PreviewSetSeats:
		return PermPurchase
	case PreviewUpdateUser:
		return PermEditLocation
	}
	return PermManageLicenses
}

// Preview is what applying changes, then processing every queued item of
// the tenant, would do.
type Preview struct {
	// QueuedBefore is the number of work items already queued for the
	// tenant: their effect is part of the preview, as it will be part of
	// what happens.
	QueuedBefore   int
	UsersEvaluated int
	Seats          []PreviewSeats // SKUs whose seats or consumption change, by SKU id
	Users          []PreviewUser  // users whose states change, by userPrincipalName, at most PreviewMaxListed
	Truncated      bool           // Users lists PreviewMaxListed of Totals.Users
	Totals         PreviewTotals
	Members        []PreviewMembers // groups whose members change, by group id
}

// PreviewMembers is how many users join and leave one group.
type PreviewMembers struct {
	GroupID, DisplayName string
	Joined, Left         int
}

// PreviewSeats is the change of one subscription.
type PreviewSeats struct {
	SkuID                         string
	EnabledBefore, EnabledAfter   int
	ConsumedBefore, ConsumedAfter int
}

// Delta is the change in seats consumed.
func (p PreviewSeats) Delta() int { return p.ConsumedAfter - p.ConsumedBefore }

// PreviewUser is the change of one user's license states.
type PreviewUser struct {
	ID, UserPrincipalName, DisplayName string
	Gained, Lost                       []string // SKUs the user comes to hold, or stops holding, with an Active state
	IntoError, OutOfError              []PreviewError
	Before, After                      []LicenseState
}

// PreviewError is one unit in error: its SKU, the group it comes from
// ("" when direct) and the error code.
type PreviewError struct {
	SkuID, Source string
	Error         LicenseError
}

// PreviewTotals counts over every changed user, listed or not.
type PreviewTotals struct {
	Users, Gained, Lost, IntoError, OutOfError int
}

// PreviewService computes what-if previews (docs/PREVIEW.md).
type PreviewService interface {
	// Preview reports what applying changes, then processing every queued
	// item of the tenant, would do, and changes nothing. Each change needs
	// the permission of the same request made for real. EINVALID naming
	// the change the real request would refuse, or for more than
	// PreviewMaxUsers users to evaluate.
	Preview(ctx context.Context, changes []PreviewChange) (*Preview, error)
}
