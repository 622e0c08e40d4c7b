// Package web serves Allot's admin center: server-rendered
// pages that do every step of the reference article "Assign or unassign
// licenses to a group" with the same page, tab, button and panel names.
// Templates and assets are embedded and parsed once; a small script adds
// conveniences (suggestions while typing, the next page of users on
// scroll) but every step works without it.
//
// It talks to the domain only through the services of allot.Services
// and alerts.Service given in Config. Every page and action checks the signed-in
// account's role with Role.Can, whatever buttons the page showed.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
	"github.com/allot-dev/allot/internal/httpx"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/*
var staticFS embed.FS

// Config configures the handler returned by New.
type Config struct {
	// Services are the domain; every one is required.
	Services allot.Services
	// Alerts serves Settings › Alerts (docs/ALERTS.md). Nil: those pages
	// answer 404.
	Alerts alerts.Service
	Logger *slog.Logger
	Now    func() time.Time
	// SecureCookies marks cookies Secure even on plain HTTP, for a server
	// behind a TLS-terminating proxy. Requests over TLS always get them.
	SecureCookies bool
	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// PageSize is the number of users on one page of a list; 0 means
	// DefaultPageSize.
	PageSize int
	// SignInsPerMinute limits sign-in attempts from one network address,
	// whatever the usernames: that many at once, then one more each
	// minute/SignInsPerMinute (a token bucket, as the API's limit on failed
	// authentications); 0 means 20.
	SignInsPerMinute int
	// ClientIPHeader names a request header that a trusted reverse proxy
	// sets to the client's address (e.g. "X-Forwarded-For", of which the
	// last address is used), as api.Config.ClientIPHeader. Empty: the
	// address of the TCP peer, which behind a proxy everyone shares. Set it
	// only behind a proxy that overwrites or appends to the header, since
	// clients can send anything in it.
	ClientIPHeader string
}

// DefaultMaxBodyBytes bounds a form: 999 selected GUIDs fit with room to spare.
const DefaultMaxBodyBytes = 256 << 10

type server struct {
	svc      allot.Services
	acc      allot.AccountService // svc.Accounts, named for the many sign-in calls
	alerts   alerts.Service       // nil: no webhooks
	log      *slog.Logger
	now      func() time.Time
	secure   bool
	maxBody  int64
	pageSize int
	pages    map[string]*template.Template
	static   map[string]staticFile
	signIns  *httpx.Limiter // sign-in attempts per client address
	ipHeader string         // canonical; "" for the TCP peer
	mux      *http.ServeMux
}

type staticFile struct {
	body  []byte
	ctype string
	etag  string
}

// New returns the admin center's handler, or an error when an embedded
// template does not parse.
func New(cfg Config) (http.Handler, error) {
	if missing := cfg.Services.Missing(); len(missing) > 0 {
		return nil, fmt.Errorf("web: Config.Services lacks %s", strings.Join(missing, ", "))
	}
	s := &server{
		svc: cfg.Services, acc: cfg.Services.Accounts, alerts: cfg.Alerts, log: cfg.Logger, now: cfg.Now,
		secure: cfg.SecureCookies, maxBody: cfg.MaxBodyBytes, pageSize: cfg.PageSize,
		ipHeader: http.CanonicalHeaderKey(strings.TrimSpace(cfg.ClientIPHeader)),
		mux:      http.NewServeMux(),
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
	if s.pageSize <= 0 || s.pageSize > allot.MaxPageSize {
		s.pageSize = DefaultPageSize
	}
	perMinute := cfg.SignInsPerMinute
	if perMinute <= 0 {
		perMinute = 20
	}
	s.signIns = httpx.NewLimiter(perMinute, time.Minute)
	if err := s.loadStatic(); err != nil {
		return nil, err
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s.handle(s.mux), nil
}

// Permissions of docs/RULES.md §3 as the templates see them.
type perms struct {
	Read, ManageLicenses, EditLocation, ManageUsers, ManageGroups, Purchase, ManageTenant bool
}

func permsOf(r allot.Role) perms {
	return perms{
		Read: r.Can(allot.PermRead), ManageLicenses: r.Can(allot.PermManageLicenses),
		EditLocation: r.Can(allot.PermEditLocation), ManageUsers: r.Can(allot.PermManageUsers),
		ManageGroups: r.Can(allot.PermManageGroups), Purchase: r.Can(allot.PermPurchase),
		ManageTenant: r.Can(allot.PermManageTenant),
	}
}

// EditUser reports whether the role may change anything in the Edit user panel.
func (p perms) EditUser() bool { return p.EditLocation || p.ManageLicenses || p.ManageUsers }

// view is what every page template receives.
type view struct {
	Title    string
	Nav      string // "licenses", "users", "groups", "accounts"
	Actor    allot.Actor
	RoleName string
	Tenant   string
	CSRF     string
	Can      perms
	Flash    *flash
	Static   map[string]string // asset name -> versioned URL
	Data     any
}

var roleNames = map[allot.Role]string{
	allot.RoleGlobalAdministrator:  "Global Administrator",
	allot.RoleLicenseAdministrator: "License Administrator",
	allot.RoleUserAdministrator:    "User Administrator",
	allot.RoleBillingAdministrator: "Billing Administrator",
	allot.RoleGroupAdministrator:   "Group Administrator",
	allot.RoleGlobalReader:         "Global Reader",
}

func roleName(r allot.Role) string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return string(r)
}

func (s *server) parseTemplates() error {
	funcs := template.FuncMap{
		"errorWords":  errorWords,
		"roleName":    roleName,
		"plural":      plural,
		"join":        strings.Join,
		"date":        func(t time.Time) string { return formatTime(t) },
		"countryName": countryName,
		"add":         func(a, b int) int { return a + b },
		"pair":        func(v, d any) map[string]any { return map[string]any{"V": v, "D": d} },
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/preview.html")
	if err != nil {
		return fmt.Errorf("web: templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	s.pages = map[string]*template.Template{}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" || name == "partials.html" || name == "preview.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("web: templates: %w", err)
		}
		s.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return nil
}

func (s *server) loadStatic() error {
	s.static = map[string]staticFile{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(e.Name()))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		s.static[e.Name()] = staticFile{body: b, ctype: ctype, etag: hex.EncodeToString(sum[:8])}
	}
	return nil
}

func (s *server) staticURLs() map[string]string {
	out := make(map[string]string, len(s.static))
	for name, f := range s.static {
		out[name] = "/static/" + name + "?v=" + f.etag
	}
	return out
}

func (s *server) serveStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := s.static[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("ETag", `"`+f.etag+`"`)
	if r.Header.Get("If-None-Match") == `"`+f.etag+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(f.body)
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	s.renderTemplate(w, r, status, page, "layout.html", v)
}

func (s *server) renderTemplate(w http.ResponseWriter, r *http.Request, status int, page, name string, v any) {
	t, ok := s.pages[page]
	if !ok {
		s.log.ErrorContext(r.Context(), "no such template", "page", page)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		s.log.ErrorContext(r.Context(), "rendering", "page", page, "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// newView fills what every page of a signed-in account needs.
func (s *server) newView(w http.ResponseWriter, r *http.Request, title, nav string, data any) *view {
	a, _ := allot.ActorFromContext(r.Context())
	v := &view{Title: title, Nav: nav, Actor: a, RoleName: roleName(a.Role), Can: permsOf(a.Role),
		CSRF: csrfFrom(r.Context()), Static: s.staticURLs(), Data: data}
	if t, err := s.svc.Tenants.Tenant(r.Context()); err == nil {
		v.Tenant = t.DisplayName
	}
	v.Flash = s.takeFlash(w, r)
	return v
}

// DefaultPageSize is the admin center's page of users. Lists load their
// next page when scrolled to the bottom, so a page needs only fill a
// screen or two: a page of 999 rows (Graph's largest) took Chromium about a
// second to lay out on a 10,000-error group panel (docs/PERFORMANCE.md,
// "Admin center page timings").
const DefaultPageSize = 200

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
