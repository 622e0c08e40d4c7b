package main

// allot import: users, groups and memberships from CSV files, through the
// API (POST /allot/v1/import) so that the caller's role applies. The
// formats are in docs/IMPORT-EXPORT.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"mime/multipart"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// importReport is the answer of POST /allot/v1/import.
type importReport struct {
	DryRun         bool           `json:"dryRun"`
	Applied        bool           `json:"applied"`
	Users          map[string]int `json:"users"`
	Groups         map[string]int `json:"groups"`
	Memberships    map[string]int `json:"memberships"`
	Changes        []importChange `json:"changes"`
	ChangesOmitted int            `json:"changesOmitted"`
}

type importChange struct {
	File   string   `json:"file"`
	Line   int      `json:"line"`
	Object string   `json:"object"`
	Action string   `json:"action"`
	Key    string   `json:"key"`
	Member string   `json:"member"`
	Fields []string `json:"fields"`
}

// importKinds are the kinds of file, in the order they are sent.
var importKinds = []string{"users", "groups", "memberships"}

func defineImport(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	files := map[string]*string{}
	for _, kind := range importKinds {
		files[kind] = fs.String(kind, "", "the "+kind+" CSV `file`")
	}
	dryRun := fs.Bool("dry-run", false, "report what would change, and change nothing")
	prune := fs.Bool("prune-memberships", false, "remove from the files' groups the members the memberships file does not list")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		n := 0
		for _, kind := range importKinds {
			path := *files[kind]
			if path == "" {
				continue
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return failf("import: %v", err)
			}
			part, err := mw.CreateFormFile(kind, filepath.Base(path))
			if err != nil {
				return err
			}
			if _, err := part.Write(data); err != nil {
				return err
			}
			n++
		}
		if err := mw.Close(); err != nil {
			return err
		}
		switch {
		case n == 0:
			return usagef("import: give --users, --groups or --memberships")
		case *prune && *files["memberships"] == "":
			return usagef("import: --prune-memberships needs --memberships")
		}
		q := url.Values{}
		if *dryRun {
			q.Set("dryRun", "true")
		}
		if *prune {
			q.Set("pruneMemberships", "true")
		}
		resp, err := e.c.stream(ctx, "POST", withQuery("/allot/v1/import", q), mw.FormDataContentType(), &body)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var rep importReport
		raw, err := readAll(resp)
		if err == nil {
			err = json.Unmarshal(raw, &rep)
		}
		if err != nil {
			return &apiError{Status: resp.StatusCode, Code: "BadResponse", Message: fmt.Sprintf("the import's report could not be read: %v", err)}
		}
		return writeImportReport(e, rep, raw)
	}
}

func writeImportReport(e *cliEnv, rep importReport, raw []byte) error {
	if e.format == formatJSON {
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return err
		}
		b.WriteByte('\n')
		_, err := e.stdout.Write(b.Bytes())
		return err
	}
	t := newTable("action", "ACTION", "object", "OBJECT", "key", "NAME", "member", "MEMBER", "fields", "CHANGES", "line", "LINE")
	for _, c := range rep.Changes {
		at := ""
		if c.File != "" {
			at = fmt.Sprintf("%s:%d", c.File, c.Line)
		}
		t.add(c.Action, c.Object, c.Key, c.Member, strings.Join(c.Fields, ","), at)
	}
	if e.format == formatCSV {
		return t.write(e.stdout, e.format)
	}
	switch {
	case rep.DryRun:
		fmt.Fprintln(e.stdout, "Dry run: nothing was changed. The import would do this:")
	case rep.Applied:
		fmt.Fprintln(e.stdout, "Imported.")
	default:
		fmt.Fprintln(e.stdout, "Nothing to change: the tenant already matches the files.")
	}
	fmt.Fprintf(e.stdout, "  users:       %d created, %d updated, %d unchanged\n", rep.Users["created"], rep.Users["updated"], rep.Users["unchanged"])
	fmt.Fprintf(e.stdout, "  groups:      %d created, %d updated, %d unchanged\n", rep.Groups["created"], rep.Groups["updated"], rep.Groups["unchanged"])
	fmt.Fprintf(e.stdout, "  memberships: %d added, %d removed, %d unchanged\n", rep.Memberships["added"], rep.Memberships["removed"], rep.Memberships["unchanged"])
	if len(rep.Changes) == 0 {
		return nil
	}
	fmt.Fprintln(e.stdout)
	if err := t.write(e.stdout, formatTable); err != nil {
		return err
	}
	if rep.ChangesOmitted > 0 {
		fmt.Fprintf(e.stdout, "… and %d more changes (counted above).\n", rep.ChangesOmitted)
	}
	return nil
}
