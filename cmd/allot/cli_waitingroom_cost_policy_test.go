package main

import (
	"strings"
	"testing"
)

// TestCLIWaitingRoomCostPolicy drives the three commands against a real
// server: the waiting room's order is the order purchases license users,
// prices give the cost report, and a blocked product cannot be assigned
// directly.
func TestCLIWaitingRoomCostPolicy(t *testing.T) {
	w := newCLIWorld(t, 0)
	w.ok("assign", "--product", "ENTERPRISEPACK", "--group", "Sales", "--wait")
	w.c.waitIdle()

	t.Run("WaitingRoom", func(t *testing.T) {
		room := w.jsonList("waiting-room", "--product", "ENTERPRISEPACK")
		if len(room) != 2 || num(room[0]["position"]) != 1 || num(room[1]["position"]) != 2 || room[0]["sources"] != "Sales" {
			t.Fatalf("waiting room %v", room)
		}
		first, second := room[0]["userId"].(string), room[1]["userId"].(string)
		w.ok("purchase", "--product", "ENTERPRISEPACK", "--seats", "1")
		w.c.waitIdle()
		if st := w.c.statesFrom(first, w.groups["Sales"]); st[demoE3]["state"] != "Active" {
			t.Fatalf("first in the waiting room did not get the seat: %v", st)
		}
		if st := w.c.statesFrom(second, w.groups["Sales"]); st[demoE3]["error"] != "CountViolation" {
			t.Fatalf("second got a seat before the first: %v", st)
		}
		if rows := w.csv("waiting-room", "--product", demoE3); len(rows) != 2 || rows[0][0] != "position" || rows[1][1] != second {
			t.Fatalf("waiting room CSV %v", rows)
		}
		w.fails(2, "--product is required", "waiting-room")
		w.fails(1, "unknown product", "waiting-room", "--product", "NOPE")
	})

	t.Run("PriceAndCost", func(t *testing.T) {
		p := w.jsonObject("price", "--product", "ENTERPRISEPACK", "--price", "8", "--currency", "eur")
		if p["pricePerSeat"] != "8.00" || p["currency"] != "EUR" {
			t.Fatalf("price %v", p)
		}
		w.fails(1, "pricePerSeat", "price", "--product", "ENTERPRISEPACK", "--price", "8,00", "--currency", "EUR")
		w.fails(1, "currency", "price", "--product", "ENTERPRISEPACK", "--price", "8", "--currency", "XXY")
		w.fails(2, "--currency are required", "price", "--product", "ENTERPRISEPACK", "--price", "8")
		w.fails(1, "Authorization_RequestDenied", "price", "--product", "ENTERPRISEPACK", "--price", "1", "--currency", "EUR", "--token", w.reader)

		var e3 map[string]any
		for _, r := range w.jsonList("cost") {
			if r["skuPartNumber"] == "ENTERPRISEPACK" {
				e3 = r
			}
		}
		// 4 seats bought (3 + 1), all held.
		if e3 == nil || num(e3["seatsBought"]) != 4 || num(e3["seatsIdle"]) != 0 || e3["spend"] != "32.00" || e3["currency"] != "EUR" {
			t.Fatalf("cost row %v", e3)
		}
		groups := w.csv("cost", "--by", "group")
		if len(groups) != 2 || groups[1][1] != "Sales" || groups[1][3] != "4" || groups[1][6] != "32.00" {
			t.Fatalf("cost by group %v", groups)
		}
		if out := w.ok("cost", "--by", "currency").stdout; !strings.Contains(out, "EUR") || !strings.Contains(out, "32.00") {
			t.Fatalf("cost by currency %q", out)
		}
		w.fails(2, "--by must be", "cost", "--by", "user")
		w.ok("price", "--product", "ENTERPRISEPACK", "--clear")
		if rows := w.jsonList("cost", "--by", "currency"); len(rows) != 0 {
			t.Fatalf("totals after clearing the only price %v", rows)
		}
	})

	t.Run("Policy", func(t *testing.T) {
		rows := w.jsonList("policy", "block", "--product", "ENTERPRISEPACK")
		if len(rows) != 1 || rows[0]["skuId"] != demoE3 || rows[0]["skuPartNumber"] != "ENTERPRISEPACK" {
			t.Fatalf("policy after block %v", rows)
		}
		w.fails(1, "blocked", "assign", "--product", "ENTERPRISEPACK", "--user", "ann@contoso.example")
		w.fails(1, "Authorization_RequestDenied", "policy", "block", "--product", "STANDARDPACK", "--token", w.reader)
		if rows := w.csv("policy", "show", "--token", w.reader); len(rows) != 2 || rows[1][0] != demoE3 {
			t.Fatalf("policy show %v", rows)
		}
		if rows := w.jsonList("policy", "allow", "--product", demoE3); len(rows) != 0 {
			t.Fatalf("policy after allow %v", rows)
		}
		w.fails(2, "--product is required", "policy", "block")
	})
}

// TestServeWaitingRoomCostPolicy: `allot serve` wires the three features:
// a waiting user is listed, a price gives spend, and the policy refuses a
// direct assignment with Graph's 400.
func TestServeWaitingRoomCostPolicy(t *testing.T) {
	srv := startServer(t)
	op := &client{t: t, base: srv.url, token: "op-secret"}
	tok := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Fabrikam", "defaultUsageLocation": "US"})["token"].(map[string]any)["secret"].(string)
	c := &client{t: t, base: srv.url, token: tok}
	c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE3, "seats": 1})
	g := c.ok(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Staff", "mailNickname": "staff", "mailEnabled": false, "securityEnabled": true})["id"].(string)
	var users []string
	for _, n := range []string{"ann", "ben"} {
		u := c.ok(201, "POST", "/v1.0/users", map[string]any{"displayName": n, "userPrincipalName": n + "@fabrikam.example", "accountEnabled": true})["id"].(string)
		c.ok(204, "POST", "/v1.0/groups/"+g+"/members/$ref", map[string]any{"@odata.id": srv.url + "/v1.0/directoryObjects/" + u})
		users = append(users, u)
	}
	c.ok(202, "POST", "/v1.0/groups/"+g+"/assignLicense", lic(demoE3))
	c.waitIdle()
	room := c.ok(200, "GET", "/allot/v1/subscriptions/"+demoE3+"/waitingRoom", nil)
	if v := room["value"].([]any); len(v) != 1 || v[0].(map[string]any)["userId"] != users[1] {
		t.Fatalf("waiting room %v", room)
	}
	c.ok(200, "PUT", "/allot/v1/subscriptions/"+demoE3+"/price", map[string]any{"pricePerSeat": "12.50", "currency": "USD"})
	if tot := c.ok(200, "GET", "/allot/v1/reports/cost", nil)["totals"].([]any); len(tot) != 1 || tot[0].(map[string]any)["spend"] != "12.50" {
		t.Fatalf("totals %v", tot)
	}
	c.ok(200, "PATCH", "/allot/v1/policy", map[string]any{"blockedDirectAssignmentSkuIds": []string{demoE3}})
	if code, body := c.do("POST", "/v1.0/users/"+users[1]+"/assignLicense", lic(demoE3)); code != 400 || errorCodeFrom(body) != "Request_BadRequest" {
		t.Fatalf("blocked direct assignment: %d %v", code, body)
	}
}
