package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/scim"
	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/worker"
)

// cmdServe is `allot serve`, or `allot demo` with demo: parse the flags,
// make the server, run it until ctx ends (SIGINT, SIGTERM), close it.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, demo bool) error {
	cfg, err := parseServeFlags(args, demo)
	if err != nil {
		return err
	}
	tuneGC()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	s, err := newServer(ctx, cfg, stdout, log)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run(ctx)
}

// serveCommand is `allot serve`, or `allot demo` with demo.
func serveCommand(demo bool) runFunc {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdServe(ctx, args, stdout, stderr, demo)
	}
}

// serveConfig is allot serve's flags and their environment variables.
type serveConfig struct {
	demo                 bool
	addr, db, catalog    string
	opToken, opTokenFile string
	opTokenOnCommandLine bool // --operator-token was passed, where ps shows it
	publicURL            string
	proxyHeader          string
	secureCookies        bool
	metricsAddr          string
	metricsTenants       int
	batch                int
	pause                time.Duration
	pprofAddr            string
	tlsCert, tlsKey      string
	webhookPrivate       bool
	ssoKeyFile           string
}

func parseServeFlags(args []string, demo bool) (*serveConfig, error) {
	c := &serveConfig{demo: demo}
	fs := newFlags("serve")
	fs.StringVar(&c.addr, "addr", env("ALLOT_ADDR", ":8080"), "address to listen on")
	fs.StringVar(&c.db, "db", env("ALLOT_DB", "allot.db"), "SQLite database file, or postgres://… URL")
	fs.StringVar(&c.catalog, "catalog", env("ALLOT_CATALOG", ""), "catalog file to load (replaces the stored one)")
	fs.StringVar(&c.opToken, "operator-token", env("ALLOT_OPERATOR_TOKEN", ""), "bearer secret of the server operator (empty: none); prefer env ALLOT_OPERATOR_TOKEN or --operator-token-file, since a command line is visible to every local user")
	fs.StringVar(&c.opTokenFile, "operator-token-file", env("ALLOT_OPERATOR_TOKEN_FILE", ""), "file holding the operator's bearer secret (its first line)")
	fs.StringVar(&c.publicURL, "public-url", env("ALLOT_PUBLIC_URL", ""), "the absolute URL clients reach Allot at (e.g. https://licensing.example.com behind a proxy); links such as @odata.nextLink are built on it")
	fs.StringVar(&c.proxyHeader, "trusted-proxy-header", env("ALLOT_TRUSTED_PROXY_HEADER", ""), "header a trusted reverse proxy sets to the client's address, e.g. X-Forwarded-For (its last address is used; X-Forwarded-Proto/-Host are then trusted too); empty: the TCP peer")
	secureCookies, _ := strconv.ParseBool(env("ALLOT_SECURE_COOKIES", "false"))
	fs.BoolVar(&c.secureCookies, "secure-cookies", secureCookies, "mark admin center cookies Secure on plain HTTP too, behind a TLS-terminating proxy (env ALLOT_SECURE_COOKIES=1)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", env("ALLOT_METRICS_ADDR", ""), "also serve /metrics without a token on this separate address (a bare port or :port is loopback only); on the main address /metrics needs the operator token")
	fs.IntVar(&c.batch, "batch-size", worker.DefaultBatchSize, "users evaluated per processing transaction at most (batches start smaller and are kept near 100 ms)")
	fs.DurationVar(&c.pause, "batch-pause", 0, "pause between processing batches (throttling)")
	fs.StringVar(&c.pprofAddr, "pprof", env("ALLOT_PPROF", ""), "serve net/http/pprof on this separate address (a bare port or :port is loopback only); empty: off")
	fs.IntVar(&c.metricsTenants, "metrics-tenants", api.DefaultMaxTenants, "tenants with their own label in /metrics (the largest by seats); the rest are summed as \"other\"")
	fs.StringVar(&c.tlsCert, "tls-cert", env("ALLOT_TLS_CERT", ""), "PEM certificate (chain) file: serve HTTPS (needs --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", env("ALLOT_TLS_KEY", ""), "PEM private key file of --tls-cert")
	webhookPrivate, _ := strconv.ParseBool(env("ALLOT_WEBHOOK_ALLOW_PRIVATE", "false"))
	fs.BoolVar(&c.webhookPrivate, "webhook-allow-private", webhookPrivate, "let alert webhooks be delivered to loopback, private and link-local addresses (env ALLOT_WEBHOOK_ALLOW_PRIVATE=1); cloud metadata addresses stay refused (docs/ALERTS.md)")
	fs.StringVar(&c.ssoKeyFile, "sso-key-file", env("ALLOT_SSO_KEY_FILE", ""), "file holding the 32-byte key (base64) that single sign-on client secrets are sealed with; turns on sign-in through each tenant's identity provider (docs/SSO.md)")
	if demo {
		fs.Lookup("db").DefValue = "(a new temporary file)"
		c.db = ""
	}
	if err := fs.Parse(args); err != nil {
		return nil, exitError(2)
	}
	fs.Visit(func(f *flag.Flag) { c.opTokenOnCommandLine = c.opTokenOnCommandLine || f.Name == "operator-token" })
	return c, nil
}

// allotServer is a running Allot: the store, the worker that drains its queue,
// the alert dispatcher, the HTTP server on the main address and the side
// servers (metrics, pprof).
type allotServer struct {
	cfg      *serveConfig
	log      *slog.Logger
	db       *store.DB
	worker   *worker.Worker
	ln       net.Listener
	http     *http.Server
	stopSide []func() // the side servers
}

// newServer opens the store and the listener and builds the handlers; on
// an error it closes what it had opened.
func newServer(ctx context.Context, cfg *serveConfig, stdout io.Writer, log *slog.Logger) (_ *allotServer, err error) {
	s := &allotServer{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	base, tlsConfig, cat, err := cfg.prepare(log)
	if err != nil {
		return nil, err
	}
	// The worker is made after the store it drains; a notification sent
	// while opening finds no worker, which is fine since it starts by
	// draining the queue. Later ones come from goroutines started after
	// s.worker is set.
	s.db, err = store.Open(ctx, store.Config{DSN: cfg.db, Catalog: cat, Logger: log, OnEnqueue: func() {
		if s.worker != nil {
			s.worker.Notify()
		}
	}})
	if err != nil {
		return nil, err
	}
	metrics := api.NewMetrics(api.MetricsConfig{Logger: log, MaxTenants: cfg.metricsTenants,
		ReadGauges: func(ctx context.Context, g api.GaugeSink) error { return s.db.ReadGauges(ctx, g) }})
	// On PostgreSQL the listener wakes the worker when any replica queues
	// work (Run), so the poll is only for what no notification announces:
	// work a replica that died had claimed, and subscription steps falling
	// due (store.RunScheduled).
	poll := time.Second
	if store.IsPostgres(cfg.db) {
		poll = 5 * time.Second
	}
	s.worker = worker.New(worker.Config{Processor: s.db, Logger: log, BatchSize: cfg.batch, Pause: cfg.pause, Poll: poll, OnBatch: metrics.ObserveBatch})

	if s.ln, err = net.Listen("tcp", cfg.addr); err != nil {
		return nil, err
	}
	if err := s.announce(ctx, stdout, tlsConfig != nil); err != nil {
		return nil, err
	}
	apiHandler := api.New(api.Config{Services: s.db.Services(), Alerts: s.db, Import: s.db,
		Logger: log, OperatorToken: cfg.opToken, Ready: s.db.Ping, Draining: ctx.Done(),
		SCIM: scim.New(scim.Config{Services: s.db.Services(), Store: s.db, Logger: log}), Metrics: metrics,
		BaseURL: base, ClientIPHeader: cfg.proxyHeader})
	sso, err := openSSO(s.db, cfg.ssoKeyFile, base)
	if err != nil {
		return nil, err
	}
	h, err := withAdminCenter(apiHandler, webOptions{db: s.db, log: log, secureCookies: cfg.secureCookies, clientIPHeader: cfg.proxyHeader, sso: sso})
	if err != nil {
		return nil, err
	}
	if err := s.startSide(stdout, metrics.Handler()); err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler:           withMetricsPath(h, apiHandler),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         tlsConfig,
	}
	return s, nil
}

// prepare checks and completes the configuration before anything is
// opened: the operator token, the public URL, the TLS files, the demo's
// database and token, and the catalog file.
func (c *serveConfig) prepare(log *slog.Logger) (base string, tlsConfig *tls.Config, cat *allot.Catalog, err error) {
	if err := operatorToken(c, log); err != nil {
		return "", nil, nil, err
	}
	if base, err = publicBase(c.publicURL); err != nil {
		return "", nil, nil, err
	}
	if tlsConfig, err = loadTLS(c.tlsCert, c.tlsKey, log); err != nil {
		return "", nil, nil, err
	}
	if c.demo && c.db == "" {
		dir, err := os.MkdirTemp("", "allot-demo-")
		if err != nil {
			return "", nil, nil, err
		}
		c.db = filepath.Join(dir, "demo.db")
	}
	if c.demo && c.opToken == "" {
		c.opToken = randomSecret()
	}
	if c.catalog != "" {
		if cat, err = loadCatalog(c.catalog); err != nil {
			return "", nil, nil, err
		}
	}
	return base, tlsConfig, cat, nil
}

func loadCatalog(path string) (*allot.Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cat, err := catalog.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cat, nil
}

// announce prints where the server listens; the demo first seeds its
// tenant and prints its sign-ins.
func (s *allotServer) announce(ctx context.Context, stdout io.Writer, https bool) error {
	scheme := "http://"
	if https {
		scheme = "https://"
	}
	at := scheme + displayAddr(s.ln.Addr())
	if !s.cfg.demo {
		fmt.Fprintf(stdout, "Allot listening on %s (database %s)\n", at, s.cfg.db)
		return nil
	}
	signIns, err := seedDemo(ctx, s.db)
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	printDemo(stdout, at, s.cfg.db, s.cfg.opToken, signIns)
	return nil
}

// startSide starts the side servers asked for: pprof, then metrics.
func (s *allotServer) startSide(stdout io.Writer, metrics http.Handler) error {
	if s.cfg.pprofAddr != "" {
		stop, err := servePprof(s.cfg.pprofAddr, stdout, s.log)
		if err != nil {
			return err
		}
		s.stopSide = append(s.stopSide, stop)
	}
	if s.cfg.metricsAddr != "" {
		stop, err := serveSide("metrics", s.cfg.metricsAddr, "/metrics", metrics, stdout, s.log)
		if err != nil {
			return err
		}
		s.stopSide = append(s.stopSide, stop)
	}
	return nil
}

// shutdownTimeout is how long requests in flight may take to finish once
// the server stops; those still running then are cut.
const shutdownTimeout = 20 * time.Second

// Run serves until ctx ends or the HTTP server fails, then stops in this
// order, which docs/OPERATIONS.md ("Checks") describes:
//  1. /readyz answers 503 as soon as ctx ends (the API's Draining), so
//     that a load balancer sends no more requests;
//  2. the worker and the alert dispatcher take no new batch (the one in
//     hand commits or rolls back whole);
//  3. HTTP stops accepting and finishes the requests in flight, cut after
//     shutdownTimeout;
//  4. Run waits for the worker and the dispatcher to return.
//
// Close then stops the side servers and closes the store last, since
// everything before uses it. Queued work stays for the next start.
func (s *allotServer) Run(ctx context.Context) error {
	wctx, stopWorker := context.WithCancel(context.Background())
	defer stopWorker()
	workerDone := make(chan error, 1)
	go func() { workerDone <- s.worker.Run(wctx) }()
	listenDone := make(chan error, 1)
	go func() { listenDone <- s.db.Listen(wctx, s.worker.Notify) }()
	if s.cfg.webhookPrivate {
		s.log.Warn("alert webhooks may be delivered to loopback and private addresses (--webhook-allow-private)")
	}
	alertsDone := startAlerts(wctx, s.db, s.log, s.cfg.webhookPrivate)
	serveDone := make(chan error, 1)
	go func() {
		if s.http.TLSConfig != nil {
			// The certificate is in TLSConfig already, hence no file names.
			serveDone <- s.http.ServeTLS(s.ln, "", "")
			return
		}
		serveDone <- s.http.Serve(s.ln)
	}()

	var err error
	select {
	case err = <-serveDone:
	case <-ctx.Done():
	}
	stopWorker()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if serr := s.http.Shutdown(sctx); serr != nil {
		s.http.Close() // requests still running past the deadline are cut
		if err == nil && !errors.Is(serr, context.DeadlineExceeded) {
			err = serr
		}
		s.log.Warn("shutdown deadline passed; open requests were cut", "err", serr)
	}
	<-workerDone
	<-listenDone
	<-alertsDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	s.log.Info("stopped")
	return err
}

// Close stops the side servers and closes the listener, if it was never
// served, and the store. It is for after Run, or for a server newServer
// could not finish.
func (s *allotServer) Close() {
	for i := len(s.stopSide) - 1; i >= 0; i-- {
		s.stopSide[i]()
	}
	if s.ln != nil && s.http == nil {
		s.ln.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("localhost:%d", tcp.Port)
		}
	}
	return a.String()
}

func randomSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "op_" + hex.EncodeToString(b)
}

func printDemo(w io.Writer, url, db, opToken string, signIns []signIn) {
	fmt.Fprintf(w, "Allot demo is running at %s (database %s)\n\n", url, db)
	fmt.Fprintf(w, "Bearer tokens for the demo tenant, one per role:\n")
	for _, s := range signIns {
		fmt.Fprintf(w, "  %-22s %s\n", s.role, s.token)
	}
	fmt.Fprintf(w, "  %-22s %s\n\n", "operator", opToken)
	fmt.Fprintf(w, "Sign in to the admin center at %s/ with one account per role:\n", url)
	for _, s := range signIns {
		fmt.Fprintf(w, "  %-22s username %-16s password %s\n", s.role, s.username, s.password)
	}
	fmt.Fprintln(w)
	if len(signIns) > 0 {
		fmt.Fprintf(w, "Try:\n  curl -s -H 'Authorization: Bearer %s' %s/v1.0/subscribedSkus\n", signIns[0].token, url)
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' '%s/v1.0/groups?$filter=hasMembersWithLicenseErrors eq true'\n\n", signIns[0].token, url)
	}
}

// withMetricsPath sends GET /metrics, where Prometheus looks by default,
// to the API, which serves it; everything else goes to h.
func withMetricsPath(h, apiHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", apiHandler)
	mux.Handle("/", h)
	return mux
}

// maxHeaderBytes bounds a request's headers: a bearer token, a session
// cookie and a URL whose query options are themselves capped at a few KB
// ($filter and SCIM filters at 4 KB) fit many times over, while a
// megabyte-long URL, the vehicle of parser attacks, does not.
const maxHeaderBytes = 64 << 10

// servePprof serves the runtime profiles on a listener of their own, so
// that they are never reachable through the API's address.
func servePprof(addr string, stdout io.Writer, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index) // also the named profiles: heap, goroutine, …
	mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	return serveSide("pprof", addr, "/debug/pprof/", mux, stdout, log)
}

// serveSide serves h on a listener of its own, for what must not be on the
// public address (profiles, unauthenticated metrics). A bare port or
// ":port" binds to the loopback interface: exposing them further must be
// asked for with a host.
func serveSide(name, addr, path string, h http.Handler, stdout io.Writer, log *slog.Logger) (stop func(), err error) {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", name, err)
	}
	// No write timeout: a CPU profile or trace streams for ?seconds=N.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: maxHeaderBytes}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+" server stopped", "err", err)
		}
	}()
	fmt.Fprintf(stdout, "%s on http://%s%s\n", sideTitle[name], ln.Addr(), path)
	return func() { srv.Close() }, nil
}

var sideTitle = map[string]string{"pprof": "Profiling (pprof)", "metrics": "Metrics (Prometheus, no token)"}

// operatorToken reads the operator's secret from --operator-token-file
// when given, and warns when it came on the command line, where ps shows
// it to every local user.
func operatorToken(c *serveConfig, log *slog.Logger) error {
	if c.opTokenFile != "" {
		b, err := os.ReadFile(c.opTokenFile)
		if err != nil {
			return fmt.Errorf("--operator-token-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if c.opToken = strings.TrimSpace(line); c.opToken == "" {
			return fmt.Errorf("--operator-token-file: %s holds no token", c.opTokenFile)
		}
		return nil
	}
	if c.opTokenOnCommandLine && c.opToken != "" {
		log.Warn("the operator token was given on the command line, where other local users can read it; use ALLOT_OPERATOR_TOKEN or --operator-token-file")
	}
	return nil
}

// publicBase checks --public-url: an absolute http or https URL without
// query or fragment.
func publicBase(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("--public-url %q: want an absolute http(s) URL such as https://licensing.example.com", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}
