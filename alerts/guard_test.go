package alerts_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/alerts"
	"github.com/allot-dev/allot/internal/testdb"
)

// TestCheckAddr: which addresses a delivery may connect to, without and
// with the operator's AllowPrivateDestinations.
func TestCheckAddr(t *testing.T) {
	const (
		public  = iota // always allowed
		private        // allowed only with allowPrivate
		never          // never allowed
	)
	for _, c := range []struct {
		addr string
		want int
	}{
		{"8.8.8.8", public},
		{"1.1.1.1", public},
		{"172.32.0.1", public},
		{"100.128.0.1", public},
		{"2606:4700:4700::1111", public},
		{"::ffff:8.8.8.8", public},
		{"64:ff9b::808:808", public}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", public},  // 6to4 of 8.8.8.8
		{"127.0.0.1", private},
		{"127.255.255.254", private},
		{"10.0.0.5", private},
		{"172.16.0.1", private},
		{"172.31.255.255", private},
		{"192.168.1.1", private},
		{"169.254.1.1", private},
		{"100.64.0.1", private},
		{"100.127.255.255", private},
		{"198.18.0.1", private},
		{"240.0.0.1", private},
		{"::1", private},
		{"fc00::1", private},
		{"fd12:3456::1", private},
		{"fe80::1", private},
		{"fe80::1%eth0", private},
		{"febf::1", private},
		{"::ffff:127.0.0.1", private},
		{"::ffff:10.0.0.1", private},
		{"::ffff:192.168.0.1", private},
		{"::127.0.0.1", private},      // IPv4-compatible
		{"64:ff9b::7f00:1", private},  // NAT64 of 127.0.0.1
		{"2002:c0a8:101::1", private}, // 6to4 of 192.168.1.1
		{"169.254.169.254", never},    // metadata
		{"::ffff:169.254.169.254", never},
		{"64:ff9b::a9fe:a9fe", never},
		{"169.254.170.2", never},
		{"fd00:ec2::254", never},
		{"100.100.100.200", never},
		{"168.63.129.16", never},
		{"0.0.0.0", never},
		{"0.1.2.3", never},
		{"::", never},
		{"::ffff:0.0.0.0", never},
		{"224.0.0.1", never},
		{"239.255.255.250", never},
		{"255.255.255.255", never},
		{"ff02::1", never},
		{"::ffff:224.0.0.1", never},
	} {
		ip := netip.MustParseAddr(c.addr)
		for _, allow := range []bool{false, true} {
			err := alerts.CheckAddr(ip, allow)
			wantOK := c.want == public || c.want == private && allow
			if (err == nil) != wantOK {
				t.Errorf("CheckAddr(%s, allowPrivate=%v) = %v; want allowed %v", c.addr, allow, err, wantOK)
			}
			if err != nil && !errors.Is(err, alerts.ErrDestinationRefused) {
				t.Errorf("CheckAddr(%s) = %v; not ErrDestinationRefused", c.addr, err)
			}
		}
	}
}

// fakeOutbox hands the dispatcher one claim per URL and records the results.
type fakeOutbox struct {
	mu      sync.Mutex
	claims  []alerts.Claim
	results map[string]alerts.Result // by URL
}

func newFakeOutbox(urls ...string) *fakeOutbox {
	o := &fakeOutbox{results: map[string]alerts.Result{}}
	for i, u := range urls {
		o.claims = append(o.claims, alerts.Claim{
			Delivery: alerts.Delivery{ID: "d" + string(rune('a'+i)), EventType: alerts.Test, WebhookID: "w", Status: alerts.StatusPending, Attempts: 1, CreatedAt: time.Now()},
			URL:      u, Secret: "0123456789abcdef", Body: []byte(`{"id":"e","type":"webhook.test","tenantId":"t","occurredAt":"2026-01-01T00:00:00Z","data":{}}`),
		})
	}
	return o
}

func (o *fakeOutbox) ClaimEvents(context.Context, int) ([]alerts.Event, error) { return nil, nil }
func (o *fakeOutbox) ClaimDeliveries(_ context.Context, _ time.Time, _ time.Duration, limit int) ([]alerts.Claim, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := min(limit, len(o.claims))
	out := o.claims[:n]
	o.claims = o.claims[n:]
	return out, nil
}
func (o *fakeOutbox) FinishDelivery(_ context.Context, c alerts.Claim, r alerts.Result) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.results[c.URL] = r
	return nil
}
func (o *fakeOutbox) PruneAlerts(context.Context, time.Time) error { return nil }

// deliverTo makes one attempt at each URL and returns the results by URL,
// and the dispatcher's log.
func deliverTo(t *testing.T, allowPrivate bool, urls ...string) (map[string]alerts.Result, string) {
	t.Helper()
	o := newFakeOutbox(urls...)
	var logs bytes.Buffer
	var mu sync.Mutex
	d := alerts.NewDispatcher(alerts.DispatcherConfig{Outbox: o, Batch: 100, AllowPrivateDestinations: allowPrivate,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))})
	if n, err := d.RunOnce(context.Background()); err != nil || n != len(urls) {
		t.Fatalf("RunOnce: %d, %v; want %d attempts", n, err, len(urls))
	}
	mu.Lock()
	defer mu.Unlock()
	return o.results, logs.String()
}

// TestDeliveryGuard: deliveries to loopback, IPv4-mapped loopback, cloud
// metadata and a host name resolving to loopback are refused before
// connecting — even with a receiver listening there — and store a generic
// error that names no address or port; with AllowPrivateDestinations the
// loopback receiver gets them, and metadata stays refused.
func TestDeliveryGuard(t *testing.T) {
	var mu sync.Mutex
	got := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	port := rcv.Listener.Addr().(*net.TCPAddr).Port
	at := func(host string) string { return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/hook" }
	loopback := []string{at("127.0.0.1"), at("::ffff:127.0.0.1")}
	metadata := []string{at("169.254.169.254"), at("::ffff:169.254.169.254"), at("fd00:ec2::254"), at("0.0.0.0")}
	private := []string{at("10.255.0.1"), at("100.64.0.1"), at("fe80::1"), at("fd12::1")} // refused before any packet is sent
	if haveIPv6() {
		// A host name is checked as each resolved address is dialed:
		// without IPv6, localhost's ::1 would fail making the socket.
		loopback = append(loopback, at("localhost"))
	}

	results, logs := deliverTo(t, false, append(append(append([]string{}, loopback...), metadata...), private...)...)
	for u, r := range results {
		if r.Delivered || r.Error != "connection refused by policy: destination address not allowed" || r.Status != 0 {
			t.Errorf("%s: %+v; want refused by policy", u, r)
		}
		if strings.Contains(r.Error, strconv.Itoa(port)) || strings.Contains(r.Error, "dial tcp") || strings.Contains(r.Error, "127.0.0.1") {
			t.Errorf("%s: the stored error %q shows the network", u, r.Error)
		}
	}
	if got != 0 {
		t.Fatalf("the receiver got %d requests; want none", got)
	}
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "127.0.0.1 is a loopback address") {
		t.Errorf("the detail is not logged:\n%s", logs)
	}

	results, _ = deliverTo(t, true, append(append([]string{}, loopback...), metadata...)...)
	for _, u := range loopback {
		if r := results[u]; !r.Delivered || r.Error != "" {
			t.Errorf("allowed, %s: %+v; want delivered", u, r)
		}
	}
	for _, u := range metadata {
		if r := results[u]; r.Delivered || r.Error != "connection refused by policy: destination address not allowed" {
			t.Errorf("allowed, %s: %+v; want still refused", u, r)
		}
	}
	if got != len(loopback) {
		t.Fatalf("the receiver got %d requests; want %d", got, len(loopback))
	}
}

// TestDeliveryErrorsGeneric: network failures store a generic error.
func TestDeliveryErrorsGeneric(t *testing.T) {
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}))
	defer hangUp.Close()
	untrusted := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors
	untrusted.StartTLS()
	defer untrusted.Close()
	results, logs := deliverTo(t, true, hangUp.URL+"/h", untrusted.URL+"/h", "http://127.0.0.1:99999/h")
	want := map[string]string{
		hangUp.URL + "/h":          "could not connect to the receiver",
		untrusted.URL + "/h":       "TLS handshake with the receiver failed",
		"http://127.0.0.1:99999/h": "could not connect to the receiver", // invalid port
	}
	for u, r := range results {
		if r.Error != want[u] {
			t.Errorf("%s: stored %q; want %q", u, r.Error, want[u])
		}
		if p := portOf(u); strings.Contains(r.Error, p) {
			t.Errorf("%s: the stored error %q shows the port", u, r.Error)
		}
	}
	if strings.Contains(logs, "/h") {
		t.Errorf("the log shows URL paths:\n%s", logs)
	}
}

// TestWebhookURLRefused: a webhook whose host is an address deliveries
// are never sent to is refused when added or changed; loopback and
// private addresses and host names are checked as deliveries connect.
func TestWebhookURLRefused(t *testing.T) {
	w := newWorld(t, testdb.DSN(t, false))
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/", "http://[fd00:ec2::254]/",
		"https://0.0.0.0:8443/h", "http://[::]/h", "http://224.0.0.1/h", "http://100.100.100.200/h"} {
		out := w.call(w.ga, "POST", "/allot/v1/alerts/webhooks", `{"url":"`+u+`"}`, 400)
		if msg, _ := out["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "never sent") {
			t.Errorf("%s: %v", u, out)
		}
		w.call(w.ga, "PATCH", "/allot/v1/alerts/webhooks/"+w.hook["id"].(string), `{"url":"`+u+`"}`, 400)
	}
	w.call(w.ga, "POST", "/allot/v1/alerts/webhooks", `{"url":"http://127.0.0.1:9/h"}`, 201)
	w.call(w.ga, "POST", "/allot/v1/alerts/webhooks", `{"url":"http://metadata.internal/h"}`, 201)
}

// TestDeliveryGuardStored: through the store and the API, a delivery the
// guard refuses lists a generic lastError.
func TestDeliveryGuardStored(t *testing.T) {
	w := newWorld(t, testdb.DSN(t, false))
	w.disp = alerts.NewDispatcher(alerts.DispatcherConfig{Outbox: w.db, Logger: slog.New(slog.DiscardHandler)})
	id := w.hook["id"].(string)
	w.call(w.ga, "POST", "/allot/v1/alerts/webhooks/"+id+"/test", ``, 202)
	if n, err := w.disp.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("RunOnce: %d, %v", n, err)
	}
	ds := w.call(w.ga, "GET", "/allot/v1/alerts/deliveries", "", 200)["value"].([]any)
	d := ds[0].(map[string]any)
	if d["status"] != alerts.StatusPending || d["lastError"] != "connection refused by policy: destination address not allowed" {
		t.Fatalf("delivery %v", d)
	}
	if e, _ := d["lastError"].(string); strings.Contains(e, portOf(w.rcv.srv.URL)) || strings.Contains(e, "dial tcp") {
		t.Fatalf("lastError %q", e)
	}
	if len(w.rcv.events()) != 0 {
		t.Fatal("delivered to loopback without AllowPrivateDestinations")
	}
}

// haveIPv6 tells whether this host can make IPv6 sockets.
func haveIPv6() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func portOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u.Port()
}
