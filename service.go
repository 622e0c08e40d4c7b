package allot

import (
	"context"
	"time"
)

// Actor is who makes a request: a tenant token's holder, or the operator.
type Actor struct {
	TenantID string
	Role     Role
	Name     string // shown in the audit log
	TokenID  string
	Operator bool // server operator: may create tenants; has no tenant role
}

type actorKey struct{}

// NewContextWithActor returns ctx carrying a.
func NewContextWithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the actor in ctx, if any.
func ActorFromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// UserCreate holds the fields of a new user.
type UserCreate struct {
	ID                string // optional; generated when empty
	UserPrincipalName string
	DisplayName       string
	Mail              string
	UsageLocation     string
	ProxyAddresses    []string
	AccountEnabled    bool
	Profile           Profile
}

// UserUpdate holds the fields to change; nil means unchanged. Of Profile,
// only the fields ProfileFields names change (ProfileFieldNames).
type UserUpdate struct {
	UserPrincipalName *string
	DisplayName       *string
	Mail              *string
	UsageLocation     *string
	ProxyAddresses    *[]string
	AccountEnabled    *bool
	Profile           Profile
	ProfileFields     []string
}

// GroupCreate holds the fields of a new group.
type GroupCreate struct {
	ID              string
	DisplayName     string
	Description     string
	MailNickname    string
	GroupTypes      []string
	MailEnabled     bool
	SecurityEnabled bool
	ProxyAddresses  []string
	// With GroupDynamic in GroupTypes: the rule, and RuleOn (the default)
	// or RulePaused.
	MembershipRule                string
	MembershipRuleProcessingState string
}

// GroupUpdate holds the fields to change; nil means unchanged. Adding
// GroupDynamic to GroupTypes makes the group dynamic (it needs a rule);
// removing it keeps the members the rule gave as assigned members.
type GroupUpdate struct {
	DisplayName                   *string
	Description                   *string
	MailNickname                  *string
	GroupTypes                    *[]string
	MailEnabled                   *bool
	SecurityEnabled               *bool
	ProxyAddresses                *[]string
	MembershipRule                *string
	MembershipRuleProcessingState *string
}

// LicenseDetail is a SKU a user holds, with each plan's provisioning status.
type LicenseDetail struct {
	SkuID      string
	PartNumber string
	Plans      []PlanDetail
}

// PlanDetail is one plan in a LicenseDetail or in assignedPlans.
type PlanDetail struct {
	PlanID   string
	PlanName string
	Service  string
	Status   string // licenseDetails: "Success" or "Disabled"; assignedPlans: "Enabled"
	Assigned time.Time
}

// GroupProgress is one group being processed.
type GroupProgress struct {
	GroupID     string
	DisplayName string
	State       string
	Done, Total int
}

// Status is the processing status of a tenant's queue.
type Status struct {
	QueueDepth      int
	OldestQueuedAge time.Duration
	Groups          []GroupProgress
	Idle            bool
}

// AuditEntry is one line of the append-only audit log.
type AuditEntry struct {
	ID         int64
	Time       time.Time
	Actor      string // the token's or account's name: free text, see ActorKind
	ActorKind  string // ActorToken, ActorAccount, ActorOperator, ActorSystem or ActorUnknown
	ActorID    string // the token's or account's id, when ActorKind is one of them
	ActorRole  Role   // the actor's role when it acted; empty for the operator
	Activity   string
	TargetType string
	TargetID   string
	Before     string // JSON
	After      string // JSON
	Result     string // "success" or "failure"
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	TargetID string
	Since    time.Time
	Until    time.Time
	// Expr is a $filter over the properties of Graph's directoryAudit that
	// the store serves (store/audit.go): id, activityDisplayName (whose
	// eq compares the stored name exactly), activityDateTime, result,
	// initiatedBy/user/id, initiatedBy/user/displayName,
	// initiatedBy/user/userPrincipalName, initiatedBy/app/appId and
	// targetResources/any(t: t/id …). Nil: every entry.
	Expr Expr
	// ByTime orders by time, ties by id, as Graph's activityDateTime;
	// otherwise by id, the order the log was written in. Either is newest
	// first unless Ascending. The two orders' cursors differ.
	ByTime    bool
	Ascending bool
	Top       int
	After     string
}

// Token is an API token; its secret is shown once, at creation.
type Token struct {
	ID        string
	TenantID  string
	Role      Role
	Name      string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	Revoked   bool
}

// Violation is a broken invariant found by Check.
type Violation struct {
	TenantID string
	Rule     string
	Detail   string
}

// Services are the domain's operations, one interface per resource, as
// the API, the admin center and SCIM are given them (store.DB.Services
// fills every field with the store). Every method acts on the tenant of the
// Actor in ctx and returns *Error values, so that callers map codes, not
// messages. Besides the codes each method names, any may return
// EUNAUTHORIZED (no actor in ctx), EFORBIDDEN (the actor's role lacks the
// permission the method names), EUNAVAILABLE (the database is busy: try
// again) and EINTERNAL.
type Services struct {
	Tenants       TenantService
	Tokens        TokenService
	Subscriptions SubscriptionService
	Users         UserService
	Groups        GroupService
	Licenses      LicenseService
	Audit         AuditService
	WaitingRoom   WaitingRoomService
	Cost          CostService
	Policy        PolicyService
	Preview       PreviewService
	Accounts      AccountService
	Deleted       DeletedItemsService
	// OIDC is single sign-on (docs/SSO.md); optional: nil turns it off,
	// so Missing does not ask for it.
	OIDC OIDCService
	// Lifecycle holds the commercial subscriptions behind Subscriptions'
	// pools (docs/RULES.md §2.6). The store always sets it; Missing does
	// not ask for it so that fakes of the other services need not.
	Lifecycle LifecycleService
}

// Missing names the fields of s that are nil, so that a server refuses to
// start without a service rather than answer 404 or panic on first use.
func (s Services) Missing() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"Tenants", s.Tenants != nil}, {"Tokens", s.Tokens != nil},
		{"Subscriptions", s.Subscriptions != nil}, {"Users", s.Users != nil},
		{"Groups", s.Groups != nil}, {"Licenses", s.Licenses != nil},
		{"Audit", s.Audit != nil}, {"WaitingRoom", s.WaitingRoom != nil},
		{"Cost", s.Cost != nil}, {"Policy", s.Policy != nil},
		{"Preview", s.Preview != nil}, {"Accounts", s.Accounts != nil},
		{"Deleted", s.Deleted != nil},
	} {
		if !f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// TenantService reads and changes the caller's tenant.
type TenantService interface {
	// CreateTenant creates a tenant; only the operator may (EFORBIDDEN
	// otherwise). EINVALID for a bad display name or default location.
	CreateTenant(ctx context.Context, t Tenant) (*Tenant, error)
	// Tenant returns the caller's tenant (PermRead).
	Tenant(ctx context.Context) (*Tenant, error)
	// UpdateTenant changes the tenant's display name or default usage
	// location (nil: unchanged; PermManageTenant). A new default location
	// queues every user without one of its own. EINVALID for a bad value.
	UpdateTenant(ctx context.Context, defaultUsageLocation *string, displayName *string) (*Tenant, error)
}

// TokenService manages API tokens and resolves them.
type TokenService interface {
	// CreateToken creates a token for one tenant and role and returns its
	// secret, shown only here. The operator may name any tenant; a tenant
	// actor only its own (PermManageTenant). EINVALID for a bad role, name
	// or lifetime; ENOTFOUND for an unknown tenant.
	CreateToken(ctx context.Context, tenantID string, role Role, name string, ttl time.Duration) (secret string, tok *Token, err error)
	// ListTokens lists the tenant's tokens, never their secrets
	// (PermManageTenant).
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken revokes one of the tenant's tokens (PermManageTenant);
	// ENOTFOUND when the tenant has no such token.
	RevokeToken(ctx context.Context, id string) error
	// Authenticate resolves a bearer secret to its actor; EUNAUTHORIZED for
	// an unknown, revoked or expired secret. It needs no actor in ctx.
	Authenticate(ctx context.Context, secret string) (Actor, error)
}

// SubscriptionService holds the catalog and the tenant's subscriptions
// (docs/RULES.md §1, §2.3.4).
type SubscriptionService interface {
	// Catalog returns the catalog in force, shared by every tenant.
	Catalog() *Catalog
	// ReplaceCatalog installs a new catalog (operator only). ECONFLICT when
	// it drops a SKU that a subscription or an assignment uses; EINVALID
	// for a catalog that does not validate.
	ReplaceCatalog(ctx context.Context, c *Catalog) error
	// Subscriptions lists the tenant's subscriptions by SKU id (PermRead).
	Subscriptions(ctx context.Context) ([]Subscription, error)
	// Subscription returns the tenant's subscription to a SKU (PermRead);
	// ENOTFOUND without one.
	Subscription(ctx context.Context, skuID string) (*Subscription, error)
	// AddSubscription subscribes the tenant to a catalog SKU (PermPurchase).
	// ENOTFOUND for a SKU not in the catalog, ECONFLICT when subscribed
	// already, EINVALID for a seat count out of range.
	AddSubscription(ctx context.Context, skuID string, seats int) (*Subscription, error)
	// SetSeats sets a subscription's seats (PermPurchase). More seats queue
	// the SKU's waiting users in order; fewer take no license away.
	// ENOTFOUND without a subscription, EINVALID out of range.
	SetSeats(ctx context.Context, skuID string, seats int) (*Subscription, error)
	// Purchase adds seats and evaluates the named users (at most MaxBatch)
	// at once, in order, so that the seats go to them first (PermPurchase).
	// ENOTFOUND for the subscription or a user, EINVALID for a bad count.
	Purchase(ctx context.Context, skuID string, add int, userIDs []string) (*Subscription, error)
}

// UserService reads and changes users (docs/RULES.md §2.3.3, §2.3.6).
type UserService interface {
	// ListUsers lists the tenant's users, filtered and paged (PermRead);
	// EUNSUPPORTEDQUERY for a filter or order it cannot serve.
	ListUsers(ctx context.Context, opt ListOptions) (*Page[User], error)
	// User returns a user, by id or userPrincipalName, with its licensing
	// (PermRead); ENOTFOUND when there is none.
	User(ctx context.Context, idOrUPN string) (*User, error)
	// CreateUser adds a user (PermManageUsers). EINVALID for a bad field,
	// ECONFLICT when its id, userPrincipalName or an address is taken.
	CreateUser(ctx context.Context, u UserCreate) (*User, error)
	// UpdateUser changes a user (PermManageUsers, or PermEditLocation for
	// usageLocation alone); a new location or new addresses queue the
	// user. ENOTFOUND, EINVALID, ECONFLICT as CreateUser.
	UpdateUser(ctx context.Context, id string, u UserUpdate) (*User, error)
	// DeleteUser deletes a user and frees its seats at once
	// (PermManageUsers); ENOTFOUND when there is none.
	DeleteUser(ctx context.Context, id string) error
	// MemberOf lists the groups the user is a direct member of, or with
	// transitive also the groups containing those, as nested licensing
	// reaches them (PermRead); ENOTFOUND for an unknown user.
	MemberOf(ctx context.Context, userID string, transitive bool, opt ListOptions) (*Page[Group], error)
	// UsersDelta returns a page of a delta round over the tenant's users
	// (PermRead): in a full round every user; otherwise the users created
	// or changed since the round's watermark, those whose licenses changed
	// (with DeltaQuery.Licenses) and those deleted. A user may be reported
	// more than once. EINVALID for a cursor the store did not issue,
	// ErrDeltaExpired for a round too old to follow.
	UsersDelta(ctx context.Context, q DeltaQuery) (*DeltaPage[User], error)
}

// DeletedItem is a user or a group in the tenant's deleted items
// (docs/RULES.md §2.3.6): exactly one of User and Group is set, with the
// properties it had when it was deleted and no licenses.
type DeletedItem struct {
	ID        string
	Kind      string // MemberUser or MemberGroup
	User      *User
	Group     *Group
	DeletedAt time.Time
	// PurgeAt is when its retention ends and it is deleted permanently.
	PurgeAt time.Time
}

// DeletedItemsService keeps deleted users and groups for the tenant's
// retention period and restores them (docs/DELETED-ITEMS.md). Deleted
// objects are invisible to every other service.
type DeletedItemsService interface {
	// ListDeletedItems lists the deleted users or groups (kind MemberUser
	// or MemberGroup), by id, paged, with Search on names (PermRead);
	// EINVALID for another kind, EUNSUPPORTEDQUERY for a filter or order.
	ListDeletedItems(ctx context.Context, kind string, opt ListOptions) (*Page[DeletedItem], error)
	// DeletedItem returns one (PermRead); ENOTFOUND when there is none.
	DeletedItem(ctx context.Context, id string) (*DeletedItem, error)
	// RestoreDeletedItem brings it back with its direct licenses and its
	// memberships, and queues it for processing (PermManageUsers for a
	// user, PermManageGroups for a group; the caller checks, as the kind
	// is known only here). ENOTFOUND; ECONFLICT, changing nothing, when a
	// live object now has its userPrincipalName, mailNickname, id or a
	// look-alike address.
	RestoreDeletedItem(ctx context.Context, id string) (*DeletedItem, error)
	// PurgeDeletedItem deletes it permanently (permissions as restoring);
	// ENOTFOUND.
	PurgeDeletedItem(ctx context.Context, id string) error
}

// GroupService reads and changes groups and their members.
type GroupService interface {
	// ListGroups lists the tenant's groups, filtered and paged (PermRead);
	// EUNSUPPORTEDQUERY for a filter or order it cannot serve.
	ListGroups(ctx context.Context, opt ListOptions) (*Page[Group], error)
	// Group returns a group with its licensing status (PermRead);
	// ENOTFOUND when there is none.
	Group(ctx context.Context, id string) (*Group, error)
	// CreateGroup adds a group (PermManageGroups). EINVALID for a bad
	// field, ECONFLICT when its id or an address is taken.
	CreateGroup(ctx context.Context, g GroupCreate) (*Group, error)
	// UpdateGroup changes a group (PermManageGroups); ENOTFOUND, EINVALID,
	// ECONFLICT as CreateGroup.
	UpdateGroup(ctx context.Context, id string, g GroupUpdate) (*Group, error)
	// DeleteGroup deletes a group (PermManageGroups); EINVALID while it
	// has licenses assigned (docs/RULES.md §2.3.6), ENOTFOUND.
	DeleteGroup(ctx context.Context, id string) error
	// AddMember adds a user or group to a group (PermManageGroups); a user
	// joining a licensed group is queued. ENOTFOUND for either object,
	// ECONFLICT when it is a member already, EINVALID for a group into
	// itself or a group with dynamic membership.
	AddMember(ctx context.Context, groupID, memberID string) error
	// RemoveMember removes a member (PermManageGroups); ENOTFOUND when it is
	// not one, EINVALID from a group with dynamic membership.
	RemoveMember(ctx context.Context, groupID, memberID string) error
	// Members lists a group's direct members, or with transitive every user
	// and group reachable through nested groups (PermRead); ENOTFOUND.
	Members(ctx context.Context, groupID string, transitive bool, opt ListOptions) (*Page[DirectoryObject], error)
	// EvaluateMembershipRule evaluates a membership rule for each of users,
	// clause by clause (PermRead): rule, or when it is "" the rule of the
	// dynamic group groupID. EINVALID for a rule Allot cannot evaluate (the
	// message names the column and the reason), ENOTFOUND for a user or
	// the group; with no users it only checks the rule.
	EvaluateMembershipRule(ctx context.Context, groupID, rule string, users []string) ([]RuleEvaluation, error)
	// GroupsDelta is UsersDelta for groups: with DeltaQuery.Members each
	// group comes with its members (a full round) or the members it gained
	// and lost (a later round), a big group's spread over several pages.
	GroupsDelta(ctx context.Context, q DeltaQuery) (*DeltaPage[Group], error)
	// LicensePanel is one product of a group at one moment (PermRead): its
	// counts, the group's walk and a page of its users, all read in one
	// transaction so that they add up while processing runs. ENOTFOUND for
	// the group or a product the tenant has no subscription to.
	LicensePanel(ctx context.Context, groupID, skuID string, q PanelQuery) (*LicensePanel, error)
	// GroupErrors counts, for each of groupIDs, its members with license
	// errors from it and their errors by product and kind, in one read
	// (PermRead); unknown ids are left out.
	GroupErrors(ctx context.Context, groupIDs []string) (map[string]GroupErrors, error)
	// MemberCounts counts the user members of each group (PermRead);
	// unknown ids are left out.
	MemberCounts(ctx context.Context, groupIDs []string) (map[string]int, error)
	// ProductErrorCounts counts, for each of groupIDs, its members in
	// error on one product from it (PermRead), so that a product's list of
	// groups shows each group's status for that product, not the group's
	// errors on its other products; groups without errors are left out.
	ProductErrorCounts(ctx context.Context, skuID string, groupIDs []string) (map[string]int, error)
	// ProductErrors counts the users in error on a product by kind, from
	// any source, each user once per kind (PermRead); NoLocation is set on
	// the count of location errors of users with no usage location.
	ProductErrors(ctx context.Context, skuID string) ([]GroupErrorKind, error)
	// ProductProgress lists the groups with queued or running work that
	// concerns the product (PermRead): those assigned it, and those whose
	// members still hold states of it from them (an unassignment being
	// carried out), with their processing state.
	ProductProgress(ctx context.Context, skuID string) ([]Group, error)
}

// PanelQuery chooses the list of a LicensePanel.
type PanelQuery struct {
	Errors bool         // the members in error for the product; else those who have it
	Error  LicenseError // with Errors: only this error
	Search string       // display name or userPrincipalName contains this (case-insensitive)
	Top    int
	After  string // the NextCursor of the page before
}

// LicensePanel is a group's licensing of one product at one moment.
type LicensePanel struct {
	Group        Group        // with its processing state
	Subscription Subscription // the product's seats at the same moment
	// Members are the users the group licenses: its user members, and
	// those of nested groups when an assignment of the group includes them.
	Members  int
	Assigned int                  // members with the product from the group
	Failed   int                  // members in error for the product from the group
	ByError  map[LicenseError]int // Failed by error
	// OtherErrors are the group's other products (SKU id) with the number
	// of members in error for each.
	OtherErrors map[string]int
	// Users is the page asked for, in order of display name then id, with
	// licensing; Count is how many the list has in all.
	Users Page[User]
}

// DeltaRound is where a delta round (GET /users/delta, /groups/delta)
// stands: what the API keeps in its state tokens between requests.
type DeltaRound struct {
	// Since is the round's watermark: it reports what changed at or after
	// it. Zero: a full round, which reports every object.
	Since time.Time
	// Until is when the round began: what changes later is the next
	// round's, so that a round ends however busy the tenant is. Zero before
	// the round's first page.
	Until time.Time
	// After is the store's cursor within the round; empty at its start.
	After string
}

// DeltaQuery asks for one page of a delta round.
type DeltaQuery struct {
	DeltaRound
	Latest        bool // no page: only the round that starts now (Graph's $deltatoken=latest)
	Top           int  // objects per page; 0: DefaultPageSize
	Licenses      bool // also report objects whose licenses changed (a license property is selected)
	WithLicensing bool // fill the objects' licensing view, as ListOptions.WithLicensing
	Members       bool // groups: report members
	MaxMembers    int  // groups: members per page; 0: ten per object of Top
}

// DeltaPage is one page of a delta round.
type DeltaPage[T any] struct {
	Items []DeltaItem[T]
	// Next is where the round stands after this page: with More, the rest
	// of this round; without, the next round, of which only Since is set.
	Next DeltaRound
	More bool
}

// DeltaItem is one object of a delta page: as it is now, or deleted.
type DeltaItem[T any] struct {
	ID      string
	Object  *T            // nil: the object was deleted
	Members []MemberDelta // groups, with DeltaQuery.Members
}

// MemberDelta is a member a group has (a full round), gained or lost.
type MemberDelta struct {
	ID      string
	Kind    string // MemberUser or MemberGroup
	Removed bool
}

// ErrDeltaExpired is the error for a delta round older than the store
// keeps deletions for: the client must start a full round again. The
// message is Graph's for its syncStateNotFound.
var ErrDeltaExpired = &Error{Code: EINVALID, Message: "The sync state generation is not found. The delta token is expired and data must be synchronized again."}

// LicenseService assigns licenses and reports their processing
// (docs/RULES.md §2.3.1, §2.3.2, §2.3.5).
type LicenseService interface {
	// AssignUserLicense changes a user's direct licenses synchronously
	// (PermManageLicenses): every SKU in add is Active afterwards, or
	// nothing changes and the answer is EINVALID naming the rule.
	// ENOTFOUND for the user or an unsubscribed SKU; EFORBIDDEN for a SKU
	// the policy keeps to groups.
	AssignUserLicense(ctx context.Context, id string, add []AssignedLicense, remove []string) (*User, error)
	// ReprocessUsers evaluates up to MaxBatch users now, in order
	// (PermManageLicenses); ENOTFOUND, EINVALID for too many.
	ReprocessUsers(ctx context.Context, ids []string) error
	// LicenseDetails lists the SKUs a user holds with each plan's status
	// (PermRead); ENOTFOUND.
	LicenseDetails(ctx context.Context, userID string) ([]LicenseDetail, error)
	// AssignedPlans lists a user's enabled plans, each once (PermRead);
	// ENOTFOUND.
	AssignedPlans(ctx context.Context, userID string) ([]PlanDetail, error)
	// AssignGroupLicense stores a group's license change and queues its
	// members, which the worker then evaluates (PermManageLicenses).
	// ENOTFOUND for the group or an unsubscribed SKU, EINVALID for plans
	// the SKU does not have.
	AssignGroupLicense(ctx context.Context, groupID string, add []AssignedLicense, remove []string) (*Group, error)
	// AssignGroupsLicense assigns one product to up to MaxBatch groups, all
	// or none (PermManageLicenses); errors as AssignGroupLicense.
	AssignGroupsLicense(ctx context.Context, groupIDs []string, lic AssignedLicense) error
	// ReprocessGroup queues every member of a group (PermManageLicenses);
	// ENOTFOUND.
	ReprocessGroup(ctx context.Context, groupID string) error
	// Status reports the tenant's processing queue and the groups being
	// processed (PermRead).
	Status(ctx context.Context) (*Status, error)
}

// AuditService reads the append-only audit log (docs/RULES.md §2.3.7).
type AuditService interface {
	// Audit lists entries in the order AuditFilter asks for, newest first
	// by default (PermRead); EINVALID for a bad filter or page token,
	// EUNSUPPORTEDQUERY for an Expr it cannot serve.
	Audit(ctx context.Context, f AuditFilter) (*Page[AuditEntry], error)
}

// Processor is what the worker drives: it evaluates queued work in batches.
type Processor interface {
	// ProcessBatch evaluates up to n queued users and reports how many it did;
	// zero means the queue is empty.
	ProcessBatch(ctx context.Context, n int) (int, error)
}

// Checker verifies the invariants of docs/RULES.md §2.3.8 across every tenant.
type Checker interface {
	Check(ctx context.Context) ([]Violation, error)
}

// MaxBatch is the most groups or users one batch request may name (the
// reference admin center's limit of 20).
const MaxBatch = 20

// Membership is one (group, member) pair, for bulk imports.
type Membership struct {
	GroupID  string
	MemberID string
}
