// Package httpx is the HTTP plumbing that the API (package api) and the
// admin center (package web) share: request ids, the request log, panic
// recovery, the body limit and the rate limiter. Each server keeps what
// is its own: its error pages or envelopes, its headers, its log fields.
package httpx

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
)

// IDs name a request in the log and to the client.
type IDs struct {
	Request string // made by the server, sent as request-id
	Client  string // the caller's client-request-id, else Request
}

type idsKey struct{}

// IDsFrom returns the ids RequestIDs gave the request, or none outside it.
func IDsFrom(ctx context.Context) IDs {
	ids, _ := ctx.Value(idsKey{}).(IDs)
	return ids
}

// RequestIDs gives every request a server-generated request-id and echoes
// the caller's client-request-id, as Graph does, so that a caller can quote
// either in a support request and the operator finds it in the log.
func RequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := IDs{Request: newGUID(), Client: r.Header.Get("client-request-id")}
		// What is echoed and logged must not forge headers or log lines.
		if !Printable(ids.Client) || len(ids.Client) > 128 {
			ids.Client = ""
		}
		if ids.Client == "" {
			ids.Client = ids.Request
		}
		w.Header().Set("request-id", ids.Request)
		w.Header().Set("client-request-id", ids.Client)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), idsKey{}, ids)))
	})
}

// newGUID returns a random (version 4) GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Printable reports whether s is printable ASCII without spaces: safe to
// echo in a header and to write in a log line.
func Printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
