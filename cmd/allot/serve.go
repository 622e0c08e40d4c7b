package main

import (
	"context"
	"crypto/rand"
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

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, demo bool) error {
	fs := newFlags("serve")
	addr := fs.String("addr", env("ALLOT_ADDR", ":8080"), "address to listen on")
	dbPath := fs.String("db", env("ALLOT_DB", "allot.db"), "SQLite database file, or postgres://… URL")
	catFile := fs.String("catalog", env("ALLOT_CATALOG", ""), "catalog file to load (replaces the stored one)")
	opToken := fs.String("operator-token", env("ALLOT_OPERATOR_TOKEN", ""), "bearer secret of the server operator (empty: none); prefer env ALLOT_OPERATOR_TOKEN or --operator-token-file, since a command line is visible to every local user")
	opTokenFile := fs.String("operator-token-file", env("ALLOT_OPERATOR_TOKEN_FILE", ""), "file holding the operator's bearer secret (its first line)")
	publicURL := fs.String("public-url", env("ALLOT_PUBLIC_URL", ""), "the absolute URL clients reach Allot at (e.g. https://licensing.example.com behind a proxy); links such as @odata.nextLink are built on it")
	proxyHeader := fs.String("trusted-proxy-header", env("ALLOT_TRUSTED_PROXY_HEADER", ""), "header a trusted reverse proxy sets to the client's address, e.g. X-Forwarded-For (its last address is used; X-Forwarded-Proto/-Host are then trusted too); empty: the TCP peer")
	secureCookiesEnv, _ := strconv.ParseBool(env("ALLOT_SECURE_COOKIES", "false"))
	secureCookies := fs.Bool("secure-cookies", secureCookiesEnv, "mark admin center cookies Secure on plain HTTP too, behind a TLS-terminating proxy (env ALLOT_SECURE_COOKIES=1)")
	metricsAddr := fs.String("metrics-addr", env("ALLOT_METRICS_ADDR", ""), "also serve /metrics without a token on this separate address (a bare port or :port is loopback only); on the main address /metrics needs the operator token")
	batch := fs.Int("batch-size", 500, "users evaluated per processing transaction at most (batches start smaller and are kept near 100 ms)")
	pause := fs.Duration("batch-pause", 0, "pause between processing batches (throttling)")
	pprofAddr := fs.String("pprof", env("ALLOT_PPROF", ""), "serve net/http/pprof on this separate address (a bare port or :port is loopback only); empty: off")
	metricsTenants := fs.Int("metrics-tenants", api.DefaultMaxTenants, "tenants with their own label in /metrics (the largest by seats); the rest are summed as \"other\"")
	tlsCert := fs.String("tls-cert", env("ALLOT_TLS_CERT", ""), "PEM certificate (chain) file: serve HTTPS (needs --tls-key)")
	tlsKey := fs.String("tls-key", env("ALLOT_TLS_KEY", ""), "PEM private key file of --tls-cert")
	webhookPrivateEnv, _ := strconv.ParseBool(env("ALLOT_WEBHOOK_ALLOW_PRIVATE", "false"))
	webhookPrivate := fs.Bool("webhook-allow-private", webhookPrivateEnv, "let alert webhooks be delivered to loopback, private and link-local addresses (env ALLOT_WEBHOOK_ALLOW_PRIVATE=1); cloud metadata addresses stay refused (docs/ALERTS.md)")
	if demo {
		fs.Lookup("db").DefValue = "(a new temporary file)"
		*dbPath = ""
	}
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	tuneGC()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := operatorToken(fs, opToken, *opTokenFile, log); err != nil {
		return err
	}
	base, err := publicBase(*publicURL)
	if err != nil {
		return err
	}
	tlsConfig, err := loadTLS(*tlsCert, *tlsKey, log)
	if err != nil {
		return err
	}
	if demo && *dbPath == "" {
		dir, err := os.MkdirTemp("", "allot-demo-")
		if err != nil {
			return err
		}
		*dbPath = filepath.Join(dir, "demo.db")
	}
	if demo && *opToken == "" {
		*opToken = randomSecret()
	}
	var cat *allot.Catalog
	if *catFile != "" {
		f, err := os.Open(*catFile)
		if err != nil {
			return err
		}
		cat, err = catalog.Parse(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *catFile, err)
		}
	}
	// The worker is made after the store it drains; a notification sent
	// while opening finds no worker, which is fine since it starts by
	// draining the queue. Later ones come from goroutines started after w is set.
	var w *worker.Worker
	db, err := store.Open(ctx, store.Config{DSN: *dbPath, Catalog: cat, Logger: log, OnEnqueue: func() {
		if w != nil {
			w.Notify()
		}
	}})
	if err != nil {
		return err
	}
	defer db.Close()
	metrics := api.NewMetrics(api.MetricsConfig{Logger: log, MaxTenants: *metricsTenants,
		ReadGauges: func(ctx context.Context, g api.GaugeSink) error { return db.ReadGauges(ctx, g) }})
	w = worker.New(worker.Config{Processor: db, Logger: log, BatchSize: *batch, Pause: *pause, OnBatch: metrics.ObserveBatch})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http://"
	if tlsConfig != nil {
		scheme = "https://"
	}
	url := scheme + displayAddr(ln.Addr())
	if demo {
		signIns, err := seedDemo(ctx, db)
		if err != nil {
			ln.Close()
			return fmt.Errorf("seed demo: %w", err)
		}
		printDemo(stdout, url, *dbPath, *opToken, signIns)
	} else {
		fmt.Fprintf(stdout, "Allot listening on %s (database %s)\n", url, *dbPath)
	}
	apiHandler := api.New(api.Config{Services: db.Services(), Alerts: db, Import: db,
		Logger: log, OperatorToken: *opToken, Ready: db.Ping, Draining: ctx.Done(),
		SCIM: scim.New(scim.Config{Services: db.Services(), Store: db, Logger: log}), Metrics: metrics,
		BaseURL: base, ClientIPHeader: *proxyHeader})
	h, err := withAdminCenter(apiHandler, webOptions{db: db, log: log, secureCookies: *secureCookies, clientIPHeader: *proxyHeader})
	if err != nil {
		ln.Close()
		return err
	}
	h = withMetricsPath(h, apiHandler)
	if *pprofAddr != "" {
		stopPprof, err := servePprof(*pprofAddr, stdout, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopPprof()
	}
	if *metricsAddr != "" {
		stopMetrics, err := serveSide("metrics", *metricsAddr, "/metrics", metrics.Handler(), stdout, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopMetrics()
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         tlsConfig,
	}
	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	go func() { workerDone <- w.Run(wctx) }()
	if *webhookPrivate {
		log.Warn("alert webhooks may be delivered to loopback and private addresses (--webhook-allow-private)")
	}
	alertsDone := startAlerts(wctx, db, log, *webhookPrivate)
	serveDone := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			// The certificate is in srv.TLSConfig already, hence no file names.
			serveDone <- srv.ServeTLS(ln, "", "")
			return
		}
		serveDone <- srv.Serve(ln)
	}()

	select {
	case err = <-serveDone:
	case <-ctx.Done():
	}
	// The worker takes no new batch from now on (the one in hand commits or
	// rolls back whole); HTTP stops accepting and finishes requests in
	// flight; then the store closes. Queued work stays for the next start.
	stopWorker()
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		srv.Close() // requests still running past the deadline are cut
		if err == nil && !errors.Is(serr, context.DeadlineExceeded) {
			err = serr
		}
		log.Warn("shutdown deadline passed; open requests were cut", "err", serr)
	}
	<-workerDone
	<-alertsDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("stopped")
	return err
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
func operatorToken(fs *flag.FlagSet, token *string, file string, log *slog.Logger) error {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--operator-token-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if *token = strings.TrimSpace(line); *token == "" {
			return fmt.Errorf("--operator-token-file: %s holds no token", file)
		}
		return nil
	}
	passed := false
	fs.Visit(func(f *flag.Flag) { passed = passed || f.Name == "operator-token" })
	if passed && *token != "" {
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
