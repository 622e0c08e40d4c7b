package store

import (
	"context"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/rules"
)

// outcome is one user's evaluation, to be written.
type outcome struct {
	uid            string
	before         []allot.LicenseState
	out            rules.Output
	mailboxChanged bool
}

// evaluateUsers evaluates users in order and writes the outcomes.
// With priority the users take free seats ahead of the waiting room.
func (s *DB) evaluateUsers(ctx context.Context, tx *txn, tenantID string, users []string, priority bool) ([]outcome, error) {
	b, err := s.loadBatch(ctx, tx, tenantID, users)
	if err != nil {
		return nil, err
	}
	return s.evaluateBatch(ctx, tx, b, users, priority)
}

// evaluateBatch is evaluateUsers of a loaded batch.
func (s *DB) evaluateBatch(ctx context.Context, tx *txn, b *batch, users []string, priority bool) ([]outcome, error) {
	tenantID := b.tenantID
	if priority {
		b.priority = map[string]bool{}
		for _, u := range users {
			b.priority[u] = true
		}
	}
	cat, now := s.catalogIn(ctx, tx), s.now()
	outs := make([]outcome, 0, len(b.order))
	for i, uid := range b.order {
		// One nanosecond apart, so users who start waiting in one batch
		// keep the order they were evaluated in.
		outs = append(outs, b.evaluate(uid, cat, now.Add(time.Duration(i))))
	}
	if b.err != nil {
		return nil, b.err
	}
	if err := s.write(ctx, tx, b, outs); err != nil {
		return nil, err
	}
	return outs, s.alertOutcomes(ctx, tx, tenantID, outs)
}

// evaluate runs the rules for uid and updates the batch in memory, so the
// next user of the batch sees this one's seats and addresses.
func (b *batch) evaluate(uid string, cat *allot.Catalog, now time.Time) outcome {
	out := rules.Evaluate(b.input(uid, cat, now))
	o := outcome{uid: uid, before: b.states[uid], out: out}
	b.states[uid] = out.States
	b.evaluated[uid] = true
	b.before[uid] = o.before
	for sku, l := range b.waiters {
		l.set(uid, waitingSince(sku, out.States))
	}
	for sku := range b.waitCounts {
		was, is := !waitingSince(sku, o.before).IsZero(), !waitingSince(sku, out.States).IsZero()
		switch {
		case was && !is:
			b.waitCounts[sku]--
		case is && !was:
			b.waitCounts[sku]++
		}
	}
	for sku, d := range out.SeatDelta {
		b.consumed[sku] += d
	}
	u := b.users[uid]
	if out.Mailbox != u.mailbox {
		o.mailboxChanged = true
		u.mailbox = out.Mailbox
		for _, a := range u.proxy {
			n := allot.NormalizeAddress(a)
			if b.owners[n] == nil {
				b.owners[n] = map[string]bool{}
			}
			if out.Mailbox {
				b.owners[n][uid] = true
			} else {
				delete(b.owners[n], uid)
			}
		}
	}
	return o
}
