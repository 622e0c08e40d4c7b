package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/worker"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads GET /metrics and parses Prometheus's text format.
func scrape(t *testing.T, c *client, token string) map[string]*dto.MetricFamily {
	t.Helper()
	r := c.do("GET", "/metrics", token, nil, "Accept", "text/plain")
	if r.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", r.Code, r.Body.String())
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the value of the series of fam with exactly these labels (the
// sum of a counter or gauge; a histogram's count); ok is false if none.
func value(fams map[string]*dto.MetricFamily, fam string, labels ...string) (v float64, ok bool) {
	f := fams[fam]
	if f == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(want) {
			continue
		}
		for _, l := range m.Label {
			if w, ok := want[l.GetName()]; !ok || w != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// labelValues lists the values label takes in fam.
func labelValues(fams map[string]*dto.MetricFamily, fam, label string) map[string]bool {
	out := map[string]bool{}
	if f := fams[fam]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == label {
					out[l.GetValue()] = true
				}
			}
		}
	}
	return out
}

// TestMetricsEndToEnd drives the real handler on a real store: requests,
// a group processed by the real worker, then a scrape whose figures must
// equal what the API itself answers.
func TestMetricsEndToEnd(t *testing.T) {
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, false), Catalog: catalog.Demo()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m := api.NewMetrics(api.MetricsConfig{ReadGauges: func(ctx context.Context, s api.GaugeSink) error { return db.ReadGauges(ctx, s) }})
	w := &world{client: newClient(t, db, func(c *api.Config) { c.Metrics = m }), db: db}
	// No default location: a member without one is in error.
	w.ga = w.newTenant("Contoso", "")
	tenant := w.do("GET", "/allot/v1/tenant", w.ga, nil).expect(http.StatusOK, "")["id"].(string)

	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE1, "seats": 2}).expect(http.StatusCreated, "")
	g := w.createGroup(w.ga, "Sales")
	var users []string
	for _, u := range []struct{ upn, loc string }{{"a@contoso.example", "US"}, {"b@contoso.example", "US"}, {"c@contoso.example", "US"}, {"d@contoso.example", ""}} {
		id := w.createUser(w.ga, u.upn, u.loc)
		users = append(users, id)
		w.addMember(w.ga, g, id)
	}
	w.do("POST", "/v1.0/groups/"+g+"/assignLicense", w.ga, map[string]any{"addLicenses": []any{map[string]any{"skuId": skuE1, "disabledPlans": []string{}}}, "removeLicenses": []string{}}).
		expect(http.StatusAccepted, "")
	for _, id := range users {
		w.do("GET", "/v1.0/users/"+id, w.ga, nil).expect(http.StatusOK, "")
	}
	w.do("GET", "/v1.0/users/"+newTestGUID(), w.ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	w.do("GET", "/no/such/path/"+newTestGUID(), w.ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")

	// Queued, not yet processed: one group item.
	fams := scrape(t, w.client, opSecret)
	if v, _ := value(fams, "allot_queue_items", "tenant", tenant, "kind", "group"); v != 1 {
		t.Fatalf("queued group items %v, want 1", v)
	}

	// The real worker processes the group and reports its batches.
	wk := worker.New(worker.Config{Processor: db, BatchSize: 2, Poll: 10 * time.Millisecond, OnBatch: m.ObserveBatch})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- wk.Run(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st := w.do("GET", "/allot/v1/status", w.ga, nil).expect(http.StatusOK, ""); st["idle"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the group was not processed")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	fams = scrape(t, w.client, opSecret)
	// Requests are counted under the route pattern, never the raw path.
	if v, _ := value(fams, "allot_http_requests_total", "route", "GET /v1.0/users/{id}", "status", "200"); v != 4 {
		t.Errorf("GET /v1.0/users/{id} 200: %v, want 4", v)
	}
	if v, _ := value(fams, "allot_http_requests_total", "route", "GET /v1.0/users/{id}", "status", "404"); v != 1 {
		t.Errorf("GET /v1.0/users/{id} 404: %v, want 1", v)
	}
	if v, _ := value(fams, "allot_http_requests_total", "route", "unmatched", "status", "404"); v != 1 {
		t.Errorf("unmatched 404: %v, want 1", v)
	}
	for r := range labelValues(fams, "allot_http_requests_total", "route") {
		if r != "unmatched" && !strings.Contains(r, " /") {
			t.Errorf("route label %q is not a pattern", r)
		}
		for _, id := range users {
			if strings.Contains(r, id) {
				t.Errorf("route label %q holds an id", r)
			}
		}
	}
	if v, ok := value(fams, "allot_http_request_duration_seconds", "route", "POST /v1.0/groups/{id}/assignLicense"); !ok || v != 1 {
		t.Errorf("duration histogram of assignLicense: %v %v", v, ok)
	}
	// Batches: the walk of 4 members in batches of 2, all evaluated.
	if v, _ := value(fams, "allot_batch_users_total"); v < 4 {
		t.Errorf("users evaluated by batches: %v, want at least 4", v)
	}
	if v, _ := value(fams, "allot_batch_duration_seconds", "result", "ok"); v < 2 {
		t.Errorf("batches observed: %v, want at least 2", v)
	}
	if v, _ := value(fams, "allot_queue_items", "tenant", tenant, "kind", "group"); v != 0 {
		t.Errorf("queued group items after processing %v, want 0", v)
	}
	if v, _ := value(fams, "allot_gauges_read_success"); v != 1 {
		t.Errorf("allot_gauges_read_success %v", v)
	}

	// Seats equal the subscription as the API shows it, and the holders.
	sub := w.do("GET", "/v1.0/subscribedSkus/"+tenant+"_"+skuE1, w.ga, nil).expect(http.StatusOK, "")
	consumed := sub["consumedUnits"].(float64)
	holders := 0
	inError := map[string]int{}
	for _, id := range users {
		u := w.do("GET", "/v1.0/users/"+id+"?$select=id,assignedLicenses,licenseAssignmentStates", w.ga, nil).expect(http.StatusOK, "")
		if len(u["assignedLicenses"].([]any)) > 0 {
			holders++
		}
		codes := map[string]bool{}
		for _, s := range states(u) {
			if s["state"] == "Error" {
				codes[s["error"].(string)] = true
			}
		}
		for c := range codes {
			inError[c]++
		}
	}
	labels := []string{"tenant", tenant, "sku", skuE1, "sku_part_number", "STANDARDPACK"}
	if v, _ := value(fams, "allot_seats_consumed", labels...); v != consumed || v != float64(holders) || v != 2 {
		t.Errorf("seats consumed %v, subscribedSkus %v, holders %d", v, consumed, holders)
	}
	if v, _ := value(fams, "allot_seats_enabled", labels...); v != 2 {
		t.Errorf("seats enabled %v", v)
	}
	if v, ok := value(fams, "allot_seats_available", labels...); !ok || v != 0 {
		t.Errorf("seats available %v %v", v, ok)
	}
	if len(inError) != 2 || inError[string(allot.CountViolation)] != 1 || inError[string(allot.ProhibitedInUsageLocationViolation)] != 1 {
		t.Fatalf("the scenario's users in error: %v", inError)
	}
	for code, n := range inError {
		if v, _ := value(fams, "allot_users_in_error", "tenant", tenant, "code", code); v != float64(n) {
			t.Errorf("users in error %s: %v, want %d", code, v, n)
		}
	}
	if got := labelValues(fams, "allot_users_in_error", "code"); len(got) != len(inError) {
		t.Errorf("codes in the metrics %v, in the states %v", got, inError)
	}
	// The runtime collectors are there too.
	if fams["go_goroutines"] == nil || fams["process_start_time_seconds"] == nil && fams["process_cpu_seconds_total"] == nil {
		t.Error("runtime metrics missing")
	}
	// The request log names the route pattern next to the request id.
	if logs := w.logs.String(); !strings.Contains(logs, `route="GET /v1.0/users/{id}"`) || !strings.Contains(logs, "request_id=") {
		t.Errorf("request log lacks the route pattern or the request id:\n%s", logs[:min(len(logs), 2000)])
	}
}

// TestMetricsAccess: only the operator may scrape the API's /metrics
// (tenant tokens are refused, a missing token is 401); without an operator
// token nobody may there, and the metrics are served only by
// Metrics.Handler on a listener of their own.
func TestMetricsAccess(t *testing.T) {
	c := newClient(t, tenantFake())
	c.do("GET", "/metrics", "", nil).expect(http.StatusUnauthorized, "InvalidAuthenticationToken")
	c.do("GET", "/metrics", string(allot.RoleGlobalAdministrator), nil).expect(http.StatusForbidden, "Authorization_RequestDenied")
	if r := c.do("GET", "/metrics", opSecret, nil); r.Code != http.StatusOK || !strings.Contains(r.Body.String(), "allot_http_requests_total") {
		t.Fatalf("operator: %d %s", r.Code, r.Body.String())
	}
	m := api.NewMetrics(api.MetricsConfig{})
	closed := newClient(t, tenantFake(), func(c *api.Config) { c.OperatorToken = ""; c.Metrics = m })
	closed.do("GET", "/metrics", "", nil).expect(http.StatusUnauthorized, "InvalidAuthenticationToken")
	closed.do("GET", "/metrics", "Bearer-less guess", nil).expect(http.StatusUnauthorized, "InvalidAuthenticationToken")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "allot_") {
		t.Fatalf("the metrics listener's handler: %d %s", rec.Code, rec.Body.String())
	}
	// The description of the API is public either way.
	c.do("GET", "/allot/v1/openapi.json", "", nil).expect(http.StatusOK, "")
}

// fakeGauges reports fixed aggregates of three tenants.
type fakeGauges struct {
	mu    sync.Mutex
	calls int
	fail  error
}

func (f *fakeGauges) read(_ context.Context, s api.GaugeSink) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return f.fail
	}
	now := fixedNow
	s.QueueDepth("big", "user", 10, now.Add(-time.Minute))
	s.QueueDepth("small", "user", 3, now.Add(-time.Hour))
	s.QueueDepth("tiny", "user", 4, now.Add(-2*time.Hour))
	s.Seats("big", skuE1, "STANDARDPACK", 1000, 900)
	s.Seats("small", skuE1, "STANDARDPACK", 10, 12) // over-allocated
	s.Seats("tiny", skuE1, "STANDARDPACK", 5, 1)
	s.UsersInError("small", allot.CountViolation, 2)
	s.UsersInError("tiny", allot.CountViolation, 1)
	s.UsersInError("big", allot.DependencyViolation, 7)
	return nil
}

// TestMetricsTenantLabelsBounded: beyond MaxTenants, the tenants with the
// fewest seats are summed under tenant="other", so the series stay bounded
// whatever the number of tenants; a failed database read is reported, and
// the rest of the scrape still served.
func TestMetricsTenantLabelsBounded(t *testing.T) {
	f := &fakeGauges{}
	m := api.NewMetrics(api.MetricsConfig{ReadGauges: f.read, MaxTenants: 1, Now: func() time.Time { return fixedNow }})
	c := newClient(t, tenantFake(), func(c *api.Config) { c.Metrics = m })
	fams := scrape(t, c, opSecret)
	if got := labelValues(fams, "allot_seats_enabled", "tenant"); len(got) != 2 || !got["big"] || !got["other"] {
		t.Fatalf("tenant labels %v, want big and other", got)
	}
	seat := func(fam, tenant string) float64 {
		v, ok := value(fams, fam, "tenant", tenant, "sku", skuE1, "sku_part_number", "STANDARDPACK")
		if !ok {
			t.Fatalf("%s{tenant=%q} missing", fam, tenant)
		}
		return v
	}
	if seat("allot_seats_enabled", "other") != 15 || seat("allot_seats_consumed", "other") != 13 {
		t.Errorf("other's seats %v/%v, want 15/13", seat("allot_seats_enabled", "other"), seat("allot_seats_consumed", "other"))
	}
	// small is over-allocated by 2; that does not eat tiny's 4 free seats.
	if seat("allot_seats_available", "other") != 4 || seat("allot_seats_available", "big") != 100 {
		t.Errorf("available: other %v, big %v", seat("allot_seats_available", "other"), seat("allot_seats_available", "big"))
	}
	if v, _ := value(fams, "allot_queue_items", "tenant", "other", "kind", "user"); v != 7 {
		t.Errorf("other's queue %v, want 7", v)
	}
	if v, _ := value(fams, "allot_queue_oldest_age_seconds", "tenant", "other", "kind", "user"); v != 7200 {
		t.Errorf("other's oldest item %vs, want 7200", v)
	}
	if v, _ := value(fams, "allot_queue_items", "tenant", "big", "kind", "group"); v != 0 {
		t.Errorf("an empty kind reports %v, want a 0 series", v)
	}
	if v, _ := value(fams, "allot_users_in_error", "tenant", "other", "code", string(allot.CountViolation)); v != 3 {
		t.Errorf("other's users in error %v, want 3", v)
	}
	if v, _ := value(fams, "allot_users_in_error", "tenant", "big", "code", string(allot.DependencyViolation)); v != 7 {
		t.Errorf("big's users in error %v, want 7", v)
	}

	f.mu.Lock()
	f.fail = errors.New("database is down")
	f.mu.Unlock()
	fams = scrape(t, c, opSecret)
	if v, ok := value(fams, "allot_gauges_read_success"); !ok || v != 0 {
		t.Errorf("allot_gauges_read_success %v %v after a failed read", v, ok)
	}
	if fams["allot_http_requests_total"] == nil || fams["allot_seats_enabled"] != nil {
		t.Error("a failed read must drop the database gauges and keep the rest")
	}
}
