package alerts

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Outbox is the store's side of delivery. Claims are leases: a claimed
// delivery is not due again until the lease ends, so a dispatcher that
// dies while sending leaves it to be retried (receivers dedupe on the
// delivery id), and concurrent dispatchers never claim the same one.
type Outbox interface {
	// ClaimEvents returns up to limit events whose log line is not written
	// yet and marks them written.
	ClaimEvents(ctx context.Context, limit int) ([]Event, error)
	// ClaimDeliveries returns up to limit pending deliveries due at now,
	// counting an attempt for each and leasing them until now+lease.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Claim, error)
	// FinishDelivery records an attempt's outcome, unless another attempt
	// has claimed the delivery since.
	FinishDelivery(ctx context.Context, c Claim, r Result) error
	// PruneAlerts deletes events and their deliveries older than before,
	// once none of their deliveries is pending, and tidies the state
	// alerts are detected with.
	PruneAlerts(ctx context.Context, before time.Time) error
}

// Claim is a delivery to attempt.
type Claim struct {
	Delivery
	URL    string
	Secret string
	Body   []byte // the event as JSON
}

// Result is the outcome of one attempt.
type Result struct {
	At        time.Time
	Status    int    // HTTP status, 0 when no response
	Error     string // empty when delivered
	Delivered bool
	Failed    bool      // given up: no more attempts
	NextAt    time.Time // when neither delivered nor failed
}

// Defaults of DispatcherConfig.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultMaxAge    = 24 * time.Hour
	DefaultPoll      = 2 * time.Second
	DefaultRetention = 30 * 24 * time.Hour
)

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	Outbox Outbox
	Logger *slog.Logger
	// Client sends deliveries; nil: a client with Timeout that does not
	// follow redirects (a 3xx is a failed attempt), uses no proxy and
	// refuses to connect to the addresses CheckAddr refuses. A Client set
	// here is used as it is: it has none of these guards unless given them.
	Client  *http.Client
	Timeout time.Duration // per attempt; 0: DefaultTimeout
	Now     func() time.Time
	// AllowPrivateDestinations lets the default client deliver to
	// loopback, private, link-local and carrier-grade NAT addresses (a
	// receiver on the server's own network); metadata, unspecified and
	// multicast addresses stay refused (CheckAddr).
	AllowPrivateDestinations bool
	// Backoff is the wait after failed attempt n (1-based); nil:
	// DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// MaxAge is how long after its event a delivery is retried before it
	// is marked failed; 0: DefaultMaxAge.
	MaxAge time.Duration
	// Poll is how often an idle dispatcher looks for due work; 0: DefaultPoll.
	Poll time.Duration
	// Retention is how long events and finished deliveries are kept; 0:
	// DefaultRetention.
	Retention time.Duration
	Batch     int // deliveries claimed at once; 0: 20
}

// DefaultBackoff doubles from 30 s up to an hour, with full jitter over
// the upper half so that a receiver coming back is not hit by every
// retry at once: 30 s, 1 min, 2 min … 1 h, then hourly until MaxAge.
func DefaultBackoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return d/2 + rand.N(d/2+1)
}

// PruneInterval is how often a dispatcher deletes old events and re-arms
// the group.errors alert of groups that left Errors & issues unseen.
const PruneInterval = 10 * time.Minute

// Dispatcher logs every event once and delivers events to webhooks.
type Dispatcher struct {
	cfg DispatcherConfig
}

// NewDispatcher returns a dispatcher with cfg's defaults filled in.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = newClient(cfg.Timeout, cfg.AllowPrivateDestinations) // guard.go
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 20
	}
	return &Dispatcher{cfg: cfg}
}

// Run logs and delivers until ctx ends. Errors of the database are logged
// and retried at the next poll.
func (d *Dispatcher) Run(ctx context.Context) error {
	var pruned time.Time
	for {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.Error("alert dispatcher", "err", err)
		}
		if now := d.cfg.Now(); now.Sub(pruned) > PruneInterval {
			if err := d.cfg.Outbox.PruneAlerts(ctx, now.Add(-d.cfg.Retention)); err != nil && ctx.Err() == nil {
				d.cfg.Logger.Error("alert dispatcher: prune", "err", err)
			}
			pruned = now
		}
		wait := d.cfg.Poll
		if err == nil && n >= d.cfg.Batch {
			wait = 0 // more may be due
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// RunOnce writes the log lines of new events and makes one attempt at each
// due delivery of one claim; it returns the number of deliveries attempted.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	for {
		events, err := d.cfg.Outbox.ClaimEvents(ctx, 100)
		if err != nil {
			return 0, err
		}
		for _, e := range events {
			d.cfg.Logger.Warn("alert: "+Summary(e), "event", e.Type, "eventId", e.ID, "tenant", e.TenantID, "occurredAt", e.OccurredAt, "data", e.Data)
		}
		if len(events) < 100 {
			break
		}
	}
	// The lease outlasts an attempt's timeout, so a delivery is never due
	// again while it is still being sent.
	claims, err := d.cfg.Outbox.ClaimDeliveries(ctx, d.cfg.Now(), 2*d.cfg.Timeout+30*time.Second, d.cfg.Batch)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(claims))
	for i, c := range claims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := d.attempt(ctx, c)
			errs[i] = d.cfg.Outbox.FinishDelivery(context.WithoutCancel(ctx), c, r)
		}()
	}
	wg.Wait()
	return len(claims), errors.Join(errs...)
}

func (d *Dispatcher) attempt(ctx context.Context, c Claim) Result {
	now := d.cfg.Now()
	r := Result{At: now}
	status, tlsFailed, err := d.send(ctx, c, now)
	r.Status = status
	switch {
	case err == nil && status >= 200 && status < 300:
		r.Delivered = true
		return r
	case err != nil:
		// The error's text names addresses and ports (and shows whether
		// something listens there): it is logged, and the delivery keeps
		// a generic one.
		r.Error = publicError(err, tlsFailed)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry a secret
		}
		d.cfg.Logger.Warn("alert delivery: no answer from the receiver", "delivery", c.ID, "webhook", c.WebhookID, "host", urlHost(c.URL), "error", r.Error, "detail", err)
	default:
		r.Error = fmt.Sprintf("the receiver answered %d %s", status, http.StatusText(status))
	}
	if len(r.Error) > 500 {
		r.Error = r.Error[:500]
	}
	next := now.Add(d.cfg.Backoff(c.Attempts))
	if next.Sub(c.CreatedAt) > d.cfg.MaxAge {
		r.Failed = true
		d.cfg.Logger.Error("alert delivery failed, giving up", "delivery", c.ID, "event", c.EventType, "webhook", c.WebhookID, "attempts", c.Attempts, "err", r.Error)
		return r
	}
	r.NextAt = next
	d.cfg.Logger.Info("alert delivery attempt failed", "delivery", c.ID, "event", c.EventType, "webhook", c.WebhookID, "attempt", c.Attempts, "retryAt", next, "err", r.Error)
	return r
}

// send makes one attempt; tlsFailed tells whether a TLS handshake failed.
func (d *Dispatcher) send(ctx context.Context, c Claim, now time.Time) (status int, tlsFailed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	var handshakeErr atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err != nil {
				handshakeErr.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(c.Body))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Allot-Webhook/1")
	req.Header.Set(HeaderEvent, c.EventType)
	req.Header.Set(HeaderDelivery, c.ID)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(HeaderSignature, Sign(c.Secret, now, c.Body))
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return 0, handshakeErr.Load(), err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, false, nil
}

// urlHost is raw's host and port, for logs: not its path or query, which
// may carry a secret.
func urlHost(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}
