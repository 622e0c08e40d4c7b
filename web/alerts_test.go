package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
	"github.com/allot-dev/allot/web"
)

var webhookRowRe = regexp.MustCompile(`data-webhook="([0-9a-f-]+)"`)

// TestAlertsPage: a Global Administrator adds a webhook (its secret shown
// once), sends a test, disables and removes it; every other role is
// refused the page and its actions; forms need the CSRF token.
func TestAlertsPage(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	for _, r := range allot.Roles {
		if r == allot.RoleGlobalAdministrator {
			continue
		}
		b, token := e.signIn(r)
		if p := b.get("/settings/alerts"); p.status != http.StatusForbidden {
			t.Errorf("%s: GET page %d, want 403", r, p.status)
		}
		if p := b.post("/settings/alerts", url.Values{"csrf_token": {token}, "url": {"https://x.example/h"}}); p.status != http.StatusForbidden {
			t.Errorf("%s: add %d, want 403", r, p.status)
		}
		if strings.Contains(b.get("/billing/licenses").body, `href="/settings/alerts"`) {
			t.Errorf("%s sees the Alerts link", r)
		}
	}
	as := alerts.Service(e.db)
	hooks := func() []alerts.Webhook {
		t.Helper()
		hs, err := as.Webhooks(e.ga)
		if err != nil {
			t.Fatal(err)
		}
		return hs
	}
	if len(hooks()) != 0 {
		t.Fatal("other roles added a webhook")
	}

	b, token := e.signIn(allot.RoleGlobalAdministrator)
	wantIn(t, b.get("/billing/licenses"), `href="/settings/alerts"`)
	wantIn(t, b.get("/settings/alerts"), "No webhooks yet.", "group.errors", "waitingroom.grew")
	if p := b.post("/settings/alerts", url.Values{"url": {"https://x.example/h"}}); p.status != http.StatusForbidden {
		t.Fatalf("add without CSRF token: %d", p.status)
	}
	p := b.post("/settings/alerts", url.Values{"csrf_token": {token}, "url": {"ftp://x.example/h"}})
	if p.status != http.StatusSeeOther || len(hooks()) != 0 {
		t.Fatalf("bad URL: %d, %d webhooks", p.status, len(hooks()))
	}
	wantIn(t, b.follow(p), "http or https", `value="ftp://x.example/h"`)

	p = b.post("/settings/alerts", url.Values{"csrf_token": {token}, "url": {"https://x.example/h"}, "event": {alerts.GroupErrors, alerts.SubscriptionExhausted}})
	hs := hooks()
	if p.status != http.StatusOK || len(hs) != 1 {
		t.Fatalf("add: %d, %d webhooks", p.status, len(hs))
	}
	if got := strings.Join(hs[0].Events, ","); got != "group.errors,subscription.exhausted" {
		t.Fatalf("events %q", got)
	}
	m := regexp.MustCompile(`<code id="secret">(whsec_[0-9a-f]+)</code>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the secret is not shown once: %s", p.body)
	}
	list := b.get("/settings/alerts")
	if strings.Contains(list.body, m[1]) {
		t.Fatal("the secret is shown again")
	}
	if ids := webhookRowRe.FindAllStringSubmatch(list.body, -1); len(ids) != 1 || ids[0][1] != hs[0].ID {
		t.Fatalf("webhook rows %v", ids)
	}
	act := "/settings/alerts/" + hs[0].ID
	wantIn(t, b.follow(b.post(act, url.Values{"csrf_token": {token}, "op": {"test"}})), "A test event is on its way", `data-status="pending"`, "webhook.test")
	b.follow(b.post(act, url.Values{"csrf_token": {token}, "op": {"disable"}}))
	if hooks()[0].Enabled {
		t.Fatal("disable did not disable")
	}
	if p := b.post(act, url.Values{"csrf_token": {token}, "op": {"explode"}}); p.status != http.StatusBadRequest {
		t.Fatalf("unknown op: %d", p.status)
	}
	wantIn(t, b.follow(b.post(act, url.Values{"csrf_token": {token}, "op": {"remove"}})), "Webhook removed", "No webhooks yet.")
	if len(hooks()) != 0 {
		t.Fatal("remove did not remove")
	}
	if p := b.post(act, url.Values{"csrf_token": {token}, "op": {"remove"}}); p.status != http.StatusNotFound {
		t.Fatalf("removing again: %d", p.status)
	}
}
