package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
)

// stepClock is a clock the test moves by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// send makes one request from the client address remote; auth is the whole
// Authorization header ("" for none).
func send(h http.Handler, method, target, remote, auth, body string, header ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.RemoteAddr = remote
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func tenantFake() *fake {
	return &fake{tenant: func() (*allot.Tenant, error) { return &allot.Tenant{ID: testTenant, DisplayName: "Contoso"}, nil }}
}

// TestFailedAuthRateLimit: after 10 failed authentications in a minute a
// client address (or a token prefix) gets 429 with Retry-After for every
// wrong token until its bucket refills, while a valid token from the same
// address is always served (someone else's failures behind a shared
// address or proxy lock nobody out); other clients and other kinds of
// failure are not affected.
func TestFailedAuthRateLimit(t *testing.T) {
	clk := &stepClock{t: fixedNow}
	logs := &bytes.Buffer{}
	newHandler := func(mutate ...func(*api.Config)) http.Handler {
		cfg := configWith(tenantFake(), api.Config{Logger: slog.New(slog.NewTextHandler(logs, nil)), OperatorToken: opSecret, Now: clk.now})
		for _, m := range mutate {
			m(&cfg)
		}
		return api.New(cfg)
	}
	h := newHandler()
	bad := func(i int) string { return fmt.Sprintf("Bearer wrong-%02d-%s", i, strings.Repeat("x", 20)) }
	good := "Bearer " + ga
	get := func(remote, auth string) *httptest.ResponseRecorder {
		return send(h, "GET", "/allot/v1/tenant", remote, auth, "")
	}
	// expect checks the status and, for a 429, the Retry-After header
	// (6 s unless retry says otherwise: one attempt regained every 6 s).
	expect := func(t *testing.T, rec *httptest.ResponseRecorder, status int, retry ...string) {
		t.Helper()
		if rec.Code != status {
			t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body.String())
		}
		if status == http.StatusTooManyRequests {
			response{rec, t}.expect(status, "TooManyRequests")
			want := "6"
			if len(retry) > 0 {
				want = retry[0]
			}
			if ra := rec.Header().Get("Retry-After"); ra != want {
				t.Fatalf("Retry-After %q, want %s", ra, want)
			}
		}
	}

	const a = "198.51.100.7:4000"
	for i := range api.DefaultFailedAuthPerMinute {
		expect(t, get(a, bad(i)), http.StatusUnauthorized)
	}
	t.Run("EleventhFailureIsRefused", func(t *testing.T) {
		expect(t, get(a, bad(10)), http.StatusTooManyRequests)
	})
	t.Run("TheRightTokenIsServed", func(t *testing.T) {
		expect(t, get(a, good), http.StatusOK)
		expect(t, get("198.51.100.7:5000", good), http.StatusOK)                 // another port, same address
		expect(t, get("198.51.100.7:5000", bad(10)), http.StatusTooManyRequests) // wrong ones still wait
	})
	t.Run("OtherClientsAreServed", func(t *testing.T) {
		expect(t, get("198.51.100.8:4000", good), http.StatusOK)
		expect(t, get("198.51.100.8:4000", bad(0)), http.StatusUnauthorized)
	})
	t.Run("OneAttemptPerSixSeconds", func(t *testing.T) {
		clk.add(5 * time.Second)
		expect(t, get(a, bad(11)), http.StatusTooManyRequests, "1")
		clk.add(time.Second)
		expect(t, get(a, good), http.StatusOK) // success takes nothing
		expect(t, get(a, bad(11)), http.StatusUnauthorized)
		expect(t, get(a, bad(12)), http.StatusTooManyRequests)
	})
	t.Run("AMinuteRefillsTheBucket", func(t *testing.T) {
		clk.add(time.Minute)
		for i := range api.DefaultFailedAuthPerMinute {
			expect(t, get(a, bad(20+i)), http.StatusUnauthorized)
		}
		expect(t, get(a, bad(30)), http.StatusTooManyRequests)
		clk.add(time.Minute)
	})
	t.Run("PerTokenPrefix", func(t *testing.T) {
		// The same token tried from many addresses: a script retrying a
		// revoked token, or a guesser spread over a botnet.
		prefix := "Bearer allot_AAAAAAAAAA"
		for i := range api.DefaultFailedAuthPerMinute {
			expect(t, get(fmt.Sprintf("203.0.113.%d:1", i+1), prefix+fmt.Sprintf("tail%d", i)), http.StatusUnauthorized)
		}
		expect(t, get("203.0.113.200:1", prefix+"another-tail"), http.StatusTooManyRequests)
		expect(t, get("203.0.113.200:1", good), http.StatusOK) // that address did not fail
		clk.add(time.Minute)
	})
	t.Run("MissingTokensAndDenialsDoNotCount", func(t *testing.T) {
		const c = "192.0.2.99:1"
		for range 3 * api.DefaultFailedAuthPerMinute {
			expect(t, get(c, ""), http.StatusUnauthorized)
			expect(t, get(c, "Basic "+ga), http.StatusUnauthorized)
			expect(t, send(h, "POST", "/allot/v1/tenants", c, "Bearer "+reader, `{"displayName":"x"}`), http.StatusForbidden)
		}
		expect(t, get(c, good), http.StatusOK)
	})
	t.Run("IPv6ByPrefix", func(t *testing.T) {
		for i := range api.DefaultFailedAuthPerMinute {
			expect(t, get(fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1), bad(40+i)), http.StatusUnauthorized)
		}
		expect(t, get("[2001:db8:1:2:ffff::1]:443", bad(50)), http.StatusTooManyRequests) // same /64
		expect(t, get("[2001:db8:1:3::1]:443", bad(50)), http.StatusUnauthorized)         // next /64
		clk.add(time.Minute)
	})
	t.Run("BehindAProxy", func(t *testing.T) {
		h := newHandler(func(c *api.Config) { c.ClientIPHeader = "X-Forwarded-For" })
		const proxy = "10.0.0.1:1"
		for i := range api.DefaultFailedAuthPerMinute {
			// A client may put anything first; the proxy appends the truth.
			rec := send(h, "GET", "/allot/v1/tenant", proxy, bad(60+i), "", "X-Forwarded-For", fmt.Sprintf("1.2.3.%d, 198.51.100.50", i))
			expect(t, rec, http.StatusUnauthorized)
		}
		expect(t, send(h, "GET", "/allot/v1/tenant", proxy, bad(70), "", "X-Forwarded-For", "198.51.100.50"), http.StatusTooManyRequests)
		expect(t, send(h, "GET", "/allot/v1/tenant", proxy, good, "", "X-Forwarded-For", "198.51.100.50"), http.StatusOK)
		expect(t, send(h, "GET", "/allot/v1/tenant", proxy, bad(71), "", "X-Forwarded-For", "198.51.100.51"), http.StatusUnauthorized)
	})
	t.Run("Disabled", func(t *testing.T) {
		h := newHandler(func(c *api.Config) { c.FailedAuthPerMinute = -1 })
		for i := range 5 * api.DefaultFailedAuthPerMinute {
			expect(t, send(h, "GET", "/allot/v1/tenant", "192.0.2.200:1", bad(i), ""), http.StatusUnauthorized)
		}
	})
	t.Run("Logged", func(t *testing.T) {
		if !strings.Contains(logs.String(), "rate limit reached") || !strings.Contains(logs.String(), "client=198.51.100.7") {
			t.Errorf("the limit is not logged with the client's address:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), "wrong-") || strings.Contains(logs.String(), "AAAAAAAAAA") {
			t.Errorf("a presented secret was logged:\n%s", logs.String())
		}
	})
}

// TestOperatorToken: only the exact operator secret is the operator; a
// prefix, an extension or another case of it is a failed authentication.
func TestOperatorToken(t *testing.T) {
	c := newClient(t, tenantFake())
	body := `{"displayName":"x"}`
	for _, s := range []string{opSecret[:len(opSecret)-1], opSecret + "x", strings.ToUpper(opSecret), " " + opSecret + "\x00"} {
		c.do("POST", "/allot/v1/tenants", "", body, "Authorization", "Bearer "+s).expect(http.StatusUnauthorized, "InvalidAuthenticationToken")
	}
	// Surrounding spaces are not part of a secret.
	c.do("GET", "/v1.0/users", "", nil, "Authorization", "bearer   "+opSecret+"  ").expect(http.StatusForbidden, "Authorization_RequestDenied")
}

// securityHeaderNames are set on every response of the API.
var securityHeaderNames = map[string]string{
	"X-Content-Type-Options":  "nosniff",
	"Cache-Control":           "no-store",
	"X-Frame-Options":         "DENY",
	"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	"Referrer-Policy":         "no-referrer",
}

func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, v := range securityHeaderNames {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

// TestSecurityHeaders: every response, of every status, carries the
// headers that keep browsers from sniffing, framing or caching it.
func TestSecurityHeaders(t *testing.T) {
	f := tenantFake()
	f.user = func(id string) (*allot.User, error) {
		if id == userID {
			panic("boom")
		}
		return nil, allot.Errorf(allot.ENOTFOUND, "no such user")
	}
	f.updateUser = func(string, allot.UserUpdate) (*allot.User, error) { return &allot.User{}, nil }
	ready := errors.New("down")
	h := api.New(configWith(f, api.Config{Logger: slog.New(slog.DiscardHandler), OperatorToken: opSecret, Now: func() time.Time { return fixedNow },
		MaxBodyBytes: 64, FailedAuthPerMinute: 1, Ready: func(context.Context) error { return ready }}))
	statuses := map[int]bool{}
	for _, tc := range []struct {
		method, target, auth, body string
	}{
		{"GET", "/allot/v1/tenant", "Bearer " + ga, ""},                                               // 200
		{"PATCH", "/v1.0/users/" + userID, "Bearer " + ga, `{"usageLocation":"US"}`},                  // 204
		{"GET", "/v1.0/users?$top=0", "Bearer " + ga, ""},                                             // 400
		{"GET", "/v1.0/users", "", ""},                                                                // 401
		{"POST", "/allot/v1/tenants", "Bearer " + ga, `{"displayName":"x"}`},                          // 403
		{"GET", "/v1.0/users/a@b.c", "Bearer " + ga, ""},                                              // 404
		{"GET", "/v1.0/nowhere", "Bearer " + ga, ""},                                                  // 404 from the mux
		{"PUT", "/v1.0/users", "Bearer " + ga, ""},                                                    // 405
		{"POST", "/v1.0/users", "Bearer " + ga, `{"displayName":"` + strings.Repeat("a", 100) + `"}`}, // 413
		{"GET", "/v1.0/users/" + userID, "Bearer " + ga, ""},                                          // 500 (panic)
		{"GET", "/allot/v1/tenant", "Bearer nope", ""},                                                // 401, empties the bucket
		{"GET", "/allot/v1/tenant", "Bearer nope", ""},                                                // 429
		{"GET", "/healthz", "", ""},                                                                   // 200
		{"GET", "/readyz", "", ""},                                                                    // 503
	} {
		rec := send(h, tc.method, tc.target, "192.0.2.1:1", tc.auth, tc.body)
		statuses[rec.Code] = true
		checkSecurityHeaders(t, fmt.Sprintf("%s %s (%d)", tc.method, tc.target, rec.Code), rec.Header())
		if rec.Header().Get("Strict-Transport-Security") != "" {
			t.Errorf("%s %s: HSTS over plain HTTP", tc.method, tc.target)
		}
	}
	for _, s := range []int{200, 204, 400, 401, 403, 404, 405, 413, 429, 500, 503} {
		if !statuses[s] {
			t.Errorf("no request answered %d; the table no longer covers it", s)
		}
	}
	rec := send(h, "GET", "/healthz", "192.0.2.1:1", "", "", "X-Forwarded-Proto", "https")
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS behind a TLS-terminating proxy")
	}
}

// TestReadyz: /readyz tells a load balancer the truth: 200 only while the
// database answers and the server is not shutting down; /healthz stays
// liveness. Neither needs a token, and neither shows an error's text.
func TestReadyz(t *testing.T) {
	var mu sync.Mutex
	var pingErr error
	draining := make(chan struct{})
	logs := &bytes.Buffer{}
	h := api.New(configWith(tenantFake(), api.Config{Logger: slog.New(slog.NewTextHandler(logs, nil)), Draining: draining,
		Ready: func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("the ready check has no deadline")
			}
			mu.Lock()
			defer mu.Unlock()
			return pingErr
		}}))
	probe := func(path string, status int, text string) {
		t.Helper()
		for _, method := range []string{"GET", "HEAD"} {
			rec := send(h, method, path, "192.0.2.1:1", "", "")
			if rec.Code != status || (method == "GET" && rec.Body.String() != text) {
				t.Fatalf("%s %s: %d %q, want %d %q", method, path, rec.Code, rec.Body.String(), status, text)
			}
		}
	}
	probe("/readyz", 200, "ready")
	probe("/healthz", 200, "ok")

	mu.Lock()
	pingErr = errors.New("dial tcp 10.1.2.3:5432: connection refused (password=hunter2)")
	mu.Unlock()
	probe("/readyz", 503, "database unavailable")
	probe("/healthz", 200, "ok")
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the cause is not logged:\n%s", logs.String())
	}

	mu.Lock()
	pingErr = nil
	mu.Unlock()
	probe("/readyz", 200, "ready")
	close(draining)
	probe("/readyz", 503, "shutting down")
	probe("/healthz", 200, "ok")

	t.Run("WithoutReadyFunc", func(t *testing.T) {
		h := api.New(configWith(tenantFake(), api.Config{Logger: slog.New(slog.DiscardHandler)}))
		if rec := send(h, "GET", "/readyz", "192.0.2.1:1", "", ""); rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("StorePing", func(t *testing.T) {
		db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), Catalog: catalog.Demo()})
		if err != nil {
			t.Fatal(err)
		}
		h := api.New(configWith(db, api.Config{Logger: slog.New(slog.DiscardHandler), Ready: db.Ping}))
		if rec := send(h, "GET", "/readyz", "192.0.2.1:1", "", ""); rec.Code != 200 {
			t.Fatalf("open store: %d %s", rec.Code, rec.Body.String())
		}
		db.Close()
		if rec := send(h, "GET", "/readyz", "192.0.2.1:1", "", ""); rec.Code != 503 {
			t.Fatalf("closed store: %d %s", rec.Code, rec.Body.String())
		}
		if rec := send(h, "GET", "/healthz", "192.0.2.1:1", "", ""); rec.Code != 200 {
			t.Fatalf("healthz with a closed store: %d %s", rec.Code, rec.Body.String())
		}
	})
}

// TestSecretsNeverLogged captures everything the API and the store log,
// at debug level, while secrets are created and presented in every way a
// request can go (success, 400, 401, 403, 404, 429 and 500), and requires
// that no secret, nor the random part of one, ever appears.
func TestSecretsNeverLogged(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), Catalog: catalog.Demo(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const op = "op-very-secret-operator-token-0123456789"
	h := api.New(configWith(db, api.Config{Logger: log, OperatorToken: op, FailedAuthPerMinute: 3}))
	const ip = "192.0.2.10:1"
	secrets := []string{op}
	call := func(method, target, secret, body string, want int) *httptest.ResponseRecorder {
		t.Helper()
		auth := ""
		if secret != "" {
			auth = "Bearer " + secret
		}
		rec := send(h, method, target, ip, auth, body)
		if rec.Code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, target, rec.Code, want, rec.Body.String())
		}
		return rec
	}
	m := response{call("POST", "/allot/v1/tenants", op, `{"displayName":"Contoso","defaultUsageLocation":"US"}`, 201), t}.json()
	gaSecret := m["token"].(map[string]any)["secret"].(string)
	secrets = append(secrets, gaSecret)
	m = response{call("POST", "/allot/v1/tokens", gaSecret, `{"name":"bot","role":"GlobalReader"}`, 201), t}.json()
	readerSecret, readerID := m["secret"].(string), m["id"].(string)
	secrets = append(secrets, readerSecret)

	call("GET", "/v1.0/users", gaSecret, "", 200)
	call("GET", "/v1.0/users?access_token="+gaSecret, gaSecret, "", 200)                                 // a secret in the query
	call("GET", "/v1.0/users/"+strings.Repeat("1", 8)+"-1111-4111-8111-111111111111", gaSecret, "", 404) // not found
	call("POST", "/v1.0/users", gaSecret, `{"displayName":"`+gaSecret+`"`, 400)                          // malformed, secret in the body
	call("POST", "/allot/v1/tenants", gaSecret, `{"displayName":"x"}`, 403)
	call("POST", "/v1.0/users", readerSecret, `{"displayName":"x","userPrincipalName":"x@y"}`, 403)
	call("DELETE", "/allot/v1/tokens/"+readerID, gaSecret, "", 204)
	call("GET", "/v1.0/users", readerSecret, "", 401) // revoked
	wrong := gaSecret[:len(gaSecret)-4] + "AAAA"
	secrets = append(secrets, wrong)
	call("GET", "/v1.0/users", wrong, "", 401)
	call("GET", "/v1.0/users", op+"x", "", 401)   // the third failure empties the bucket
	call("GET", "/v1.0/users", gaSecret, "", 200) // a valid token is served all the same
	call("GET", "/v1.0/users", op+"z", "", 429)
	// A store that fails: the internal error is logged with its cause.
	h = api.New(configWith(db, api.Config{Logger: log, OperatorToken: op}))
	db.Close()
	call("GET", "/v1.0/users", gaSecret, "", 500)
	call("GET", "/v1.0/users", op+"y", "", 401)

	out := logs.String()
	if n := strings.Count(out, "msg=request "); n < 15 {
		t.Fatalf("only %d request lines were logged:\n%s", n, out)
	}
	if !strings.Contains(out, "internal error") {
		t.Fatalf("the internal error was not logged:\n%s", out)
	}
	for _, s := range secrets {
		for _, part := range []string{s, strings.TrimPrefix(s, "allot_"), s[len(s)-16:]} {
			if strings.Contains(out, part) {
				t.Errorf("the log contains a secret (%.10s…):\n%s", part, out)
			}
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the store's and the API's loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
