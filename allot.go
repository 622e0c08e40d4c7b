// Package allot holds Allot's domain: the entities of the licensing model,
// the error type every layer speaks, and the service interfaces that the
// adapters (store, API, worker, CLI) implement or consume. It imports no
// adapter.
package allot

import (
	"strings"
	"time"
)

// Role is a tenant role of docs/RULES.md §3.
type Role string

// The roles of docs/RULES.md §3, spelled as Microsoft Entra spells them without spaces.
const (
	RoleGlobalAdministrator  Role = "GlobalAdministrator"
	RoleLicenseAdministrator Role = "LicenseAdministrator"
	RoleUserAdministrator    Role = "UserAdministrator"
	RoleBillingAdministrator Role = "BillingAdministrator"
	RoleGroupAdministrator   Role = "GroupAdministrator"
	RoleGlobalReader         Role = "GlobalReader"
)

// Roles lists every tenant role, for validation and for tests that walk them all.
var Roles = []Role{
	RoleGlobalAdministrator, RoleLicenseAdministrator, RoleUserAdministrator,
	RoleBillingAdministrator, RoleGroupAdministrator, RoleGlobalReader,
}

// Permission is one kind of action guarded by the role table.
type Permission string

// Permissions of docs/RULES.md §3. Reading is split from licensing reads only so that
// the table below stays a literal transcription of the spec.
const (
	PermRead           Permission = "read"            // read users, groups, licensing
	PermManageLicenses Permission = "manage-licenses" // assign, unassign, reprocess
	PermEditLocation   Permission = "edit-location"   // change a user's usageLocation
	PermManageUsers    Permission = "manage-users"    // create, edit, delete users
	PermManageGroups   Permission = "manage-groups"   // create, edit, delete groups and memberships
	PermPurchase       Permission = "purchase"        // buy and remove seats, add subscriptions
	PermManageTenant   Permission = "manage-tenant"   // tokens, roles, catalog replacement
)

var rolePerms = map[Role][]Permission{
	RoleGlobalAdministrator:  {PermRead, PermManageLicenses, PermEditLocation, PermManageUsers, PermManageGroups, PermPurchase, PermManageTenant},
	RoleLicenseAdministrator: {PermRead, PermManageLicenses, PermEditLocation},
	RoleUserAdministrator:    {PermRead, PermManageLicenses, PermEditLocation, PermManageUsers, PermManageGroups},
	RoleBillingAdministrator: {PermRead, PermPurchase},
	RoleGroupAdministrator:   {PermRead, PermManageGroups},
	RoleGlobalReader:         {PermRead},
}

// Valid reports whether r is one of the roles of docs/RULES.md §3.
func (r Role) Valid() bool { _, ok := rolePerms[r]; return ok }

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool {
	for _, q := range rolePerms[r] {
		if q == p {
			return true
		}
	}
	return false
}

// Tenant is one organisation.
type Tenant struct {
	ID                   string
	DisplayName          string
	DefaultUsageLocation string
	CreatedAt            time.Time
}

// ServicePlan is one service plan of the catalog with its rules (docs/RULES.md §1).
type ServicePlan struct {
	ID                string
	Name              string
	FriendlyName      string
	Service           string     // the workload, e.g. "exchange", reported in assignedPlans
	AvailableIn       []string   // ISO 3166 alpha-2 codes; empty means everywhere
	ConflictsWith     []string   // plan ids; the relation is symmetric
	DependsOn         [][]string // each inner list needs at least one plan enabled
	ProvisionsMailbox bool
}

// SKU is a product: a bundle of service plans.
type SKU struct {
	ID          string
	PartNumber  string
	DisplayName string
	AppliesTo   string   // "User" or "Company"
	Plans       []string // service plan ids
}

// Tenant states for subscriptions (Graph's capabilityStatus values).
const (
	CapabilityEnabled   = "Enabled"
	CapabilityWarning   = "Warning"
	CapabilitySuspended = "Suspended"
	CapabilityLockedOut = "LockedOut"
	CapabilityDeleted   = "Deleted"
)

// Subscription is a tenant's holding of a SKU. ConsumedUnits is derived by
// the store from license states; nothing sets it by hand.
type Subscription struct {
	ID               string
	SkuID            string
	Enabled          int
	Suspended        int
	Warning          int
	LockedOut        int
	ConsumedUnits    int
	CapabilityStatus string
	CreatedAt        time.Time
}

// Available is the number of seats a new holder may take; never negative,
// so an over-allocated subscription (seats lowered below consumption) refuses
// new holders without taking licenses away.
func (s Subscription) Available() int {
	if n := s.Enabled - s.ConsumedUnits; n > 0 {
		return n
	}
	return 0
}

// OverAllocated reports whether more seats are consumed than owned.
func (s Subscription) OverAllocated() bool { return s.ConsumedUnits > s.Enabled }

// PlansServed reports whether the holders' plans of the SKU are served:
// while its capabilityStatus is Enabled or Warning. A suspended, locked
// out or deleted SKU keeps its holders' licenses (Active, not an error)
// but stops their services (docs/RULES.md §2.6).
func (s Subscription) PlansServed() bool {
	return s.CapabilityStatus == "" || s.CapabilityStatus == CapabilityEnabled || s.CapabilityStatus == CapabilityWarning
}

// ProvisioningStatus is Graph's provisioningStatus of the holders' plans
// of the SKU (assignedPlans, licenseDetails.servicePlans): Success while
// the plans are served, Disabled otherwise.
func (s Subscription) ProvisioningStatus() string {
	if s.PlansServed() {
		return "Success"
	}
	return "Disabled"
}

// User is a directory user together with its licensing view.
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	Mail              string
	UsageLocation     string
	ProxyAddresses    []string
	AccountEnabled    bool
	Profile           Profile
	CreatedAt         time.Time
	ModifiedAt        time.Time // the last change to a property above

	// Derived, filled on reads.
	AssignedLicenses []AssignedLicense
	States           []LicenseState
}

// Group is a directory group together with its licensing view.
type Group struct {
	ID              string
	DisplayName     string
	Description     string
	MailNickname    string
	GroupTypes      []string
	MailEnabled     bool
	SecurityEnabled bool
	ProxyAddresses  []string
	CreatedAt       time.Time
	ModifiedAt      time.Time // the last change to a property above
	// MembershipRule decides the members of a group whose GroupTypes has
	// GroupDynamic (docs/DYNAMIC-GROUPS.md); "" for assigned membership.
	MembershipRule string
	// MembershipRuleProcessingState is RuleOn or RulePaused for a dynamic
	// group, "" otherwise.
	MembershipRuleProcessingState string

	// Derived, filled on reads.
	AssignedLicenses            []AssignedLicense
	ProcessingState             string
	HasMembersWithLicenseErrors bool
	MembersDone, MembersTotal   int // progress while ProcessingInProgress
	// RuleStatus is Graph's membershipRuleProcessingStatus.status for a
	// dynamic group: RuleRunning while its rule is being applied to the
	// tenant's users (RuleDone of RuleTotal so far), else RuleSucceeded.
	RuleStatus          string
	RuleDone, RuleTotal int
	// RuleApplied is when the rule last finished a walk of all users.
	RuleApplied time.Time
}

// Dynamic membership (docs/DYNAMIC-GROUPS.md).
const (
	GroupDynamic   = "DynamicMembership" // in GroupTypes
	RuleOn         = "On"
	RulePaused     = "Paused"
	RuleNotStarted = "NotStarted"
	RuleRunning    = "Running"
	RuleSucceeded  = "Succeeded"
)

// RuleDetail is how a membership rule, or one clause of it, evaluates for
// a user: Graph's membershipRuleEvaluationDetails.
type RuleDetail struct {
	Expression string
	Result     bool
	Children   []RuleDetail
}

// RuleEvaluation is a draft rule evaluated for one user.
type RuleEvaluation struct {
	UserID  string
	Result  bool
	Details RuleDetail
}

// Group processing states (Graph's licenseProcessingState.state).
const (
	ProcessingQueued     = "QueuedForProcessing"
	ProcessingInProgress = "ProcessingInProgress"
	ProcessingComplete   = "ProcessingComplete"
)

// Member types of a membership.
const (
	MemberUser  = "user"
	MemberGroup = "group"
)

// DirectoryObject is a member of a group: exactly one of User or Group is set.
type DirectoryObject struct {
	User  *User
	Group *Group
}

// AssignedLicense is one SKU with the plans switched off in it.
type AssignedLicense struct {
	SkuID         string
	DisabledPlans []string
	// IncludeNestedGroups, on a group's assignment, extends it to the users
	// of groups nested in the group (docs/NESTED-GROUPS.md). In a request,
	// nil keeps an existing assignment's setting (off for a new one).
	IncludeNestedGroups *bool
}

// Assignment is a license assignment to a user (direct) or a group.
type Assignment struct {
	TargetID      string
	SkuID         string
	DisabledPlans []string
	CreatedAt     time.Time
}

// License state values (docs/RULES.md §1).
const (
	StateActive = "Active"
	StateError  = "Error"
)

// LicenseError is why a license state is in error (docs/RULES.md §1), in
// Graph's spelling: the value of licenseAssignmentState.error.
type LicenseError string

// License error codes.
const (
	NoLicenseError                     LicenseError = "None"
	CountViolation                     LicenseError = "CountViolation"
	MutuallyExclusiveViolation         LicenseError = "MutuallyExclusiveViolation"
	DependencyViolation                LicenseError = "DependencyViolation"
	ProhibitedInUsageLocationViolation LicenseError = "ProhibitedInUsageLocationViolation"
	UniquenessViolation                LicenseError = "UniquenessViolation"
	OtherViolation                     LicenseError = "Other"
)

// LicenseState is the state of one (user, SKU, source). Source is empty for
// a direct assignment, else the id of the group the license comes from.
type LicenseState struct {
	SkuID         string
	Source        string
	State         string
	Error         LicenseError
	DisabledPlans []string
	Detail        string
	LastUpdated   time.Time
	// WaitingSince is when the state entered CountViolation for its SKU; it
	// orders the waiting room and is zero otherwise.
	WaitingSince time.Time
}

// Direct reports whether the state comes from a direct assignment.
func (s LicenseState) Direct() bool { return s.Source == "" }

// NormalizeAddress returns the comparable form of a proxy address: its
// IdentifierKey (case-folded NFKC) without the "smtp:" prefix, so
// "SMTP:Bob@x", "smtp:bob@x" and "smtp:ｂob@x" are one address.
func NormalizeAddress(a string) string {
	a = IdentifierForm(a)
	if i := strings.IndexByte(a, ':'); i >= 0 && strings.EqualFold(a[:i], "smtp") {
		a = a[i+1:]
	}
	return IdentifierKey(a)
}
