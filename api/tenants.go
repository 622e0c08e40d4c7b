package api

import (
	"net/http"

	"github.com/allot-dev/allot"
)

type tenantBody struct {
	DisplayName          *string `json:"displayName"`
	DefaultUsageLocation *string `json:"defaultUsageLocation"`
}

func tenantView(t *allot.Tenant) object {
	return object{
		"id":                   t.ID,
		"displayName":          t.DisplayName,
		"defaultUsageLocation": nullable(t.DefaultUsageLocation),
		"createdDateTime":      jsonTime(t.CreatedAt),
	}
}

// createTenant makes a tenant and its first Global Administrator token, so
// that the operator can hand a customer everything it needs in one call.
func (s *server) createTenant(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b tenantBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.DisplayName == nil {
		return required("displayName", "Tenant")
	}
	t := allot.Tenant{}
	var err error
	if t.DisplayName, err = text("displayName", "Tenant", *b.DisplayName, 256, true); err != nil {
		return err
	}
	if b.DefaultUsageLocation != nil {
		if t.DefaultUsageLocation, err = usageLocation(*b.DefaultUsageLocation); err != nil {
			return err
		}
	}
	created, err := s.svc.Tenants.CreateTenant(r.Context(), t)
	if err != nil {
		return err
	}
	secret, tok, err := s.svc.Tokens.CreateToken(r.Context(), created.ID, allot.RoleGlobalAdministrator, "Initial Global Administrator", 0)
	if err != nil {
		return err
	}
	tv := tokenView(tok)
	tv["secret"] = secret
	writeJSON(w, http.StatusCreated, object{"tenant": tenantView(created), "token": tv})
	return nil
}

func (s *server) getTenant(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	t, err := s.svc.Tenants.Tenant(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tenantView(t))
	return nil
}

// updateTenant: null or "" clears the default usage location.
func (s *server) updateTenant(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b tenantBody
	present, err := decodeJSON(r, &b)
	if err != nil {
		return err
	}
	var loc, name *string
	if present["defaultUsageLocation"] {
		v := ""
		if b.DefaultUsageLocation != nil {
			if v, err = usageLocation(*b.DefaultUsageLocation); err != nil {
				return err
			}
		}
		loc = &v
	}
	if present["displayName"] {
		if b.DisplayName == nil {
			return required("displayName", "Tenant")
		}
		v, err := text("displayName", "Tenant", *b.DisplayName, 256, true)
		if err != nil {
			return err
		}
		name = &v
	}
	t, err := s.svc.Tenants.UpdateTenant(r.Context(), loc, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tenantView(t))
	return nil
}
