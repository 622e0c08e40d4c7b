package api

import (
	"bytes"
	"net/http"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
)

func (s *server) getCatalog(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	b, err := catalog.Marshal(s.svc.Subscriptions.Catalog())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	return nil
}

func (s *server) replaceCatalog(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	// Read first so that an oversized file is a 413, not a parse error.
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := jsonContentType(r, body); err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("Empty Payload, JSON content expected.")
	}
	c, err := catalog.Parse(bytes.NewReader(body))
	if err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			// catalog.Parse promises *allot.Error; anything else is still
			// the caller's bad file, not a server fault.
			return badRequest("Invalid catalog file.")
		}
		return err
	}
	if err := s.svc.Subscriptions.ReplaceCatalog(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, object{"skus": len(c.SKUs), "servicePlans": len(c.Plans)})
	return nil
}
