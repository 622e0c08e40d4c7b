package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/allot-dev/allot"
)

// Reading ahead (docs/PERFORMANCE.md, "Seventh round"). A batch of a group
// walk spends about a third of its time reading its users' inputs: their
// rows, memberships, direct and group assignments and the listers of
// their addresses (loadInputs), which processing itself never writes. So
// while one batch evaluates and writes, the walk's next batch is read on
// another connection, on the other core, and the next batch takes those
// reads instead of making them — if nothing they read has changed since.
//
// That is what the input generations tell (migration 23): a transaction
// that writes a table loadInputs reads bumps its tenant's generation at
// commit (or the generation of no tenant, ''). The batch that launches the
// reads ahead reads the generations first, in its own transaction: a write
// committed before that is seen by the reads, which start after it; one
// committed after it, before or while the reads are made, bumps a
// generation, and the next batch, which reads them again in its own
// transaction, finds them changed and reads its inputs itself.
//
// The users' states are read ahead too (docs/PERFORMANCE.md, "Eighth
// round"), though processing writes them, the batch before first: every
// commit that writes states bumps the tenant's states generation, and one
// that wrote them only through writeStates tells this process whose states
// it wrote (aheadReader.own). The next batch keeps the states read ahead
// when no commit wrote states since they were read, or only that one and
// not of its users (keepsStates); else it reads them in its own
// transaction. What else the batch before writes (seats, waiting rooms,
// mailbox ownership of other users' addresses, the audit, the queue) is
// always read in the next batch's own transaction (loadRest).

// notInputs are the tables whose writes cannot change what loadInputs
// reads: processing's output and the server's bookkeeping. A write to any
// other table, or a statement noteWrite does not recognise, marks the
// transaction, so a new table or a new kind of statement can only cost a
// read ahead, never make one stale. None of these tables is the parent of
// an input table's rows, whose deletion would cascade into them.
var notInputs = map[string]bool{
	"license_states": true, "audit": true, "audit_users": true, "work": true,
	"subscriptions": true, "company_subscriptions": true, "subscription_prices": true,
	"alert_events": true, "alert_group_errors": true, "alert_throttle": true, "alert_deliveries": true, "alert_webhooks": true,
	"sessions": true, "sign_in_failures": true, "tokens": true, "oidc_logins": true,
}

// noteWrite marks the transaction when query may write an input table,
// or the states.
func (tx *txn) noteWrite(query string) {
	if tx.inputs && tx.strayStates {
		return
	}
	q := strings.TrimLeft(query, " \t\n")
	if strings.HasPrefix(q, "SELECT ") || strings.HasPrefix(q, "SELECT\n") {
		return
	}
	for _, verb := range []string{"INSERT INTO ", "INSERT OR IGNORE INTO ", "UPDATE ", "DELETE FROM "} {
		if rest, ok := strings.CutPrefix(q, verb); ok {
			end := strings.IndexAny(rest, " (\n\t")
			if end > 0 && rest[:end] == "license_states" {
				tx.states = true
				tx.strayStates = tx.strayStates || !tx.writingStates
			}
			if end > 0 && notInputs[rest[:end]] {
				return
			}
			break
		}
	}
	tx.inputs = true
}

// inputScope is the tenant whose input generation a transaction's writes
// bump: the one its processing batch claimed or its actor's; "" when
// neither says, which every read ahead compares too.
func (tx *txn) inputScope(ctx context.Context) string {
	if tx.tenant != "" {
		return tx.tenant
	}
	if a, ok := allot.ActorFromContext(ctx); ok {
		return a.TenantID
	}
	return ""
}

// bumpGen bumps a generation of input_generations and returns it.
func bumpGen(ctx context.Context, sqlTx *sql.Tx, d dialect, scope string) (int64, error) {
	var gen int64
	err := sqlTx.QueryRowContext(ctx, d.rebind(`INSERT INTO input_generations (scope, gen) VALUES (?, 1)
		ON CONFLICT (scope) DO UPDATE SET gen = input_generations.gen + 1 RETURNING gen`), scope).Scan(&gen)
	return gen, err
}

// statesScope is the row of input_generations that counts the commits
// that wrote a tenant's states. Unlike its input generation, a walk's own
// batches bump it: the batch after them tells its own writes from others'
// by the users they wrote (aheadReader.own).
func statesScope(tenantID string) string { return "states:" + tenantID }

// inputGensVersion is the migration that made input_generations.
const inputGensVersion = 23

// inputGens are a tenant's input generation and that of no tenant.
type inputGens struct{ tenant, global int64 }

// readInputGens reads a tenant's input generations and its states
// generation.
func readInputGens(ctx context.Context, tx *txn, tenantID string) (g inputGens, states int64, err error) {
	rows, err := tx.Query(ctx, `SELECT scope, gen FROM input_generations WHERE scope IN ('', ?, ?)`, tenantID, statesScope(tenantID))
	if err != nil {
		return g, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var scope string
		var gen int64
		if err := rows.Scan(&scope, &gen); err != nil {
			return g, 0, err
		}
		switch scope {
		case "":
			g.global = gen
		case tenantID:
			g.tenant = gen
		default:
			states = gen
		}
	}
	return g, states, rows.Err()
}

// aheadReader holds, per group walk, the generations its last batch read
// and the read ahead in flight or waiting for its next batch. Tenants take
// turns batch by batch (claimTenant), so several walks may be under way.
type aheadReader struct {
	on    bool
	mu    sync.Mutex
	walks map[int64]*walkAheadState // by work item
	own   map[string]statesWrite    // by tenant: its last states commit in this process
	wg    sync.WaitGroup
	// Batches that took their reads ahead, and that read again; of those
	// that took them, the ones that kept the states too, and that read
	// the states again.
	used, discarded, statesUsed, statesReread atomic.Int64
}

// statesWrite is a commit that wrote the states of users (and no other
// states), and the states generation it made.
type statesWrite struct {
	gen   int64
	users []string
}

// wroteStates records a commit's states write (tx.statesOf).
func (r *aheadReader) wroteStates(tenantID string, gen int64, users []string) {
	if !r.on {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.own == nil || len(r.own) >= maxWalksAhead {
		r.own = map[string]statesWrite{}
	}
	if gen > r.own[tenantID].gen {
		r.own[tenantID] = statesWrite{gen, users}
	}
}

// keepsStates tells whether states of users read ahead under states
// generation from are still good under generation now: nothing wrote
// states since, or only the one commit after it that this process saw,
// and of other users. That commit is the batch before, in a walk.
func (r *aheadReader) keepsStates(tenantID string, from, now int64, users []string) bool {
	if from == now {
		return true
	}
	r.mu.Lock()
	w := r.own[tenantID]
	r.mu.Unlock()
	if now != from+1 || w.gen != now {
		return false
	}
	read := make(map[string]bool, len(users))
	for _, u := range users {
		read[u] = true
	}
	for _, u := range w.users {
		if read[u] {
			return false
		}
	}
	return true
}

type walkAheadState struct {
	gens inputGens
	next *walkAhead
}

// maxWalksAhead bounds the walks remembered: a walk whose work item is
// deleted in mid-course (its group deleted or unassigned) never comes back
// for its reads.
const maxWalksAhead = 64

// take removes and returns walk work's read ahead, and records the
// generations this batch of it read. steady reports whether its previous
// batch read the same (or there was none): while admins write to the
// tenant as often as batches commit, reads ahead would be stale by the
// time the next batch looks, and would only take the other core from the
// requests.
func (r *aheadReader) take(work int64, gens inputGens) (next *walkAhead, steady bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.walks[work]
	if st == nil {
		if len(r.walks) >= maxWalksAhead {
			clear(r.walks)
		}
		if r.walks == nil {
			r.walks = map[int64]*walkAheadState{}
		}
		st = &walkAheadState{gens: gens}
		r.walks[work] = st
	}
	next, steady = st.next, st.gens == gens
	st.next, st.gens = nil, gens
	return next, steady
}

// put records walk work's read ahead, or with nil that the walk is over.
func (r *aheadReader) put(work int64, a *walkAhead) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a == nil {
		delete(r.walks, work)
	} else if st := r.walks[work]; st != nil {
		st.next = a
	}
}

// walkAhead is the reading of one batch of a walk: the members after
// cursor from, and their inputs, made under gens.
type walkAhead struct {
	from   string
	n      int
	gens   inputGens
	done   chan struct{}
	users  []string
	to     string // the walk's cursor after users
	b      *batch // their inputs and states
	states int64  // the states generation b's states were read under
	err    error
}

// readAhead starts reading the batch of w that follows this one (w's
// cursor is after this batch), with the generations this batch read.
func (s *DB) readAhead(ctx context.Context, w workItem, n int, gens inputGens) {
	a := &walkAhead{from: w.cursor, n: n, gens: gens, done: make(chan struct{})}
	s.ahead.put(w.id, a)
	s.ahead.wg.Add(1)
	go func() {
		defer s.ahead.wg.Done()
		defer close(a.done)
		read := func() {
			a.err = s.readTx(ctx, func(tx *txn) error {
				var err error
				if a.users, err = s.groupWalkNext(ctx, tx, &w, n); err != nil {
					return err
				}
				a.to = w.cursor
				if a.b, err = s.loadInputs(ctx, tx, w.tenantID, a.users); err != nil {
					return err
				}
				// The generation first: a states write committed between the
				// two reads makes it look older than the states, never newer.
				if _, a.states, err = readInputGens(ctx, tx, w.tenantID); err != nil {
					return err
				}
				return a.b.loadStates(ctx, tx)
			})
		}
		if s.aheadHook != nil {
			s.aheadHook(read)
		} else {
			read()
		}
	}()
}

// takeAhead returns the walk's next users and their inputs read ahead, and
// moves w's cursor past them, when the reads were of this very batch and
// gens, read in this batch's transaction, are still those they were made
// under; else nil, and the batch reads for itself. The batch keeps the
// states read ahead too (b.statesRead) when keepsStates says, by states,
// the states generation of this batch's transaction. steady is take's.
func (s *DB) takeAhead(ctx context.Context, w *workItem, n int, gens inputGens, states int64) (users []string, b *batch, steady bool) {
	a, steady := s.ahead.take(w.id, gens)
	if a == nil {
		return nil, nil, steady
	}
	if a.from != w.cursor || a.n != n || a.gens != gens {
		s.ahead.discarded.Add(1)
		return nil, nil, steady
	}
	select {
	case <-a.done:
	case <-ctx.Done():
		return nil, nil, steady
	}
	if a.err != nil {
		s.ahead.discarded.Add(1)
		return nil, nil, steady
	}
	s.ahead.used.Add(1)
	if s.ahead.keepsStates(w.tenantID, a.states, states, a.users) {
		s.ahead.statesUsed.Add(1)
		a.b.statesRead = true
	} else {
		s.ahead.statesReread.Add(1)
		a.b.forgetStates()
	}
	w.cursor = a.to
	return a.users, a.b, steady
}
