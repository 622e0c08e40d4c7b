package httpx

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestIDs: a fresh request-id every time; the caller's
// client-request-id echoed when it is short and printable, else the
// request-id in its place.
func TestRequestIDs(t *testing.T) {
	var seen IDs
	h := RequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = IDsFrom(r.Context()) }))
	for _, tc := range []struct{ sent, echoed string }{
		{"", ""},
		{"abc-123", "abc-123"},
		{"has space", ""},
		{"new\nline", ""},
		{strings.Repeat("x", 129), ""},
		{strings.Repeat("x", 128), strings.Repeat("x", 128)},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("client-request-id", tc.sent)
		h.ServeHTTP(rec, req)
		id := rec.Header().Get("request-id")
		if len(id) != 36 || id != seen.Request {
			t.Fatalf("%q: request-id %q, handler saw %q", tc.sent, id, seen.Request)
		}
		want := tc.echoed
		if want == "" {
			want = id
		}
		if got := rec.Header().Get("client-request-id"); got != want || seen.Client != want {
			t.Fatalf("%q: client-request-id %q (handler saw %q), want %q", tc.sent, got, seen.Client, want)
		}
	}
	if IDsFrom(httptest.NewRequest("GET", "/", nil).Context()) != (IDs{}) {
		t.Fatal("ids outside RequestIDs")
	}
}

// TestLogRequests: one line per request with what was sent, and none when
// the caller's line says so.
func TestLogRequests(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := RequestIDs(LogRequests(log, "request", func(r *http.Request, s Served) []slog.Attr {
		if r.URL.Path == "/quiet" {
			return nil
		}
		return []slog.Attr{slog.String("path", r.URL.Path), slog.Int("status", s.Status), slog.Int64("bytes", s.Bytes),
			slog.String("request_id", IDsFrom(r.Context()).Request)}
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/teapot" {
			w.WriteHeader(http.StatusTeapot)
		}
		_, _ = io.WriteString(w, "hello")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/teapot", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/quiet", nil))
	want := "msg=request path=/teapot status=418 bytes=5 request_id=" + rec.Header().Get("request-id") + "\n"
	if lines := strings.SplitAfter(logs.String(), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[0], want) {
		t.Fatalf("log:\n%s\nwant one line ending %q", logs.String(), want)
	}
}

// TestRecover: a panic is logged with its request id and stack and
// answered by fail, unless the handler had already sent something;
// http.ErrAbortHandler is passed on.
func TestRecover(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	fail := func(w http.ResponseWriter, r *http.Request, v any) {
		http.Error(w, "sorry", http.StatusInternalServerError)
	}
	h := RequestIDs(Recover(log, fail, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/late":
			_, _ = io.WriteString(w, "partial")
		case "/abort":
			panic(http.ErrAbortHandler)
		}
		panic("boom at " + r.URL.Path)
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/early", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("early panic: %d %q", rec.Code, rec.Body.String())
	}
	if out := logs.String(); !strings.Contains(out, `msg=panic request_id=`+rec.Header().Get("request-id")+` panic="boom at /early" stack=`) {
		t.Fatalf("log: %s", out)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/late", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "partial" {
		t.Fatalf("late panic: %d %q", rec.Code, rec.Body.String())
	}
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/abort", nil))
}

// TestLimitBody: a body declared too long is refused before it is read; one
// that only turns out too long fails its read; the reader is bound to the
// connection's own writer under any wrappers.
func TestLimitBody(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/", strings.NewReader("123456"))
	if LimitBody(rec, req, 5) {
		t.Fatal("a declared 6 bytes passed a limit of 5")
	}
	req = httptest.NewRequest("POST", "/", strings.NewReader("123456"))
	req.ContentLength = -1
	if !LimitBody(&StatusWriter{ResponseWriter: rec}, req, 5) {
		t.Fatal("an undeclared length was refused")
	}
	var tooBig *http.MaxBytesError
	if _, err := io.ReadAll(req.Body); !errors.As(err, &tooBig) {
		t.Fatalf("read: %v, want *http.MaxBytesError", err)
	}
	if Innermost(&StatusWriter{ResponseWriter: &StatusWriter{ResponseWriter: rec}}) != rec {
		t.Fatal("Innermost did not unwrap every layer")
	}
}
