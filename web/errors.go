package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/allot-dev/allot"
)

// handler returns its error so that every failure goes through fail.
type handler func(w http.ResponseWriter, r *http.Request) error

// httpError is an error the web layer raises itself.
type httpError struct {
	status  int
	message string
}

func (e *httpError) Error() string { return e.message }

func forbidden(what string) error {
	return &httpError{http.StatusForbidden, "You don't have permission to " + what + "."}
}

func badRequest(msg string) error { return &httpError{http.StatusBadRequest, msg} }

var errTooLarge = &httpError{http.StatusRequestEntityTooLarge, "The form is too large."}

// fail renders an error page; internal errors are logged and never shown.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side, and nothing was shown. Try again; if it keeps happening, tell your administrator."
	var he *httpError
	if errors.As(err, &he) {
		status, msg = he.status, he.message
	} else {
		switch allot.ErrorCode(err) {
		case allot.ENOTFOUND:
			status, msg = http.StatusNotFound, "We couldn't find that. It may have been deleted, or the address is wrong."
		case allot.EFORBIDDEN:
			status, msg = http.StatusForbidden, plainMessage(err)
		case allot.EINVALID, allot.ECONFLICT, allot.EUNSUPPORTEDQUERY:
			status, msg = http.StatusBadRequest, plainMessage(err)
		case allot.ETOOMANY:
			status, msg = http.StatusTooManyRequests, plainMessage(err)
		case allot.EUNAUTHORIZED:
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		default:
			s.log.ErrorContext(r.Context(), "internal error", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		}
	}
	title := map[int]string{400: "That didn't work", 403: "Access denied", 404: "Not found", 413: "Too large", 429: "Too many attempts"}[status]
	if title == "" {
		title = "Something went wrong"
	}
	v := &view{Title: title, CSRF: csrfFrom(r.Context()), Static: s.staticURLs(), Data: errorData{Status: status, Message: msg, Back: backTo(r)}}
	if a, ok := allot.ActorFromContext(r.Context()); ok {
		v.Actor, v.RoleName, v.Can = a, roleName(a.Role), permsOf(a.Role)
	}
	s.render(w, r, status, "error", v)
}

type errorData struct {
	Status  int
	Message string
	Back    string // the page of this site the request came from, so that an error is no dead end
}

// backTo is the local page the request was sent from (the Referer, which
// the Referrer-Policy keeps to this site), or "".
func backTo(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host || ref.Path == r.URL.Path && r.Method == http.MethodGet {
		return ""
	}
	p, ok := localPath(ref.RequestURI())
	if !ok || p == "/signin" {
		return ""
	}
	return p
}
