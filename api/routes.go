// Package api serves Allot's HTTP API: the Microsoft Graph v1.0 subset of
// SPEC §4.1 under /v1.0 and the Allot extensions of SPEC §4.2 under
// /allot/v1. It speaks to the domain only through allot.Service.
package api

import (
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// Config configures the handler returned by New.
type Config struct {
	Service allot.Service
	Logger  *slog.Logger
	// OperatorToken is the bearer secret of the server operator, who creates
	// tenants and replaces the catalog. Empty disables the operator.
	OperatorToken string
	// BaseURL is the absolute URL clients reach the server at (e.g. behind a
	// proxy); links are built on it. Empty: derived from each request.
	BaseURL string
	Now     func() time.Time
	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// DefaultMaxBodyBytes is Graph's own request size limit (4 MB).
const DefaultMaxBodyBytes = 4 << 20

type server struct {
	svc           allot.Service
	log           *slog.Logger
	operatorToken string
	baseURL       *url.URL
	now           func() time.Time
	maxBody       int64
	mux           *http.ServeMux
}

// handlerFunc returns its error instead of writing it, so that every error
// goes through the one mapping in writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// New returns the API handler. It panics if cfg.BaseURL is set but is not an
// absolute http(s) URL, since every link the server hands out would be wrong.
func New(cfg Config) http.Handler {
	s := &server{
		svc:           cfg.Service,
		log:           cfg.Logger,
		operatorToken: cfg.OperatorToken,
		now:           cfg.Now,
		maxBody:       cfg.MaxBodyBytes,
		mux:           http.NewServeMux(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
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
	h = s.limitBody(h)
	h = s.recoverPanics(h)
	h = s.logRequests(h)
	h = requestID(h)
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
)

func (s *server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})

	g := func(pattern string, acc access, h handlerFunc) { s.mux.Handle(pattern, s.guard(acc, h)) }

	// Graph v1.0 subset (SPEC §4.1).
	g("GET /v1.0/subscribedSkus", readers, s.listSkus)
	g("GET /v1.0/subscribedSkus/{id}", readers, s.getSku)

	g("GET /v1.0/users", readers, s.listUsers)
	g("GET /v1.0/users/$count", readers, s.countUsers)
	g("POST /v1.0/users", userAdmins, s.createUser)
	g("GET /v1.0/users/{id}", readers, s.getUser)
	g("PATCH /v1.0/users/{id}", byHandler, s.updateUser)
	g("DELETE /v1.0/users/{id}", userAdmins, s.deleteUser)
	g("POST /v1.0/users/{id}/assignLicense", licensers, s.assignUserLicense)
	g("POST /v1.0/users/{id}/reprocessLicenseAssignment", licensers, s.reprocessUser)
	g("GET /v1.0/users/{id}/licenseDetails", readers, s.licenseDetails)
	g("GET /v1.0/users/{id}/memberOf", readers, s.memberOf)

	g("GET /v1.0/groups", readers, s.listGroups)
	g("POST /v1.0/groups", groupAdmins, s.createGroup)
	g("GET /v1.0/groups/{id}", readers, s.getGroup)
	g("PATCH /v1.0/groups/{id}", groupAdmins, s.updateGroup)
	g("DELETE /v1.0/groups/{id}", groupAdmins, s.deleteGroup)
	g("GET /v1.0/groups/{id}/members", readers, s.members(false))
	g("GET /v1.0/groups/{id}/members/{cast}", readers, s.members(false))
	g("GET /v1.0/groups/{id}/transitiveMembers", readers, s.members(true))
	g("GET /v1.0/groups/{id}/transitiveMembers/{cast}", readers, s.members(true))
	g("POST /v1.0/groups/{id}/members/$ref", groupAdmins, s.addMember)
	g("DELETE /v1.0/groups/{id}/members/{memberId}/$ref", groupAdmins, s.removeMember)
	g("POST /v1.0/groups/{id}/assignLicense", licensers, s.assignGroupLicense)
	g("GET /v1.0/groups/{id}/membersWithLicenseErrors", readers, s.membersWithLicenseErrors)

	// Allot extensions (SPEC §4.2).
	g("POST /allot/v1/tenants", operatorOnly, s.createTenant)
	g("GET /allot/v1/tenant", readers, s.getTenant)
	g("PATCH /allot/v1/tenant", tenantAdmins, s.updateTenant)
	g("GET /allot/v1/tokens", tenantAdmins, s.listTokens)
	g("POST /allot/v1/tokens", tenantAdmins, s.createToken)
	g("DELETE /allot/v1/tokens/{id}", tenantAdmins, s.revokeToken)
	g("GET /allot/v1/catalog", access{operator: true, tenant: true, perm: allot.PermRead}, s.getCatalog)
	g("PUT /allot/v1/catalog", operatorOnly, s.replaceCatalog)
	g("GET /allot/v1/subscriptions", readers, s.listSubscriptions)
	g("POST /allot/v1/subscriptions", buyers, s.addSubscription)
	g("PATCH /allot/v1/subscriptions/{skuId}", buyers, s.setSeats)
	g("POST /allot/v1/subscriptions/{skuId}/purchase", buyers, s.purchase)
	g("POST /allot/v1/groups/assignLicense", licensers, s.assignGroupsLicense)
	g("POST /allot/v1/groups/{id}/reprocess", licensers, s.reprocessGroup)
	g("POST /allot/v1/users/reprocess", licensers, s.reprocessUsers)
	g("GET /allot/v1/users/{id}/licenseStates", readers, s.licenseStates)
	g("GET /allot/v1/status", readers, s.status)
	g("GET /allot/v1/audit", readers, s.audit)
}

// dispatch routes through the mux but answers its plain-text 404 and 405
// with Graph's envelope, keeping the Allow header the mux sets.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
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

// base is the absolute root that links and @odata.context are built on.
func (s *server) base(r *http.Request) *url.URL {
	if s.baseURL != nil {
		u := *s.baseURL
		return &u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
		scheme = p
	}
	return &url.URL{Scheme: scheme, Host: r.Host}
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
	return strings.TrimRight(s.base(r).String(), "/") + "/v1.0/$metadata#" + fragment
}
