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
}

// UserUpdate holds the fields to change; nil means unchanged.
type UserUpdate struct {
	UserPrincipalName *string
	DisplayName       *string
	Mail              *string
	UsageLocation     *string
	ProxyAddresses    *[]string
	AccountEnabled    *bool
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
}

// GroupUpdate holds the fields to change; nil means unchanged.
type GroupUpdate struct {
	DisplayName     *string
	Description     *string
	MailNickname    *string
	MailEnabled     *bool
	SecurityEnabled *bool
	ProxyAddresses  *[]string
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
	Top      int
	After    string
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

// Service is the whole of Allot's behaviour that the API and CLI use. The
// store implements it; the tenant comes from the Actor in the context.
type Service interface {
	// Tenants and tokens.
	CreateTenant(ctx context.Context, t Tenant) (*Tenant, error)
	Tenant(ctx context.Context) (*Tenant, error)
	UpdateTenant(ctx context.Context, defaultUsageLocation *string, displayName *string) (*Tenant, error)
	CreateToken(ctx context.Context, tenantID string, role Role, name string, ttl time.Duration) (secret string, tok *Token, err error)
	ListTokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, id string) error
	Authenticate(ctx context.Context, secret string) (Actor, error)

	// Catalog and subscriptions.
	Catalog() *Catalog
	ReplaceCatalog(ctx context.Context, c *Catalog) error
	Subscriptions(ctx context.Context) ([]Subscription, error)
	Subscription(ctx context.Context, skuID string) (*Subscription, error)
	AddSubscription(ctx context.Context, skuID string, seats int) (*Subscription, error)
	SetSeats(ctx context.Context, skuID string, seats int) (*Subscription, error)
	Purchase(ctx context.Context, skuID string, add int, userIDs []string) (*Subscription, error)

	// Users.
	ListUsers(ctx context.Context, opt ListOptions) (*Page[User], error)
	User(ctx context.Context, idOrUPN string) (*User, error)
	CreateUser(ctx context.Context, u UserCreate) (*User, error)
	UpdateUser(ctx context.Context, id string, u UserUpdate) (*User, error)
	DeleteUser(ctx context.Context, id string) error
	AssignUserLicense(ctx context.Context, id string, add []AssignedLicense, remove []string) (*User, error)
	ReprocessUsers(ctx context.Context, ids []string) error
	LicenseDetails(ctx context.Context, userID string) ([]LicenseDetail, error)
	AssignedPlans(ctx context.Context, userID string) ([]PlanDetail, error)
	MemberOf(ctx context.Context, userID string, opt ListOptions) (*Page[Group], error)

	// Groups.
	ListGroups(ctx context.Context, opt ListOptions) (*Page[Group], error)
	Group(ctx context.Context, id string) (*Group, error)
	CreateGroup(ctx context.Context, g GroupCreate) (*Group, error)
	UpdateGroup(ctx context.Context, id string, g GroupUpdate) (*Group, error)
	DeleteGroup(ctx context.Context, id string) error
	AddMember(ctx context.Context, groupID, memberID string) error
	RemoveMember(ctx context.Context, groupID, memberID string) error
	Members(ctx context.Context, groupID string, transitive bool, opt ListOptions) (*Page[DirectoryObject], error)
	AssignGroupLicense(ctx context.Context, groupID string, add []AssignedLicense, remove []string) (*Group, error)
	AssignGroupsLicense(ctx context.Context, groupIDs []string, lic AssignedLicense) error
	ReprocessGroup(ctx context.Context, groupID string) error

	// Processing and audit.
	Status(ctx context.Context) (*Status, error)
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
