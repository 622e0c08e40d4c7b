package web

// Settings › Accounts: the tenant's admin center accounts, which a Global
// Administrator disables and enables, gives a new password or signs out
// everywhere (docs/ADMIN-CENTER.md). The store checks the role and the
// tenant again.

import (
	"fmt"
	"net/http"

	"github.com/allot-dev/allot"
)

type accountsData struct {
	Accounts []allot.Account
	Self     string // the signed-in account's username, which it cannot disable
	// NewPassword is shown once, on the answer to Reset password itself:
	// never in a cookie or a URL.
	NewPassword, NewPasswordFor string
}

func (s *server) accountsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAccounts(w, r, &accountsData{}, nil)
}

func (s *server) renderAccounts(w http.ResponseWriter, r *http.Request, d *accountsData, f *flash) error {
	a, _ := allot.ActorFromContext(r.Context())
	var err error
	if d.Accounts, err = s.acc.ListAccounts(r.Context()); err != nil {
		return err
	}
	d.Self = a.Name
	v := s.newView(w, r, "Accounts", "accounts", d)
	if f != nil {
		v.Flash = f
	}
	s.render(w, r, http.StatusOK, "accounts", v)
	return nil
}

// accountsAction disables, enables, resets the password of or revokes the
// sessions of one account.
func (s *server) accountsAction(w http.ResponseWriter, r *http.Request) error {
	ctx, username := r.Context(), r.PathValue("username")
	var msg string
	switch op := r.PostForm.Get("op"); op {
	case "disable", "enable":
		acc, err := s.acc.SetAccountDisabled(ctx, "", username, op == "disable")
		if err != nil {
			return err
		}
		msg = fmt.Sprintf("%s is %sd.", acc.Username, op)
		if op == "disable" {
			msg = acc.Username + " is disabled and signed out everywhere."
		}
	case "reset-password":
		acc, password, err := s.acc.ResetPassword(ctx, "", username)
		if err != nil {
			return err
		}
		// The password goes in no cookie or URL, so the answer is this
		// page rather than a redirect; its script turns the history entry
		// into the GET, so that reload and Back reset nothing.
		return s.renderAccounts(w, r, &accountsData{NewPassword: password, NewPasswordFor: acc.Username},
			&flash{Kind: "success", Text: acc.Username + " has a new password and is signed out everywhere. Copy the password now: it is not shown again."})
	case "revoke-sessions":
		n, err := s.acc.RevokeSessions(ctx, "", username)
		if err != nil {
			return err
		}
		msg = fmt.Sprintf("%s is signed out everywhere (%s ended).", username, plural(n, "session", "sessions"))
	default:
		return badRequest("Unknown action.")
	}
	return s.redirect(w, r, "/settings/accounts", flash{Kind: "success", Text: msg})
}
