// Package api serves Allot's HTTP API: the Microsoft Graph v1.0 subset of
// docs/COMPATIBILITY.md under /v1.0 and the Allot extensions (api/openapi.json) under
// /allot/v1. It speaks to the domain only through the services of
// allot.Services, alerts.Service and csvio.ImportService given in Config.
package api

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
	"github.com/allot-dev/allot/csvio"
	"github.com/allot-dev/allot/internal/httpx"
)

// Config configures the handler returned by New.
type Config struct {
	// Services are the domain; New panics when one is missing.
	Services allot.Services
	// Alerts serves the webhook routes (docs/ALERTS.md). Nil: they answer 404.
	Alerts alerts.Service
	// Import serves POST /allot/v1/import (docs/IMPORT-EXPORT.md). Nil: it
	// answers 501.
	Import csvio.ImportService
	Logger *slog.Logger
	// OperatorToken is the bearer secret of the server operator, who creates
	// tenants and replaces the catalog. Empty disables the operator.
	OperatorToken string
	// BaseURL is the absolute URL clients reach the server at (e.g. behind a
	// proxy); links are built on it. Empty: derived from each request.
	BaseURL string
	Now     func() time.Time
	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// Ready tells GET /readyz whether the server can serve requests, for
	// example by pinging the database (allot.Pinger); /readyz answers 503
	// while it returns an error. Nil: ready whenever not draining.
	Ready func(ctx context.Context) error
	// Draining, once closed, makes GET /readyz answer 503, so that a load
	// balancer stops sending new requests while the server shuts down.
	// Typically the context that SIGTERM cancels: ctx.Done().
	Draining <-chan struct{}

	// FailedAuthPerMinute is how many failed authentications one client
	// address, and one token prefix, may make in a minute (a token bucket
	// refilled at that rate, holding as many); further attempts get 429
	// with Retry-After. 0 means DefaultFailedAuthPerMinute; negative
	// disables the limit. The buckets live in memory: each replica counts
	// for itself.
	FailedAuthPerMinute int
	// ClientIPHeader names a request header that a trusted reverse proxy
	// sets to the client's address (e.g. "X-Forwarded-For", of which the
	// last address is used). Empty: the address of the TCP peer. Set it only
	// behind a proxy that overwrites or appends to the header, since
	// clients can send anything in it. Setting it also trusts the proxy's
	// X-Forwarded-Proto and X-Forwarded-Host for links when BaseURL is empty.
	ClientIPHeader string

	// Metrics records requests and serves GET /metrics (api/metrics.go).
	// Nil: a Metrics of the API's own, without database aggregates.
	Metrics *Metrics

	// SCIM serves SCIM 2.0 provisioning (package scim) under /scim/v2/,
	// behind this API's authentication, rate limit, request ids, log, body
	// limit and headers. Nil: those routes answer 404.
	SCIM http.Handler
}

// DefaultMaxBodyBytes is Graph's own request size limit (4 MB).
const DefaultMaxBodyBytes = 4 << 20

type server struct {
	svc      allot.Services
	log      *slog.Logger
	opHash   [sha256.Size]byte // SHA-256 of the operator token, compared in constant time
	operator bool              // an operator token is configured
	baseURL  *url.URL
	now      func() time.Time
	maxBody  int64
	mux      *http.ServeMux
	ready    func(ctx context.Context) error
	draining <-chan struct{}
	authFail *httpx.Limiter // failed authentications per client address and token prefix; nil: no limit
	ipHeader string
	metrics  *Metrics
	alerts   alerts.Service      // nil: no webhooks
	importer csvio.ImportService // nil: no CSV import
	scim     http.Handler
	handler  http.Handler // the whole chain, which each step of a $batch goes through
}

// handlerFunc returns its error instead of writing it, so that every error
// goes through the one mapping in writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// New returns the API handler. It panics when a service is missing, or if
// cfg.BaseURL is set but is not an absolute http(s) URL, since every link
// the server hands out would be wrong.
func New(cfg Config) http.Handler {
	s := &server{
		svc:      cfg.Services,
		alerts:   cfg.Alerts,
		log:      cfg.Logger,
		operator: cfg.OperatorToken != "",
		opHash:   sha256.Sum256([]byte(cfg.OperatorToken)),
		now:      cfg.Now,
		maxBody:  cfg.MaxBodyBytes,
		mux:      http.NewServeMux(),
		ready:    cfg.Ready,
		draining: cfg.Draining,
		ipHeader: http.CanonicalHeaderKey(strings.TrimSpace(cfg.ClientIPHeader)),
		metrics:  cfg.Metrics,
		importer: cfg.Import,
		scim:     cfg.SCIM,
	}
	if missing := cfg.Services.Missing(); len(missing) > 0 {
		panic("api: Config.Services lacks " + strings.Join(missing, ", "))
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(MetricsConfig{Logger: s.log})
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	switch n := cfg.FailedAuthPerMinute; {
	case n == 0:
		s.authFail = httpx.NewLimiter(DefaultFailedAuthPerMinute, time.Minute)
	case n > 0:
		s.authFail = httpx.NewLimiter(n, time.Minute)
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			panic("api: Config.BaseURL must be an absolute http(s) URL, got " + cfg.BaseURL)
		}
		s.baseURL = u
	}
	s.routes()

	var h http.Handler = http.HandlerFunc(s.dispatch)
	h = betaAlias(h)
	h = s.limitBody(h)
	h = s.recoverPanics(h)
	h = s.logRequests(h)
	h = requestID(h)
	h = securityHeaders(h)
	s.handler = h
	return h
}

var (
	readers      = access{tenant: true, perm: allot.PermRead}
	licensers    = access{tenant: true, perm: allot.PermManageLicenses}
	userAdmins   = access{tenant: true, perm: allot.PermManageUsers}
	groupAdmins  = access{tenant: true, perm: allot.PermManageGroups}
	buyers       = access{tenant: true, perm: allot.PermPurchase}
	tenantAdmins = access{tenant: true, perm: allot.PermManageTenant}
	byHandler    = access{tenant: true} // the handler checks once it has read the body
	operatorOnly = access{operator: true}
	public       = access{public: true} // no token: the health probes
)

// route is one endpoint of the API: its ServeMux pattern, who may call it
// and its handler. The table is data so that tests can walk every route
// (api/authz_test.go fails when a route has no row in its matrix).
type route struct {
	pattern string
	access  access
	handler handlerFunc
}

func (s *server) routeTable() []route {
	return []route{
		// Probes for load balancers and orchestrators, without a token.
		{"GET /healthz", public, s.healthz},
		{"GET /readyz", public, s.readyz},
		// Prometheus scrapes with the operator token (open without one);
		// the API description is public (api/openapi.go).
		{"GET /metrics", scrapers, s.serveMetrics},
		{"GET /allot/v1/openapi.json", public, s.openAPI},

		// Graph v1.0 subset (docs/COMPATIBILITY.md).
		{"GET /v1.0/subscribedSkus", readers, s.listSkus},
		{"GET /v1.0/subscribedSkus/{id}", readers, s.getSku},
		{"POST /v1.0/$batch", byHandler, s.batch},
		{"GET /v1.0/organization", readers, s.organization},
		{"GET /v1.0/organization/{id}", readers, s.organization},
		{"GET /v1.0/directory/subscriptions", readers, s.directorySubscriptions},
		{"GET /v1.0/directory/subscriptions/{id}", readers, s.directorySubscriptions},
		// Deleted users and groups (api/deleted.go, docs/DELETED-ITEMS.md).
		// Restoring or purging a user also needs PermManageUsers, which
		// the handler checks once it knows the item's kind.
		{"GET /v1.0/directory/deletedItems/microsoft.graph.user", readers, s.listDeleted(allot.MemberUser)},
		{"GET /v1.0/directory/deletedItems/microsoft.graph.group", readers, s.listDeleted(allot.MemberGroup)},
		{"GET /v1.0/directory/deletedItems/{id}", readers, s.getDeleted},
		{"POST /v1.0/directory/deletedItems/{id}/restore", groupAdmins, s.restoreDeleted},
		{"DELETE /v1.0/directory/deletedItems/{id}", groupAdmins, s.purgeDeleted},
		// The audit log as Graph's directoryAudit (api/auditlogs.go),
		// readable by whoever may read /allot/v1/audit.
		{"GET /v1.0/auditLogs/directoryAudits", readers, s.listDirectoryAudits},
		{"GET /v1.0/auditLogs/directoryAudits/{id}", readers, s.getDirectoryAudit},

		{"GET /v1.0/users", readers, s.listUsers},
		{"GET /v1.0/users/$count", readers, s.countUsers},
		// Delta (api/delta.go), also by the names Graph's SDKs call it by.
		{"GET /v1.0/users/delta", readers, s.usersDelta},
		{"GET /v1.0/users/delta()", readers, s.usersDelta},
		{"GET /v1.0/users/microsoft.graph.delta()", readers, s.usersDelta},
		{"POST /v1.0/users", userAdmins, s.createUser},
		{"GET /v1.0/users/{id}", readers, s.getUser},
		{"PATCH /v1.0/users/{id}", byHandler, s.updateUser},
		{"DELETE /v1.0/users/{id}", userAdmins, s.deleteUser},
		{"POST /v1.0/users/{id}/assignLicense", licensers, s.assignUserLicense},
		{"POST /v1.0/users/{id}/reprocessLicenseAssignment", licensers, s.reprocessUser},
		{"GET /v1.0/users/{id}/licenseDetails", readers, s.licenseDetails},
		{"GET /v1.0/users/{id}/memberOf", readers, s.memberOf(false)},
		{"GET /v1.0/users/{id}/transitiveMemberOf", readers, s.memberOf(true)},

		{"GET /v1.0/groups", readers, s.listGroups},
		{"GET /v1.0/groups/delta", readers, s.groupsDelta},
		{"GET /v1.0/groups/delta()", readers, s.groupsDelta},
		{"GET /v1.0/groups/microsoft.graph.delta()", readers, s.groupsDelta},
		{"POST /v1.0/groups", groupAdmins, s.createGroup},
		{"GET /v1.0/groups/{id}", readers, s.getGroup},
		{"PATCH /v1.0/groups/{id}", groupAdmins, s.updateGroup},
		{"DELETE /v1.0/groups/{id}", groupAdmins, s.deleteGroup},
		{"GET /v1.0/groups/{id}/members", readers, s.members(false)},
		{"GET /v1.0/groups/{id}/members/{cast}", readers, s.members(false)},
		{"GET /v1.0/groups/{id}/transitiveMembers", readers, s.members(true)},
		{"GET /v1.0/groups/{id}/transitiveMembers/{cast}", readers, s.members(true)},
		{"POST /v1.0/groups/{id}/members/$ref", groupAdmins, s.addMember},
		{"DELETE /v1.0/groups/{id}/members/{memberId}/$ref", groupAdmins, s.removeMember},
		{"POST /v1.0/groups/{id}/assignLicense", licensers, s.assignGroupLicense},
		{"POST /v1.0/groups/evaluateDynamicMembership", readers, s.evaluateDynamicMembership},
		{"POST /v1.0/groups/{id}/evaluateDynamicMembership", readers, s.evaluateDynamicMembership},
		{"GET /v1.0/groups/{id}/membersWithLicenseErrors", readers, s.membersWithLicenseErrors},
		{"GET /v1.0/groups/{id}/membersWithLicenseErrors/$count", readers, s.membersWithLicenseErrorsCount},

		// Allot extensions (api/openapi.json).
		{"POST /allot/v1/tenants", operatorOnly, s.createTenant},
		{"GET /allot/v1/tenant", readers, s.getTenant},
		{"PATCH /allot/v1/tenant", tenantAdmins, s.updateTenant},
		{"GET /allot/v1/tokens", tenantAdmins, s.listTokens},
		{"POST /allot/v1/tokens", tenantAdmins, s.createToken},
		{"DELETE /allot/v1/tokens/{id}", tenantAdmins, s.revokeToken},
		{"GET /allot/v1/catalog", access{operator: true, tenant: true, perm: allot.PermRead}, s.getCatalog},
		{"PUT /allot/v1/catalog", operatorOnly, s.replaceCatalog},
		{"GET /allot/v1/subscriptions", readers, s.listSubscriptions},
		{"POST /allot/v1/subscriptions", buyers, s.addSubscription},
		{"PATCH /allot/v1/subscriptions/{skuId}", buyers, s.setSeats},
		{"POST /allot/v1/subscriptions/{skuId}/purchase", buyers, s.purchase},
		// Commercial subscriptions and their lifecycle (api/lifecycle.go);
		// the service checks what the route table cannot (settings need a
		// Global Administrator).
		{"GET /allot/v1/companySubscriptions", readers, s.listCompanySubscriptions},
		{"POST /allot/v1/companySubscriptions", buyers, s.createCompanySubscription},
		{"GET /allot/v1/companySubscriptions/{id}", readers, s.getCompanySubscription},
		{"PATCH /allot/v1/companySubscriptions/{id}", buyers, s.setCompanySubscriptionQuantity},
		{"POST /allot/v1/companySubscriptions/{id}/renew", buyers, s.subscriptionAction("renew")},
		{"POST /allot/v1/companySubscriptions/{id}/cancel", buyers, s.subscriptionAction("cancel")},
		{"POST /allot/v1/companySubscriptions/{id}/reactivate", buyers, s.subscriptionAction("reactivate")},
		{"POST /allot/v1/companySubscriptions/{id}/convertTrial", buyers, s.subscriptionAction("convertTrial")},
		{"GET /allot/v1/lifecycleSettings", readers, s.getLifecycleSettings},
		{"PATCH /allot/v1/lifecycleSettings", tenantAdmins, s.setLifecycleSettings},
		{"POST /allot/v1/groups/assignLicense", licensers, s.assignGroupsLicense},
		{"POST /allot/v1/groups/validateRule", readers, s.validateRule},
		{"POST /allot/v1/groups/{id}/reprocess", licensers, s.reprocessGroup},
		{"POST /allot/v1/users/reprocess", licensers, s.reprocessUsers},
		{"GET /allot/v1/users/{id}/licenseStates", readers, s.licenseStates},
		{"GET /allot/v1/status", readers, s.status},
		{"GET /allot/v1/audit", readers, s.audit},
		// What-if preview (docs/PREVIEW.md): the handler requires what the
		// changes it is given would require.
		{"POST /allot/v1/preview", byHandler, s.preview},

		// Waiting room, cost and policy (docs/WAITING-ROOM-COST-POLICY.md).
		{"GET /allot/v1/subscriptions/{skuId}/waitingRoom", readers, s.waitingRoom},
		{"PUT /allot/v1/subscriptions/{skuId}/price", buyers, s.setPrice},
		{"DELETE /allot/v1/subscriptions/{skuId}/price", buyers, s.clearPrice},
		{"GET /allot/v1/reports/cost", readers, s.costReport},
		{"GET /allot/v1/policy", readers, s.getPolicy},
		{"PATCH /allot/v1/policy", tenantAdmins, s.setPolicy},

		// Alerts (docs/ALERTS.md, api/alerts.go): webhook URLs may carry
		// secrets, so even reading them takes a Global Administrator.
		{"GET /allot/v1/alerts/webhooks", tenantAdmins, s.listWebhooks},
		{"POST /allot/v1/alerts/webhooks", tenantAdmins, s.createWebhook},
		{"GET /allot/v1/alerts/webhooks/{id}", tenantAdmins, s.getWebhook},
		{"PATCH /allot/v1/alerts/webhooks/{id}", tenantAdmins, s.updateWebhook},
		{"DELETE /allot/v1/alerts/webhooks/{id}", tenantAdmins, s.deleteWebhook},
		{"POST /allot/v1/alerts/webhooks/{id}/test", tenantAdmins, s.testWebhook},
		{"GET /allot/v1/alerts/deliveries", tenantAdmins, s.listDeliveries},

		// CSV import and export (docs/IMPORT-EXPORT.md); import checks its
		// files against the roles once it knows which files it was given.
		{"POST /allot/v1/import", byHandler, s.importCSV},
		{"GET /allot/v1/export/users", readers, s.exportUsers},
		{"GET /allot/v1/export/directory/users", readers, s.exportDirectoryUsers},
		{"GET /allot/v1/export/groups/{id}/membersWithLicenseErrors", readers, s.exportMemberErrors},
		{"GET /allot/v1/export/audit", readers, s.exportAudit},

		// SCIM 2.0 provisioning (docs/SCIM.md) for identity providers; the
		// handler also requires group management and answers in SCIM's format.
		{"GET /scim/v2/{path...}", userAdmins, s.serveSCIM},
		{"POST /scim/v2/{path...}", userAdmins, s.serveSCIM},
		{"PUT /scim/v2/{path...}", userAdmins, s.serveSCIM},
		{"PATCH /scim/v2/{path...}", userAdmins, s.serveSCIM},
		{"DELETE /scim/v2/{path...}", userAdmins, s.serveSCIM},
	}
}

// serveSCIM hands an authenticated request to the SCIM handler.
func (s *server) serveSCIM(w http.ResponseWriter, r *http.Request) error {
	if s.scim == nil {
		return &statusError{http.StatusNotFound, "Request_ResourceNotFound", "SCIM provisioning is not enabled on this server."}
	}
	s.scim.ServeHTTP(w, r)
	return nil
}

func (s *server) routes() {
	for _, rt := range s.routeTable() {
		if rt.access.public {
			s.mux.Handle(rt.pattern, s.open(rt.handler))
		} else {
			s.mux.Handle(rt.pattern, s.guard(rt.access, rt.handler))
		}
	}
}

// betaAlias serves /beta as /v1.0: Graph's beta endpoint is a superset,
// and scripts written against it read the same properties of the subset
// Allot serves. Links in the answer keep the /beta the caller used.
func betaAlias(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		info.version = "/v1.0"
		if rest, ok := strings.CutPrefix(r.URL.Path, "/beta"); ok && (rest == "" || rest[0] == '/') {
			info.version = "/beta"
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = "/v1.0"+rest, ""
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// version is the Graph version segment the caller used, for links.
func version(r *http.Request) string {
	if v := infoFrom(r.Context()).version; v != "" {
		return v
	}
	return "/v1.0"
}

// dispatch routes through the mux but answers its plain-text 404 and 405
// with Graph's envelope, keeping the Allow header the mux sets.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		infoFrom(r.Context()).route = pattern
		s.mux.ServeHTTP(w, r)
		return
	}
	iw := &interceptWriter{ResponseWriter: w}
	s.mux.ServeHTTP(iw, r)
	switch iw.code {
	case http.StatusNotFound:
		s.writeError(w, r, &statusError{http.StatusNotFound, "Request_ResourceNotFound",
			"Resource not found for the segment '" + path.Base(r.URL.Path) + "'."})
	case http.StatusMethodNotAllowed:
		s.writeError(w, r, errMethod)
	}
}

// interceptWriter swallows the mux's own 404 and 405 responses and lets
// anything else (its redirects to a cleaned path) through.
type interceptWriter struct {
	http.ResponseWriter
	code int
}

func (w *interceptWriter) WriteHeader(code int) {
	if code == http.StatusNotFound || code == http.StatusMethodNotAllowed {
		w.code = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *interceptWriter) Write(b []byte) (int, error) {
	if w.code != 0 {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// base is the absolute root that links and @odata.context are built on:
// Config.BaseURL when set (what a deployment should do). Otherwise the
// request's own scheme and Host, and X-Forwarded-Proto/-Host only behind a
// trusted proxy (Config.ClientIPHeader set): a header any client can send
// must not decide where another client's next page points. A Host that is
// not a plain host[:port] falls back to the address the request came in on.
func (s *server) base(r *http.Request) *url.URL {
	if s.baseURL != nil {
		u := *s.baseURL
		return &u
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if s.ipHeader != "" {
		if p := strings.ToLower(strings.TrimSpace(lastValue(r.Header.Get("X-Forwarded-Proto")))); p == "https" || p == "http" {
			scheme = p
		}
		if h := strings.TrimSpace(lastValue(r.Header.Get("X-Forwarded-Host"))); validHost(h) {
			host = h
		}
	}
	if !validHost(host) {
		host = "localhost"
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			host = a.String()
		}
	}
	return &url.URL{Scheme: scheme, Host: host}
}

// lastValue is the last of a comma-separated header's values: the one the
// nearest (trusted) proxy wrote.
func lastValue(v string) string {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		return v[i+1:]
	}
	return v
}

// validHost accepts a DNS name, an IPv4 address or a bracketed IPv6
// address, with an optional port: nothing that could carry a path, user
// information or another URL.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	name, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		if _, err := netip.ParseAddr(h[1:end]); err != nil {
			return false
		}
		name, port = "", strings.TrimPrefix(h[end+1:], ":")
		if port == "" && len(h) > end+1 {
			return false
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		name, port = h[:i], h[i+1:]
		if port == "" {
			return false
		}
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return false
		}
	}
	for _, label := range strings.Split(name, ".") {
		if name == "" {
			break
		}
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// metadata returns Graph's @odata.context for fragment, e.g. "users" or
// "users/$entity"; a $select list is shown the way Graph shows it.
func (s *server) metadata(r *http.Request, fragment string, sel []string) string {
	if len(sel) > 0 {
		set, rest, _ := strings.Cut(fragment, "/")
		fragment = set + "(" + strings.Join(sel, ",") + ")"
		if rest != "" {
			fragment += "/" + rest
		}
	}
	return strings.TrimRight(s.base(r).String(), "/") + version(r) + "/$metadata#" + fragment
}
