package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testdb"
)

// selfSigned writes a fresh self-signed certificate for 127.0.0.1 and
// localhost, and its key, as PEM files in dir; the pool trusts it.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "allot test " + name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// startURL runs `allot args…` in the test process and returns the URL its
// first line of output announces, and a function that stops it.
func startURL(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("server stopped: %v", err))
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("allot %s did not start: %v", strings.Join(args, " "), err)
	}
	go io.Copy(io.Discard, pr)
	var u string
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "https://") || strings.HasPrefix(w, "http://") {
			u = w
		}
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}
	t.Cleanup(stop)
	if u == "" {
		t.Fatalf("no URL in %q", line)
	}
	return u, stop
}

// httpsClient trusts only pool, does not follow redirects (so that the
// cookies of a redirect can be read) and negotiates HTTP/2 like a browser.
func httpsClient(pool *x509.CertPool) *http.Client {
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 30 * time.Second,
	}
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestTLSServe starts the real server with a certificate and walks what a
// client sees over HTTPS: the announced https:// URL, the API (links built
// with https), HTTP/2, plain HTTP refused on the port, an untrusted client
// refused, and the admin center's cookies marked Secure through sign-in.
func TestTLSServe(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir, "server")
	db := testdb.DSN(t, false)
	base, _ := startURL(t, "serve", "--addr", "127.0.0.1:0", "--db", db, "--operator-token", "op-secret",
		"--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("announced URL %q, want https://127.0.0.1:…", base)
	}
	hc := httpsClient(pool)

	call := func(method, path, token string, body any) (*http.Response, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = strings.NewReader(string(b))
		}
		req, _ := http.NewRequest(method, base+path, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if raw, _ := io.ReadAll(resp.Body); strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("%s %s: bad JSON %q", method, path, raw)
			}
		}
		return resp, out
	}

	resp, _ := call("GET", "/healthz", "", nil)
	if resp.StatusCode != 200 || resp.TLS == nil || resp.ProtoMajor != 2 {
		t.Fatalf("GET /healthz over TLS: status %d, TLS %v, protocol %s; want 200 over HTTP/2 with TLS", resp.StatusCode, resp.TLS != nil, resp.Proto)
	}

	resp, created := call("POST", "/allot/v1/tenants", "op-secret", map[string]any{"displayName": "Secure Co", "defaultUsageLocation": "US"})
	if resp.StatusCode != 201 {
		t.Fatalf("create tenant over TLS: %d %v", resp.StatusCode, created)
	}
	tenantID := created["tenant"].(map[string]any)["id"].(string)
	token := created["token"].(map[string]any)["secret"].(string)
	for _, name := range []string{"ada", "bea"} {
		if resp, out := call("POST", "/v1.0/users", token, map[string]any{"displayName": name, "userPrincipalName": name + "@secure.example",
			"accountEnabled": true, "mailNickname": name}); resp.StatusCode != 201 {
			t.Fatalf("create user: %d %v", resp.StatusCode, out)
		}
	}
	// Links are what a client follows: over TLS they must stay on https.
	_, page := call("GET", "/v1.0/users?$top=1", token, nil)
	ctxURL, _ := page["@odata.context"].(string)
	next, _ := page["@odata.nextLink"].(string)
	if !strings.HasPrefix(ctxURL, base+"/v1.0/$metadata#users") || !strings.HasPrefix(next, base+"/v1.0/users?") {
		t.Fatalf("links over TLS: context %q, next %q; want them under %s", ctxURL, next, base)
	}
	if resp, page2 := call("GET", strings.TrimPrefix(next, base), token, nil); resp.StatusCode != 200 || len(page2["value"].([]any)) != 1 {
		t.Fatalf("following nextLink: %d %v", resp.StatusCode, page2)
	}

	// The port speaks only TLS: plain HTTP gets Go's 400, never the API.
	plain, err := http.Get("http" + strings.TrimPrefix(base, "https") + "/healthz")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == 200 {
			t.Fatal("plain HTTP on the TLS port was answered 200")
		}
	}
	// A client that does not trust the certificate is refused at the handshake.
	var unknown x509.UnknownAuthorityError
	if _, err := http.Get(base + "/healthz"); !errors.As(err, &unknown) {
		t.Fatalf("a client without the certificate: %v, want an unknown authority error", err)
	}

	// The admin center: the sign-in cookie and, after signing in, the
	// session cookie are Secure (and stay HttpOnly, SameSite=Lax).
	out, err := runCmd(t, "account", "create", "--db", db, "--tenant", tenantID, "--username", "tlsadmin", "--role", "GlobalAdministrator")
	if err != nil {
		t.Fatalf("account create: %v %q", err, out)
	}
	f := strings.Fields(out)
	password := f[len(f)-1]
	wantSecure := func(c *http.Cookie, what string) {
		t.Helper()
		if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Fatalf("%s cookie over TLS: %+v, want Secure, HttpOnly, SameSite=Lax", what, c)
		}
	}
	resp, err = hc.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	signInCookie := cookieNamed(resp, "allot_signin")
	wantSecure(signInCookie, "sign-in")
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(html)
	if m == nil {
		t.Fatalf("no CSRF token on the sign-in page: %s", html)
	}
	form := url.Values{"csrf_token": {string(m[1])}, "username": {"tlsadmin"}, "password": {password}, "next": {"/"}}
	req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.AddCookie(&http.Cookie{Name: signInCookie.Name, Value: signInCookie.Value})
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in over TLS: status %d, want 303", resp.StatusCode)
	}
	session := cookieNamed(resp, "allot_session")
	wantSecure(session, "session")
	// The home page redirects to the first page the role may see.
	home := "/"
	for range 3 {
		req, _ = http.NewRequest("GET", base+home, nil)
		req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		if resp, err = hc.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
			break
		}
		home = resp.Header.Get("Location")
	}
	if resp.StatusCode != 200 || strings.HasPrefix(home, "/signin") {
		t.Fatalf("the admin center with the session over TLS: %s answered %d", home, resp.StatusCode)
	}
}

// TestTLSEnvAndDemo: ALLOT_TLS_CERT and ALLOT_TLS_KEY alone turn TLS on,
// and `allot demo` serves HTTPS with the same flags.
func TestTLSEnvAndDemo(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir, "server")
	hc := httpsClient(pool)
	get := func(u string) {
		t.Helper()
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", u, resp.StatusCode)
		}
	}

	t.Setenv("ALLOT_TLS_CERT", certFile)
	t.Setenv("ALLOT_TLS_KEY", keyFile)
	base, stop := startURL(t, "serve", "--addr", "127.0.0.1:0", "--db", testdb.DSN(t, false))
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("with ALLOT_TLS_CERT and ALLOT_TLS_KEY set: announced %q, want https://", base)
	}
	get(base + "/readyz")
	stop()
	t.Setenv("ALLOT_TLS_CERT", "")
	t.Setenv("ALLOT_TLS_KEY", "")

	base, _ = startURL(t, "demo", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "demo.db"), "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("allot demo with --tls-cert: announced %q, want https://", base)
	}
	get(base + "/signin")
}

// TestTLSBadFlags: half a pair, a missing file, a key of another
// certificate and a file that is no certificate each stop `allot serve` at
// once with an error that names the problem, before the database is made.
func TestTLSBadFlags(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir, "one")
	_, otherKey, _ := selfSigned(t, dir, "two")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"cert without key", nil, []string{"--tls-cert", certFile}, "--tls-cert needs --tls-key"},
		{"key without cert", nil, []string{"--tls-key", keyFile}, "--tls-key needs --tls-cert"},
		{"env cert without key", map[string]string{"ALLOT_TLS_CERT": certFile}, nil, "--tls-cert needs --tls-key"},
		{"env key without cert", map[string]string{"ALLOT_TLS_KEY": keyFile}, nil, "--tls-key needs --tls-cert"},
		{"missing cert file", nil, []string{"--tls-cert", filepath.Join(dir, "nope.crt"), "--tls-key", keyFile}, "no such file"},
		{"missing key file", nil, []string{"--tls-cert", certFile, "--tls-key", filepath.Join(dir, "nope.key")}, "no such file"},
		{"key of another certificate", nil, []string{"--tls-cert", certFile, "--tls-key", otherKey}, "private key does not match public key"},
		{"not a certificate", nil, []string{"--tls-cert", garbage, "--tls-key", keyFile}, "failed to find any PEM data in certificate input"},
		{"key and cert swapped", nil, []string{"--tls-cert", keyFile, "--tls-key", certFile}, "failed to find certificate PEM data"},
	}
	for _, demo := range []bool{false, true} {
		for _, c := range cases {
			cmd := "serve"
			if demo {
				cmd = "demo"
			}
			t.Run(cmd+"/"+c.name, func(t *testing.T) {
				for k, v := range c.env {
					t.Setenv(k, v)
				}
				dbFile := filepath.Join(t.TempDir(), "allot.db")
				args := append([]string{cmd, "--addr", "127.0.0.1:0", "--db", dbFile}, c.args...)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				err := run(ctx, args, io.Discard, io.Discard)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("allot %s: error %v, want one containing %q", strings.Join(args, " "), err, c.want)
				}
				if _, serr := os.Stat(dbFile); !errors.Is(serr, os.ErrNotExist) {
					t.Fatalf("a refused start made the database: %v", serr)
				}
			})
		}
	}
}
