package store

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
)

// Waiting-room counts carried from one batch to the next. A batch that
// finds free seats of a SKU asks how many users wait for it (freeFor),
// and counting them reads every waiting state: after a purchase, while
// 30,000 users take their seats batch by batch, that count cost
// PostgreSQL 32 ms per batch, most of the batch (docs/PERFORMANCE.md,
// "Twelfth round"). A batch ends knowing the counts as its commit leaves
// them, so it leaves them here, under the states generation its commit
// made; the next batch of the tenant takes them if no commit has written
// the tenant's states or inputs since (ahead.go: every commit that writes
// states bumps that generation, and one that writes inputs, such as a
// user's deletion that takes its states with it, the input generation; one
// of no tenant, the generation of no tenant).
type waitCache struct {
	mu sync.Mutex
	m  map[string]waitCounts // by tenant
	// counted is how many counts were read from the database.
	counted atomic.Int64
}

type waitCounts struct {
	gens   inputGens // the generations the counts hold under
	states int64
	counts map[string]int
}

// maxWaitCacheTenants bounds the cache: a deployment with more tenants
// than this at work counts again now and then.
const maxWaitCacheTenants = 1024

func (c *waitCache) put(tenantID string, w waitCounts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxWaitCacheTenants {
		c.m = map[string]waitCounts{}
	}
	c.m[tenantID] = w
}

func (c *waitCache) get(tenantID string) (waitCounts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.m[tenantID]
	return w, ok
}

// waitCountsOf is what a transaction knows of a tenant's waiting counts:
// the generations it read before its first count with the counts the
// cache held under them, and the counts its last batch ended with.
type waitCountsOf struct {
	read   bool
	found  waitCounts
	counts map[string]int
}

// cachedWaitCount is the number of users waiting for sku as the last
// commit of the tenant left it, if this process made that commit and
// recorded the count. Never once the transaction has written states
// itself: the count would then miss its own writes.
func (s *DB) cachedWaitCount(ctx context.Context, tx *txn, tenantID, sku string) (int, bool, error) {
	if tx.states {
		return 0, false, nil
	}
	w := &tx.waits
	if !w.read {
		g, states, err := readInputGens(ctx, tx, tenantID)
		if err != nil {
			return 0, false, err
		}
		w.read, w.found = true, waitCounts{gens: g, states: states}
		if c, ok := s.waits.get(tenantID); ok && c.gens == g && c.states == states {
			w.found.counts = c.counts
		}
	}
	n, ok := w.found.counts[sku]
	return n, ok, nil
}

// keepWaitCounts records the counts a batch ended with, for the commit.
func (tx *txn) keepWaitCounts(counts map[string]int) {
	if tx.waits.read {
		tx.waits.counts = maps.Clone(counts)
	}
}

// committedWaitCounts leaves a committed transaction's counts for the
// tenant's next batch, under the states generation the commit made (or
// found, if it wrote no states). Not after a write to the states other
// than a batch's (strayStates), or to the inputs, whose deletions may take
// states with them: the counts would not account for them.
func (s *DB) committedWaitCounts(tx *txn, tenantID string, statesGen int64) {
	w := tx.waits
	if !w.read || w.counts == nil || tx.strayStates || tx.inputs || tenantID == "" {
		return
	}
	states := w.found.states
	if tx.states {
		states = statesGen
	}
	s.waits.put(tenantID, waitCounts{gens: w.found.gens, states: states, counts: w.counts})
}
