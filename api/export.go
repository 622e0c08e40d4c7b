package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
)

// The CSV exports (docs/IMPORT-EXPORT.md) are read a page of the store at
// a time and written as they are read, so that a tenant of a million users
// is never held in memory. Every cell goes through csvio.Protect.

// exportPage is how many objects each read of an export takes.
const exportPage = allot.MaxPageSize

// exportWriteTime is how long the client may take to receive one page; the
// write deadline moves on with every page, so that a large export is not
// cut by the server's WriteTimeout while it makes progress.
const exportWriteTime = 2 * time.Minute

// csvExport writes one CSV response.
type csvExport struct {
	s  *server
	w  http.ResponseWriter
	r  *http.Request
	rc *http.ResponseController
	cw *csvio.Writer
}

// start sends the headers and the header row. Errors before it are still
// answered with Graph's envelope; after it, see fail.
func (s *server) startExport(w http.ResponseWriter, r *http.Request, name string, header ...string) *csvExport {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+"-"+s.now().UTC().Format("20060102T150405Z")+`.csv"`)
	w.WriteHeader(http.StatusOK)
	e := &csvExport{s: s, w: w, r: r, rc: http.NewResponseController(w), cw: csvio.NewWriter(w)}
	_ = e.rc.SetWriteDeadline(time.Now().Add(exportWriteTime))
	e.row(header...)
	return e
}

func (e *csvExport) row(cells ...string) {
	if err := e.cw.Write(cells...); err != nil {
		e.fail(err)
	}
}

// flush sends what is buffered and gives the next page its time.
func (e *csvExport) flush() {
	if err := e.cw.Flush(); err != nil {
		e.fail(err)
	}
	_ = e.rc.Flush()
	_ = e.rc.SetWriteDeadline(time.Now().Add(exportWriteTime))
}

// fail ends an export that has started: the status is sent already, so the
// connection is cut rather than the file ended, and the client sees an
// incomplete response instead of a file that looks whole.
func (e *csvExport) fail(err error) {
	info := infoFrom(e.r.Context())
	e.s.log.ErrorContext(e.r.Context(), "export cut short", slog.String("request_id", info.id),
		slog.String("path", e.r.URL.Path), slog.Any("error", err))
	panic(http.ErrAbortHandler)
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// groupNames looks groups up once each, for the names of license sources.
type groupNames struct {
	svc   allot.Services
	ctx   context.Context
	known map[string]*allot.Group
}

func (g *groupNames) get(id string) *allot.Group {
	if x, ok := g.known[id]; ok {
		return x
	}
	x, err := g.svc.Groups.Group(g.ctx, id)
	if err != nil {
		x = &allot.Group{ID: id} // deleted meanwhile: its id still says which
	}
	g.known[id] = x
	return x
}

var userExportHeader = []string{"userPrincipalName", "displayName", "usageLocation", "accountEnabled", "id",
	"skuPartNumber", "skuId", "source", "groupMailNickname", "groupDisplayName", "groupId",
	"state", "error", "detail", "lastUpdatedDateTime"}

// exportUsers serves GET /allot/v1/export/users: every user with each of
// its license states (one row per user, SKU and source; a user without
// licenses has one row with the license columns empty).
func (s *server) exportUsers(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	ctx := r.Context()
	opt := allot.ListOptions{Top: exportPage, WithLicensing: true}
	page, err := s.svc.Users.ListUsers(ctx, opt)
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	names := &groupNames{svc: s.svc, ctx: ctx, known: map[string]*allot.Group{}}
	e := s.startExport(w, r, "users", userExportHeader...)
	exportPages(e, page, func(u allot.User) {
		base := []string{u.UserPrincipalName, u.DisplayName, u.UsageLocation, strconv.FormatBool(u.AccountEnabled), u.ID}
		if len(u.States) == 0 {
			e.row(append(base, make([]string, len(userExportHeader)-len(base))...)...)
			return
		}
		for _, st := range u.States {
			source, nick, gname := "direct", "", ""
			if !st.Direct() {
				g := names.get(st.Source)
				source, nick, gname = "group", g.MailNickname, g.DisplayName
			}
			e.row(append(base[:5:5], partNumber(cat, st.SkuID), st.SkuID, source, nick, gname, st.Source,
				st.State, string(st.Error), st.Detail, csvTime(st.LastUpdated))...)
		}
	}, func(after string) (*allot.Page[allot.User], error) {
		opt.After = after
		return s.svc.Users.ListUsers(ctx, opt)
	})
	return nil
}

// exportDirectoryUsers writes the tenant's users as users.csv, the file
// the import reads (docs/IMPORT-EXPORT.md): profile included, so that a
// directory exported and imported again comes back the same.
func (s *server) exportDirectoryUsers(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	ctx := r.Context()
	opt := allot.ListOptions{Top: exportPage}
	page, err := s.svc.Users.ListUsers(ctx, opt)
	if err != nil {
		return err
	}
	e := s.startExport(w, r, "users", csvio.Columns(csvio.Users)...)
	exportPages(e, page, func(u allot.User) { e.row(csvio.UserRecord(&u)...) }, func(after string) (*allot.Page[allot.User], error) {
		opt.After = after
		return s.svc.Users.ListUsers(ctx, opt)
	})
	return nil
}

// exportPages writes the rows of page and of the pages that follow it,
// each sent before the next is read. The first page is read before the
// export starts, so that its error still gets Graph's envelope; a later
// one cuts the export (see fail).
func exportPages[T any](e *csvExport, page *allot.Page[T], rows func(T), next func(after string) (*allot.Page[T], error)) {
	for {
		for _, it := range page.Items {
			rows(it)
		}
		e.flush()
		if page.NextCursor == "" {
			return
		}
		var err error
		if page, err = next(page.NextCursor); err != nil {
			e.fail(err)
		}
	}
}

func partNumber(cat *allot.Catalog, skuID string) string {
	if cat != nil {
		if sku := cat.SKUs[skuID]; sku != nil {
			return sku.PartNumber
		}
	}
	return ""
}

var memberErrorHeader = []string{"userPrincipalName", "displayName", "usageLocation", "id",
	"skuPartNumber", "skuId", "state", "error", "detail", "lastUpdatedDateTime"}

// exportMemberErrors serves GET /allot/v1/export/groups/{id}/membersWithLicenseErrors:
// the group's direct members in error, one row per license state the group
// gives them (the SKU that failed, and Other for the group's other SKUs).
func (s *server) exportMemberErrors(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	g, err := s.svc.Groups.Group(ctx, id)
	if err != nil {
		return err
	}
	opt := allot.ListOptions{Top: exportPage, ErrorsOnly: true, WithLicensing: true}
	page, err := s.svc.Groups.Members(ctx, g.ID, false, opt)
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	name := "group-" + g.ID
	if fileSafe(g.MailNickname) {
		name = "group-" + g.MailNickname
	}
	e := s.startExport(w, r, name+"-license-errors", memberErrorHeader...)
	exportPages(e, page, func(m allot.DirectoryObject) {
		u := m.User
		if u == nil {
			return
		}
		for _, st := range u.States {
			if st.Source != g.ID || st.State != allot.StateError {
				continue
			}
			e.row(u.UserPrincipalName, u.DisplayName, u.UsageLocation, u.ID, partNumber(cat, st.SkuID), st.SkuID,
				st.State, string(st.Error), st.Detail, csvTime(st.LastUpdated))
		}
	}, func(after string) (*allot.Page[allot.DirectoryObject], error) {
		opt.After = after
		return s.svc.Groups.Members(ctx, g.ID, false, opt)
	})
	return nil
}

// fileSafe reports whether a name can go in a Content-Disposition
// filename as is.
func fileSafe(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// exportAudit serves GET /allot/v1/export/audit with the filters of GET
// /allot/v1/audit (targetId, since, until), newest first, every page.
func (s *server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		switch strings.ToLower(k) {
		case "$top", "top", "$skiptoken", "skiptoken":
			return badRequest("Query parameter '%s' is not supported here: the export holds every entry; filter with targetId, since and until.", clip(k))
		}
	}
	f, err := auditFilter(q)
	if err != nil {
		return err
	}
	ctx := r.Context()
	f.Top = exportPage
	page, err := s.svc.Audit.Audit(ctx, f)
	if err != nil {
		return err
	}
	e := s.startExport(w, r, "audit", "id", "time", "actor", "actorKind", "actorId", "actorRole", "activity", "targetType", "targetId", "result", "before", "after")
	exportPages(e, page, func(a allot.AuditEntry) {
		e.row(strconv.FormatInt(a.ID, 10), a.Time.UTC().Format(time.RFC3339Nano), a.Actor, a.ActorKind, a.ActorID, string(a.ActorRole), a.Activity, a.TargetType, a.TargetID,
			a.Result, a.Before, a.After)
	}, func(after string) (*allot.Page[allot.AuditEntry], error) {
		f.After = after
		return s.svc.Audit.Audit(ctx, f)
	})
	return nil
}
