package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// lifecycleWorld is a world whose store clock the test moves by days.
type lifecycleWorld struct {
	*world
	mu  sync.Mutex
	now time.Time
}

func newLifecycleWorld(t *testing.T) *lifecycleWorld {
	t.Helper()
	lw := &lifecycleWorld{now: time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)}
	db, err := store.Open(context.Background(), store.Config{
		DSN:     testdb.DSN(t, false),
		Catalog: catalog.Demo(),
		Now: func() time.Time {
			lw.mu.Lock()
			defer lw.mu.Unlock()
			// A second per reading keeps membership times, and so the
			// order seats go in, distinct.
			lw.now = lw.now.Add(time.Second)
			return lw.now
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	lw.world = &world{client: newClient(t, db), db: db}
	lw.ga = lw.newTenant("Contoso", "US")
	return lw
}

// advance moves the clock on and applies what came due, then processes
// the work that caused, as the server's scheduler and worker would.
func (lw *lifecycleWorld) advance(d time.Duration) {
	lw.t.Helper()
	lw.mu.Lock()
	lw.now = lw.now.Add(d)
	lw.mu.Unlock()
	if _, err := lw.db.RunScheduled(context.Background()); err != nil {
		lw.t.Fatal(err)
	}
	lw.drain()
}

func (lw *lifecycleWorld) token(role string) string {
	lw.t.Helper()
	return lw.do("POST", "/allot/v1/tokens", lw.ga, map[string]any{"name": role, "role": role, "expiresInDays": 30}).
		expect(http.StatusCreated, "")["secret"].(string)
}

func (lw *lifecycleWorld) sku(id string) map[string]any {
	lw.t.Helper()
	return lw.do("GET", "/v1.0/subscribedSkus/"+id, lw.ga, nil).expect(http.StatusOK, "")
}

func planStatuses(t *testing.T, plans []any, key string) []string {
	t.Helper()
	var out []string
	for _, p := range plans {
		out = append(out, p.(map[string]any)[key].(string))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestLifecycleThroughGraph walks a subscription through its lifecycle
// over the API, moving the store's clock: bought, past its term (Warning:
// still served), past its grace (Suspended: the holder keeps the license
// but Graph shows its plans stopped), reactivated; and a trial converted,
// a quantity changed, a cancellation, the settings, and what is refused.
func TestLifecycleThroughGraph(t *testing.T) {
	lw := newLifecycleWorld(t)
	ga := lw.ga

	sub := lw.do("POST", "/allot/v1/companySubscriptions", ga, map[string]any{"skuId": skuE1, "quantity": 2}).expect(http.StatusCreated, "")
	id := sub["id"].(string)
	if sub["status"] != "Enabled" || sub["totalLicenses"] != float64(2) || sub["isTrial"] != false || sub["commerceSubscriptionId"] != id ||
		sub["skuPartNumber"] != "STANDARDPACK" || sub["termEndDateTime"] == nil || sub["nextLifecycleDateTime"] != sub["termEndDateTime"] ||
		sub["ownerId"] != nil || len(sub["serviceStatus"].([]any)) == 0 {
		t.Fatalf("created %v", sub)
	}
	if !strings.HasPrefix(sub["termEndDateTime"].(string), "2026-01-01") {
		t.Fatalf("term end %v, want a year on", sub["termEndDateTime"])
	}
	user := lw.createUser(ga, "alice@contoso.example", "US")
	lw.do("POST", "/v1.0/users/"+user+"/assignLicense", ga, map[string]any{
		"addLicenses": []any{map[string]any{"skuId": skuE1, "disabledPlans": []string{}}}, "removeLicenses": []string{}}).expect(http.StatusOK, "")

	// Graph's shape: no Allot properties, Graph's context.
	list := lw.do("GET", "/v1.0/directory/subscriptions", ga, nil).expect(http.StatusOK, "")
	if !strings.HasSuffix(list["@odata.context"].(string), "/v1.0/$metadata#directory/subscriptions") {
		t.Fatalf("context %v", list["@odata.context"])
	}
	var graph map[string]any
	for _, v := range list["value"].([]any) {
		if v.(map[string]any)["id"] == id {
			graph = v.(map[string]any)
		}
	}
	if graph == nil || graph["termEndDateTime"] != nil || graph["nextLifecycleDateTime"] != sub["termEndDateTime"] {
		t.Fatalf("Graph's companySubscription %v", graph)
	}
	one := lw.do("GET", "/v1.0/directory/subscriptions/"+id+"?$select=id,status", ga, nil).expect(http.StatusOK, "")
	if one["status"] != "Enabled" || one["skuId"] != nil || !strings.HasSuffix(one["@odata.context"].(string), "#directory/subscriptions(id,status)/$entity") {
		t.Fatalf("by id %v", one)
	}
	if ids := lw.sku(skuE1)["subscriptionIds"].([]any); !slices.Contains(ids, any(id)) {
		t.Fatalf("subscriptionIds %v lack %s", ids, id)
	}

	// Past the term: Warning, still served.
	lw.advance(366 * 24 * time.Hour)
	got := lw.do("GET", "/allot/v1/companySubscriptions/"+id, ga, nil).expect(http.StatusOK, "")
	if got["status"] != "Warning" || got["nextLifecycleDateTime"] == nil {
		t.Fatalf("after the term %v", got)
	}
	sku := lw.sku(skuE1)
	if units := sku["prepaidUnits"].(map[string]any); sku["capabilityStatus"] != "Warning" || units["warning"] != float64(2) || units["enabled"] != float64(0) {
		t.Fatalf("subscribedSku in grace %v", sku)
	}
	details := lw.do("GET", "/v1.0/users/"+user+"/licenseDetails", ga, nil).expect(http.StatusOK, "")["value"].([]any)
	if st := planStatuses(t, details[0].(map[string]any)["servicePlans"].([]any), "provisioningStatus"); !slices.Equal(st, []string{"Success"}) {
		t.Fatalf("licenseDetails in grace: %v", st)
	}

	// Past the grace period: Suspended. The license stays; the plans stop.
	lw.advance(31 * 24 * time.Hour)
	sku = lw.sku(skuE1)
	if sku["capabilityStatus"] != "Suspended" || sku["consumedUnits"] != float64(1) {
		t.Fatalf("subscribedSku suspended %v", sku)
	}
	details = lw.do("GET", "/v1.0/users/"+user+"/licenseDetails", ga, nil).expect(http.StatusOK, "")["value"].([]any)
	if st := planStatuses(t, details[0].(map[string]any)["servicePlans"].([]any), "provisioningStatus"); !slices.Equal(st, []string{"Disabled"}) {
		t.Fatalf("licenseDetails suspended: %v", st)
	}
	u := lw.do("GET", "/v1.0/users/"+user+"?$select=assignedPlans,assignedLicenses", ga, nil).expect(http.StatusOK, "")
	if st := planStatuses(t, u["assignedPlans"].([]any), "capabilityStatus"); !slices.Equal(st, []string{"Suspended"}) || len(u["assignedLicenses"].([]any)) != 1 {
		t.Fatalf("user suspended: plans %v, %v", st, u)
	}
	for _, v := range lw.do("GET", "/v1.0/users?$select=id,assignedPlans", ga, nil).expect(http.StatusOK, "")["value"].([]any) {
		if st := planStatuses(t, v.(map[string]any)["assignedPlans"].([]any), "capabilityStatus"); !slices.Equal(st, []string{"Suspended"}) {
			t.Fatalf("a list of users shows plans %v", st)
		}
	}
	graph = lw.do("GET", "/v1.0/directory/subscriptions/"+id, ga, nil).expect(http.StatusOK, "")
	if st := planStatuses(t, graph["serviceStatus"].([]any), "provisioningStatus"); graph["status"] != "Suspended" || !slices.Equal(st, []string{"Disabled"}) {
		t.Fatalf("suspended companySubscription %v", graph)
	}

	// A suspended subscription cannot be renewed, only reactivated.
	lw.do("POST", "/allot/v1/companySubscriptions/"+id+"/renew", ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	got = lw.do("POST", "/allot/v1/companySubscriptions/"+id+"/reactivate", ga, nil).expect(http.StatusOK, "")
	if got["status"] != "Enabled" {
		t.Fatalf("reactivated %v", got)
	}
	lw.drain()
	u = lw.do("GET", "/v1.0/users/"+user+"?$select=assignedPlans", ga, nil).expect(http.StatusOK, "")
	if st := planStatuses(t, u["assignedPlans"].([]any), "capabilityStatus"); !slices.Equal(st, []string{"Enabled"}) {
		t.Fatalf("user reactivated: plans %v", st)
	}
	renewed := lw.do("POST", "/allot/v1/companySubscriptions/"+id+"/renew", ga, map[string]any{"termEndDateTime": "2030-06-30T00:00:00Z"}).expect(http.StatusOK, "")
	if renewed["termEndDateTime"] != "2030-06-30T00:00:00Z" {
		t.Fatalf("renewed %v", renewed)
	}

	// A trial: 30 days, converted once.
	trial := lw.do("POST", "/allot/v1/companySubscriptions", ga, map[string]any{"skuId": skuE3, "quantity": 3, "isTrial": true}).expect(http.StatusCreated, "")
	tid := trial["id"].(string)
	if trial["isTrial"] != true || !strings.HasPrefix(trial["termEndDateTime"].(string), "2026-03-") {
		t.Fatalf("trial %v", trial)
	}
	if c := lw.do("POST", "/allot/v1/companySubscriptions/"+tid+"/convertTrial", ga, nil).expect(http.StatusOK, ""); c["isTrial"] != false {
		t.Fatalf("converted %v", c)
	}
	lw.do("POST", "/allot/v1/companySubscriptions/"+tid+"/convertTrial", ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	if q := lw.do("PATCH", "/allot/v1/companySubscriptions/"+tid, ga, map[string]any{"quantity": 5}).expect(http.StatusOK, ""); q["totalLicenses"] != float64(5) {
		t.Fatalf("quantity %v", q)
	}
	if units := lw.sku(skuE3)["prepaidUnits"].(map[string]any); units["enabled"] != float64(5) {
		t.Fatalf("pool after the quantity change %v", units)
	}
	c := lw.do("POST", "/allot/v1/companySubscriptions/"+tid+"/cancel", ga, nil).expect(http.StatusOK, "")
	if c["status"] != "LockedOut" || lw.sku(skuE3)["capabilityStatus"] != "LockedOut" {
		t.Fatalf("cancelled %v", c)
	}
	lw.do("POST", "/allot/v1/companySubscriptions/"+tid+"/cancel", ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	lw.do("POST", "/allot/v1/companySubscriptions/"+tid+"/reactivate", ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")

	// Bad input changes nothing.
	before := len(lw.do("GET", "/allot/v1/companySubscriptions", ga, nil).expect(http.StatusOK, "")["value"].([]any))
	for _, body := range []any{
		map[string]any{"skuId": skuE1, "quantity": 0},
		map[string]any{"skuId": skuE1},
		map[string]any{"quantity": 1},
		map[string]any{"skuId": skuE1, "quantity": 1, "termEndDateTime": "tomorrow"},
		map[string]any{"skuId": skuE1, "quantity": 1, "termEndDateTime": "2020-01-01T00:00:00Z"},
		map[string]any{"skuId": "00000000-0000-0000-0000-000000000001", "quantity": 1},
		map[string]any{"skuId": skuE1, "quantity": 1, "seats": 1},
	} {
		lw.do("POST", "/allot/v1/companySubscriptions", ga, body).expect(http.StatusBadRequest, "")
	}
	lw.do("POST", "/allot/v1/companySubscriptions/"+id+"/renew", ga, map[string]any{"termEndDateTime": "2026-01-01T00:00:00Z"}).expect(http.StatusBadRequest, "")
	lw.do("POST", "/allot/v1/companySubscriptions/"+id+"/cancel", ga, map[string]any{"now": true}).expect(http.StatusBadRequest, "")
	lw.do("PATCH", "/allot/v1/companySubscriptions/"+id, ga, map[string]any{"quantity": -1}).expect(http.StatusBadRequest, "")
	if after := lw.do("GET", "/allot/v1/companySubscriptions/"+id, ga, nil).expect(http.StatusOK, ""); after["status"] != "Enabled" || after["termEndDateTime"] != "2030-06-30T00:00:00Z" || after["totalLicenses"] != float64(2) {
		t.Fatalf("a refused request changed %v", after)
	}
	if n := len(lw.do("GET", "/allot/v1/companySubscriptions", ga, nil).expect(http.StatusOK, "")["value"].([]any)); n != before {
		t.Fatalf("%d subscriptions after refused creations, want %d", n, before)
	}
	lw.do("GET", "/allot/v1/companySubscriptions/"+newTestGUID(), ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	other := lw.newTenant("Fabrikam", "DE")
	lw.do("GET", "/v1.0/directory/subscriptions/"+id, other, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	lw.do("POST", "/allot/v1/companySubscriptions/"+id+"/cancel", other, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")

	// Roles: a Billing Administrator buys and renews, a reader reads.
	billing, reader := lw.token("BillingAdministrator"), lw.token("GlobalReader")
	lw.do("POST", "/allot/v1/companySubscriptions", billing, map[string]any{"skuId": skuE1, "quantity": 1}).expect(http.StatusCreated, "")
	lw.do("POST", "/allot/v1/companySubscriptions", reader, map[string]any{"skuId": skuE1, "quantity": 1}).expect(http.StatusForbidden, "Authorization_RequestDenied")
	lw.do("POST", "/allot/v1/companySubscriptions/"+id+"/renew", reader, nil).expect(http.StatusForbidden, "Authorization_RequestDenied")
	lw.do("GET", "/v1.0/directory/subscriptions", reader, nil).expect(http.StatusOK, "")

	// Settings: defaults, a partial change, refusals.
	st := lw.do("GET", "/allot/v1/lifecycleSettings", reader, nil).expect(http.StatusOK, "")
	if st["graceDays"] != float64(30) || st["suspendedDays"] != float64(90) || st["retentionDays"] != float64(30) || len(st["alertDays"].([]any)) != 3 {
		t.Fatalf("default settings %v", st)
	}
	st = lw.do("PATCH", "/allot/v1/lifecycleSettings", ga, map[string]any{"graceDays": 10, "alertDays": []int{14}}).expect(http.StatusOK, "")
	if st["graceDays"] != float64(10) || st["suspendedDays"] != float64(90) || len(st["alertDays"].([]any)) != 1 {
		t.Fatalf("changed settings %v", st)
	}
	lw.do("PATCH", "/allot/v1/lifecycleSettings", ga, map[string]any{"graceDays": 0}).expect(http.StatusBadRequest, "")
	lw.do("PATCH", "/allot/v1/lifecycleSettings", ga, map[string]any{"alertDays": nil}).expect(http.StatusBadRequest, "")
	lw.do("PATCH", "/allot/v1/lifecycleSettings", billing, map[string]any{"graceDays": 5}).expect(http.StatusForbidden, "Authorization_RequestDenied")
	if st := lw.do("GET", "/allot/v1/lifecycleSettings", ga, nil).expect(http.StatusOK, ""); st["graceDays"] != float64(10) {
		t.Fatalf("refused changes changed the settings: %v", st)
	}
}

// TestCostCountsPaidUnits: the cost report's seats bought are the paid
// units, Enabled and Warning units of subscriptions that are not trials;
// holders fill the free trial units first; a suspended subscription costs
// nothing.
func TestCostCountsPaidUnits(t *testing.T) {
	lw := newLifecycleWorld(t)
	ga := lw.ga
	product := func() map[string]any {
		t.Helper()
		for _, p := range lw.do("GET", "/allot/v1/reports/cost", ga, nil).expect(http.StatusOK, "")["products"].([]any) {
			if p.(map[string]any)["skuId"] == skuE1 {
				return p.(map[string]any)
			}
		}
		t.Fatal("no cost row for the product")
		return nil
	}
	paid := lw.do("POST", "/allot/v1/companySubscriptions", ga, map[string]any{"skuId": skuE1, "quantity": 4, "termEndDateTime": "2025-06-01T00:00:00Z"}).expect(http.StatusCreated, "")
	lw.do("POST", "/allot/v1/companySubscriptions", ga, map[string]any{"skuId": skuE1, "quantity": 3, "isTrial": true, "termEndDateTime": "2026-06-01T00:00:00Z"}).expect(http.StatusCreated, "")
	lw.do("PUT", "/allot/v1/subscriptions/"+skuE1+"/price", ga, map[string]any{"pricePerSeat": "2.00", "currency": "EUR"}).expect(http.StatusOK, "")
	for _, upn := range []string{"a@contoso.example", "b@contoso.example", "c@contoso.example", "d@contoso.example"} {
		u := lw.createUser(ga, upn, "US")
		lw.do("POST", "/v1.0/users/"+u+"/assignLicense", ga, map[string]any{
			"addLicenses": []any{map[string]any{"skuId": skuE1, "disabledPlans": []string{}}}, "removeLicenses": []string{}}).expect(http.StatusOK, "")
	}
	// 4 holders: 3 on the free trial units, 1 on the 4 paid ones.
	if p := product(); p["seatsBought"] != float64(4) || p["seatsConsumed"] != float64(4) || p["seatsIdle"] != float64(3) || p["spend"] != "8.00" || p["idleSpend"] != "6.00" {
		t.Fatalf("with a trial %v", p)
	}
	// The paid subscription's term ends: in grace it is still paid for.
	lw.advance(160 * 24 * time.Hour)
	if s := lw.do("GET", "/allot/v1/companySubscriptions/"+paid["id"].(string), ga, nil).expect(http.StatusOK, ""); s["status"] != "Warning" {
		t.Fatalf("after its term %v", s)
	}
	if p := product(); p["seatsBought"] != float64(4) || p["spend"] != "8.00" {
		t.Fatalf("in grace %v", p)
	}
	// Suspended: nothing is paid for it.
	lw.advance(31 * 24 * time.Hour)
	if p := product(); p["seatsBought"] != float64(0) || p["seatsIdle"] != float64(0) || p["spend"] != "0.00" {
		t.Fatalf("suspended %v", p)
	}
}
