package store_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

// A user listing as many addresses as allowed, each as long as allowed, is
// stored and licensed through a group walk on either database: no index
// may hold its whole list where an entry's size is bounded (PostgreSQL's
// B-tree; migration 26 is SQLite's only).
func TestLongestProxyAddresses(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 10)
	// Hashes, so that no compression brings the list under a bound.
	var proxy []string
	for i := range allot.MaxAddresses {
		var local strings.Builder
		for j := 0; local.Len() < allot.MaxAddress; j++ {
			fmt.Fprintf(&local, "%x", sha256.Sum256([]byte{byte(i), byte(j)}))
		}
		proxy = append(proxy, "smtp:"+local.String()[:allot.MaxAddress-len("@example.com")]+"@example.com")
	}
	u := e.user("long@example.com", "", proxy...)
	g := e.group("All")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(10)
	if st := e.states(u.ID)[skuE1+" "+g.ID]; st.State != allot.StateActive {
		t.Fatalf("state %+v, want Active", st)
	}
	e.check()
}
