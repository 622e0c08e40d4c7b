package allot

import (
	"context"
	"time"
)

// A commercial subscription's status, as Graph's companySubscription.status
// spells it (docs/RULES.md §2.6). Only Enabled units may be newly assigned.
const (
	SubEnabled   = "Enabled"
	SubWarning   = "Warning"   // the term ended; the grace period runs
	SubSuspended = "Suspended" // holders keep licenses, their services stop
	SubLockedOut = "LockedOut" // cancelled; cannot be reactivated
	SubDeleted   = "Deleted"   // its units are gone
)

// CompanySubscription is one commercial subscription to a SKU: a quantity of
// units with a term and a status. A tenant may hold any number per SKU; the
// SKU's pool (Subscription.Enabled, Warning, Suspended, LockedOut) is the
// sum of its subscriptions' quantities by status.
type CompanySubscription struct {
	ID       string
	SkuID    string
	Quantity int
	Status   string
	IsTrial  bool
	// CreatedAt is when it was bought; TermStart when its current term
	// began (a renewal or reactivation starts a new one).
	CreatedAt time.Time
	TermStart time.Time
	// TermEnd is when the current term ends; nil for a subscription that
	// renews by itself and so never moves on (those that existed before
	// lifecycles, and the seats the purchase call adds to them).
	TermEnd *time.Time
	// NextLifecycleAt is when the status moves on if nothing is done;
	// nil when nothing is scheduled (no term, or Deleted).
	NextLifecycleAt *time.Time
	// StatusSince is when the status was entered.
	StatusSince time.Time
}

// CompanySubscriptionCreate is a new commercial subscription.
type CompanySubscriptionCreate struct {
	SkuID    string
	Quantity int
	IsTrial  bool
	// TermEnd defaults to a year from now (30 days for a trial).
	TermEnd *time.Time
}

// LifecycleSettings are a tenant's lifecycle periods.
type LifecycleSettings struct {
	GraceDays     int   // Warning lasts this long before Suspended (30)
	SuspendedDays int   // Suspended and LockedOut last this long before Deleted (90)
	RetentionDays int   // deleted users and groups are kept this long (30)
	AlertDays     []int // alert this many days before a term ends (30, 7, 1)
}

// DefaultLifecycleSettings are the periods a tenant starts with.
func DefaultLifecycleSettings() LifecycleSettings {
	return LifecycleSettings{GraceDays: 30, SuspendedDays: 90, RetentionDays: 30, AlertDays: []int{30, 7, 1}}
}

// LifecycleService holds the tenant's commercial subscriptions and moves
// them through their lifecycle (docs/RULES.md §2.6). Changes need
// PermPurchase, reads PermRead; each change is audited and processed like a
// seat change.
type LifecycleService interface {
	// CompanySubscriptions lists the tenant's commercial subscriptions,
	// Deleted ones included until they are purged, by creation time.
	CompanySubscriptions(ctx context.Context) ([]CompanySubscription, error)
	// CompanySubscription returns one; ENOTFOUND when there is none.
	CompanySubscription(ctx context.Context, id string) (*CompanySubscription, error)
	// CreateCompanySubscription buys a subscription; EINVALID for a SKU not
	// in the catalog, a quantity out of range or a term end in the past.
	CreateCompanySubscription(ctx context.Context, in CompanySubscriptionCreate) (*CompanySubscription, error)
	// RenewSubscription extends an Enabled or Warning subscription's term
	// to termEnd (nil: a year after the current end); a Warning one is
	// Enabled again. ECONFLICT from another status, EINVALID for an end
	// not after the current one.
	RenewSubscription(ctx context.Context, id string, termEnd *time.Time) (*CompanySubscription, error)
	// CancelSubscription locks it out at once (LockedOut, then Deleted
	// after the suspended period); ECONFLICT when LockedOut or Deleted.
	CancelSubscription(ctx context.Context, id string) (*CompanySubscription, error)
	// ReactivateSubscription enables a Warning or Suspended subscription
	// with a new term of a year; ECONFLICT from another status.
	ReactivateSubscription(ctx context.Context, id string) (*CompanySubscription, error)
	// ConvertTrial makes a trial a paid subscription with a term of a
	// year; ECONFLICT when it is not a trial or not Enabled or Warning.
	ConvertTrial(ctx context.Context, id string) (*CompanySubscription, error)
	// SetSubscriptionQuantity sets its quantity; ECONFLICT unless Enabled,
	// EINVALID out of range. Fewer units take no license away.
	SetSubscriptionQuantity(ctx context.Context, id string, quantity int) (*CompanySubscription, error)
	// LifecycleSettings returns the tenant's periods (PermRead).
	LifecycleSettings(ctx context.Context) (LifecycleSettings, error)
	// SetLifecycleSettings changes them (PermManageTenant); EINVALID for a
	// period below 1 or above 3650 days, or more than 5 alert days.
	SetLifecycleSettings(ctx context.Context, in LifecycleSettings) (LifecycleSettings, error)
	// PatchLifecycleSettings changes the fields p sets and keeps the others
	// as they are when it commits, so that two changes of different
	// fields made at once both stay (PermManageTenant); EINVALID as
	// SetLifecycleSettings.
	PatchLifecycleSettings(ctx context.Context, p LifecycleSettingsPatch) (LifecycleSettings, error)
}

// LifecycleSettingsPatch is a change of some of a tenant's periods: nil
// fields, and AlertDays unless SetAlertDays, stay as they are.
type LifecycleSettingsPatch struct {
	GraceDays, SuspendedDays, RetentionDays *int
	AlertDays                               []int
	SetAlertDays                            bool
}

// Apply is st with the patch's fields set.
func (p LifecycleSettingsPatch) Apply(st LifecycleSettings) LifecycleSettings {
	for _, f := range []struct{ v, dst *int }{{p.GraceDays, &st.GraceDays}, {p.SuspendedDays, &st.SuspendedDays}, {p.RetentionDays, &st.RetentionDays}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if p.SetAlertDays {
		st.AlertDays = p.AlertDays
	}
	return st
}
