package store

import (
	"context"
	"maps"
	"slices"

	"github.com/allot-dev/allot"
)

// write stores outcomes: states with their mailbox flags, seat counts,
// the audit lines, and the work they cause (address sharers, the waiting room).
func (s *DB) write(ctx context.Context, tx *txn, b *batch, outs []outcome) error {
	now := fmtTime(s.now())
	w := collectWrites(b.tenantID, outs)
	if err := w.writeStates(ctx, tx, b.tenantID); err != nil {
		return err
	}
	tx.keepWaitCounts(b.waitCounts)
	if err := s.auditLicenseChanges(ctx, tx, b.tenantID, now, w.audit); err != nil {
		return err
	}
	freed, err := writeSeats(ctx, tx, b.tenantID, w.delta)
	if err != nil {
		return err
	}
	if err := s.enqueueSharers(ctx, tx, b, append(w.mailOn, w.mailOff...)); err != nil {
		return err
	}
	if err := s.followPlans(ctx, tx, b.tenantID, outs); err != nil {
		return err
	}
	return s.wake(ctx, tx, b.tenantID, freed)
}

// writes are the rows and changes a batch's outcomes make.
type writes struct {
	changed         []string // users whose old states are deleted first
	mailOn, mailOff []string
	delta           map[string]int // SKU -> seats taken (freed when negative)
	states          [][]any
	audit           []auditItem
}

func collectWrites(tenantID string, outs []outcome) writes {
	w := writes{delta: map[string]int{}}
	for _, o := range outs {
		for sku, d := range o.out.SeatDelta {
			w.delta[sku] += d
		}
		if o.mailboxChanged {
			if o.out.Mailbox {
				w.mailOn = append(w.mailOn, o.uid)
			} else {
				w.mailOff = append(w.mailOff, o.uid)
			}
		}
		// The mailbox flag is on the state rows (migration 20), so a
		// mailbox that came or went rewrites them even when the states
		// themselves are the same (a catalog change of a plan); only a
		// change of the states is audited.
		if !o.out.Changed && !o.mailboxChanged {
			continue
		}
		if len(o.before) > 0 {
			w.changed = append(w.changed, o.uid)
		}
		result := "success"
		for _, st := range o.out.States {
			mailbox := 0
			if o.out.Mailbox && st.State == allot.StateActive {
				mailbox = 1
			}
			w.states = append(w.states, []any{tenantID, o.uid, st.SkuID, st.Source, st.State, st.Error, listJSON(st.DisabledPlans), st.Detail, fmtTime(st.LastUpdated), fmtTime(st.WaitingSince), mailbox})
			if st.State != allot.StateActive {
				result = "failure"
			}
		}
		if !o.out.Changed {
			continue
		}
		w.audit = append(w.audit, auditItem{o.uid, statesJSON(o.before), statesJSON(o.out.States), result})
	}
	return w
}

// writeStates replaces the states of the users whose states changed.
func (w writes) writeStates(ctx context.Context, tx *txn, tenantID string) error {
	tx.writingStates = true
	defer func() { tx.writingStates = false }()
	tx.statesOf = append(tx.statesOf, w.changed...)
	for _, r := range w.states {
		tx.statesOf = append(tx.statesOf, r[1].(string))
	}
	for _, part := range chunks(w.changed, 500) {
		frag, fargs := tx.in(part)
		if _, err := tx.Exec(ctx, `DELETE FROM license_states WHERE tenant_id = ? AND user_id `+frag, append([]any{tenantID}, fargs...)...); err != nil {
			return err
		}
	}
	return tx.insertRows(ctx, `INSERT INTO license_states (tenant_id, user_id, sku_id, source, state, error, disabled_plans, detail, updated_at, waiting_since, mailbox) VALUES `, w.states)
}

// writeSeats adds delta to the subscriptions' consumed seats and returns
// the SKUs that freed seats.
func writeSeats(ctx context.Context, tx *txn, tenantID string, delta map[string]int) ([]string, error) {
	var freed []string
	for _, sku := range slices.Sorted(maps.Keys(delta)) {
		if delta[sku] == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE subscriptions SET consumed = consumed + ? WHERE tenant_id = ? AND sku_id = ?`, delta[sku], tenantID, sku); err != nil {
			return nil, err
		}
		if delta[sku] < 0 {
			freed = append(freed, sku)
		}
	}
	return freed, nil
}

// enqueueSharers queues the other listers of the addresses of users whose
// mailbox came or went: an address that became owned or free may change
// them, including another user of this batch evaluated before the change.
func (s *DB) enqueueSharers(ctx context.Context, tx *txn, b *batch, moved []string) error {
	var sharers []string
	for _, uid := range moved {
		for _, a := range b.users[uid].proxy {
			for _, other := range b.listers[allot.NormalizeAddress(a)] {
				if other != uid {
					sharers = append(sharers, other)
				}
			}
		}
	}
	if len(sharers) == 0 {
		return nil
	}
	slices.Sort(sharers)
	return s.enqueueUsers(ctx, tx, b.tenantID, sharers, "")
}
