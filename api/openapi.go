package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc describes the /allot/v1 extensions (OpenAPI 3.1). The /v1.0
// routes are Microsoft Graph's, described by Graph's own documentation.
// api/openapi_test.go fails when the document and the route table differ.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the document as it is embedded. It is public: it says
// nothing about any tenant, only what the routes take and answer.
func (s *server) openAPI(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
	return nil
}
