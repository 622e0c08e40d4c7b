package api

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
	"github.com/allot-dev/allot/internal/httpx"
)

// upload is one CSV file of an import request.
type upload struct {
	name string // what errors cite: the uploaded file's name, or "users.csv"
	data []byte
}

// importCSV serves POST /allot/v1/import: users, groups and memberships
// files as multipart/form-data parts named users, groups and memberships,
// or one file as the whole body with ?file=users|groups|memberships.
// Query: dryRun=true reports without applying; pruneMemberships=true
// removes the members the memberships file does not list from its groups.
// Any error in any file: 400 naming every file and line, nothing applied.
func (s *server) importCSV(w http.ResponseWriter, r *http.Request) error {
	if s.importer == nil {
		return &statusError{http.StatusNotImplemented, "NotImplemented", "CSV import is not available on this server."}
	}
	opt, err := importQuery(r.URL.Query())
	if err != nil {
		return err
	}
	files, err := readUploads(r, opt.single)
	if err != nil {
		return err
	}
	var errs csvio.Errors
	in := parseUploads(files, &errs)
	in.PruneMemberships = opt.prune
	if opt.prune && in.MembershipsFile == "" {
		return badRequest("pruneMemberships needs a memberships file: it removes the members that file does not list.")
	}
	if errs.Len() > 0 {
		return importFailed(&errs)
	}
	rep, err := s.importer.ImportCSV(r.Context(), in, opt.dryRun)
	if err != nil {
		return err
	}
	if rep.Errors.Len() > 0 {
		return importFailed(&rep.Errors)
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// importOptions are the query parameters of an import.
type importOptions struct {
	dryRun, prune bool
	single        csvio.Kind // ?file=: the body is that one file
}

func importQuery(q url.Values) (importOptions, error) {
	var opt importOptions
	seen := map[string]bool{}
	for k, vals := range q {
		// Names are case-insensitive, so dryRun=true&dryrun=false is a
		// repetition too: which one won would depend on map order.
		lk := strings.ToLower(k)
		if len(vals) != 1 || seen[lk] {
			return opt, badRequest("Query parameter '%s' was given more than once.", clip(k))
		}
		seen[lk] = true
		v := vals[0]
		var err error
		switch lk {
		case "dryrun":
			opt.dryRun, err = boolParam(k, v)
		case "prunememberships":
			opt.prune, err = boolParam(k, v)
		case "file":
			kind, ok := csvio.ParseKind(v)
			if !ok {
				return opt, badRequest("Query parameter 'file' must be users, groups or memberships, not '%s'.", clip(v))
			}
			opt.single = kind
		default:
			return opt, badRequest("Query parameter '%s' is not supported here; use dryRun, pruneMemberships or file.", clip(k))
		}
		if err != nil {
			return opt, err
		}
	}
	return opt, nil
}

// readUploads reads the files of the request: multipart parts, or the body
// as the one file single names.
func readUploads(r *http.Request, single csvio.Kind) (map[csvio.Kind]upload, error) {
	files := map[csvio.Kind]upload{}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if single != "" {
			return nil, badRequest("Send the files either as multipart/form-data parts or as one CSV body with ?file=, not both.")
		}
		var err error
		if files, err = readParts(r, params["boundary"]); err != nil {
			return nil, err
		}
	} else {
		if single == "" {
			return nil, badRequest("Send the files as multipart/form-data parts named users, groups and memberships, or one CSV file as the body with ?file=users, groups or memberships.")
		}
		// The role check comes before the body is read, as for each part.
		if err := importAllowed(r, map[csvio.Kind]upload{single: {}}); err != nil {
			return nil, err
		}
		body, err := readBody(r)
		if err != nil {
			return nil, err
		}
		files[single] = upload{name: string(single) + ".csv", data: body}
	}
	if len(files) == 0 {
		return nil, badRequest("No file: name the multipart/form-data parts users, groups and memberships.")
	}
	return files, nil
}

// parseUploads parses every file given, collecting the errors of all of
// them in errs, so that one answer names every bad line.
func parseUploads(files map[csvio.Kind]upload, errs *csvio.Errors) *csvio.Import {
	in := &csvio.Import{}
	if f, ok := files[csvio.Users]; ok {
		in.UsersFile, in.Users = f.name, csvio.ParseUsers(f.name, f.data, errs)
	}
	if f, ok := files[csvio.Groups]; ok {
		in.GroupsFile, in.Groups = f.name, csvio.ParseGroups(f.name, f.data, errs)
	}
	if f, ok := files[csvio.Memberships]; ok {
		in.MembershipsFile, in.Memberships = f.name, csvio.ParseMemberships(f.name, f.data, errs)
	}
	return in
}

// importAllowed applies docs/RULES.md §3 to the files given: users need the right
// to manage users, groups and memberships the right to manage groups.
func importAllowed(r *http.Request, files map[csvio.Kind]upload) error {
	if _, ok := files[csvio.Users]; ok {
		if err := can(r, allot.PermManageUsers); err != nil {
			return err
		}
	}
	_, g := files[csvio.Groups]
	_, m := files[csvio.Memberships]
	if g || m {
		return can(r, allot.PermManageGroups)
	}
	return nil
}

func importFailed(errs *csvio.Errors) error {
	n := "errors"
	if errs.Len() == 1 {
		n = "error"
	}
	return allot.Errorf(allot.EINVALID, "The import has %d %s; nothing was changed.\n%s", errs.Len(), n, errs.Error())
}

// readParts reads the multipart parts, each a whole file in memory (the
// body limit bounds them all).
func readParts(r *http.Request, boundary string) (map[csvio.Kind]upload, error) {
	if boundary == "" {
		return nil, badRequest("The multipart/form-data Content-Type has no boundary.")
	}
	mr := multipart.NewReader(r.Body, boundary)
	files := map[csvio.Kind]upload{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, bodyError(err)
		}
		kind, ok := csvio.ParseKind(part.FormName())
		if !ok {
			return nil, badRequest("Unknown part '%s': name the parts users, groups and memberships.", clip(part.FormName()))
		}
		if _, dup := files[kind]; dup {
			return nil, badRequest("The part '%s' appears twice.", kind)
		}
		// Each part's role check comes before its bytes are read, so a
		// caller without the right cannot make the server read an upload.
		if err := importAllowed(r, map[csvio.Kind]upload{kind: {}}); err != nil {
			return nil, err
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, bodyError(err)
		}
		files[kind] = upload{name: fileName(part.FileName(), kind), data: data}
	}
}

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errTooLarge(tooBig.Limit)
	}
	return badRequest("The multipart/form-data body is malformed.")
}

// fileName is the name errors cite: the uploaded file's, when it is a
// short plain name, else the part's (e.g. "users.csv").
func fileName(uploaded string, kind csvio.Kind) string {
	if uploaded == "" || len(uploaded) > 100 || !httpx.Printable(strings.ReplaceAll(uploaded, " ", "_")) {
		return string(kind) + ".csv"
	}
	return uploaded
}

func boolParam(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, badRequest("Query parameter '%s' must be true or false, not '%s'.", clip(name), clip(v))
}
