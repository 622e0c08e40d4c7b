package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/alerts"
)

// TestCLIAlerts runs `allot alerts …` against a real `allot serve`, whose
// dispatcher delivers to a local receiver: the test event, and an event
// raised by a real change (a subscription running out of seats), both
// signed with the secret `alerts add` printed once.
func TestCLIAlerts(t *testing.T) {
	s := startServer(t, "--webhook-allow-private") // the receiver is on 127.0.0.1
	op := &client{t: t, base: s.url, token: "op-secret"}
	admin := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Contoso", "defaultUsageLocation": "US"})["token"].(map[string]any)["secret"].(string)
	c := &client{t: t, base: s.url, token: admin}
	reader := c.ok(201, "POST", "/allot/v1/tokens", map[string]any{"name": "reader", "role": "GlobalReader"})["secret"].(string)
	w := &cliWorld{t: t, url: s.url, admin: admin, c: c}

	var mu sync.Mutex
	var secret string
	var got []alerts.Event
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := alerts.Verify(secret, r.Header.Get(alerts.HeaderTimestamp), r.Header.Get(alerts.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("delivery %s: %v", r.Header.Get(alerts.HeaderDelivery), err)
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		var e alerts.Event
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
		got = append(got, e)
	}))
	defer rcv.Close()
	waitFor := func(typ string) alerts.Event {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			mu.Lock()
			for _, e := range got {
				if e.Type == typ {
					mu.Unlock()
					return e
				}
			}
			mu.Unlock()
		}
		t.Fatalf("no %s event delivered", typ)
		return alerts.Event{}
	}

	w.fails(1, "http or https", "alerts", "add", "--url", "ftp://files.example/x")
	w.fails(1, "Unknown event type", "alerts", "add", "--url", rcv.URL, "--events", "group.exploded")
	w.fails(2, "--url is required", "alerts", "add")
	r := w.cli("alerts", "list", "--token", reader)
	if r.code != 1 || !strings.Contains(r.stderr, "Authorization_RequestDenied") {
		t.Fatalf("a Global Reader listing webhooks: exit %d %q", r.code, r.stderr)
	}

	added := w.jsonObject("alerts", "add", "--url", rcv.URL+"/hook", "--events", "subscription.exhausted")
	mu.Lock()
	secret, _ = added["secret"].(string)
	mu.Unlock()
	id, _ := added["id"].(string)
	if !strings.HasPrefix(secret, "whsec_") || id == "" {
		t.Fatalf("alerts add: %v", added)
	}
	list := w.jsonList("alerts", "list")
	if len(list) != 1 || list[0]["id"] != id || list[0]["secret"] != nil || list[0]["url"] != rcv.URL+"/hook" {
		t.Fatalf("alerts list: %v", list)
	}
	if table := w.ok("alerts", "list").stdout; !strings.Contains(table, "subscription.exhausted") || strings.Contains(table, secret) {
		t.Fatalf("alerts list table: %q", table)
	}

	if d := w.jsonObject("alerts", "test", id); d["eventType"] != alerts.Test || d["status"] != "pending" {
		t.Fatalf("alerts test: %v", d)
	}
	waitFor(alerts.Test)

	// A real change: the only seat taken.
	c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE1, "seats": 1})
	u := c.ok(201, "POST", "/v1.0/users", map[string]any{"displayName": "Ann", "userPrincipalName": "ann@contoso.example", "usageLocation": "US"})["id"].(string)
	c.ok(200, "POST", "/v1.0/users/"+u+"/assignLicense", map[string]any{"addLicenses": []any{map[string]any{"skuId": demoE1}}, "removeLicenses": []any{}})
	if e := waitFor(alerts.SubscriptionExhausted); e.Data["skuId"] != demoE1 {
		t.Fatalf("event %+v", e)
	}

	var recs [][]string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if recs = w.csv("alerts", "deliveries", "--status", "delivered", "--webhook", id); len(recs) == 3 {
			break
		}
	}
	if len(recs) != 3 || recs[0][0] != "id" || recs[0][3] != "status" {
		t.Fatalf("alerts deliveries -o csv: %v", recs)
	}
	w.fails(1, "pending, delivered or failed", "alerts", "deliveries", "--status", "lost")

	w.ok("alerts", "remove", id)
	if list := w.jsonList("alerts", "list"); len(list) != 0 {
		t.Fatalf("after remove: %v", list)
	}
	w.fails(1, "Request_ResourceNotFound", "alerts", "remove", id)
}
