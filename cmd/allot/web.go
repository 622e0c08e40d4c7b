package main

import (
	"log/slog"
	"net/http"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/web"
)

// apiPaths are served by the API; everything else is the admin center's.
// The bare prefixes are the API's too, so that a Graph or SCIM client
// that gets a path wrong reads a JSON 404, never the admin center's sign-in
// page or a redirect to it.
var apiPaths = []string{"/v1.0/", "/beta/", "/allot/", "/scim/", "/v1.0", "/beta", "/allot", "/scim", "/healthz", "/readyz"}

// webOptions is what the admin center takes from allot serve's flags.
type webOptions struct {
	db             *store.DB
	log            *slog.Logger
	secureCookies  bool
	clientIPHeader string
	sso            allot.OIDCService // nil: no single sign-on
}

// withAdminCenter composes the server's one mux: the API handler on its
// paths, the admin center at "/".
func withAdminCenter(apiHandler http.Handler, o webOptions) (http.Handler, error) {
	svc := o.db.Services()
	svc.OIDC = o.sso
	admin, err := web.New(web.Config{Services: svc, Alerts: o.db, Logger: o.log, SecureCookies: o.secureCookies, ClientIPHeader: o.clientIPHeader})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, p := range apiPaths {
		mux.Handle(p, apiHandler)
	}
	mux.Handle("/", admin)
	return mux, nil
}
