package main

// allot export: the CSV exports of the API (GET /allot/v1/export/…),
// streamed to a file or to stdout as the server sends them.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
)

// fileFlag is --file of the exports.
func fileFlag(fs *flag.FlagSet) *string {
	return fs.String("file", "", "write to `FILE` (created whole or not at all) instead of stdout")
}

func defineExportUsers(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	out := fileFlag(fs)
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		return e.export(ctx, "/allot/v1/export/users", *out)
	}
}

func defineExportGroupErrors(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	out := fileFlag(fs)
	return func(ctx context.Context, pos []string) error {
		g, err := (&resolver{c: e.c}).groupArg(ctx, "export group-errors", pos)
		if err != nil {
			return err
		}
		return e.export(ctx, "/allot/v1/export/groups/"+url.PathEscape(g.ID)+"/membersWithLicenseErrors", *out)
	}
}

func defineExportAudit(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	out := fileFlag(fs)
	target := fs.String("target-id", "", "only entries about the object with this `id`")
	since := fs.String("since", "", "only entries at or after `TIME`")
	until := fs.String("until", "", "only entries before `TIME`")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range map[string]string{"targetId": *target, "since": *since, "until": *until} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return e.export(ctx, withQuery("/allot/v1/export/audit", q), *out)
	}
}

// export copies the CSV at path to the file named out, or to stdout. A
// file is written beside its final name and renamed once the server has
// sent everything, so that an export cut short leaves no file that looks
// whole.
func (e *cliEnv) export(ctx context.Context, path, out string) error {
	if e.format == formatJSON {
		return usagef("export writes CSV; --output json does not apply")
	}
	resp, err := e.c.stream(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == "" {
		if _, err := io.Copy(e.stdout, resp.Body); err != nil {
			return cutShort(ctx, err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return failf("export: %v", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
	if _, err := io.Copy(tmp, resp.Body); err != nil {
		tmp.Close()
		return cutShort(ctx, err)
	}
	if err := tmp.Close(); err != nil {
		return failf("export: %v", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return failf("export: %v", err)
	}
	return nil
}

func cutShort(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &apiError{Code: "ConnectionFailed", Message: fmt.Sprintf("the export was cut short: %v", err)}
}

// stream sends a request with a body of any type and returns the response
// to read, or the server's error. Unlike do it sets no overall timeout:
// an export or import of a large tenant takes as long as it takes.
func (c *apiClient) stream(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", "allot-cli")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &apiError{Code: "ConnectionFailed", Message: fmt.Sprintf("cannot reach %s: %v", c.base, errors.Unwrap(err))}
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, decodeAPIError(resp, raw)
	}
	return resp, nil
}

// readAll reads a (JSON) answer of at most 64 MB.
func readAll(resp *http.Response) ([]byte, error) {
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}
