package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// walkEnv is a tenant in a file (or PostgreSQL), where group walks read
// ahead, with a licensed group of n members not yet processed.
func walkEnv(t *testing.T, n int) (*env, *allot.Group, []string) {
	return walkEnvIn(fileEnv(t), n)
}

// walkEnvIn is walkEnv in e's tenant.
func walkEnvIn(e *env, n int) (*env, *allot.Group, []string) {
	e.sub(skuE1, 100)
	g := e.group("All")
	var ids []string
	for i := range n {
		u := e.user(fmt.Sprintf("u%d@x", i), "")
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
		ids = append(ids, u.ID)
	}
	e.drain(10)
	rvAssign(e, g.ID, lic(skuE1))
	return e, g, ids
}

// A walk's batches after the first take what the batch before read ahead
// for them: processing's own writes (states, seats, the audit, the walk's
// cursor) do not make the reads stale.
func TestReadAheadIsUsed(t *testing.T) {
	e, g, ids := walkEnv(t, 7)
	e.drain(2)
	used, discarded := e.db.ReadAheads()
	if used != 3 || discarded != 0 {
		t.Fatalf("reads ahead used %d, discarded %d; want 3 and 0 (batches of 2, 2, 2, 1)", used, discarded)
	}
	for _, id := range ids {
		if st := e.states(id)[skuE1+" "+g.ID]; st.State != allot.StateActive {
			t.Fatalf("user %s: %+v, want Active", id, st)
		}
	}
	e.check()
}

// A batch also keeps the states read ahead when only the batch before
// wrote states since, or another commit wrote those of other users; a
// commit that wrote the states of its users makes it read them again. Here
// the commits are purchases for users waiting for a seat (they write no
// input); the read ahead of batch 2 is held until batch 1 has committed,
// so that the purchase is the one commit since it.
func TestReadAheadStatesAreReadAgainAfterTheirChange(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		forUnreached, replica bool
		statesUsed, rereadOf  int64
	}{
		{"purchase for the users of the next batch", true, false, 2, 1},
		{"purchase for users of the batch before", false, false, 3, 0},
		// This process did not see that commit: only the generation
		// tells it was not the batch before's.
		{"purchase for the users of the next batch through another replica", true, true, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := testdb.DSN(t, false)
			e := fileEnvOn(t, dsn)
			other, err := store.Open(context.Background(), store.Config{DSN: dsn, Catalog: testCatalog()})
			e.must(err)
			defer other.Close()
			e.sub(skuE1, 100)
			e.sub(skuPhone, 0)
			g, phones := e.group("All"), e.group("Phones")
			var ids []string
			for i := range 6 {
				u := e.user(fmt.Sprintf("u%d@x", i), "US")
				e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
				e.must(e.db.AddMember(e.ctx, phones.ID, u.ID))
				ids = append(ids, u.ID)
			}
			rvAssign(e, phones.ID, lic(skuPhone)) // all wait for a phone seat
			e.drain(10)
			rvAssign(e, g.ID, lic(skuE1))
			release, read := make(chan struct{}), make(chan struct{}, 8)
			e.db.SetReadAheadHook(func(reading func()) {
				<-release
				reading()
				read <- struct{}{}
			})
			if n, err := e.db.ProcessBatch(context.Background(), 2); err != nil || n != 2 {
				t.Fatalf("first batch: %d, %v", n, err)
			}
			close(release)
			<-read // batch 2's states, read after batch 1 committed
			var reached, unreached []string
			for _, id := range ids {
				if _, ok := e.states(id)[skuE1+" "+g.ID]; ok {
					reached = append(reached, id)
				} else {
					unreached = append(unreached, id)
				}
			}
			// Buying seats for users licenses them at once. The next
			// batch, read ahead before, holds the unreached still waiting:
			// with those states it would give their seats away again.
			buyFor := reached
			if tc.forUnreached {
				buyFor = unreached
			}
			buyer := e.db
			if tc.replica {
				buyer = other
			}
			_, err = buyer.Purchase(e.ctx, skuPhone, len(buyFor), buyFor)
			e.must(err)
			e.drain(2)
			for _, id := range ids {
				want := allot.StateError
				if slices.Contains(buyFor, id) {
					want = allot.StateActive
				}
				sts := e.states(id)
				if sts[skuE1+" "+g.ID].State != allot.StateActive || sts[skuPhone+" "+phones.ID].State != want {
					t.Fatalf("user %s: %+v, want E1 Active and the phone %s", id, sts, want)
				}
			}
			used, discarded, statesUsed, reread := e.db.ReadAheadStates()
			if used != 3 || discarded != 0 || statesUsed != tc.statesUsed || reread != tc.rereadOf {
				t.Fatalf("reads ahead used %d (states kept %d, read again %d), discarded %d; want 3 (%d, %d), 0",
					used, statesUsed, reread, discarded, tc.statesUsed, tc.rereadOf)
			}
			e.check()
		})
	}
}

// A change to what a batch reads, committed between the batch that read it
// ahead and the batch that would take it, makes that batch read for itself.
func TestReadAheadIsDiscardedAfterAChange(t *testing.T) {
	e, g, ids := walkEnv(t, 6)
	if n, err := e.db.ProcessBatch(context.Background(), 2); err != nil || n != 2 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	// Remove every member the walk has not reached: the next batch, read
	// ahead before, would license two of them.
	var removed []string
	for _, id := range ids {
		if len(e.states(id)) == 0 {
			e.must(e.db.RemoveMember(e.ctx, g.ID, id))
			removed = append(removed, id)
		}
	}
	if len(removed) != 4 {
		t.Fatalf("%d members unprocessed after a batch of 2 of 6", len(removed))
	}
	if _, err := e.db.ProcessBatch(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	for _, id := range removed {
		if st, ok := e.states(id)[skuE1+" "+g.ID]; ok {
			t.Fatalf("user %s, removed before its batch, has %+v from the group", id, st)
		}
	}
	if used, discarded := e.db.ReadAheads(); used != 0 || discarded != 1 {
		t.Fatalf("reads ahead used %d, discarded %d; want 0 and 1", used, discarded)
	}
	e.drain(2)
	e.check()
}

// A batch that finds the tenant written to since the walk's previous batch
// does not read ahead (the reads would likely be stale again); the next
// batch that finds it quiet does.
func TestReadAheadWaitsForQuiet(t *testing.T) {
	e, _, ids := walkEnv(t, 8)
	if n, err := e.db.ProcessBatch(context.Background(), 2); err != nil || n != 2 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	name := "Renamed"
	_, err := e.db.UpdateUser(e.ctx, ids[0], allot.UserUpdate{DisplayName: &name})
	e.must(err)
	// Batch 2 discards its reads and reads nothing ahead; batch 3 finds
	// nothing to take and reads batch 4's ahead; batch 4 takes them and
	// reads ahead the empty end of the walk, which batch 5 takes.
	e.drain(2)
	if used, discarded := e.db.ReadAheads(); used != 2 || discarded != 1 {
		t.Fatalf("reads ahead used %d, discarded %d; want 2 and 1", used, discarded)
	}
	e.check()
}

// Tenants take turns batch by batch: each walk keeps its own read ahead
// while another tenant's batch runs in between.
func TestReadAheadKeepsEachWalks(t *testing.T) {
	e, _, _ := walkEnv(t, 6)
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := e.db.CreateTenant(op, allot.Tenant{DisplayName: "Fabrikam", DefaultUsageLocation: "US"})
	e.must(err)
	e2 := &env{t: t, db: e.db, ctx: allot.NewContextWithActor(context.Background(),
		allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator, Name: "admin"})}
	e2.sub(skuE1, 100)
	g2 := e2.group("All")
	for i := range 6 {
		u := e2.user(fmt.Sprintf("f%d@x", i), "")
		e2.must(e2.db.AddMember(e2.ctx, g2.ID, u.ID))
	}
	rvAssign(e2, g2.ID, lic(skuE1))
	e.drain(2) // both walks of 2, 2, 2 and an empty end, in turns
	if used, discarded := e.db.ReadAheads(); used != 6 || discarded != 0 {
		t.Fatalf("reads ahead used %d, discarded %d; want 6 and 0", used, discarded)
	}
	e.check()
}
