package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

func tokenView(t *allot.Token) object {
	return object{
		"id":              t.ID,
		"name":            t.Name,
		"role":            t.Role,
		"createdDateTime": jsonTime(t.CreatedAt),
		"expiresDateTime": jsonTime(t.ExpiresAt),
		"revoked":         t.Revoked,
	}
}

func (s *server) listTokens(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	toks, err := s.svc.Tokens.ListTokens(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, valueList(toks, tokenView))
	return nil
}

type tokenBody struct {
	Name          *string `json:"name"`
	Role          *string `json:"role"`
	ExpiresInDays *int    `json:"expiresInDays"`
}

// maxTokenDays caps token lifetimes at ten years; longer is "never", which
// is spelled by leaving expiresInDays out.
const maxTokenDays = 3650

func (s *server) createToken(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b tokenBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.Name == nil {
		return required("name", "Token")
	}
	name, err := text("name", "Token", *b.Name, 256, true)
	if err != nil {
		return err
	}
	if b.Role == nil {
		return required("role", "Token")
	}
	role := allot.Role(*b.Role)
	if !role.Valid() {
		names := make([]string, len(allot.Roles))
		for i, x := range allot.Roles {
			names[i] = string(x)
		}
		return badRequest("Invalid role '%s': expected one of %s.", clip(*b.Role), strings.Join(names, ", "))
	}
	var ttl time.Duration
	if b.ExpiresInDays != nil {
		if *b.ExpiresInDays < 1 || *b.ExpiresInDays > maxTokenDays {
			return badRequest("Property 'expiresInDays' must be from 1 to %d; leave it out for a token that does not expire.", maxTokenDays)
		}
		ttl = time.Duration(*b.ExpiresInDays) * 24 * time.Hour
	}
	a, _ := allot.ActorFromContext(r.Context())
	secret, tok, err := s.svc.Tokens.CreateToken(r.Context(), a.TenantID, role, name, ttl)
	if err != nil {
		return err
	}
	v := tokenView(tok)
	v["secret"] = secret
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	if err := s.svc.Tokens.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
