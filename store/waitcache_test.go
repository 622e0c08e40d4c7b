package store_test

import (
	"fmt"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

// TestWaitCountCarriedAcrossBatches: after a purchase, the waiting users
// take their seats batch by batch, and no batch counts the waiting room in
// the database: each carries on the count the batch before left, back to
// the assignment's last batch (a purchase writes no states). A deletion
// between two batches changes the room, and the next batch counts it
// again. Every waiting user ends with a seat, and the invariants hold.
func TestWaitCountCarriedAcrossBatches(t *testing.T) {
	for _, deleteOne := range []bool{false, true} {
		t.Run(fmt.Sprintf("delete=%v", deleteOne), func(t *testing.T) {
			e := newEnv(t, "US")
			e.sub(skuE1, 2)
			g := e.group("g")
			var users []*allot.User
			for i := range 8 {
				u := e.user(fmt.Sprintf("u%d@x", i), "")
				e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
				users = append(users, u)
			}
			_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
			e.must(err)
			e.drain(100)
			if waiting := e.waitingIDs(skuE1); len(waiting) != 6 {
				t.Fatalf("%d waiting, want 6", len(waiting))
			}
			waiting := e.waitingIDs(skuE1)
			_, err = e.db.Purchase(e.ctx, skuE1, 10, nil)
			e.must(err)
			before := store.WaitCountsRead(e.db)
			n, err := e.db.ProcessBatch(e.ctx, 2)
			e.must(err)
			if n != 2 {
				t.Fatalf("first batch did %d users", n)
			}
			if deleteOne {
				e.must(e.db.DeleteUser(e.ctx, waiting[len(waiting)-1]))
			}
			e.drain(2)
			want := int64(0)
			if deleteOne {
				want = 1
			}
			if got := store.WaitCountsRead(e.db) - before; got != want {
				t.Errorf("the waiting room was counted %d times in the database, want %d", got, want)
			}
			e.check()
			for i, u := range users {
				if deleteOne && u.ID == waiting[len(waiting)-1] {
					continue
				}
				if st := e.states(u.ID)[skuE1+" "+g.ID]; st.State != allot.StateActive {
					t.Errorf("user %d: %+v", i, st)
				}
			}
		})
	}
}
