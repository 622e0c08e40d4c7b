package api_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/api"
)

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestGzipRequestBody: the Graph SDKs gzip request bodies by default
// (compat/graph-go found every POST refused as malformed JSON). A gzip body
// is read like a plain one, the body limit holds for what it expands to,
// a broken stream is a 400 and an unknown encoding a 415 (on which the
// SDKs resend uncompressed); none of the refused ones reaches the service.
func TestGzipRequestBody(t *testing.T) {
	calls := 0
	var created allot.UserCreate
	f := &fake{createUser: func(u allot.UserCreate) (*allot.User, error) {
		calls++
		created = u
		return &allot.User{ID: userID, DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName}, nil
	}}
	c := newClient(t, f, func(c *api.Config) { c.MaxBodyBytes = 1024 })
	body := `{"displayName":"Adele","userPrincipalName":"adele@contoso.com","usageLocation":"US"}`

	m := c.do("POST", "/v1.0/users", ga, gzipped(t, body), "Content-Encoding", "gzip").expect(http.StatusCreated, "")
	if calls != 1 || created.DisplayName != "Adele" || created.UsageLocation != "US" || m["id"] != userID {
		t.Fatalf("gzip body: %d calls, created %+v, response %v", calls, created, m)
	}

	// 60 KB of JSON compresses far below the 1 KB limit; expanded, it is over it.
	big := `{"displayName":"` + strings.Repeat("a", 60000) + `","userPrincipalName":"a@x"}`
	if z := gzipped(t, big); len(z) >= 1024 {
		t.Fatalf("test body compresses to %d bytes, not below the limit", len(z))
	}
	c.do("POST", "/v1.0/users", ga, gzipped(t, big), "Content-Encoding", "gzip").
		expect(http.StatusRequestEntityTooLarge, "Request_EntityTooLarge")
	c.do("POST", "/v1.0/users", ga, "not gzip at all", "Content-Encoding", "gzip").
		expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("POST", "/v1.0/users", ga, gzipped(t, body)[:20], "Content-Encoding", "gzip").
		expect(http.StatusBadRequest, "Request_BadRequest")
	m = c.do("POST", "/v1.0/users", ga, body, "Content-Encoding", "br").expect(http.StatusUnsupportedMediaType, "Request_BadRequest")
	if !strings.Contains(errMessage(m), "br") {
		t.Errorf("415 message %q does not name the encoding", errMessage(m))
	}
	if calls != 1 {
		t.Fatalf("refused bodies reached the service: %d calls", calls)
	}
	// identity is no encoding at all.
	c.do("POST", "/v1.0/users", ga, body, "Content-Encoding", "identity").expect(http.StatusCreated, "")
}
