package graphgo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
)

// The suite shares one real server; every test makes its own tenant, so
// tests see only their own users, groups and subscriptions.
var (
	serverURL  string // http://127.0.0.1:PORT
	serverLogs string // the server's stderr, shown when a test fails
)

const operatorToken = "compat-graph-go-operator"

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "graph-go compatibility suite:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "allot-graph-go-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bin, err := buildAllot(dir)
	if err != nil {
		return 0, err
	}
	stop, err := startAllot(bin, dir)
	if err != nil {
		return 0, err
	}
	code := m.Run()
	if err := stop(); err != nil {
		return 0, err
	}
	return code, nil
}

// buildAllot compiles the server from this checkout, so that the suite
// always tests the code next to it rather than an installed binary.
func buildAllot(dir string) (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.HasPrefix(mod, []byte("module github.com/allot-dev/allot\n")) {
		return "", fmt.Errorf("%s is not the Allot repository root (go.mod: %v)", root, err)
	}
	bin := filepath.Join(dir, "allot")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/allot")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/allot: %v\n%s", err, out)
	}
	return bin, nil
}

// startAllot runs `allot serve` on a free loopback port with a fresh SQLite
// database, or the one ALLOT_COMPAT_DB names (e.g. an empty PostgreSQL
// database), and waits until /readyz answers 200.
func startAllot(bin, dir string) (stop func() error, err error) {
	serverLogs = filepath.Join(dir, "server.log")
	logFile, err := os.Create(serverLogs)
	if err != nil {
		return nil, err
	}
	db := os.Getenv("ALLOT_COMPAT_DB")
	if db == "" {
		db = filepath.Join(dir, "allot.db")
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", db, "--operator-token", operatorToken)
	cmd.Stderr = logFile
	stopWithUs(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	stop = func() error {
		defer logFile.Close()
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			return err
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("allot serve did not stop within 15s of SIGINT")
		}
	}
	// The first line names the URL: "Allot listening on http://… (database …)".
	lines := bufio.NewReader(stdout)
	line, err := lines.ReadString('\n')
	go func() {
		_, _ = io.Copy(logFile, lines)
		exited <- cmd.Wait()
	}()
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "http://") {
			serverURL = w
		}
	}
	if serverURL == "" {
		stop()
		logs, _ := os.ReadFile(serverLogs)
		return nil, fmt.Errorf("no URL in the first line %q (%v); log:\n%s", line, err, logs)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(serverURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%s/readyz did not answer 200 within 20s (last error %v)", serverURL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// bearer is the smallest AuthenticationProvider: it sends a static Allot
// token. Kiota's BaseBearerTokenAuthenticationProvider and the azidentity
// provider exist for OAuth flows; Allot's tokens are issued by Allot itself.
type bearer string

func (b bearer) AuthenticateRequest(_ context.Context, req *abstractions.RequestInformation, _ map[string]any) error {
	if req == nil {
		return errors.New("bearer: no request to authenticate")
	}
	req.Headers.TryAdd("Authorization", "Bearer "+string(b))
	return nil
}

// tenant is one Allot tenant with a GlobalAdministrator token and an SDK
// client pointed at the local server.
type tenant struct {
	t       *testing.T
	id      string
	name    string
	token   string
	adapter *msgraphsdk.GraphRequestAdapter
	client  *msgraphsdk.GraphServiceClient
}

// newTenant creates a tenant through the operator API and buys seats of the
// given SKUs (Graph has no call for either).
func newTenant(t *testing.T, name string, seats map[string]int) *tenant {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := os.ReadFile(serverLogs)
			if len(logs) > 4000 {
				logs = logs[len(logs)-4000:]
			}
			t.Logf("server log (tail):\n%s", logs)
		}
	})
	created := allotCall(t, operatorToken, "POST", "/allot/v1/tenants", map[string]any{"displayName": name}, http.StatusCreated)
	tn := &tenant{t: t, name: name}
	tn.id, _ = created["tenant"].(map[string]any)["id"].(string)
	tn.token, _ = created["token"].(map[string]any)["secret"].(string)
	if tn.id == "" || tn.token == "" {
		t.Fatalf("tenant creation answered %v", created)
	}
	for sku, n := range seats {
		allotCall(t, tn.token, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": sku, "seats": n}, http.StatusCreated)
	}
	adapter, err := newAdapter(tn.token)
	if err != nil {
		t.Fatal(err)
	}
	tn.adapter = adapter
	tn.client = msgraphsdk.NewGraphServiceClient(adapter)
	return tn
}

// newAdapter is the SDK's default request adapter (with its retry,
// redirect, compression and telemetry middleware) sending token to the
// local server. The base URL must be set before NewGraphServiceClient,
// which fills in graph.microsoft.com only when none is set.
func newAdapter(token string) (*msgraphsdk.GraphRequestAdapter, error) {
	adapter, err := msgraphsdk.NewGraphRequestAdapter(bearer(token))
	if err != nil {
		return nil, err
	}
	adapter.SetBaseUrl(serverURL + "/v1.0")
	return adapter, nil
}

// allotCall calls an Allot extension (/allot/v1) with plain net/http, for
// the setup Graph has no call for.
func allotCall(t *testing.T, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, serverURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return out
}

// waitIdle waits until the tenant's processing queue is empty.
func (tn *tenant) waitIdle() {
	tn.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st := allotCall(tn.t, tn.token, "GET", "/allot/v1/status", nil, http.StatusOK); st["idle"] == true {
			return
		}
	}
	tn.t.Fatal("processing did not become idle within 30s")
}

// parallel runs f(i) for i in [0, n) on a few goroutines and returns the
// first error.
func parallel(n, workers int, f func(i int) error) error {
	var (
		mu    sync.Mutex
		first error
		next  int
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := i >= n || first != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}
