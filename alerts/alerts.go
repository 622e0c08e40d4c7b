// Package alerts is Allot's alerting: the event and webhook types the store
// keeps in its outbox, the Service the API and the admin center manage
// webhooks through, the signature of a delivery (Sign, Verify) and the
// Dispatcher that `allot serve` runs to log and deliver events
// (docs/ALERTS.md). It imports nothing of Allot's but the domain.
package alerts

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// Event types.
const (
	// GroupErrors: a group entered Errors & issues (a direct member has an
	// Error state from it and it has no processing queued or in progress).
	GroupErrors = "group.errors"
	// SubscriptionExhausted: a subscription's available seats reached 0.
	SubscriptionExhausted = "subscription.exhausted"
	// SubscriptionOverAllocated: consumed went above enabled (seats lowered
	// below the number of holders).
	SubscriptionOverAllocated = "subscription.overallocated"
	// WaitingRoomGrew: more users wait for seats of a SKU than before a
	// batch; at most one event per SKU per WaitingRoomInterval.
	WaitingRoomGrew = "waitingroom.grew"
	// Test is sent by the test action to one webhook only.
	Test = "webhook.test"
	// SubscriptionExpiring: a commercial subscription's term ends within
	// one of the tenant's alert thresholds (30, 7, 1 days); once per
	// threshold per term (docs/RULES.md §2.6).
	SubscriptionExpiring = "subscription.expiring"
	// SubscriptionWarning: a term ended and the grace period began; its
	// units can no longer be newly assigned.
	SubscriptionWarning = "subscription.warning"
	// SubscriptionTrialEnded: a trial's term ended (it entered Warning).
	SubscriptionTrialEnded = "subscription.trialended"
	// SubscriptionSuspended: the grace period ended; the holders' services
	// stop, their licenses stay.
	SubscriptionSuspended = "subscription.suspended"
	// SubscriptionDeleted: a subscription's units are gone.
	SubscriptionDeleted = "subscription.deleted"
)

// Types lists the event types a webhook may subscribe to.
var Types = []string{GroupErrors, SubscriptionExhausted, SubscriptionOverAllocated, WaitingRoomGrew,
	SubscriptionExpiring, SubscriptionWarning, SubscriptionTrialEnded, SubscriptionSuspended, SubscriptionDeleted}

// WaitingRoomInterval is the least time between two waitingroom.grew
// events of one SKU, so that a large group walk into a full subscription
// raises one event a minute rather than one per batch.
const WaitingRoomInterval = time.Minute

// Event is one alert, as the body of a delivery.
type Event struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	TenantID   string         `json:"tenantId"`
	OccurredAt time.Time      `json:"occurredAt"`
	Data       map[string]any `json:"data"`
}

// Webhook is a tenant's subscription to events. Secret is set only in the
// answer that creates the webhook or replaces its secret.
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"` // empty: every type
	Enabled   bool      `json:"enabled"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"createdDateTime"`
}

// WebhookCreate is a new webhook. An empty Secret has the server generate one.
type WebhookCreate struct {
	URL     string
	Secret  string
	Events  []string
	Enabled *bool // nil: true
}

// WebhookUpdate changes the fields that are set. RotateSecret has the
// server generate a new secret (shown once in the answer).
type WebhookUpdate struct {
	URL          *string
	Secret       *string
	Events       *[]string
	Enabled      *bool
	RotateSecret bool
}

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Delivery is one event sent (or to be sent) to one webhook.
type Delivery struct {
	ID            string    `json:"id"`
	EventID       string    `json:"eventId"`
	EventType     string    `json:"eventType"`
	WebhookID     string    `json:"webhookId"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	CreatedAt     time.Time `json:"createdDateTime"`
	NextAttemptAt time.Time `json:"nextAttemptDateTime"`
	LastAttemptAt time.Time `json:"lastAttemptDateTime"`
	LastStatus    int       `json:"lastResponseStatus"`
	LastError     string    `json:"lastError"`
	DeliveredAt   time.Time `json:"deliveredDateTime"`
}

// DeliveryFilter selects deliveries; zero fields select all.
type DeliveryFilter struct {
	WebhookID string
	Status    string
	Top       int // at most MaxDeliveries; 0 means 100
}

// MaxDeliveries is the most deliveries one listing returns.
const MaxDeliveries = 1000

// Service manages a tenant's webhooks; the tenant is the context's actor.
// The store implements it.
type Service interface {
	Webhooks(ctx context.Context) ([]Webhook, error)
	Webhook(ctx context.Context, id string) (*Webhook, error)
	CreateWebhook(ctx context.Context, in WebhookCreate) (*Webhook, error)
	UpdateWebhook(ctx context.Context, id string, in WebhookUpdate) (*Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	// TestWebhook queues a webhook.test event for that webhook alone.
	TestWebhook(ctx context.Context, id string) (*Delivery, error)
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
}

// MaxWebhooks is the most webhooks a tenant may have.
const MaxWebhooks = 20

// CheckURL refuses anything but an absolute http(s) URL, and a URL whose
// host is an IP address deliveries are never sent to (cloud metadata,
// unspecified, multicast: CheckAddr). Webhook URLs are supplied by Global
// Administrators; host names, and the loopback and private addresses only
// the operator may allow, are checked as each delivery connects, after
// name resolution (docs/ALERTS.md, Security).
func CheckURL(raw string) error {
	if len(raw) > 2048 {
		return allot.Errorf(allot.EINVALID, "The webhook url is longer than 2048 characters.")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return allot.Errorf(allot.EINVALID, "The webhook url must be an absolute http or https URL; got %q.", raw)
	}
	if u.User != nil {
		return allot.Errorf(allot.EINVALID, "The webhook url must not carry a user name or password; use the signature to authenticate deliveries.")
	}
	return checkLiteralHost(u.Hostname()) // guard.go
}

// CheckEvents refuses unknown event types and returns the list
// normalised: sorted, without duplicates, never nil.
func CheckEvents(events []string) ([]string, error) {
	out := []string{}
	for _, e := range events {
		e = strings.TrimSpace(e)
		if !slices.Contains(Types, e) {
			return nil, allot.Errorf(allot.EINVALID, "Unknown event type %q; the types are %s.", e, strings.Join(Types, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out, nil
}

// CheckSecret refuses secrets too short to sign with.
func CheckSecret(secret string) error {
	if len(secret) < 16 || len(secret) > 256 {
		return allot.Errorf(allot.EINVALID, "A webhook secret must be 16 to 256 characters long.")
	}
	return nil
}

// Wants tells whether a webhook subscribed to events receives typ.
func Wants(events []string, typ string) bool {
	return len(events) == 0 || slices.Contains(events, typ)
}

// Summary is the one-line text of an event, for logs and the admin center.
func Summary(e Event) string {
	str := func(k string) string { s, _ := e.Data[k].(string); return s }
	num := func(k string) string { return fmt.Sprint(e.Data[k]) }
	switch e.Type {
	case GroupErrors:
		return fmt.Sprintf("Group %s (%s) has members with license errors.", str("displayName"), str("groupId"))
	case SubscriptionExhausted:
		return fmt.Sprintf("Subscription %s has no seats left (%s of %s consumed).", str("skuPartNumber"), num("consumedUnits"), num("enabledUnits"))
	case SubscriptionOverAllocated:
		return fmt.Sprintf("Subscription %s is over-allocated (%s of %s consumed).", str("skuPartNumber"), num("consumedUnits"), num("enabledUnits"))
	case WaitingRoomGrew:
		return fmt.Sprintf("%s users wait for seats of %s.", num("waiting"), str("skuPartNumber"))
	case SubscriptionExpiring:
		return fmt.Sprintf("Subscription %s to %s ends in %s days (%s).", str("subscriptionId"), str("skuPartNumber"), num("daysLeft"), str("termEnd"))
	case SubscriptionWarning:
		return fmt.Sprintf("Subscription %s to %s has ended: %s units can no longer be assigned; it is suspended on %s.", str("subscriptionId"), str("skuPartNumber"), num("quantity"), str("nextLifecycleAt"))
	case SubscriptionTrialEnded:
		return fmt.Sprintf("Trial %s of %s has ended; convert it to keep its %s units.", str("subscriptionId"), str("skuPartNumber"), num("quantity"))
	case SubscriptionSuspended:
		return fmt.Sprintf("Subscription %s to %s is suspended: its holders' services are stopped; it is deleted on %s.", str("subscriptionId"), str("skuPartNumber"), str("nextLifecycleAt"))
	case SubscriptionDeleted:
		return fmt.Sprintf("Subscription %s to %s is deleted (%s units).", str("subscriptionId"), str("skuPartNumber"), num("quantity"))
	case Test:
		return "Test delivery."
	}
	return e.Type
}
