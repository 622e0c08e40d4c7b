package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// loadTLS returns the TLS configuration for serving HTTPS from a PEM
// certificate (chain) and key file, or nil when neither is given. Half a
// pair is refused rather than silently serving plain HTTP, and the files are
// read before anything else starts so that a wrong path or a key that does
// not match the certificate stops `allot serve` at once instead of failing
// every handshake later.
func loadTLS(certFile, keyFile string, log *slog.Logger) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case keyFile == "":
		return nil, errors.New("--tls-cert needs --tls-key (or ALLOT_TLS_KEY) too: serving HTTPS takes both the certificate and its private key")
	case certFile == "":
		return nil, errors.New("--tls-key needs --tls-cert (or ALLOT_TLS_CERT) too: serving HTTPS takes both the certificate and its private key")
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	// An expired certificate still lets the server start (renewal may be on
	// its way), but every client will refuse it, so say so loudly.
	if leaf := pair.Leaf; leaf != nil && log != nil {
		if now := time.Now(); now.After(leaf.NotAfter) {
			log.Warn("the TLS certificate has expired; clients will refuse it", "file", certFile, "notAfter", leaf.NotAfter)
		} else if now.Before(leaf.NotBefore) {
			log.Warn("the TLS certificate is not valid yet; clients will refuse it", "file", certFile, "notBefore", leaf.NotBefore)
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}
