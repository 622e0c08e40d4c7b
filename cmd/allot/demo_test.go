package main

import (
	"testing"
	"time"

	"github.com/allot-dev/allot"
)

// TestDemoSubscriptionStates: the demo tenant has a subscription in each
// state a new admin should recognise: a trial ending in 5 days, one in its
// grace period, and a suspended product, while the licenses of the groups
// that use those products are still granted.
func TestDemoSubscriptionStates(t *testing.T) {
	ctx, db, srv := startCLIServer(t, 0)
	signIns, err := seedDemo(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var admin string
	for _, s := range signIns {
		if s.role == allot.RoleGlobalAdministrator {
			admin = s.token
		}
	}
	c := &client{t: t, base: srv.URL, token: admin}
	c.waitIdle()

	type sub struct {
		status  string
		trial   bool
		termEnd time.Time
	}
	by := map[string][]sub{}
	for _, v := range c.ok(200, "GET", "/allot/v1/companySubscriptions", nil)["value"].([]any) {
		m := v.(map[string]any)
		s := sub{status: m["status"].(string), trial: m["isTrial"].(bool)}
		if e, ok := m["termEndDateTime"].(string); ok {
			s.termEnd, _ = time.Parse(time.RFC3339, e)
		}
		by[m["skuId"].(string)] = append(by[m["skuId"].(string)], s)
	}
	if e5 := by[demoE5]; len(e5) != 1 || !e5[0].trial || e5[0].status != allot.SubEnabled || e5[0].termEnd.Sub(time.Now()) > 5*24*time.Hour ||
		e5[0].termEnd.Sub(time.Now()) < 4*24*time.Hour {
		t.Fatalf("E5 is not a trial ending in 5 days: %+v", e5)
	}
	var warning bool
	for _, s := range by[demoAudio] {
		warning = warning || s.status == allot.SubWarning
	}
	if !warning || len(by[demoAudio]) != 2 {
		t.Fatalf("Audio Conferencing has no subscription in grace: %+v", by[demoAudio])
	}
	if p2 := by[demoExoP2]; len(p2) != 1 || p2[0].status != allot.SubSuspended {
		t.Fatalf("Exchange Online (Plan 2) is not suspended: %+v", p2)
	}
	skus := map[string]map[string]any{}
	for _, v := range c.ok(200, "GET", "/v1.0/subscribedSkus", nil)["value"].([]any) {
		skus[v.(map[string]any)["skuId"].(string)] = v.(map[string]any)
	}
	if skus[demoExoP2]["capabilityStatus"] != "Suspended" || skus[demoAudio]["capabilityStatus"] != "Enabled" || skus[demoE5]["capabilityStatus"] != "Enabled" {
		t.Fatalf("capabilityStatus: P2 %v, Audio %v, E5 %v", skus[demoExoP2]["capabilityStatus"], skus[demoAudio]["capabilityStatus"], skus[demoE5]["capabilityStatus"])
	}
	// The grace period takes no license from anyone: nobody waits for
	// Audio Conferencing, whose 30 licenses that renew by themselves serve
	// the Call Center; E5's trial licenses are all held (Engineering has
	// more members than it).
	if room := c.ok(200, "GET", "/allot/v1/subscriptions/"+demoAudio+"/waitingRoom", nil); num(room["waiting"]) != 0 || num(skus[demoAudio]["consumedUnits"]) == 0 {
		t.Fatalf("Audio Conferencing: waiting room %v, holders %v", room, skus[demoAudio]["consumedUnits"])
	}
	if n := num(skus[demoE5]["consumedUnits"]); n != 10 {
		t.Fatalf("E5 holders %d, want its 10 trial licenses' worth", n)
	}
}
