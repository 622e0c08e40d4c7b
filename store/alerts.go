package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
	"github.com/google/uuid"
)

// The store implements the webhook management of package alerts and the
// dispatcher's outbox.
var (
	_ alerts.Service = (*DB)(nil)
	_ alerts.Outbox  = (*DB)(nil)
)

const webhookCols = `id, url, events, enabled, created_at`

func scanWebhook(r interface{ Scan(...any) error }) (*alerts.Webhook, error) {
	var w alerts.Webhook
	var events, created string
	var enabled int
	if err := r.Scan(&w.ID, &w.URL, &events, &enabled, &created); err != nil {
		return nil, err
	}
	w.Events, w.Enabled, w.CreatedAt = strList(events), enabled == 1, parseTime(created)
	return &w, nil
}

func newSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}

// Webhooks lists the tenant's webhooks, without their secrets.
func (s *DB) Webhooks(ctx context.Context) ([]alerts.Webhook, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) ([]alerts.Webhook, error) {
		rows, err := tx.Query(ctx, `SELECT `+webhookCols+` FROM alert_webhooks WHERE tenant_id = ? ORDER BY created_at, id`, a.TenantID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []alerts.Webhook{}
		for rows.Next() {
			w, err := scanWebhook(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, *w)
		}
		return out, rows.Err()
	})
}

func (s *DB) findWebhook(ctx context.Context, tx *txn, tenantID, id string) (*alerts.Webhook, error) {
	w, err := scanWebhook(tx.QueryRow(ctx, `SELECT `+webhookCols+` FROM alert_webhooks WHERE tenant_id = ? AND id = ?`, tenantID, strings.ToLower(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	return w, err
}

// Webhook returns one webhook, without its secret.
func (s *DB) Webhook(ctx context.Context, id string) (*alerts.Webhook, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (*alerts.Webhook, error) { return s.findWebhook(ctx, tx, a.TenantID, id) })
}

// CreateWebhook adds a webhook; the answer carries its secret, which is
// never shown again.
func (s *DB) CreateWebhook(ctx context.Context, in alerts.WebhookCreate) (*alerts.Webhook, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	in.URL = strings.TrimSpace(in.URL)
	if err := alerts.CheckURL(in.URL); err != nil {
		return nil, err
	}
	events, err := alerts.CheckEvents(in.Events)
	if err != nil {
		return nil, err
	}
	if in.Secret == "" {
		in.Secret = newSecret()
	} else if err := alerts.CheckSecret(in.Secret); err != nil {
		return nil, err
	}
	enabled := in.Enabled == nil || *in.Enabled
	w := &alerts.Webhook{ID: s.newID(), URL: in.URL, Events: events, Enabled: enabled, Secret: in.Secret, CreatedAt: s.now().UTC()}
	err = s.tx(ctx, func(tx *txn) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM alert_webhooks WHERE tenant_id = ?`, a.TenantID).Scan(&n); err != nil {
			return err
		}
		if n >= alerts.MaxWebhooks {
			return allot.Errorf(allot.EINVALID, "A tenant may have at most %d webhooks.", alerts.MaxWebhooks)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO alert_webhooks (tenant_id, id, url, secret, events, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.TenantID, w.ID, w.URL, w.Secret, toJSON(w.Events), b2i(w.Enabled), fmtTime(w.CreatedAt)); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.TenantID, "Add webhook", "Webhook", w.ID, "", toJSON(map[string]any{"url": w.URL, "events": w.Events, "enabled": w.Enabled}), "success")
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// UpdateWebhook changes a webhook. The answer carries the secret only when
// it was replaced.
func (s *DB) UpdateWebhook(ctx context.Context, id string, in alerts.WebhookUpdate) (*alerts.Webhook, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if in.URL != nil {
		u := strings.TrimSpace(*in.URL)
		if err := alerts.CheckURL(u); err != nil {
			return nil, err
		}
		in.URL = &u
	}
	var events []string
	if in.Events != nil {
		if events, err = alerts.CheckEvents(*in.Events); err != nil {
			return nil, err
		}
	}
	secret := ""
	switch {
	case in.Secret != nil && in.RotateSecret:
		return nil, allot.Errorf(allot.EINVALID, "Give a secret or ask for a new one, not both.")
	case in.Secret != nil:
		if err := alerts.CheckSecret(*in.Secret); err != nil {
			return nil, err
		}
		secret = *in.Secret
	case in.RotateSecret:
		secret = newSecret()
	}
	var w *alerts.Webhook
	err = s.tx(ctx, func(tx *txn) error {
		old, err := s.findWebhook(ctx, tx, a.TenantID, id)
		if err != nil {
			return err
		}
		nw := *old
		if in.URL != nil {
			nw.URL = *in.URL
		}
		if in.Events != nil {
			nw.Events = events
		}
		if in.Enabled != nil {
			nw.Enabled = *in.Enabled
		}
		if _, err := tx.Exec(ctx, `UPDATE alert_webhooks SET url = ?, events = ?, enabled = ? WHERE tenant_id = ? AND id = ?`,
			nw.URL, toJSON(nw.Events), b2i(nw.Enabled), a.TenantID, old.ID); err != nil {
			return err
		}
		after := map[string]any{"url": nw.URL, "events": nw.Events, "enabled": nw.Enabled}
		if secret != "" {
			if _, err := tx.Exec(ctx, `UPDATE alert_webhooks SET secret = ? WHERE tenant_id = ? AND id = ?`, secret, a.TenantID, old.ID); err != nil {
				return err
			}
			nw.Secret, after["secret"] = secret, "replaced"
		}
		w = &nw
		return s.audit(ctx, tx, a.TenantID, "Update webhook", "Webhook", old.ID,
			toJSON(map[string]any{"url": old.URL, "events": old.Events, "enabled": old.Enabled}), toJSON(after), "success")
	})
	return w, err
}

// DeleteWebhook removes a webhook; its pending deliveries fail.
func (s *DB) DeleteWebhook(ctx context.Context, id string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *txn) error {
		old, err := s.findWebhook(ctx, tx, a.TenantID, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM alert_webhooks WHERE tenant_id = ? AND id = ?`, a.TenantID, old.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE alert_deliveries SET status = 'failed', last_error = 'The webhook was deleted.' WHERE tenant_id = ? AND webhook_id = ? AND status = 'pending'`, a.TenantID, old.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.TenantID, "Delete webhook", "Webhook", old.ID, toJSON(map[string]any{"url": old.URL, "events": old.Events, "enabled": old.Enabled}), "", "success")
	})
}

// TestWebhook queues a webhook.test event for one webhook, enabled or not.
func (s *DB) TestWebhook(ctx context.Context, id string) (*alerts.Delivery, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	var did string
	err = s.tx(ctx, func(tx *txn) error {
		w, err := s.findWebhook(ctx, tx, a.TenantID, id)
		if err != nil {
			return err
		}
		ids, err := s.emitAlert(ctx, tx, a.TenantID, alerts.Test, map[string]any{"webhookId": w.ID, "actor": actorName(ctx)}, w.ID)
		if len(ids) > 0 {
			did = ids[0]
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	ds, err := read(ctx, s, func(tx *txn) ([]alerts.Delivery, error) {
		return deliveries(ctx, tx, a.TenantID, `d.id = ?`, []any{did}, 1)
	})
	if err != nil || len(ds) == 0 {
		return nil, errors.Join(err, errors.New("test delivery vanished"))
	}
	return &ds[0], nil
}

// Deliveries lists the tenant's deliveries, newest first.
func (s *DB) Deliveries(ctx context.Context, f alerts.DeliveryFilter) ([]alerts.Delivery, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if f.Top == 0 {
		f.Top = 100
	}
	if f.Top < 1 || f.Top > alerts.MaxDeliveries {
		return nil, allot.Errorf(allot.EINVALID, "$top must be between 1 and %d.", alerts.MaxDeliveries)
	}
	cond, args := "1 = 1", []any{}
	if f.WebhookID != "" {
		cond, args = cond+" AND d.webhook_id = ?", append(args, strings.ToLower(f.WebhookID))
	}
	switch f.Status {
	case "":
	case alerts.StatusPending, alerts.StatusDelivered, alerts.StatusFailed:
		cond, args = cond+" AND d.status = ?", append(args, f.Status)
	default:
		return nil, allot.Errorf(allot.EINVALID, "Unknown delivery status %q; use pending, delivered or failed.", f.Status)
	}
	return read(ctx, s, func(tx *txn) ([]alerts.Delivery, error) { return deliveries(ctx, tx, a.TenantID, cond, args, f.Top) })
}

const deliveryCols = `d.id, d.event_id, e.type, d.webhook_id, d.status, d.attempts, d.created_at, d.next_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at`

func scanDelivery(r interface{ Scan(...any) error }, extra ...any) (alerts.Delivery, error) {
	var d alerts.Delivery
	var created, next, last, delivered string
	err := r.Scan(append([]any{&d.ID, &d.EventID, &d.EventType, &d.WebhookID, &d.Status, &d.Attempts, &created, &next, &last, &d.LastStatus, &d.LastError, &delivered}, extra...)...)
	d.CreatedAt, d.LastAttemptAt, d.DeliveredAt = parseTime(created), parseTime(last), parseTime(delivered)
	if d.Status == alerts.StatusPending {
		d.NextAttemptAt = parseTime(next)
	}
	return d, err
}

// emitAlert puts an event in the outbox, in the transaction of the change
// it reports, with a delivery for each enabled webhook that wants it (or
// for the webhook only alone, enabled or not). It returns the deliveries' ids.
func (s *DB) emitAlert(ctx context.Context, tx *txn, tenantID, typ string, data map[string]any, only string) ([]string, error) {
	// Event and delivery ids are random rather than from s.newID, so that
	// alerts raised as a side effect do not shift the ids tests expect.
	id, now := uuid.NewString(), fmtTime(s.now())
	if _, err := tx.Exec(ctx, `INSERT INTO alert_events (id, tenant_id, type, occurred_at, data, logged) VALUES (?, ?, ?, ?, ?, 0)`,
		id, tenantID, typ, now, toJSON(data)); err != nil {
		return nil, err
	}
	cond, args := `enabled = 1`, []any{tenantID}
	if only != "" {
		cond, args = `id = ?`, append(args, only)
	}
	rows, err := tx.Query(ctx, `SELECT id, events FROM alert_webhooks WHERE tenant_id = ? AND `+cond+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	var hooks []string
	for rows.Next() {
		var hid, events string
		if err := rows.Scan(&hid, &events); err != nil {
			rows.Close()
			return nil, err
		}
		if only != "" || alerts.Wants(strList(events), typ) {
			hooks = append(hooks, hid)
		}
	}
	rows.Close()
	var ids []string
	var ins [][]any
	for _, hid := range hooks {
		did := uuid.NewString()
		ids = append(ids, did)
		ins = append(ins, []any{did, tenantID, id, hid, alerts.StatusPending, 0, now, now, "", 0, "", ""})
	}
	return ids, tx.insertRows(ctx, `INSERT INTO alert_deliveries (id, tenant_id, event_id, webhook_id, status, attempts, next_at, created_at, last_attempt_at, last_status, last_error, delivered_at) VALUES `, ins)
}

// alertOutcomes raises the events a batch of evaluations causes, from what
// the batch wrote: groups entering Errors & issues, subscriptions running
// out of seats, waiting rooms growing. It runs after s.write, in the same
// transaction.
func (s *DB) alertOutcomes(ctx context.Context, tx *txn, tenantID string, outs []outcome) error {
	groups := map[string]bool{}
	delta := map[string]int{}
	waiting := map[string]int{} // SKU -> users starting to wait minus users stopping
	for _, o := range outs {
		for sku, d := range o.out.SeatDelta {
			delta[sku] += d
		}
		if !o.out.Changed {
			continue
		}
		was, is := map[string]bool{}, map[string]bool{}
		for _, st := range o.before {
			groups[st.Source] = true
			was[st.SkuID] = was[st.SkuID] || st.Error == "CountViolation"
		}
		for _, st := range o.out.States {
			groups[st.Source] = true
			is[st.SkuID] = is[st.SkuID] || st.Error == "CountViolation"
		}
		for sku := range is {
			if is[sku] && !was[sku] {
				waiting[sku]++
			}
		}
		for sku := range was {
			if was[sku] && !is[sku] {
				waiting[sku]--
			}
		}
	}
	delete(groups, "") // direct assignments
	if err := s.alertGroups(ctx, tx, tenantID, slices.Sorted(maps.Keys(groups))); err != nil {
		return err
	}
	for _, sku := range slices.Sorted(maps.Keys(delta)) {
		if delta[sku] == 0 {
			continue
		}
		var enabled, consumed int
		err := tx.QueryRow(ctx, `SELECT enabled, consumed FROM subscriptions WHERE tenant_id = ? AND sku_id = ?`, tenantID, sku).Scan(&enabled, &consumed)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return err
		}
		if err := s.alertSeats(ctx, tx, tenantID, sku, enabled, consumed-delta[sku], enabled, consumed); err != nil {
			return err
		}
	}
	for _, sku := range slices.Sorted(maps.Keys(waiting)) {
		if waiting[sku] <= 0 {
			continue
		}
		if ok, err := s.throttle(ctx, tx, tenantID, "waitingroom:"+sku, alerts.WaitingRoomInterval); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		var n int
		if err := tx.QueryRow(ctx, waitingCountSQL, tenantID, sku).Scan(&n); err != nil {
			return err
		}
		data := s.skuData(ctx, tx, sku)
		data["waiting"], data["added"] = n, waiting[sku]
		if _, err := s.emitAlert(ctx, tx, tenantID, alerts.WaitingRoomGrew, data, ""); err != nil {
			return err
		}
	}
	return nil
}

// alertGroups raises group.errors for each of the groups that is now in
// Errors & issues (a member in Error, no work queued or running for it)
// and was not at its last check, and forgets those no longer in error.
// Each check is an index seek, whatever the size of the group.
func (s *DB) alertGroups(ctx context.Context, tx *txn, tenantID string, groups []string) error {
	for _, g := range groups {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM license_states WHERE tenant_id = ? AND source = ? AND state = 'Error' LIMIT 1) x`, tenantID, g).Scan(&n); err != nil {
			return err
		}
		hasErrors := n > 0
		var latched int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM alert_group_errors WHERE tenant_id = ? AND group_id = ?`, tenantID, g).Scan(&latched); err != nil {
			return err
		}
		if !hasErrors {
			if latched > 0 {
				if _, err := tx.Exec(ctx, `DELETE FROM alert_group_errors WHERE tenant_id = ? AND group_id = ?`, tenantID, g); err != nil {
					return err
				}
			}
			continue
		}
		if latched > 0 {
			continue
		}
		var busy int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM work WHERE tenant_id = ? AND group_id = ? LIMIT 1) x`, tenantID, g).Scan(&busy); err != nil {
			return err
		}
		if busy > 0 {
			continue // In progress or queued: the status says so until the work is done
		}
		if _, err := tx.Exec(ctx, `INSERT INTO alert_group_errors (tenant_id, group_id) VALUES (?, ?)`, tenantID, g); err != nil {
			return err
		}
		var name string
		var failed int
		if err := tx.QueryRow(ctx, `SELECT display_name FROM dir_groups WHERE tenant_id = ? AND id = ?`, tenantID, g).Scan(&name); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(DISTINCT user_id) FROM license_states WHERE tenant_id = ? AND source = ? AND state = 'Error'`, tenantID, g).Scan(&failed); err != nil {
			return err
		}
		if _, err := s.emitAlert(ctx, tx, tenantID, alerts.GroupErrors, map[string]any{"groupId": g, "displayName": name, "membersWithErrors": failed}, ""); err != nil {
			return err
		}
	}
	return nil
}

// alertSeats raises subscription.overallocated when consumed went above
// enabled, else subscription.exhausted when the available seats reached 0.
func (s *DB) alertSeats(ctx context.Context, tx *txn, tenantID, sku string, enabledBefore, consumedBefore, enabled, consumed int) error {
	typ := ""
	switch {
	case consumed > enabled && consumedBefore <= enabledBefore:
		typ = alerts.SubscriptionOverAllocated
	case consumed >= enabled && consumedBefore < enabledBefore:
		typ = alerts.SubscriptionExhausted
	default:
		return nil
	}
	data := s.skuData(ctx, tx, sku)
	data["enabledUnits"], data["consumedUnits"], data["available"] = enabled, consumed, max(enabled-consumed, 0)
	_, err := s.emitAlert(ctx, tx, tenantID, typ, data, "")
	return err
}

func (s *DB) skuData(ctx context.Context, tx *txn, sku string) map[string]any {
	part := ""
	if k := s.catalogIn(ctx, tx).SKUs[sku]; k != nil {
		part = k.PartNumber
	}
	return map[string]any{"skuId": sku, "skuPartNumber": part}
}

// throttle reports whether an event with key may be raised now, and if so
// holds further ones back for interval. The row is written in the change's
// transaction, so replicas share the limit.
func (s *DB) throttle(ctx context.Context, tx *txn, tenantID, key string, interval time.Duration) (bool, error) {
	now := s.now()
	var until string
	err := tx.QueryRow(ctx, `SELECT until_at FROM alert_throttle WHERE tenant_id = ? AND key = ?`, tenantID, key).Scan(&until)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if err == nil && now.Before(parseTime(until)) {
		return false, nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO alert_throttle (tenant_id, key, until_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, key) DO UPDATE SET until_at = excluded.until_at`, tenantID, key, fmtTime(now.Add(interval)))
	return err == nil, err
}

// ClaimEvents returns events not logged yet and marks them logged.
func (s *DB) ClaimEvents(ctx context.Context, limit int) ([]alerts.Event, error) {
	var out []alerts.Event
	err := s.tx(ctx, func(tx *txn) error {
		rows, err := tx.Query(ctx, `SELECT seq, id, tenant_id, type, occurred_at, data FROM alert_events WHERE logged = 0 ORDER BY seq LIMIT ?`+tx.skipLocked(), limit)
		if err != nil {
			return err
		}
		var seqs []any
		for rows.Next() {
			var seq int64
			var e alerts.Event
			var at, data string
			if err := rows.Scan(&seq, &e.ID, &e.TenantID, &e.Type, &at, &data); err != nil {
				rows.Close()
				return err
			}
			e.OccurredAt = parseTime(at)
			json.Unmarshal([]byte(data), &e.Data)
			seqs, out = append(seqs, seq), append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(seqs) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE alert_events SET logged = 1 WHERE seq IN (`+placeholders(len(seqs))+`)`, seqs...)
		return err
	})
	return out, err
}

// ClaimDeliveries leases due deliveries. On PostgreSQL rows another
// dispatcher is claiming are skipped, so replicas never send one twice.
func (s *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]alerts.Claim, error) {
	var out []alerts.Claim
	err := s.tx(ctx, func(tx *txn) error {
		ids, err := tx.queryIDs(ctx, `SELECT id FROM alert_deliveries WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`+tx.skipLocked(), fmtTime(now), limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		frag, args := tx.in(ids)
		if _, err := tx.Exec(ctx, `UPDATE alert_deliveries SET attempts = attempts + 1, next_at = ? WHERE id `+frag, append([]any{fmtTime(now.Add(lease))}, args...)...); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+deliveryCols+`, e.tenant_id, e.occurred_at, e.data, COALESCE(w.url, ''), COALESCE(w.secret, ''), COALESCE(w.enabled, 0)
			FROM alert_deliveries d JOIN alert_events e ON e.id = d.event_id
			LEFT JOIN alert_webhooks w ON w.tenant_id = d.tenant_id AND w.id = d.webhook_id WHERE d.id `+frag+` ORDER BY d.next_at, d.id`, args...)
		if err != nil {
			return err
		}
		var gone []any
		for rows.Next() {
			var c alerts.Claim
			var e alerts.Event
			var at, data string
			var enabled int
			d, err := scanDelivery(rows, &e.TenantID, &at, &data, &c.URL, &c.Secret, &enabled)
			if err != nil {
				rows.Close()
				return err
			}
			c.Delivery = d
			// A test delivery goes to its webhook even when disabled.
			if c.URL == "" || (enabled == 0 && d.EventType != alerts.Test) {
				gone = append(gone, d.ID)
				continue
			}
			e.ID, e.Type, e.OccurredAt = d.EventID, d.EventType, parseTime(at)
			json.Unmarshal([]byte(data), &e.Data)
			c.Body, _ = json.Marshal(e)
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(gone) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE alert_deliveries SET status = 'failed', last_error = 'The webhook was deleted or disabled.' WHERE id IN (`+placeholders(len(gone))+`)`, gone...)
		return err
	})
	return out, err
}

// FinishDelivery records an attempt, unless a later attempt (after the
// lease ran out) has claimed the delivery since.
func (s *DB) FinishDelivery(ctx context.Context, c alerts.Claim, r alerts.Result) error {
	status, next, delivered := alerts.StatusPending, fmtTime(r.NextAt), ""
	switch {
	case r.Delivered:
		status, next, delivered = alerts.StatusDelivered, "", fmtTime(r.At)
	case r.Failed:
		status, next = alerts.StatusFailed, ""
	}
	return s.tx(ctx, func(tx *txn) error {
		_, err := tx.Exec(ctx, `UPDATE alert_deliveries SET status = ?, next_at = ?, last_attempt_at = ?, last_status = ?, last_error = ?, delivered_at = ?
			WHERE id = ? AND attempts = ? AND status = 'pending'`, status, next, fmtTime(r.At), r.Status, r.Error, delivered, c.ID, c.Attempts)
		return err
	})
}

// PruneAlerts deletes events and finished deliveries older than before,
// and forgets groups alerted as in Errors & issues that no longer have a
// member in error: a deleted user's states go without an evaluation, so
// that group would otherwise never alert again.
func (s *DB) PruneAlerts(ctx context.Context, before time.Time) error {
	return s.tx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `DELETE FROM alert_group_errors WHERE NOT EXISTS (SELECT 1 FROM license_states l
			WHERE l.tenant_id = alert_group_errors.tenant_id AND l.source = alert_group_errors.group_id AND l.state = 'Error')`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM alert_deliveries WHERE status <> 'pending' AND created_at < ?`, fmtTime(before)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM alert_events WHERE logged = 1 AND occurred_at < ?
			AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.event_id = alert_events.id AND d.status = 'pending')`, fmtTime(before))
		return err
	})
}

func deliveries(ctx context.Context, tx *txn, tenantID, cond string, args []any, top int) ([]alerts.Delivery, error) {
	rows, err := tx.Query(ctx, `SELECT `+deliveryCols+` FROM alert_deliveries d JOIN alert_events e ON e.id = d.event_id
		WHERE d.tenant_id = ? AND `+cond+` ORDER BY d.created_at DESC, d.id LIMIT ?`, append(append([]any{tenantID}, args...), top)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []alerts.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
