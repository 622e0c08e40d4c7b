package web

// Settings › Single sign-on: a tenant's Global Administrator sets, changes
// or turns off sign-in through the organization's identity provider
// (docs/SSO.md), which the operator otherwise does with allot sso. The
// store checks the role and the tenant again, validates the configuration
// and writes every change to the audit log; the client secret is
// write-only here, as there.

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/allot-dev/allot"
)

const ssoPath = "/settings/sso"

// ssoUnavailable is why a server without a single sign-on key has no
// single sign-on: the key is the operator's, given at start.
const ssoUnavailable = "Single sign-on is not available on this server: the operator has not started it with a single sign-on key (allot serve --sso-key-file), which client secrets are kept encrypted with. Until then, admins sign in with a username and password."

// ssoFields are the inputs a refused form keeps: never the client secret,
// which goes in no cookie.
var ssoFields = []string{"issuer", "client_id", "scopes", "claim", "mappings"}

type ssoData struct {
	Available bool              // the server has a single sign-on key
	Config    *allot.OIDCConfig // nil: not set up
	// RedirectURI is the address to register at the provider; FromRequest
	// says it is built on this page's address, since the server has no
	// public URL (--public-url) to build it on.
	RedirectURI, SignInLink string
	FromRequest             bool
	Scopes                  string // every scope asked for, as sent
	Form                    ssoForm
	Roles                   []string // the role names the mappings may give
	Confirm                 *confirmData
}

// ssoForm is the form's input: the stored configuration, or what was typed
// into a refused form.
type ssoForm struct {
	Issuer, ClientID, Scopes, Claim, Mappings string
}

func (s *server) ssoPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderSSO(w, r, nil)
}

func (s *server) renderSSO(w http.ResponseWriter, r *http.Request, confirm *confirmData) error {
	d := &ssoData{Available: s.svc.OIDC != nil, Confirm: confirm}
	for _, role := range allot.Roles {
		d.Roles = append(d.Roles, roleName(role))
	}
	if d.Available {
		cfg, err := s.svc.OIDC.OIDCConfig(r.Context(), "")
		if err != nil && allot.ErrorCode(err) != allot.ENOTFOUND {
			return err
		}
		d.Config = cfg
		probe := cfg
		if probe == nil {
			// Not set up yet: the provider's application is registered
			// first, so the page names the redirect URI before any save.
			probe = &allot.OIDCConfig{}
		}
		a, _ := allot.ActorFromContext(r.Context())
		d.RedirectURI, d.FromRequest = s.redirectURL(r, probe), probe.RedirectURL == ""
		d.SignInLink = d.RedirectURI + "?sso=" + a.TenantID
		d.Form = ssoForm{Claim: "groups"}
		if cfg != nil {
			d.Scopes = strings.Join(append([]string{"openid", "profile", "email"}, cfg.Scopes...), " ")
			lines := make([]string, len(cfg.RoleMappings))
			for i, m := range cfg.RoleMappings {
				lines[i] = m.Value + " = " + roleName(m.Role)
			}
			d.Form = ssoForm{Issuer: cfg.Issuer, ClientID: cfg.ClientID, Scopes: strings.Join(cfg.Scopes, " "), Claim: cfg.RoleClaim,
				Mappings: strings.Join(lines, "\n")}
		}
		if kept := s.keptForm(r); kept != nil {
			d.Form = ssoForm{Issuer: kept.Get("issuer"), ClientID: kept.Get("client_id"), Scopes: kept.Get("scopes"),
				Claim: kept.Get("claim"), Mappings: kept.Get("mappings")}
		}
	}
	s.render(w, r, http.StatusOK, "sso", s.newView(w, r, "Single sign-on", "sso", d))
	return nil
}

// ssoSave sets or changes the configuration. A refused form goes back as
// typed, but for the secret, with the reason; an empty secret keeps the
// stored one (SetOIDCConfig).
func (s *server) ssoSave(w http.ResponseWriter, r *http.Request) error {
	if s.svc.OIDC == nil {
		return s.redirect(w, r, ssoPath, flash{Kind: "error", Text: "Nothing was saved. " + ssoUnavailable})
	}
	f := r.PostForm
	secret := strings.TrimSpace(f.Get("client_secret"))
	refuse := func(why string) error {
		text := "Nothing was saved: " + why
		if secret != "" {
			text += " Type the client secret again: it is never kept in the form."
		}
		return s.redirectKeeping(w, r, ssoPath, flash{Kind: "error", Text: text}, ssoFields...)
	}
	mappings, why := parseRoleMappings(f.Get("mappings"))
	if why != "" {
		return refuse(why)
	}
	c := allot.OIDCConfig{Issuer: f.Get("issuer"), ClientID: f.Get("client_id"), ClientSecret: secret,
		Scopes:    strings.FieldsFunc(f.Get("scopes"), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }),
		RoleClaim: f.Get("claim"), RoleMappings: mappings}
	out, err := s.svc.OIDC.SetOIDCConfig(r.Context(), c)
	if allot.ErrorCode(err) == allot.EINVALID {
		return refuse(plainMessage(err))
	} else if err != nil {
		return err
	}
	msg := "Single sign-on is saved. "
	switch {
	case secret != "":
		msg += "The new client secret is stored encrypted. "
	case out.HasClientSecret:
		msg += "The stored client secret was kept. "
	}
	msg += "Roles follow the new mappings at each person's next sign-in."
	return s.redirect(w, r, ssoPath, flash{Kind: "success", Text: msg})
}

// ssoRemoveConfirm is the dialog before single sign-on is turned off
// (GET /settings/sso/remove): it signs people out, so it asks first.
func (s *server) ssoRemoveConfirm(w http.ResponseWriter, r *http.Request) error {
	if s.svc.OIDC == nil {
		return s.redirect(w, r, ssoPath, flash{Kind: "error", Text: ssoUnavailable})
	}
	if _, err := s.svc.OIDC.OIDCConfig(r.Context(), ""); allot.ErrorCode(err) == allot.ENOTFOUND {
		return s.redirect(w, r, ssoPath, flash{Kind: "info", Text: "Single sign-on is already off."})
	} else if err != nil {
		return err
	}
	text := "Admins can no longer sign in with their organization's account, and everyone signed in that way is signed out at once. Local accounts keep working. To turn it on again, set it up again, client secret included."
	if a, _ := allot.ActorFromContext(r.Context()); strings.HasPrefix(a.Name, "sso:") {
		text += " You signed in with single sign-on yourself, so you will be signed out too: make sure a local Global Administrator account can still sign in."
	}
	return s.renderSSO(w, r, &confirmData{Title: "Turn off single sign-on", Action: ssoPath + "/remove", Text: text,
		Confirm: "Turn off single sign-on", Cancel: ssoPath, CancelLabel: "Cancel", ConfirmField: "confirm", Danger: true})
}

// ssoRemove turns single sign-on off, which ends the sessions of its
// accounts (RemoveOIDCConfig). Without confirm=1 it sends to the dialog.
func (s *server) ssoRemove(w http.ResponseWriter, r *http.Request) error {
	if s.svc.OIDC == nil {
		return s.redirect(w, r, ssoPath, flash{Kind: "error", Text: "Nothing was changed. " + ssoUnavailable})
	}
	if r.PostForm.Get("confirm") != "1" {
		return redirectTo(w, r, ssoPath+"/remove")
	}
	if err := s.svc.OIDC.RemoveOIDCConfig(r.Context(), ""); allot.ErrorCode(err) == allot.ENOTFOUND {
		return s.redirect(w, r, ssoPath, flash{Kind: "info", Text: "Single sign-on is already off."})
	} else if err != nil {
		return err
	}
	return s.redirect(w, r, ssoPath, flash{Kind: "success", Text: "Single sign-on is turned off, and everyone who had signed in with it is signed out. Local accounts keep working."})
}

// parseRoleMappings reads the form's lines "value = role", in order; the
// role by its name as the admin center shows it ("Global Administrator")
// or as allot sso takes it ("GlobalAdministrator"); refused says what is
// wrong, in words, with the line it is on. A value may hold "=",
// since it is split at the last one: no role name has one.
func parseRoleMappings(text string) (ms []allot.OIDCRoleMapping, refused string) {
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		cut := strings.LastIndexByte(line, '=')
		if cut < 0 {
			return nil, fmt.Sprintf("Line %d of the role mappings ('%s') has no equals sign: write the group or role value, =, then the Allot role, such as allot-admins = Global Administrator.", i+1, ssoClip(line, 80))
		}
		value, name := strings.TrimSpace(line[:cut]), strings.TrimSpace(line[cut+1:])
		if value == "" {
			return nil, fmt.Sprintf("Line %d of the role mappings has no group or role value before the equals sign.", i+1)
		}
		role, ok := roleNamed(name)
		if !ok {
			names := make([]string, len(allot.Roles))
			for j, r := range allot.Roles {
				names[j] = roleName(r)
			}
			if name == "" {
				return nil, fmt.Sprintf("Line %d of the role mappings has no role after the equals sign. The roles are %s.", i+1, strings.Join(names, ", "))
			}
			return nil, fmt.Sprintf("Line %d of the role mappings: '%s' is not an Allot role. The roles are %s.", i+1, ssoClip(name, 80), strings.Join(names, ", "))
		}
		ms = append(ms, allot.OIDCRoleMapping{Value: value, Role: role})
	}
	if len(ms) == 0 {
		return nil, "Give at least one role mapping, such as allot-admins = Global Administrator: without one, nobody could sign in."
	}
	return ms, ""
}

// roleNamed finds a role by its shown name or its code, ignoring case and
// spaces.
func roleNamed(name string) (allot.Role, bool) {
	key := strings.ToLower(strings.Join(strings.Fields(name), ""))
	for _, r := range allot.Roles {
		if key == strings.ToLower(string(r)) || key == strings.ToLower(strings.ReplaceAll(roleName(r), " ", "")) {
			return r, true
		}
	}
	return "", false
}
