package web

// Settings › Alerts: the tenant's alert webhooks (docs/ALERTS.md) and
// their latest deliveries, for Global Administrators only: webhook URLs
// may carry secrets.

import (
	"net/http"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
)

type alertsData struct {
	Webhooks   []alerts.Webhook
	Deliveries []alerts.Delivery
	Types      []string
	NewSecret  string // shown once, after adding a webhook
	NewID      string
	Form       struct {
		URL     string
		Checked map[string]bool // the event boxes ticked
	}
}

func (s *server) alertService() (alerts.Service, error) {
	if s.alerts == nil {
		return nil, &httpError{http.StatusNotFound, "Alerts are not available on this server."}
	}
	return s.alerts, nil
}

func (s *server) alertsPage(w http.ResponseWriter, r *http.Request) error {
	d := &alertsData{}
	if kept := s.keptForm(r); kept != nil {
		d.Form.URL, d.Form.Checked = kept.Get("url"), map[string]bool{}
		for _, ev := range kept["event"] {
			d.Form.Checked[ev] = true
		}
	}
	return s.renderAlertsFlash(w, r, http.StatusOK, d, nil)
}

// alertsAdd adds a webhook and shows its secret on the answer page itself,
// never in a cookie or a URL, so this POST answers with a page, not a
// redirect (as Reset password does); the page's script turns its history
// entry into the GET, so that reload and Back add no other webhook. A
// refused URL goes back to the form as typed.
func (s *server) alertsAdd(w http.ResponseWriter, r *http.Request) error {
	as, err := s.alertService()
	if err != nil {
		return err
	}
	in := alerts.WebhookCreate{URL: strings.TrimSpace(r.PostForm.Get("url")), Events: r.PostForm["event"]}
	h, err := as.CreateWebhook(r.Context(), in)
	if err != nil {
		if allot.ErrorCode(err) == allot.EINVALID {
			return s.redirectKeeping(w, r, "/settings/alerts", flash{Kind: "error", Text: "No webhook was added: " + plainMessage(err)}, "url", "event")
		}
		return err
	}
	d := &alertsData{NewSecret: h.Secret, NewID: h.ID}
	return s.renderAlertsFlash(w, r, http.StatusOK, d, &flash{Kind: "success", Text: "Webhook added. Copy its signing secret now: it is not shown again."})
}

func (s *server) renderAlertsFlash(w http.ResponseWriter, r *http.Request, status int, d *alertsData, f *flash) error {
	as, err := s.alertService()
	if err != nil {
		return err
	}
	if d.Webhooks, err = as.Webhooks(r.Context()); err != nil {
		return err
	}
	if d.Deliveries, err = as.Deliveries(r.Context(), alerts.DeliveryFilter{Top: 20}); err != nil {
		return err
	}
	d.Types = alerts.Types
	v := s.newView(w, r, "Alerts", "alerts", d)
	if f != nil {
		v.Flash = f
	}
	s.render(w, r, status, "alerts", v)
	return nil
}

// alertsAction enables, disables, tests or removes one webhook.
func (s *server) alertsAction(w http.ResponseWriter, r *http.Request) error {
	as, err := s.alertService()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	h, err := as.Webhook(r.Context(), id)
	if err != nil {
		return err
	}
	var msg string
	switch op := r.PostForm.Get("op"); op {
	case "enable", "disable":
		on := op == "enable"
		_, err = as.UpdateWebhook(r.Context(), h.ID, alerts.WebhookUpdate{Enabled: &on})
		msg = "Webhook " + op + "d: " + h.URL
	case "test":
		_, err = as.TestWebhook(r.Context(), h.ID)
		msg = "A test event is on its way to " + h.URL + ". Its delivery shows below."
	case "remove":
		err = as.DeleteWebhook(r.Context(), h.ID)
		msg = "Webhook removed: " + h.URL
	default:
		return badRequest("Unknown action.")
	}
	if code := allot.ErrorCode(err); code == allot.EINVALID || code == allot.ECONFLICT {
		// Refused, not broken: back to the page with the reason.
		return s.redirect(w, r, "/settings/alerts", flash{Kind: "error", Text: "Nothing was changed: " + plainMessage(err)})
	} else if err != nil {
		return err
	}
	return s.redirect(w, r, "/settings/alerts", flash{Kind: "success", Text: msg})
}
