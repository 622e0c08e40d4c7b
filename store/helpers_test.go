package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// Plans and SKUs of a small catalog with every kind of rule.
const (
	pExo1    = "00000000-0000-0000-0000-00000000e001" // mailbox; conflicts with pKiosk
	pExo2    = "00000000-0000-0000-0000-00000000e002" // mailbox
	pKiosk   = "00000000-0000-0000-0000-00000000e003" // mailbox
	pSP      = "00000000-0000-0000-0000-00000000a001"
	pWAC     = "00000000-0000-0000-0000-00000000a002" // depends on pSP
	pTeams   = "00000000-0000-0000-0000-00000000b001"
	pAudio   = "00000000-0000-0000-0000-00000000b002" // depends on pTeams
	pCalling = "00000000-0000-0000-0000-00000000b003" // US and GB only

	skuE1     = "10000000-0000-0000-0000-000000000001" // pExo1 pSP pWAC pTeams
	skuE3     = "10000000-0000-0000-0000-000000000003" // pExo2 pSP pWAC pTeams
	skuKiosk  = "10000000-0000-0000-0000-000000000004" // pKiosk
	skuAudio  = "10000000-0000-0000-0000-000000000005" // pAudio
	skuPhone  = "10000000-0000-0000-0000-000000000006" // pCalling
	skuExoP1  = "10000000-0000-0000-0000-000000000007" // pExo1
	skuUnsold = "10000000-0000-0000-0000-000000000008" // pSP, never subscribed
)

func testCatalog() *allot.Catalog {
	plans := []*allot.ServicePlan{
		{ID: pExo1, Name: "EXCHANGE_S_STANDARD", ProvisionsMailbox: true, ConflictsWith: []string{pKiosk}, Service: "exchange"},
		{ID: pExo2, Name: "EXCHANGE_S_ENTERPRISE", ProvisionsMailbox: true, Service: "exchange"},
		{ID: pKiosk, Name: "EXCHANGE_S_DESKLESS", ProvisionsMailbox: true, Service: "exchange"},
		{ID: pSP, Name: "SHAREPOINTSTANDARD", Service: "SharePoint"},
		{ID: pWAC, Name: "SHAREPOINTWAC", DependsOn: [][]string{{pSP}}, Service: "SharePoint"},
		{ID: pTeams, Name: "MCOSTANDARD", Service: "MicrosoftCommunicationsOnline"},
		{ID: pAudio, Name: "MCOMEETADV", DependsOn: [][]string{{pTeams}}, Service: "MicrosoftCommunicationsOnline"},
		{ID: pCalling, Name: "MCOPSTN1", AvailableIn: []string{"US", "GB"}, Service: "MicrosoftCommunicationsOnline"},
	}
	skus := []*allot.SKU{
		{ID: skuE1, PartNumber: "STANDARDPACK", DisplayName: "Office 365 E1", AppliesTo: "User", Plans: []string{pExo1, pSP, pWAC, pTeams}},
		{ID: skuE3, PartNumber: "ENTERPRISEPACK", DisplayName: "Office 365 E3", AppliesTo: "User", Plans: []string{pExo2, pSP, pWAC, pTeams}},
		{ID: skuKiosk, PartNumber: "EXCHANGEDESKLESS", DisplayName: "Exchange Online Kiosk", AppliesTo: "User", Plans: []string{pKiosk}},
		{ID: skuAudio, PartNumber: "MCOMEETADV", DisplayName: "Audio Conferencing", AppliesTo: "User", Plans: []string{pAudio}},
		{ID: skuPhone, PartNumber: "MCOPSTN1", DisplayName: "Domestic Calling Plan", AppliesTo: "User", Plans: []string{pCalling}},
		{ID: skuExoP1, PartNumber: "EXCHANGESTANDARD", DisplayName: "Exchange Online (Plan 1)", AppliesTo: "User", Plans: []string{pExo1}},
		{ID: skuUnsold, PartNumber: "SHAREPOINTSTANDARD", DisplayName: "SharePoint (Plan 1)", AppliesTo: "User", Plans: []string{pSP}},
	}
	return allot.NewCatalog(plans, skus)
}

// testClock moves one millisecond per reading, so that orderings by time
// are strict, and jumps when a test moves time on. Safe for two stores on
// one database.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *testClock) jump(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t   testing.TB
	db  *store.DB
	ctx context.Context // a Global Administrator of the tenant
}

func newEnv(t testing.TB, defaultLocation string) *env {
	t.Helper()
	return openEnv(t, testdb.DSN(t, true), newTestClock(), defaultLocation, "")
}

// openEnv opens a store on dsn with clock c; with tenantID it acts in that
// existing tenant, else it creates one.
func openEnv(t testing.TB, dsn string, c *testClock, defaultLocation, tenantID string) *env {
	t.Helper()
	n, salt := 0, envSalt()
	newID := func() string { n++; return fmt.Sprintf("%08x-%04x-4000-8000-%012x", n, salt, n) }
	db, err := store.Open(context.Background(), store.Config{DSN: dsn, Catalog: testCatalog(), Now: c.Now, NewID: newID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if tenantID == "" {
		op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
		tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso", DefaultUsageLocation: defaultLocation})
		if err != nil {
			t.Fatal(err)
		}
		tenantID = tn.ID
	}
	ctx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tenantID, Role: allot.RoleGlobalAdministrator, Name: "admin"})
	return &env{t: t, db: db, ctx: ctx}
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) drain(batch int) {
	e.t.Helper()
	for i := 0; ; i++ {
		n, err := e.db.ProcessBatch(context.Background(), batch)
		e.must(err)
		if n == 0 {
			return
		}
		if i > 100000 {
			e.t.Fatal("queue does not drain")
		}
	}
}

func (e *env) check() {
	e.t.Helper()
	v, err := e.db.Check(context.Background())
	e.must(err)
	for _, x := range v {
		e.t.Errorf("invariant %s: %s", x.Rule, x.Detail)
	}
	if len(v) > 0 {
		e.t.FailNow()
	}
}

func (e *env) user(upn, loc string, proxy ...string) *allot.User {
	e.t.Helper()
	u, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: upn, DisplayName: upn, UsageLocation: loc, ProxyAddresses: proxy, AccountEnabled: true})
	e.must(err)
	return u
}

func (e *env) group(name string) *allot.Group {
	e.t.Helper()
	g, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{DisplayName: name, MailNickname: name, SecurityEnabled: true})
	e.must(err)
	return g
}

func (e *env) sub(sku string, seats int) {
	e.t.Helper()
	_, err := e.db.AddSubscription(e.ctx, sku, seats)
	e.must(err)
}

// states returns the user's states keyed "sku source".
func (e *env) states(uid string) map[string]allot.LicenseState {
	e.t.Helper()
	u, err := e.db.User(e.ctx, uid)
	e.must(err)
	out := map[string]allot.LicenseState{}
	for _, s := range u.States {
		out[s.SkuID+" "+s.Source] = s
	}
	return out
}

func lic(sku string, disabled ...string) []allot.AssignedLicense {
	if disabled == nil {
		disabled = []string{}
	}
	return []allot.AssignedLicense{{SkuID: sku, DisabledPlans: disabled}}
}

// envSalt sets apart the ids of one test's store from every other's. Ids
// count up so that orders are the same run after run, but the tenant
// locks of PostgreSQL are database-wide, not per schema: two tests running
// at once with the same tenant id (each in its own schema) took each
// other's lock, and a worker that found its tenant locked thought the
// queue empty, so a test checked its invariants before processing ended.
func envSalt() uint16 { return uint16(rand.Uint32()) }
