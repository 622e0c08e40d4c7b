package api

import (
	"net/http"

	"github.com/allot-dev/allot"
)

type policyBody struct {
	BlockedDirectAssignmentSkuIDs *[]string `json:"blockedDirectAssignmentSkuIds"`
}

func policyView(p *allot.Policy) object {
	return object{"blockedDirectAssignmentSkuIds": list(p.BlockedDirectSKUs)}
}

// getPolicy serves GET /allot/v1/policy.
func (s *server) getPolicy(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	p, err := s.svc.Policy.Policy(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, policyView(p))
	return nil
}

// setPolicy serves PATCH /allot/v1/policy. The list replaces the old one
// (an empty list blocks nothing); existing direct assignments of a newly
// blocked SKU stay.
func (s *server) setPolicy(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var body policyBody
	if _, err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.BlockedDirectAssignmentSkuIDs == nil {
		return badRequest("Property 'blockedDirectAssignmentSkuIds' is required: the list of SKU ids whose direct assignment is blocked (may be empty).")
	}
	ids, err := guids("blockedDirectAssignmentSkuIds", *body.BlockedDirectAssignmentSkuIDs)
	if err != nil {
		return err
	}
	if len(ids) > maxPolicySKUs {
		return badRequest("Property 'blockedDirectAssignmentSkuIds' may list at most %d SKUs.", maxPolicySKUs)
	}
	p, err := s.svc.Policy.SetPolicy(r.Context(), ids)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, policyView(p))
	return nil
}

// maxPolicySKUs bounds the list; Microsoft's whole catalog has fewer SKUs.
const maxPolicySKUs = 1000
