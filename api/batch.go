package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
)

// JSON batching (POST /v1.0/$batch), as Graph defines it: up to
// maxBatchSteps requests in one body, each answered with its own id,
// status, headers and body. Every step goes through the whole API as a
// request of its own, with the caller's credentials, so each is
// authenticated, authorized, limited, logged and audited exactly as if it
// had been sent alone. Steps run one after another in the order given;
// a step whose dependsOn names a step that failed is not run (424).

// maxBatchSteps is Graph's limit on the requests of one batch.
const maxBatchSteps = 20

type batchBody struct {
	Requests []batchStep `json:"requests"`
}

type batchStep struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

var batchMethods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete}

// checkBatch refuses a batch that cannot be run as a whole, before any
// step runs: Graph answers such a batch with one 400.
func checkBatch(steps []batchStep) error {
	if len(steps) == 0 {
		return badRequest("Invalid batch payload format: property 'requests' must list at least one request.")
	}
	if len(steps) > maxBatchSteps {
		return badRequest("Number of batch request steps exceeds the maximum of %d.", maxBatchSteps)
	}
	seen := map[string]bool{}
	for _, st := range steps {
		switch {
		case st.ID == "":
			return badRequest("Invalid batch payload format: each request needs an 'id'.")
		case seen[st.ID]:
			return badRequest("Invalid batch payload format: request id '%s' is used twice.", clip(st.ID))
		case !slices.Contains(batchMethods, strings.ToUpper(st.Method)):
			return badRequest("Invalid batch payload format: request '%s' has an invalid method '%s'.", clip(st.ID), clip(st.Method))
		case st.URL == "" || strings.Contains(st.URL, "://") || strings.HasPrefix(st.URL, "//"):
			return badRequest("Invalid batch payload format: request '%s' needs a relative 'url'.", clip(st.ID))
		case isBatchURL(st.URL):
			return badRequest("Invalid batch payload format: request '%s' is itself a batch.", clip(st.ID))
		}
		for _, d := range st.DependsOn {
			if !seen[d] {
				return badRequest("Invalid batch payload format: request '%s' depends on '%s', which is not an earlier request of the batch.", clip(st.ID), clip(d))
			}
		}
		seen[st.ID] = true
	}
	return nil
}

func isBatchURL(u string) bool {
	p, _, _ := strings.Cut(strings.TrimPrefix(stepPath(u), "/"), "?")
	return strings.EqualFold(p, "$batch")
}

// stepPath is a step's url relative to the version. Microsoft's
// JavaScript client sends "/v1.0/users/…" (the Request's URL without its
// host), which Graph accepts as the same request.
func stepPath(u string) string {
	for _, v := range []string{"/v1.0/", "/beta/", "v1.0/", "beta/"} {
		if strings.HasPrefix(u, v) {
			return "/" + u[len(v):]
		}
	}
	return u
}

func (s *server) batch(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b batchBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if err := checkBatch(b.Requests); err != nil {
		return err
	}
	failed := map[string]bool{}
	out := make([]any, 0, len(b.Requests))
	for _, st := range b.Requests {
		if slices.ContainsFunc(st.DependsOn, func(d string) bool { return failed[d] }) {
			failed[st.ID] = true
			out = append(out, object{"id": st.ID, "status": http.StatusFailedDependency, "headers": object{"Content-Type": "application/json"},
				"body": object{"error": object{"code": "FailedDependency", "message": "A request this request depends on failed."}}})
			continue
		}
		status, headers, body := s.runStep(r, st)
		if status >= 400 {
			failed[st.ID] = true
		}
		out = append(out, object{"id": st.ID, "status": status, "headers": headers, "body": body})
	}
	writeJSON(w, http.StatusOK, object{"responses": out})
	return nil
}

// runStep sends one step through the API as the caller: same credentials,
// client address and host, so links and limits are those of the batch.
func (s *server) runStep(outer *http.Request, st batchStep) (int, object, any) {
	target := version(outer) + "/" + strings.TrimPrefix(stepPath(st.URL), "/")
	var body []byte
	if len(st.Body) > 0 && string(st.Body) != "null" {
		body = st.Body
	}
	req, err := http.NewRequestWithContext(outer.Context(), strings.ToUpper(st.Method), target, bytes.NewReader(body))
	if err != nil {
		return http.StatusBadRequest, object{"Content-Type": "application/json"},
			object{"error": object{"code": "BadRequest", "message": "The request's url cannot be read."}}
	}
	req.RemoteAddr, req.Host, req.TLS = outer.RemoteAddr, outer.Host, outer.TLS
	for _, h := range []string{"Authorization", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip"} {
		if v := outer.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	for k, v := range st.Headers {
		if !strings.EqualFold(k, "Authorization") {
			req.Header.Set(k, v)
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	headers := object{}
	for _, k := range []string{"Content-Type", "Location", "Retry-After", "request-id", "client-request-id"} {
		if v := rec.Header().Get(k); v != "" {
			headers[k] = v
		}
	}
	raw := rec.Body.Bytes()
	switch {
	case len(raw) == 0:
		return rec.Code, headers, nil
	case strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && json.Valid(raw):
		return rec.Code, headers, json.RawMessage(raw)
	}
	// Graph carries a body that is not JSON (a CSV export) base64-encoded.
	return rec.Code, headers, base64.StdEncoding.EncodeToString(raw)
}
