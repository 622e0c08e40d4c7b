// Package scim is Allot's SCIM 2.0 service provider (RFC 7643, RFC 7644):
// /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas, so
// that identity providers (Microsoft Entra ID, Okta, …) can push users,
// groups and memberships. The protocol — discovery documents, schema
// validation of bodies, PATCH and filter parsing, list and error responses —
// is github.com/elimity-com/scim's; this package maps SCIM resources to
// Allot's and calls the domain's services, so that every change is audited and
// queues license processing exactly as a Graph request would.
//
// The handler expects the API's middleware around it: an authenticated
// actor in the request context, request ids, logging and a body limit.
package scim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/allot-dev/allot"
	scimlib "github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// Prefix is where the service provider is mounted; its base URL (the one an
// identity provider is given as "Tenant URL") is Prefix without the slash.
const Prefix = "/scim/v2/"

// Store is what SCIM needs besides allot.Services (store.DB implements it):
// the externalId identity providers set, which Allot's model does not hold,
// and membership look-ups by id that stay cheap for large groups. Methods
// are scoped to the tenant of the actor in the context.
type Store interface {
	SCIMExternalIDs(ctx context.Context, ids []string) (map[string]string, error)
	SetSCIMExternalID(ctx context.Context, kind, id, externalID string) error
	SCIMFindExternalID(ctx context.Context, kind, externalID string) ([]string, error)
	SCIMObjectKinds(ctx context.Context, ids []string) (map[string]string, error)
	SCIMMembersAmong(ctx context.Context, groupID string, ids []string) (map[string]bool, error)
	SCIMGroupsWithMember(ctx context.Context, memberID string) ([]string, error)
}

// Config configures the handler returned by New.
type Config struct {
	// Services are the domain: users, groups and licenses are used.
	Services allot.Services
	Store    Store
	Logger   *slog.Logger
	// BaseURL is the absolute URL clients reach the server at; resource
	// locations are built on it. Empty: derived from each request.
	BaseURL string
}

// MaxResults is the largest page a list answers (the client's count is
// lowered to it), and so the ServiceProviderConfig's filter.maxResults.
const MaxResults = 500

// Schema URIs.
const (
	userSchemaID       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchemaID      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseSchemaID = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

var allowStrings sync.Once

type handler struct {
	svc     allot.Services
	st      Store
	log     *slog.Logger
	baseURL string
	types   []scimlib.ResourceType
	config  scimlib.ServiceProviderConfig
}

// New returns the SCIM handler, to be mounted at Prefix behind the API's
// authentication.
func New(cfg Config) http.Handler {
	// Microsoft Entra ID sends booleans as strings ("False") unless the
	// application opts in to its fixed behaviour; the library can accept
	// them only through this process-wide switch.
	allowStrings.Do(func() { schema.SetAllowStringValues(true) })
	h := &handler{svc: cfg.Services, st: cfg.Store, log: cfg.Logger, baseURL: strings.TrimRight(cfg.BaseURL, "/")}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.config = scimlib.ServiceProviderConfig{
		AuthenticationSchemes: []scimlib.AuthenticationScheme{{
			Type:        scimlib.AuthenticationTypeOauthBearerToken,
			Name:        "Allot API token",
			Description: "A tenant API token (allot token create) of a role that manages users and groups, sent as 'Authorization: Bearer <token>'.",
			Primary:     true,
		}},
		MaxResults:       MaxResults,
		SupportFiltering: true,
		SupportPatch:     true,
	}
	h.types = []scimlib.ResourceType{
		{
			ID:          optional.NewString("User"),
			Name:        "User",
			Description: optional.NewString("A user of the tenant (an Allot user)."),
			Endpoint:    "/Users",
			Schema:      schema.CoreUserSchema(),
			SchemaExtensions: []scimlib.SchemaExtension{
				{Schema: schema.ExtensionEnterpriseUser()},
			},
			Handler: &users{h},
		},
		{
			ID:          optional.NewString("Group"),
			Name:        "Group",
			Description: optional.NewString("A group of the tenant (an Allot security group)."),
			Endpoint:    "/Groups",
			Schema:      schema.CoreGroupSchema(),
			Handler:     &groups{h},
		},
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := allot.ActorFromContext(r.Context())
	// The API's route already requires user management; SCIM also moves
	// group memberships, so a token needs both.
	if !ok || a.Operator || !a.Role.Can(allot.PermManageUsers) || !a.Role.Can(allot.PermManageGroups) {
		writeError(w, scimerr.ScimError{Status: http.StatusForbidden,
			Detail: "The token's role may not manage users and groups; SCIM needs a Global Administrator or User Administrator token."})
		return
	}
	// Read the body here so that one over the API's limit is a 413 rather
	// than a truncated document the library would call malformed.
	if r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, scimerr.ScimError{Status: http.StatusRequestEntityTooLarge, Detail: "The request body is larger than the server accepts."})
				return
			}
			writeError(w, scimerr.ScimError{Status: http.StatusBadRequest, ScimType: scimerr.ScimTypeInvalidSyntax, Detail: "The request body could not be read."})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(normalizeManager(r, body)))
	}
	if !strings.HasPrefix(r.URL.Path, Prefix) && r.URL.Path != strings.TrimSuffix(Prefix, "/") {
		writeError(w, scimerr.ScimErrorResourceNotFound(r.URL.Path))
		return
	}
	// Filters are parsed here rather than by the library (takeFilter),
	// once they are known to be small enough to parse.
	var bad scimerr.ScimError
	if errors.As(checkFilters(r), &bad) {
		writeError(w, bad)
		return
	}
	r, err := takeFilter(r)
	if errors.As(err, &bad) {
		writeError(w, bad)
		return
	}
	base := h.base(r)
	srv, err := scimlib.NewServer(&scimlib.ServerArgs{ServiceProviderConfig: &h.config, ResourceTypes: h.types},
		scimlib.WithBaseURL(base), scimlib.WithLogger(libLogger{h.log}))
	if err != nil {
		h.log.ErrorContext(r.Context(), "scim: server", slog.Any("error", err))
		writeError(w, scimerr.ScimErrorInternal)
		return
	}
	// The library routes on the path below "/v2".
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/scim")
	r2.URL.RawPath = ""
	srv.ServeHTTP(w, r2)
}

// base is the absolute SCIM base URL that resource locations are built on.
func (h *handler) base(r *http.Request) string {
	root := h.baseURL
	if root == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		} else if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
			scheme = p
		}
		root = (&url.URL{Scheme: scheme, Host: r.Host}).String()
	}
	return root + strings.TrimSuffix(Prefix, "/")
}

// WriteError answers with SCIM's error schema (RFC 7644 §3.12) for errors
// raised before the request reaches the handler: the API's authentication,
// rate limit and body limit answer SCIM clients through it, so that the
// schema is written in one place.
func WriteError(w http.ResponseWriter, status int, detail string) {
	writeError(w, scimerr.ScimError{Status: status, Detail: detail})
}

func writeError(w http.ResponseWriter, e scimerr.ScimError) {
	b, _ := e.MarshalJSON()
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

type libLogger struct{ log *slog.Logger }

func (l libLogger) Error(args ...any) { l.log.Error("scim", slog.Any("detail", args)) }

// scimError maps a domain error to SCIM's error, by the one table of the
// package: the library answers any other error with its text and a 500,
// so every error a resource handler returns passes through here.
func (h *handler) scimError(ctx context.Context, err error) error {
	var se scimerr.ScimError
	if errors.As(err, &se) {
		return se
	}
	msg := allot.ErrorMessage(err)
	switch allot.ErrorCode(err) {
	case allot.EINVALID:
		return scimerr.ScimError{Status: http.StatusBadRequest, ScimType: scimerr.ScimTypeInvalidValue, Detail: msg}
	case allot.EUNSUPPORTEDQUERY:
		return scimerr.ScimError{Status: http.StatusBadRequest, ScimType: scimerr.ScimTypeInvalidFilter, Detail: msg}
	case allot.ECONFLICT:
		return scimerr.ScimError{Status: http.StatusConflict, ScimType: scimerr.ScimTypeUniqueness, Detail: msg}
	case allot.ENOTFOUND:
		return scimerr.ScimError{Status: http.StatusNotFound, Detail: msg}
	case allot.EFORBIDDEN:
		return scimerr.ScimError{Status: http.StatusForbidden, Detail: msg}
	}
	h.log.ErrorContext(ctx, "scim: internal error", slog.Any("error", err))
	return scimerr.ScimError{Status: http.StatusInternalServerError, Detail: "An internal server error occurred."}
}

func badValue(format string, args ...any) error {
	return scimError400(scimerr.ScimTypeInvalidValue, format, args...)
}

func badPath(format string, args ...any) error {
	return scimError400(scimerr.ScimTypeInvalidPath, format, args...)
}

func badFilter(format string, args ...any) error {
	return scimError400(scimerr.ScimTypeInvalidFilter, format, args...)
}

func scimError400(t scimerr.ScimType, format string, args ...any) error {
	return scimerr.ScimError{Status: http.StatusBadRequest, ScimType: t, Detail: fmt.Sprintf(format, args...)}
}

func notFound(id string) error {
	return scimerr.ScimErrorResourceNotFound(id)
}

// validID checks a resource id from a path: Allot's ids are GUIDs, and the
// service would otherwise also resolve a user by userPrincipalName.
func validID(id string) error {
	if !allot.IsID(id) {
		return notFound(id)
	}
	return nil
}
