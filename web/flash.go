package web

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// flashCookie carries the message of the last action across its redirect,
// signed with the session so that no other site can plant one.
const flashCookie = "allot_flash"

// maxFlashCookie keeps the cookie under the 4 KB browsers store, with room
// for its name and attributes.
const maxFlashCookie = 3800

// flash is the outcome of an action, shown once on the page it redirects to.
type flash struct {
	Kind  string   `json:"k"` // "success" (all done), "warning" (done, but something still needs fixing), "error" or "info"
	Text  string   `json:"t"`
	Items []string `json:"i,omitempty"`
	// Form is the input of a refused form, so that the page it redirects
	// to shows it again rather than what is stored; For is that page's
	// path, so that no other form picks it up.
	Form url.Values `json:"f,omitempty"`
	For  string     `json:"p,omitempty"`
}

func (s *server) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	value := s.flashValue(r, f)
	if len(value) > maxFlashCookie && f.Form != nil {
		// Too long to carry back: the message still says what went wrong.
		f.Form, f.For = nil, ""
		f.Text += " What you typed was too long to keep, so the form shows the saved values."
		value = s.flashValue(r, f)
	}
	http.SetCookie(w, s.cookie(r, flashCookie, value, 120))
}

func (s *server) flashValue(r *http.Request, f flash) string {
	b, _ := json.Marshal(f)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + mac(secretFrom(r.Context()), "flash "+payload)
}

func (s *server) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	f := s.peekFlash(r)
	if _, err := r.Cookie(flashCookie); err == nil {
		http.SetCookie(w, s.cookie(r, flashCookie, "", -1))
	}
	return f
}

// peekFlash reads the flash without using it up, for a handler that needs
// the kept input before the page (newView) takes the message.
func (s *server) peekFlash(r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
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

// keptForm is the input a refused form left for this page, or nil.
func (s *server) keptForm(r *http.Request) url.Values {
	if f := s.peekFlash(r); f != nil && f.Form != nil && f.For == r.URL.Path {
		return f.Form
	}
	return nil
}

// redirect answers a POST with a flash and a 303 to a GET (post/redirect/
// get), so that Back, reload and bookmarks never send the form again.
func (s *server) redirect(w http.ResponseWriter, r *http.Request, to string, f flash) error {
	s.setFlash(w, r, f)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// redirectKeeping answers a refused form with a 303 back to it, carrying
// the fields named so that the form shows what was typed.
func (s *server) redirectKeeping(w http.ResponseWriter, r *http.Request, to string, f flash, fields ...string) error {
	f.Form = url.Values{}
	for name, vs := range r.PostForm {
		for _, want := range fields {
			if name == want || (strings.HasSuffix(want, "*") && strings.HasPrefix(name, strings.TrimSuffix(want, "*"))) {
				f.Form[name] = vs
			}
		}
	}
	if u, err := url.Parse(to); err == nil {
		f.For = u.Path
	}
	return s.redirect(w, r, to, f)
}
