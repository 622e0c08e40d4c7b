package api

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
)

// decodeBody undoes a request body's Content-Encoding. The Microsoft Graph
// SDKs gzip every request body by default (Kiota's CompressionHandler) and
// send it uncompressed only after a 415, and Graph accepts gzip, so Allot
// does too. The body limit applies again to the decompressed bytes, so that
// a small compressed body cannot expand without bound. Any other encoding
// is a 415, which those SDKs answer by resending the body uncompressed.
// It reports false when it has answered the request itself.
func (s *server) decodeBody(w, base http.ResponseWriter, r *http.Request, limit int64) bool {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		return true
	case "gzip", "x-gzip":
		r.Body = http.MaxBytesReader(base, &gzipBody{src: r.Body}, limit)
		r.Header.Del("Content-Encoding")
		r.ContentLength = -1
		return true
	}
	s.writeError(w, r, &statusError{http.StatusUnsupportedMediaType, "Request_BadRequest",
		"Content-Encoding '" + clip(enc) + "' is not supported: send the body uncompressed or gzip-compressed."})
	return false
}

// gzipBody opens the gzip stream on the first Read, so that a broken
// stream is reported where the handler reads the body, as a 400 like any
// unreadable body.
type gzipBody struct {
	src io.ReadCloser
	zr  *gzip.Reader
	err error
}

func (b *gzipBody) Read(p []byte) (int, error) {
	if b.zr == nil && b.err == nil {
		b.zr, b.err = gzip.NewReader(b.src)
	}
	if b.err != nil {
		return 0, b.err
	}
	return b.zr.Read(p)
}

func (b *gzipBody) Close() error { return b.src.Close() }
