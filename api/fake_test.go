package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/csvio"
)

// domain is every service the API is given, as one value: a fake or the
// store.
type domain interface {
	allot.TenantService
	allot.TokenService
	allot.SubscriptionService
	allot.UserService
	allot.GroupService
	allot.LicenseService
	allot.AuditService
	allot.WaitingRoomService
	allot.CostService
	allot.PolicyService
	allot.PreviewService
	allot.AccountService
	allot.DeletedItemsService
}

// config is the API's configuration for d, with alerts, import and
// subscription lifecycles when d offers them (the store does, fakes do not).
func config(d domain) api.Config {
	cfg := api.Config{Services: allot.Services{
		Tenants: d, Tokens: d, Subscriptions: d, Users: d, Groups: d, Licenses: d,
		Audit: d, WaitingRoom: d, Cost: d, Policy: d, Preview: d, Accounts: d,
		Deleted: d,
	}}
	cfg.Alerts, _ = d.(alerts.Service)
	cfg.Import, _ = d.(csvio.ImportService)
	cfg.Services.Lifecycle, _ = d.(allot.LifecycleService)
	return cfg
}

// fake implements only what a test needs: any other method is a
// nil-interface call, which panics, which the recovery middleware turns
// into a 500 that the test then fails on.
type fake struct {
	domain
	createUser  func(allot.UserCreate) (*allot.User, error)
	updateUser  func(string, allot.UserUpdate) (*allot.User, error)
	user        func(string) (*allot.User, error)
	listUsers   func(allot.ListOptions) (*allot.Page[allot.User], error)
	assignGroup func(string, []allot.AssignedLicense, []string) (*allot.Group, error)
	tenant      func() (*allot.Tenant, error)
}

const (
	testTenant = "11111111-1111-4111-8111-111111111111"
	opSecret   = "operator-secret"
)

// Each role's token secret is the role's name.
func (f *fake) Authenticate(_ context.Context, secret string) (allot.Actor, error) {
	r := allot.Role(secret)
	if !r.Valid() {
		return allot.Actor{}, allot.Errorf(allot.EUNAUTHORIZED, "bad token")
	}
	return allot.Actor{TenantID: testTenant, Role: r, Name: secret, TokenID: "t-" + secret}, nil
}

func (f *fake) CreateUser(_ context.Context, u allot.UserCreate) (*allot.User, error) {
	return f.createUser(u)
}

func (f *fake) UpdateUser(_ context.Context, id string, u allot.UserUpdate) (*allot.User, error) {
	return f.updateUser(id, u)
}

func (f *fake) User(_ context.Context, id string) (*allot.User, error) { return f.user(id) }

func (f *fake) ListUsers(_ context.Context, o allot.ListOptions) (*allot.Page[allot.User], error) {
	return f.listUsers(o)
}

func (f *fake) AssignGroupLicense(_ context.Context, id string, add []allot.AssignedLicense, rm []string) (*allot.Group, error) {
	return f.assignGroup(id, add, rm)
}

func (f *fake) Tenant(context.Context) (*allot.Tenant, error) { return f.tenant() }

var fixedNow = time.Date(2025, 7, 14, 16, 14, 5, 0, time.UTC)

type client struct {
	t    *testing.T
	h    http.Handler
	logs *bytes.Buffer
}

func newClient(t *testing.T, d domain, mutate ...func(*api.Config)) *client {
	t.Helper()
	logs := &bytes.Buffer{}
	cfg := config(d)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	cfg.OperatorToken = opSecret
	cfg.Now = func() time.Time { return fixedNow }
	for _, m := range mutate {
		m(&cfg)
	}
	return &client{t: t, h: api.New(cfg), logs: logs}
}

type response struct {
	*httptest.ResponseRecorder
	t *testing.T
}

// do sends a request with token as the bearer secret ("" for none); body is
// sent verbatim when a string, else JSON-encoded.
func (c *client) do(method, target, token string, body any, header ...string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, target, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return response{rec, c.t}
}

// json decodes the body as an object.
func (r response) json() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &m); err != nil {
		r.t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body.String())
	}
	return m
}

// expect checks the status and, for errors, the Graph code.
func (r response) expect(status int, code string) map[string]any {
	r.t.Helper()
	if r.Code != status {
		r.t.Fatalf("status %d, want %d; body %s", r.Code, status, r.Body.String())
	}
	if status == http.StatusNoContent {
		return nil
	}
	if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "text/plain") {
		r.t.Fatalf("Content-Type %q", ct)
	}
	if !strings.HasPrefix(r.Header().Get("Content-Type"), "application/json") {
		return nil
	}
	m := r.json()
	if code != "" {
		e, _ := m["error"].(map[string]any)
		if e == nil || e["code"] != code {
			r.t.Fatalf("error code: got %s, want %s", r.Body.String(), code)
		}
	}
	return m
}

func errMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// configWith is cfg with d's services.
func configWith(d domain, cfg api.Config) api.Config {
	c := config(d)
	cfg.Services, cfg.Alerts, cfg.Import = c.Services, c.Alerts, c.Import
	return cfg
}
