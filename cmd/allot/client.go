package main

// The plumbing shared by every command that works over the HTTP API rather
// than on the database: the --server/--token flags, a small client that
// turns Graph's error envelope into a Go error, paging through
// @odata.nextLink, and the --output writer.
//
// A command built on it looks like this:
//
//	fs := newFlags("widgets")
//	conn := addClientFlags(fs)
//	out := addOutputFlag(fs)
//	pos, err := parseArgs(fs, args)      // flags may follow positionals
//	if err != nil { return err }
//	c, err := conn.client()              // fails without a token
//	if err != nil { return err }
//	t := newTable("id", "ID", "displayName", "NAME")
//	err = c.list(ctx, "/v1.0/groups", nil, func(raw json.RawMessage) error {
//		var g struct{ ID, DisplayName string }
//		if err := json.Unmarshal(raw, &g); err != nil { return err }
//		t.add(g.ID, g.DisplayName)
//		return nil
//	})
//	if err != nil { return err }
//	return t.write(stdout, *out)
//
// Errors: an *apiError prints as "Code: message" (main adds "allot: ") and
// exits 1; a usageError exits 2. Both implement exitCoder.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// DefaultServer is where the CLI looks for the API when neither --server nor
// ALLOT_SERVER says otherwise: `allot serve` with its default address.
const DefaultServer = "http://localhost:8080"

// exitCoder is an error that chooses the process's exit status.
type exitCoder interface{ ExitCode() int }

// usageError is bad input on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
func (e usageError) ExitCode() int { return 2 }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// apiError is an error answered by the server in Graph's envelope, or a
// response that could not be understood: exit status 1.
type apiError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }
func (e *apiError) ExitCode() int { return 1 }

// clientFlags are the connection flags every API command accepts.
type clientFlags struct {
	server string
	token  string
}

// addClientFlags registers --server and --token on fs, defaulting to
// ALLOT_SERVER and ALLOT_TOKEN.
func addClientFlags(fs *flag.FlagSet) *clientFlags {
	f := &clientFlags{}
	fs.StringVar(&f.server, "server", env("ALLOT_SERVER", DefaultServer), "API base `URL` (env ALLOT_SERVER)")
	fs.StringVar(&f.token, "token", "", "bearer `token` (env ALLOT_TOKEN)")
	return f
}

// client checks the flags and returns a client. The token's default is read
// here rather than shown in --help, so that a secret never appears in the
// usage text.
func (f *clientFlags) client() (*apiClient, error) {
	tok := strings.TrimSpace(f.token)
	if tok == "" {
		tok = strings.TrimSpace(env("ALLOT_TOKEN", ""))
	}
	if tok == "" {
		return nil, usagef("no token: pass --token or set ALLOT_TOKEN (create one with `allot token create` or in the admin center)")
	}
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(f.server), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--server must be an http(s) URL such as %s, got %q", DefaultServer, f.server)
	}
	return &apiClient{base: u, token: tok, http: &http.Client{Timeout: 60 * time.Second}}, nil
}

// apiClient calls the Allot API with a bearer token.
type apiClient struct {
	base  *url.URL
	token string
	http  *http.Client
}

// get decodes the JSON answer to GET path?query into out (nil: discard).
func (c *apiClient) get(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, http.MethodGet, withQuery(path, query), nil, out)
}

// withQuery appends query to path, if it has any parameter.
func withQuery(path string, query url.Values) string {
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	return path
}

// post sends body as JSON and decodes the answer into out (nil: discard).
func (c *apiClient) post(ctx context.Context, path string, body, out any) error {
	return c.do(ctx, http.MethodPost, path, body, out)
}

// patch sends body as JSON and decodes the answer into out (nil: discard).
func (c *apiClient) patch(ctx context.Context, path string, body, out any) error {
	return c.do(ctx, http.MethodPatch, path, body, out)
}

// delete sends DELETE path.
func (c *apiClient) delete(ctx context.Context, path string) error {
	return c.do(ctx, http.MethodDelete, path, nil, nil)
}

// list calls each with every item of a collection ({"value":[...]}),
// following @odata.nextLink across pages.
func (c *apiClient) list(ctx context.Context, path string, query url.Values, each func(json.RawMessage) error) error {
	for path = withQuery(path, query); path != ""; {
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return err
		}
		for _, v := range page.Value {
			if err := each(v); err != nil {
				return err
			}
		}
		next, err := c.relative(page.NextLink)
		if err != nil {
			return err
		}
		path = next
	}
	return nil
}

// relative turns a nextLink into a path on --server. The server builds
// links on its configured public URL, which may not be the address this
// client uses (and the token must only go to --server anyway).
func (c *apiClient) relative(link string) (string, error) {
	if link == "" {
		return "", nil
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", &apiError{Code: "BadResponse", Message: fmt.Sprintf("the server sent an unusable @odata.nextLink %q", link)}
	}
	p := u.EscapedPath()
	// The server's public URL and --server usually share the same proxy
	// prefix; don't add it twice.
	if prefix := c.base.EscapedPath(); prefix != "" && strings.HasPrefix(p, prefix+"/") {
		p = strings.TrimPrefix(p, prefix)
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p, nil
}

func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "allot-cli")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &apiError{Code: "ConnectionFailed", Message: fmt.Sprintf("cannot reach %s: %v", c.base, errors.Unwrap(err))}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &apiError{Status: resp.StatusCode, Code: "ConnectionFailed", Message: fmt.Sprintf("reading the answer of %s %s: %v", method, path, err)}
	}
	if resp.StatusCode >= 300 {
		return decodeAPIError(resp, raw)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &apiError{Status: resp.StatusCode, Code: "BadResponse",
			Message: fmt.Sprintf("%s %s answered something that is not the expected JSON: %v", method, path, err)}
	}
	return nil
}

// decodeAPIError reads Graph's envelope; anything else (a proxy's HTML page)
// is reported with its status and the start of its text.
func decodeAPIError(resp *http.Response, raw []byte) error {
	var env struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
		return &apiError{Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message,
			RequestID: env.Error.InnerError.RequestID}
	}
	text := strings.TrimSpace(string(raw))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	msg := "the server answered " + resp.Status
	if text != "" {
		msg += ": " + text
	}
	return &apiError{Status: resp.StatusCode, Code: "HTTP" + fmt.Sprint(resp.StatusCode), Message: msg}
}

// parseArgs parses fs and returns the positional arguments, letting flags
// come after them too ("allot group status Sales -o json"), which the flag
// package alone stops at. A lone "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v (see `allot help %s`)", err, strings.TrimPrefix(fs.Name(), "allot "))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse consumed a "--" if rest is shorter than args would
		// suggest; the flag package does not say, so look for it.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// multiFlag is a flag that may be repeated: --group A --group B.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("empty value")
	}
	*m = append(*m, strings.TrimSpace(v))
	return nil
}

// optionalBool is a boolean flag that tells "not given" from false:
// `allot assign --include-nested=false` switches nesting off, while
// leaving the flag out keeps an existing assignment's setting.
type optionalBool struct {
	set, v bool
}

func (b *optionalBool) String() string {
	if b == nil || !b.set {
		return ""
	}
	return strconv.FormatBool(b.v)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.v = true, v
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

// optionalString is a string flag that tells "not given" from "given empty".
type optionalString struct {
	set bool
	v   string
}

func (s *optionalString) String() string { return s.v }
func (s *optionalString) Set(v string) error {
	s.set, s.v = true, v
	return nil
}

// Output formats of --output.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatCSV   = "csv"
)

// addOutputFlag registers --output (and -o) on fs.
func addOutputFlag(fs *flag.FlagSet) *string {
	f := new(string)
	fs.StringVar(f, "output", formatTable, "output `format`: table, json or csv")
	fs.StringVar(f, "o", formatTable, "short for --output")
	return f
}

func checkFormat(format string) error {
	switch format {
	case formatTable, formatJSON, formatCSV:
		return nil
	}
	return usagef("--output must be table, json or csv, got %q", format)
}

// table is what a command prints: columns with a key (for JSON and the CSV
// header) and a title (for the table), and rows of values. Values keep their
// type in JSON (numbers stay numbers, nil is null); table and CSV show them
// as text.
type table struct {
	keys, titles []string
	rows         [][]any
	// single prints one object: a JSON object rather than an array, and a
	// "Title: value" list rather than a one-row table.
	single bool
}

// newTable takes pairs of key and title.
func newTable(keyTitle ...string) *table {
	t := &table{}
	for i := 0; i+1 < len(keyTitle); i += 2 {
		t.keys = append(t.keys, keyTitle[i])
		t.titles = append(t.titles, keyTitle[i+1])
	}
	return t
}

// add appends a row with one value per column.
func (t *table) add(vals ...any) {
	if len(vals) != len(t.keys) {
		panic(fmt.Sprintf("table.add: %d values for %d columns", len(vals), len(t.keys)))
	}
	t.rows = append(t.rows, vals)
}

// write prints t in format (table, json or csv).
func (t *table) write(w io.Writer, format string) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	switch format {
	case formatJSON:
		return t.writeJSON(w)
	case formatCSV:
		cw := csv.NewWriter(w)
		_ = cw.Write(t.keys)
		for _, r := range t.rows {
			rec := make([]string, len(r))
			for i, v := range r {
				rec[i] = cell(v)
			}
			_ = cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if t.single {
		for _, r := range t.rows {
			for i, v := range r {
				if v != nil { // an unknown value reads better left out than blank
					fmt.Fprintf(tw, "%s:\t%s\n", t.titles[i], oneLine(cell(v)))
				}
			}
		}
		return tw.Flush()
	}
	fmt.Fprintln(tw, strings.Join(t.titles, "\t"))
	for _, r := range t.rows {
		vals := make([]string, len(r))
		for i, v := range r {
			vals[i] = oneLine(cell(v))
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	return tw.Flush()
}

// writeJSON keeps the columns' order, which a map would not.
func (t *table) writeJSON(w io.Writer) error {
	var b bytes.Buffer
	object := func(r []any, indent string) error {
		b.WriteString("{")
		for i, k := range t.keys {
			if i > 0 {
				b.WriteString(",")
			}
			kb, _ := json.Marshal(k)
			vb, err := json.Marshal(r[i])
			if err != nil {
				return err
			}
			var iv bytes.Buffer
			if err := json.Indent(&iv, vb, indent+"  ", "  "); err != nil {
				return err
			}
			fmt.Fprintf(&b, "\n%s  %s: %s", indent, kb, iv.Bytes())
		}
		if len(t.keys) > 0 {
			b.WriteString("\n" + indent)
		}
		b.WriteString("}")
		return nil
	}
	if t.single && len(t.rows) == 1 {
		if err := object(t.rows[0], ""); err != nil {
			return err
		}
	} else {
		b.WriteString("[")
		for i, r := range t.rows {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n  ")
			if err := object(r, "  "); err != nil {
				return err
			}
		}
		if len(t.rows) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("]")
	}
	b.WriteString("\n")
	_, err := w.Write(b.Bytes())
	return err
}

// cell is a value as text for table and CSV output.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []string:
		return strings.Join(x, " ")
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// oneLine keeps a table's rows aligned when a value holds a newline or tab.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s)
}
