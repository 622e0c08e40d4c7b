package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allot-dev/allot/internal/testdb"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestObservability runs the real server with --pprof: the profiles are on
// their own loopback listener and not on the API's, and GET /metrics on the
// server's address reports, after a group is processed by the real worker,
// the seats its holders took and the batches that did it.
func TestObservability(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	tokenFile := filepath.Join(t.TempDir(), "operator-token")
	if err := os.WriteFile(tokenFile, []byte("op-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", testdb.DSN(t, false), "--operator-token-file", tokenFile, "--pprof", "0", "--metrics-addr", "0", "--batch-size", "2"}
	go func() {
		err := run(ctx, args, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("server stopped: %v", err))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	rd := bufio.NewReader(pr)
	var base, pprofURL, metricsURL string
	for base == "" || pprofURL == "" || metricsURL == "" {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("server output: %v", err)
		}
		for _, w := range strings.Fields(line) {
			switch {
			case strings.Contains(line, "pprof") && strings.HasPrefix(w, "http://"):
				pprofURL = w
			case strings.Contains(line, "Metrics") && strings.HasPrefix(w, "http://"):
				metricsURL = w
			case strings.HasPrefix(w, "http://"):
				base = w
			}
		}
	}
	go io.Copy(io.Discard, rd)

	u, err := url.Parse(pprofURL)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "0" {
		t.Fatalf("pprof at %q, want a loopback port", pprofURL)
	}
	get := func(target, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", target, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(pprofURL+"goroutine?debug=1", ""); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("pprof goroutine profile: %d %.200s", code, body)
	}
	if _, body := get(base+"/debug/pprof/goroutine?debug=1", "op-secret"); strings.Contains(body, "goroutine profile") {
		t.Fatal("the profiles are reachable on the API's address")
	}

	op := &client{t: t, base: base, token: "op-secret"}
	out := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Contoso", "defaultUsageLocation": "US"})
	ga := &client{t: t, base: base, token: out["token"].(map[string]any)["secret"].(string)}
	tenant := out["tenant"].(map[string]any)["id"].(string)
	const e1 = "18181a46-0d4e-45cd-891e-60aabd171b4e"
	ga.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": e1, "seats": 3})
	g := ga.ok(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Sales", "mailNickname": "sales", "mailEnabled": false, "securityEnabled": true})["id"].(string)
	for i := range 5 {
		id := ga.ok(201, "POST", "/v1.0/users", map[string]any{"displayName": "u", "userPrincipalName": fmt.Sprintf("u%d@contoso.example", i), "accountEnabled": true})["id"].(string)
		ga.ok(204, "POST", "/v1.0/groups/"+g+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id})
	}
	ga.ok(202, "POST", "/v1.0/groups/"+g+"/assignLicense", lic(e1))
	ga.waitIdle()

	if code, _ := get(base+"/metrics", ""); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without the operator token: %d", code)
	}
	// The metrics listener of its own: loopback, no token.
	if u, err := url.Parse(metricsURL); err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("metrics at %q, want a loopback address", metricsURL)
	}
	if code, body := get(metricsURL, ""); code != 200 || !strings.Contains(body, "allot_seats_consumed") {
		t.Fatalf("the metrics listener: %d %.300s", code, body)
	}
	code, body := get(base+"/metrics", "op-secret")
	if code != 200 {
		t.Fatalf("/metrics: %d %.300s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	find := func(name string, labels map[string]string) (float64, bool) {
		f := fams[name]
		if f == nil {
			return 0, false
		}
	next:
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if w, ok := labels[l.GetName()]; ok && w != l.GetValue() {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
		return 0, false
	}
	seat := map[string]string{"tenant": tenant, "sku": e1}
	if v, ok := find("allot_seats_consumed", seat); !ok || v != 3 {
		t.Errorf("seats consumed %v %v, want 3 (the holders)", v, ok)
	}
	if v, ok := find("allot_users_in_error", map[string]string{"tenant": tenant, "code": "CountViolation"}); !ok || v != 2 {
		t.Errorf("users waiting for a seat %v %v, want 2", v, ok)
	}
	if v, ok := find("allot_batch_duration_seconds", map[string]string{"result": "ok"}); !ok || v < 3 {
		t.Errorf("batches %v %v, want at least 3 (5 members, 2 a batch)", v, ok)
	}
	if v, ok := find("allot_http_requests_total", map[string]string{"route": "POST /v1.0/groups/{id}/assignLicense", "status": "202"}); !ok || v != 1 {
		t.Errorf("assignLicense requests %v %v", v, ok)
	}
}
