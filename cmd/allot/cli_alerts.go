package main

// allot alerts: a tenant's alert webhooks and their deliveries, through the
// API (/allot/v1/alerts, Global Administrator). docs/ALERTS.md describes
// the events, the signature and the retries. startAlerts runs the
// dispatcher inside `allot serve`.

import (
	"context"
	"flag"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/allot-dev/allot/alerts"
	"github.com/allot-dev/allot/store"
)

type webhookJSON struct {
	ID              string   `json:"id"`
	URL             string   `json:"url"`
	Events          []string `json:"events"`
	Enabled         bool     `json:"enabled"`
	Secret          string   `json:"secret"`
	CreatedDateTime string   `json:"createdDateTime"`
}

func webhookTable(withSecret bool) *table {
	cols := []string{"id", "ID", "url", "URL", "events", "EVENTS", "enabled", "ENABLED", "createdDateTime", "CREATED"}
	if withSecret {
		cols = append(cols, "secret", "SECRET")
	}
	return newTable(cols...)
}

func (h webhookJSON) row(withSecret bool) []any {
	events := any(h.Events)
	if len(h.Events) == 0 {
		events = "all"
	}
	r := []any{h.ID, h.URL, events, h.Enabled, h.CreatedDateTime}
	if withSecret {
		r = append(r, h.Secret)
	}
	return r
}

func defineAlertsAdd(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	u := fs.String("url", "", "the http(s) `URL` events are POSTed to")
	events := fs.String("events", "", "comma-separated event `types` (default: all)")
	secret := fs.String("secret", "", "the signing `secret` (default: generated)")
	disabled := fs.Bool("disabled", false, "add it disabled")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		if *u == "" {
			return usagef("--url is required")
		}
		body := map[string]any{"url": *u, "enabled": !*disabled}
		if *events != "" {
			var list []string
			for _, ev := range strings.Split(*events, ",") {
				if ev = strings.TrimSpace(ev); ev != "" {
					list = append(list, ev)
				}
			}
			body["events"] = list
		}
		if *secret != "" {
			body["secret"] = *secret
		}
		var h webhookJSON
		if err := e.c.post(ctx, "/allot/v1/alerts/webhooks", body, &h); err != nil {
			return err
		}
		t := webhookTable(true)
		t.single = true
		t.add(h.row(true)...)
		return t.write(e.stdout, e.format)
	}
}

func defineAlertsList(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		var out struct {
			Value []webhookJSON `json:"value"`
		}
		if err := e.c.get(ctx, "/allot/v1/alerts/webhooks", nil, &out); err != nil {
			return err
		}
		t := webhookTable(false)
		for _, h := range out.Value {
			t.add(h.row(false)...)
		}
		return t.write(e.stdout, e.format)
	}
}

func oneWebhookArg(cmd string, pos []string) (string, error) {
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return "", usagef("%s takes one webhook id (see 'allot alerts list')", cmd)
	}
	return strings.TrimSpace(pos[0]), nil
}

func defineAlertsRemove(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		id, err := oneWebhookArg("alerts remove", pos)
		if err != nil {
			return err
		}
		if err := e.c.delete(ctx, "/allot/v1/alerts/webhooks/"+url.PathEscape(id)); err != nil {
			return err
		}
		t := newTable("id", "ID", "removed", "REMOVED")
		t.single = true
		t.add(id, true)
		return t.write(e.stdout, e.format)
	}
}

type deliveryJSON struct {
	ID                  string  `json:"id"`
	EventID             string  `json:"eventId"`
	EventType           string  `json:"eventType"`
	WebhookID           string  `json:"webhookId"`
	Status              string  `json:"status"`
	Attempts            int     `json:"attempts"`
	CreatedDateTime     string  `json:"createdDateTime"`
	NextAttemptDateTime *string `json:"nextAttemptDateTime"`
	LastResponseStatus  int     `json:"lastResponseStatus"`
	LastError           *string `json:"lastError"`
}

func deliveryTable() *table {
	return newTable("id", "DELIVERY", "eventType", "EVENT", "webhookId", "WEBHOOK", "status", "STATUS", "attempts", "ATTEMPTS",
		"createdDateTime", "CREATED", "nextAttemptDateTime", "NEXT ATTEMPT", "lastResponseStatus", "LAST STATUS", "lastError", "LAST ERROR")
}

func (d deliveryJSON) row() []any {
	var next, lastErr any
	if d.NextAttemptDateTime != nil {
		next = *d.NextAttemptDateTime
	}
	if d.LastError != nil {
		lastErr = *d.LastError
	}
	return []any{d.ID, d.EventType, d.WebhookID, d.Status, d.Attempts, d.CreatedDateTime, next, d.LastResponseStatus, lastErr}
}

func defineAlertsTest(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		id, err := oneWebhookArg("alerts test", pos)
		if err != nil {
			return err
		}
		var d deliveryJSON
		if err := e.c.post(ctx, "/allot/v1/alerts/webhooks/"+url.PathEscape(id)+"/test", map[string]any{}, &d); err != nil {
			return err
		}
		t := deliveryTable()
		t.single = true
		t.add(d.row()...)
		return t.write(e.stdout, e.format)
	}
}

func defineAlertsDeliveries(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	webhook := fs.String("webhook", "", "only this webhook's deliveries (its `id`)")
	status := fs.String("status", "", "only deliveries in this `status`: pending, delivered or failed")
	top := fs.Int("top", 100, "at most `N` deliveries (1 to 1000)")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		q := url.Values{"$top": {strconv.Itoa(*top)}}
		if *webhook != "" {
			q.Set("webhookId", *webhook)
		}
		if *status != "" {
			q.Set("status", *status)
		}
		var out struct {
			Value []deliveryJSON `json:"value"`
		}
		if err := e.c.get(ctx, "/allot/v1/alerts/deliveries", q, &out); err != nil {
			return err
		}
		t := deliveryTable()
		for _, d := range out.Value {
			t.add(d.row()...)
		}
		return t.write(e.stdout, e.format)
	}
}

// startAlerts runs the alert dispatcher of `allot serve` until ctx ends;
// the channel closes when it has stopped. Every replica runs one: claims
// are leased, so they share the deliveries without sending one twice.
// allowPrivate lets deliveries reach loopback and private addresses
// (--webhook-allow-private).
func startAlerts(ctx context.Context, db *store.DB, log *slog.Logger, allowPrivate bool) <-chan struct{} {
	done := make(chan struct{})
	d := alerts.NewDispatcher(alerts.DispatcherConfig{Outbox: db, Logger: log, AllowPrivateDestinations: allowPrivate})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	return done
}
