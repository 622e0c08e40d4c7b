package web

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// flashCookie carries the message of the last action across its redirect,
// signed with the session so that no other site can plant one.
const flashCookie = "allot_flash"

// flash is the outcome of an action, shown once on the page it redirects to.
type flash struct {
	Kind  string   `json:"k"` // "success", "error" or "info"
	Text  string   `json:"t"`
	Items []string `json:"i,omitempty"`
}

func (s *server) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	b, _ := json.Marshal(f)
	payload := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, s.cookie(r, flashCookie, payload+"."+mac(secretFrom(r.Context()), "flash "+payload), 120))
}

func (s *server) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, s.cookie(r, flashCookie, "", -1))
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(mac(secretFrom(r.Context()), "flash "+payload))) {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	var f flash
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	return &f
}

// redirect answers a successful POST with a flash and a 303 to a GET.
func (s *server) redirect(w http.ResponseWriter, r *http.Request, to string, f flash) error {
	s.setFlash(w, r, f)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
