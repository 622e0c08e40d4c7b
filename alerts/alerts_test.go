package alerts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/alerts"
	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

const (
	skuE1    = "18181a46-0d4e-45cd-891e-60aabd171b4e" // STANDARDPACK in the demo catalog
	operator = "alerts-test-operator"
)

func TestSignVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"id":"x"}`)
	sig := alerts.Sign("s3cret-s3cret-s3cret", now, body)
	ts := fmt.Sprint(now.Unix())
	if err := alerts.Verify("s3cret-s3cret-s3cret", ts, sig, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	for name, c := range map[string]struct {
		secret, ts, sig string
		body            []byte
		err             error
	}{
		"OtherSecret":    {"another-secret-xx", ts, sig, body, alerts.ErrBadSignature},
		"TamperedBody":   {"s3cret-s3cret-s3cret", ts, sig, []byte(`{"id":"y"}`), alerts.ErrBadSignature},
		"OtherTimestamp": {"s3cret-s3cret-s3cret", fmt.Sprint(now.Unix() + 1), sig, body, alerts.ErrBadSignature},
		"Stale":          {"s3cret-s3cret-s3cret", fmt.Sprint(now.Add(-time.Hour).Unix()), alerts.Sign("s3cret-s3cret-s3cret", now.Add(-time.Hour), body), body, alerts.ErrStale},
		"Garbage":        {"s3cret-s3cret-s3cret", "soon", sig, body, alerts.ErrBadSignature},
	} {
		t.Run(name, func(t *testing.T) {
			if err := alerts.Verify(c.secret, c.ts, c.sig, c.body, now, 5*time.Minute); err != c.err {
				t.Fatalf("got %v, want %v", err, c.err)
			}
		})
	}
}

// receiver is a webhook endpoint that verifies what it gets.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	got    []received
	fail   int // answer 500 to this many requests first
	seen   map[string]int
}

type received struct {
	header http.Header
	event  alerts.Event
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, seen: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.secret != "" {
			if err := alerts.Verify(r.secret, req.Header.Get(alerts.HeaderTimestamp), req.Header.Get(alerts.HeaderSignature), body, time.Now(), 24*time.Hour); err != nil {
				t.Errorf("delivery %s: %v", req.Header.Get(alerts.HeaderDelivery), err)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		var e alerts.Event
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		if req.Header.Get(alerts.HeaderEvent) != e.Type || e.ID == "" || e.TenantID == "" || e.OccurredAt.IsZero() {
			t.Errorf("headers %v for event %+v", req.Header, e)
		}
		r.seen[req.Header.Get(alerts.HeaderDelivery)]++
		r.got = append(r.got, received{req.Header.Clone(), e})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) events() []alerts.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []alerts.Event
	for _, g := range r.got {
		out = append(out, g.event)
	}
	return out
}

func (r *receiver) types() []string {
	var out []string
	for _, e := range r.events() {
		out = append(out, e.Type)
	}
	return out
}

// world is the real API on a real store, one tenant, and a webhook
// pointing at a receiver.
type world struct {
	t    *testing.T
	db   *store.DB
	h    http.Handler
	ga   string
	rcv  *receiver
	hook map[string]any
	logs *bytes.Buffer
	disp *alerts.Dispatcher
	skew time.Duration // the dispatcher's clock runs this far ahead of the store's
}

func openStore(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{DSN: dsn, Catalog: catalog.Demo(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newWorld(t *testing.T, dsn string, events ...string) *world {
	t.Helper()
	w := &world{t: t, db: openStore(t, dsn), rcv: newReceiver(t), logs: &bytes.Buffer{}}
	w.h = api.New(api.Config{Services: w.db.Services(), Alerts: w.db, OperatorToken: operator, Logger: slog.New(slog.DiscardHandler), FailedAuthPerMinute: -1})
	out := w.call(operator, "POST", "/allot/v1/tenants", `{"displayName":"Contoso","defaultUsageLocation":"US"}`, 201)
	w.ga = out["token"].(map[string]any)["secret"].(string)
	ev, _ := json.Marshal(events)
	if events == nil {
		ev = []byte(`[]`)
	}
	w.hook = w.call(w.ga, "POST", "/allot/v1/alerts/webhooks", `{"url":"`+w.rcv.srv.URL+`/hook","events":`+string(ev)+`}`, 201)
	w.rcv.secret = w.hook["secret"].(string)
	w.disp = w.dispatcher(w.db)
	return w
}

func (w *world) dispatcher(db *store.DB) *alerts.Dispatcher {
	var mu sync.Mutex
	return alerts.NewDispatcher(alerts.DispatcherConfig{
		Outbox:  db,
		Logger:  slog.New(slog.NewJSONHandler(lockedWriter{&mu, w.logs}, nil)),
		Now:     func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(w.skew) },
		Backoff: func(int) time.Duration { return time.Minute },
		// The receiver is an httptest server on 127.0.0.1.
		AllowPrivateDestinations: true,
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (w *world) call(token, method, target, body string, want int) map[string]any {
	w.t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	if rec.Code != want {
		w.t.Fatalf("%s %s: %d, want %d: %s", method, target, rec.Code, want, rec.Body.String())
	}
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return m
}

func (w *world) drain() {
	w.t.Helper()
	for i := 0; ; i++ {
		n, err := w.db.ProcessBatch(context.Background(), 2)
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if i > 1000 {
			w.t.Fatal("queue does not drain")
		}
	}
}

// deliver runs the dispatcher until nothing is due.
func (w *world) deliver() {
	w.t.Helper()
	for {
		n, err := w.disp.RunOnce(context.Background())
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func (w *world) user(name string) string {
	return w.call(w.ga, "POST", "/v1.0/users", `{"displayName":"`+name+`","userPrincipalName":"`+name+`@contoso.com","usageLocation":"US"}`, 201)["id"].(string)
}

func (w *world) group(name string, members ...string) string {
	g := w.call(w.ga, "POST", "/v1.0/groups", `{"displayName":"`+name+`","mailNickname":"`+name+`","mailEnabled":false,"securityEnabled":true}`, 201)["id"].(string)
	for _, m := range members {
		w.call(w.ga, "POST", "/v1.0/groups/"+g+"/members/$ref", `{"@odata.id":"https://x/v1.0/directoryObjects/`+m+`"}`, 204)
	}
	return g
}

func count(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// TestAlertEvents triggers every event type with real operations through
// the API, drains processing, and checks what a receiver gets: each event
// once, signed, with its data; and a log line per event.
func TestAlertEvents(t *testing.T) {
	w := newWorld(t, testdb.DSN(t, false))
	w.call(w.ga, "POST", "/allot/v1/subscriptions", `{"skuId":"`+skuE1+`","seats":2}`, 201)
	a, b, c := w.user("adele"), w.user("bob"), w.user("carol")
	sales := w.group("sales", a, b, c)

	// A refused change raises nothing: the direct assignment below would
	// leave... nothing to refuse yet, so refuse one for a bad SKU instead.
	w.call(w.ga, "POST", "/v1.0/users/"+a+"/assignLicense", `{"addLicenses":[{"skuId":"6fd2c87f-b296-42f0-b197-1e91e994b900"}],"removeLicenses":[]}`, 400)

	// Three members, two seats: the subscription runs out, one member
	// waits, and after the walk the group shows Errors & issues.
	w.call(w.ga, "POST", "/v1.0/groups/"+sales+"/assignLicense", `{"addLicenses":[{"skuId":"`+skuE1+`"}],"removeLicenses":[]}`, 202)
	w.drain()
	w.deliver()
	got := w.rcv.types()
	for _, typ := range []string{alerts.SubscriptionExhausted, alerts.WaitingRoomGrew, alerts.GroupErrors} {
		if count(got, typ) != 1 {
			t.Fatalf("after the walk: %d %s events, want 1; got %v", count(got, typ), typ, got)
		}
	}
	if len(got) != 3 {
		t.Fatalf("after the walk: events %v, want 3", got)
	}
	for _, e := range w.rcv.events() {
		switch e.Type {
		case alerts.GroupErrors:
			if e.Data["groupId"] != sales || e.Data["displayName"] != "sales" || e.Data["membersWithErrors"] != float64(1) {
				t.Errorf("group.errors data %v", e.Data)
			}
		case alerts.SubscriptionExhausted:
			if e.Data["skuId"] != skuE1 || e.Data["skuPartNumber"] != "STANDARDPACK" || e.Data["consumedUnits"] != float64(2) || e.Data["available"] != float64(0) {
				t.Errorf("subscription.exhausted data %v", e.Data)
			}
		case alerts.WaitingRoomGrew:
			if e.Data["skuId"] != skuE1 || e.Data["waiting"] != float64(1) {
				t.Errorf("waitingroom.grew data %v", e.Data)
			}
		}
	}

	// Processing the group again changes nothing: still in Errors &
	// issues, still no seat, and the waiting room within its minute.
	w.call(w.ga, "POST", "/allot/v1/groups/"+sales+"/reprocess", ``, 202)
	w.drain()
	w.deliver()
	if got := w.rcv.types(); len(got) != 3 {
		t.Fatalf("reprocessing raised events again: %v", got)
	}

	// Lowering the seats below the holders over-allocates the subscription.
	w.call(w.ga, "PATCH", "/allot/v1/subscriptions/"+skuE1, `{"seats":1}`, 200)
	w.drain()
	w.deliver()
	if got := w.rcv.types(); count(got, alerts.SubscriptionOverAllocated) != 1 || len(got) != 4 {
		t.Fatalf("after lowering the seats: %v", got)
	}

	// Enough seats for everyone: the group leaves Errors & issues, and a
	// later error in it alerts again.
	w.call(w.ga, "PATCH", "/allot/v1/subscriptions/"+skuE1, `{"seats":10}`, 200)
	w.drain()
	d := w.user("dan")
	w.deliver()
	if got := w.rcv.types(); len(got) != 4 {
		t.Fatalf("with seats for all: %v", got)
	}
	// Seats for exactly the holders: out of seats again.
	w.call(w.ga, "PATCH", "/allot/v1/subscriptions/"+skuE1, `{"seats":3}`, 200)
	w.drain()
	w.deliver()
	if got := w.rcv.types(); len(got) != 5 || count(got, alerts.SubscriptionExhausted) != 2 {
		t.Fatalf("seats = holders: %v", got)
	}
	// A fourth member waits: the group alerts again; the waiting room
	// grew too, but within a minute of its last event, so it stays quiet.
	w.call(w.ga, "POST", "/v1.0/groups/"+sales+"/members/$ref", `{"@odata.id":"https://x/v1.0/directoryObjects/`+d+`"}`, 204)
	w.drain()
	w.deliver()
	if got := w.rcv.types(); len(got) != 6 || count(got, alerts.GroupErrors) != 2 || count(got, alerts.WaitingRoomGrew) != 1 {
		t.Fatalf("a new error in a group that had recovered: %v", got)
	}

	// Deleting the member in error takes the group out of Errors & issues
	// without evaluating anyone; the dispatcher's pruning re-arms the
	// group, so the next member in error alerts again.
	w.call(w.ga, "DELETE", "/v1.0/users/"+d, ``, 204)
	w.drain()
	if err := w.db.PruneAlerts(context.Background(), time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	e := w.user("eve")
	w.call(w.ga, "POST", "/v1.0/groups/"+sales+"/members/$ref", `{"@odata.id":"https://x/v1.0/directoryObjects/`+e+`"}`, 204)
	w.drain()
	w.deliver()
	if got := w.rcv.types(); count(got, alerts.GroupErrors) != 3 {
		t.Fatalf("a new error after the member in error was deleted: %v", got)
	}

	// Every delivery is in the API as delivered after one attempt, and
	// every event has its log line.
	ds := w.call(w.ga, "GET", "/allot/v1/alerts/deliveries?status=delivered", "", 200)["value"].([]any)
	if len(ds) != len(w.rcv.events()) {
		t.Fatalf("%d delivered deliveries, %d received", len(ds), len(w.rcv.events()))
	}
	for _, x := range ds {
		if d := x.(map[string]any); d["attempts"] != float64(1) || d["lastResponseStatus"] != float64(204) {
			t.Errorf("delivery %v", d)
		}
	}
	for _, e := range w.rcv.events() {
		if !strings.Contains(w.logs.String(), `"eventId":"`+e.ID+`"`) || !strings.Contains(w.logs.String(), `"level":"WARN"`) {
			t.Errorf("no warn log line for event %s %s:\n%s", e.Type, e.ID, w.logs.String())
		}
	}
}

// TestAlertFilterAndTest: a webhook gets only the types it subscribed to;
// the test action reaches it even so, and disabled webhooks get nothing.
func TestAlertFilterAndTest(t *testing.T) {
	w := newWorld(t, testdb.DSN(t, false), alerts.SubscriptionOverAllocated)
	w.call(w.ga, "POST", "/allot/v1/subscriptions", `{"skuId":"`+skuE1+`","seats":1}`, 201)
	u := w.user("adele")
	w.call(w.ga, "POST", "/v1.0/users/"+u+"/assignLicense", `{"addLicenses":[{"skuId":"`+skuE1+`"}],"removeLicenses":[]}`, 200) // exhausted: not subscribed to
	id := w.hook["id"].(string)
	del := w.call(w.ga, "POST", "/allot/v1/alerts/webhooks/"+id+"/test", ``, 202)
	if del["status"] != "pending" || del["eventType"] != alerts.Test {
		t.Fatalf("test delivery %v", del)
	}
	w.deliver()
	if got := w.rcv.types(); len(got) != 1 || got[0] != alerts.Test {
		t.Fatalf("got %v, want only the test event", got)
	}
	w.call(w.ga, "PATCH", "/allot/v1/alerts/webhooks/"+id, `{"enabled":false}`, 200)
	w.call(w.ga, "PATCH", "/allot/v1/subscriptions/"+skuE1, `{"seats":0}`, 200) // over-allocated, but the webhook is off
	w.deliver()
	if got := w.rcv.types(); len(got) != 1 {
		t.Fatalf("a disabled webhook got %v", got)
	}
	// Bad input changes nothing.
	w.call(w.ga, "POST", "/allot/v1/alerts/webhooks", `{"url":"file:///etc/passwd"}`, 400)
	w.call(w.ga, "POST", "/allot/v1/alerts/webhooks", `{"url":"https://x.example","events":["group.exploded"]}`, 400)
	w.call(w.ga, "PATCH", "/allot/v1/alerts/webhooks/"+id, `{"url":"gopher://x"}`, 400)
	w.call(w.ga, "PATCH", "/allot/v1/alerts/webhooks/"+id, `{"secret":"short"}`, 400)
	h := w.call(w.ga, "GET", "/allot/v1/alerts/webhooks/"+id, ``, 200)
	if h["url"] != w.rcv.srv.URL+"/hook" || h["enabled"] != false || h["secret"] != nil {
		t.Fatalf("webhook after refused changes: %v", h)
	}
	rot := w.call(w.ga, "PATCH", "/allot/v1/alerts/webhooks/"+id, `{"rotateSecret":true}`, 200)
	if s, _ := rot["secret"].(string); s == "" || s == w.rcv.secret {
		t.Fatalf("rotated secret %v", rot["secret"])
	}
	w.call(w.ga, "DELETE", "/allot/v1/alerts/webhooks/"+id, ``, 204)
	w.call(w.ga, "GET", "/allot/v1/alerts/webhooks/"+id, ``, 404)
}

// TestAlertRetry: the receiver fails twice; the delivery is retried after
// the backoff (the dispatcher's clock is the test's) and then delivered,
// with its three attempts in the API. One that keeps failing past MaxAge
// is marked failed.
func TestAlertRetry(t *testing.T) {
	w := newWorld(t, testdb.DSN(t, false))
	w.rcv.fail = 2
	id := w.hook["id"].(string)
	w.call(w.ga, "POST", "/allot/v1/alerts/webhooks/"+id+"/test", ``, 202)
	step := func(wantAttempts int) {
		t.Helper()
		n, err := w.disp.RunOnce(context.Background())
		if err != nil || n != wantAttempts {
			t.Fatalf("RunOnce: %d attempts, %v; want %d", n, err, wantAttempts)
		}
	}
	step(1) // 500
	step(0) // not due before the backoff
	w.skew += (61 * time.Second)
	ds := w.call(w.ga, "GET", "/allot/v1/alerts/deliveries", "", 200)["value"].([]any)
	if d := ds[0].(map[string]any); d["status"] != "pending" || d["attempts"] != float64(1) || d["lastResponseStatus"] != float64(500) || d["nextAttemptDateTime"] == nil {
		t.Fatalf("after a failed attempt: %v", d)
	}
	step(1) // 500
	w.skew += (61 * time.Second)
	step(1) // delivered
	w.skew += (time.Hour)
	step(0)
	ds = w.call(w.ga, "GET", "/allot/v1/alerts/deliveries?webhookId="+id, "", 200)["value"].([]any)
	if d := ds[0].(map[string]any); d["status"] != "delivered" || d["attempts"] != float64(3) || d["deliveredDateTime"] == nil {
		t.Fatalf("after the retries: %v", d)
	}
	if len(w.rcv.events()) != 1 {
		t.Fatalf("received %d, want 1", len(w.rcv.events()))
	}

	// Giving up: every attempt fails until the delivery is a day old.
	w.rcv.mu.Lock()
	w.rcv.fail = 1 << 30
	w.rcv.mu.Unlock()
	w.call(w.ga, "POST", "/allot/v1/alerts/webhooks/"+id+"/test", ``, 202)
	w.disp = alerts.NewDispatcher(alerts.DispatcherConfig{Outbox: w.db, Logger: slog.New(slog.DiscardHandler), AllowPrivateDestinations: true,
		Now: func() time.Time { return time.Now().Add(w.skew) }, Backoff: func(int) time.Duration { return 5 * time.Hour }})
	for i := 0; i < 10; i++ {
		w.disp.RunOnce(context.Background())
		w.skew += (5*time.Hour + time.Second)
	}
	ds = w.call(w.ga, "GET", "/allot/v1/alerts/deliveries?status=failed", "", 200)["value"].([]any)
	if len(ds) != 1 || ds[0].(map[string]any)["attempts"] != float64(5) {
		t.Fatalf("failed deliveries %v, want one after 5 attempts (0 h … 20 h; the next would pass 24 h)", ds)
	}
}

// TestAlertDispatchersShare: two dispatchers on two connections to one
// database (two replicas) deliver every event exactly once.
func TestAlertDispatchersShare(t *testing.T) {
	dsn := testdb.DSN(t, false)
	w := newWorld(t, dsn)
	id := w.hook["id"].(string)
	const n = 40
	for range n {
		w.call(w.ga, "POST", "/allot/v1/alerts/webhooks/"+id+"/test", ``, 202)
	}
	other := w.dispatcher(openStore(t, dsn))
	var wg sync.WaitGroup
	for _, d := range []*alerts.Dispatcher{w.disp, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, err := d.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	w.deliver() // anything one of them left because the other held it
	w.rcv.mu.Lock()
	defer w.rcv.mu.Unlock()
	if len(w.rcv.seen) != n || len(w.rcv.got) != n {
		t.Fatalf("%d distinct deliveries, %d requests; want %d each", len(w.rcv.seen), len(w.rcv.got), n)
	}
	for id, k := range w.rcv.seen {
		if k != 1 {
			t.Errorf("delivery %s sent %d times", id, k)
		}
	}
}

// TestAlertsSurviveRestart: events raised before the server stops are in
// the outbox after it starts again, and are then logged and delivered.
func TestAlertsSurviveRestart(t *testing.T) {
	dsn := testdb.DSN(t, false)
	w := newWorld(t, dsn)
	w.call(w.ga, "POST", "/allot/v1/subscriptions", `{"skuId":"`+skuE1+`","seats":1}`, 201)
	u := w.user("adele")
	w.call(w.ga, "POST", "/v1.0/users/"+u+"/assignLicense", `{"addLicenses":[{"skuId":"`+skuE1+`"}],"removeLicenses":[]}`, 200)
	if err := w.db.Close(); err != nil {
		t.Fatal(err)
	}
	db := openStore(t, dsn)
	w.disp = w.dispatcher(db)
	w.deliver()
	if got := w.rcv.types(); len(got) != 1 || got[0] != alerts.SubscriptionExhausted {
		t.Fatalf("after a restart: %v", got)
	}
	if !strings.Contains(w.logs.String(), alerts.SubscriptionExhausted) {
		t.Fatalf("no log line after the restart:\n%s", w.logs.String())
	}
}
