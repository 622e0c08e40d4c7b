package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
)

// Alerts (docs/ALERTS.md): a tenant's webhooks and their deliveries.
// Without Config.Alerts the routes answer 404.

func (s *server) alertService() (alerts.Service, error) {
	if s.alerts == nil {
		return nil, &statusError{http.StatusNotFound, "Request_ResourceNotFound", "Alerts are not available on this server."}
	}
	return s.alerts, nil
}

func webhookView(h *alerts.Webhook) object {
	o := object{
		"id":              h.ID,
		"url":             h.URL,
		"events":          list(h.Events),
		"enabled":         h.Enabled,
		"createdDateTime": jsonTime(h.CreatedAt),
	}
	if h.Secret != "" {
		o["secret"] = h.Secret
	}
	return o
}

func deliveryView(d *alerts.Delivery) object {
	return object{
		"id":                  d.ID,
		"eventId":             d.EventID,
		"eventType":           d.EventType,
		"webhookId":           d.WebhookID,
		"status":              d.Status,
		"attempts":            d.Attempts,
		"createdDateTime":     jsonTime(d.CreatedAt),
		"nextAttemptDateTime": jsonTime(d.NextAttemptAt),
		"lastAttemptDateTime": jsonTime(d.LastAttemptAt),
		"lastResponseStatus":  d.LastStatus,
		"lastError":           nullable(d.LastError),
		"deliveredDateTime":   jsonTime(d.DeliveredAt),
	}
}

func (s *server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	as, err := s.alertService()
	if err != nil {
		return err
	}
	hooks, err := as.Webhooks(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, valueList(hooks, webhookView))
	return nil
}

func (s *server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	as, err := s.alertService()
	if err != nil {
		return err
	}
	h, err := as.Webhook(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookView(h))
	return nil
}

type webhookBody struct {
	URL          *string   `json:"url"`
	Secret       *string   `json:"secret"`
	Events       *[]string `json:"events"`
	Enabled      *bool     `json:"enabled"`
	RotateSecret *bool     `json:"rotateSecret"`
}

func (s *server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b webhookBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.URL == nil {
		return required("url", "Webhook")
	}
	if b.RotateSecret != nil {
		return badRequest("Property 'rotateSecret' applies to PATCH only; leave 'secret' out to have one generated.")
	}
	as, err := s.alertService()
	if err != nil {
		return err
	}
	in := alerts.WebhookCreate{URL: *b.URL, Enabled: b.Enabled}
	if b.Secret != nil {
		if *b.Secret == "" {
			return badRequest("Property 'secret' must not be empty; leave it out to have one generated.")
		}
		in.Secret = *b.Secret
	}
	if b.Events != nil {
		in.Events = *b.Events
	}
	h, err := as.CreateWebhook(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, webhookView(h))
	return nil
}

func (s *server) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	var b webhookBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.Events != nil && *b.Events == nil {
		return badRequest("Property 'events' must be a list; an empty list subscribes to every event type.")
	}
	as, err := s.alertService()
	if err != nil {
		return err
	}
	h, err := as.UpdateWebhook(r.Context(), id, alerts.WebhookUpdate{URL: b.URL, Secret: b.Secret, Events: b.Events, Enabled: b.Enabled, RotateSecret: b.RotateSecret != nil && *b.RotateSecret})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookView(h))
	return nil
}

func (s *server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	as, err := s.alertService()
	if err != nil {
		return err
	}
	if err := as.DeleteWebhook(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	if err := emptyBody(r); err != nil {
		return err
	}
	as, err := s.alertService()
	if err != nil {
		return err
	}
	d, err := as.TestWebhook(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, deliveryView(d))
	return nil
}

// emptyBody accepts no body, or an empty JSON object.
func emptyBody(r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if t := strings.TrimSpace(string(body)); t != "" && t != "{}" {
		return badRequest("This action takes no body.")
	}
	return nil
}

func (s *server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	var f alerts.DeliveryFilter
	for k, v := range r.URL.Query() {
		if len(v) != 1 {
			return badRequest("Query option '%s' is given more than once.", clip(k))
		}
		switch k {
		case "webhookId":
			id, ok := allot.ParseID(v[0])
			if !ok {
				return invalidID(v[0])
			}
			f.WebhookID = id
		case "status":
			if !slices.Contains([]string{alerts.StatusPending, alerts.StatusDelivered, alerts.StatusFailed}, v[0]) {
				return badRequest("Query option 'status' must be pending, delivered or failed.")
			}
			f.Status = v[0]
		case "$top":
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 1 || n > alerts.MaxDeliveries {
				return badRequest("Query option '$top' must be a number from 1 to %d.", alerts.MaxDeliveries)
			}
			f.Top = n
		default:
			return unsupportedQuery("Query option '%s' is not supported here; use webhookId, status or $top.", clip(k))
		}
	}
	as, err := s.alertService()
	if err != nil {
		return err
	}
	ds, err := as.Deliveries(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, valueList(ds, deliveryView))
	return nil
}
