package main

import (
	"log/slog"
	"net/http"

	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/web"
)

// apiPaths are served by the API; everything else is the admin center's.
var apiPaths = []string{"/v1.0/", "/allot/", "/scim/", "/healthz", "/readyz"}

// withAdminCenter composes the server's one mux: the API handler on its
// paths, the admin center at "/".
// webOptions is what the admin center takes from allot serve's flags.
type webOptions struct {
	db             *store.DB
	log            *slog.Logger
	secureCookies  bool
	clientIPHeader string
}

func withAdminCenter(apiHandler http.Handler, o webOptions) (http.Handler, error) {
	admin, err := web.New(web.Config{Services: o.db.Services(), Alerts: o.db, Logger: o.log, SecureCookies: o.secureCookies, ClientIPHeader: o.clientIPHeader})
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
