package main

import (
	"strings"
	"testing"
	"time"
)

// TestCLISubscriptions drives allot subscriptions against a real server:
// a purchase and a trial, show, renew to a date, convert, a new quantity,
// cancel, the settings, and what is refused (bad flags exit 2 before any
// request, refusals of the server exit 1, a reader changes nothing).
func TestCLISubscriptions(t *testing.T) {
	w := newCLIWorld(t, 0)

	end := time.Now().UTC().AddDate(0, 2, 0).Format(time.DateOnly)
	bought := w.jsonObject("subscriptions", "create", "--sku", "STANDARDPACK", "--quantity", "4", "--term-end", end)
	id, _ := bought["id"].(string)
	if id == "" || bought["status"] != "Enabled" || num(bought["totalLicenses"]) != 4 || bought["isTrial"] != false ||
		bought["termEndDateTime"] != end+"T00:00:00Z" || bought["skuPartNumber"] != "STANDARDPACK" {
		t.Fatalf("created %v", bought)
	}
	trial := w.jsonObject("subscriptions", "create", "--sku", demoE3, "--quantity", "2", "--trial")
	tid, _ := trial["id"].(string)
	if trial["isTrial"] != true || trial["nextLifecycleDateTime"] == nil {
		t.Fatalf("trial %v", trial)
	}

	// The table names the product, the status in a column and the trial.
	out := w.ok("subscriptions", "list").stdout
	for _, want := range []string{"PRODUCT", "STATUS", "TERM END", id, tid, "STANDARDPACK", "ENTERPRISEPACK", "Enabled"} {
		if !strings.Contains(out, want) {
			t.Fatalf("list lacks %q:\n%s", want, out)
		}
	}
	if rows := w.csv("subscriptions", "list"); len(rows) < 3 || rows[0][0] != "id" {
		t.Fatalf("list CSV %v", rows)
	}
	if s := w.jsonObject("subscriptions", "show", id); s["id"] != id || s["termStartDateTime"] == nil {
		t.Fatalf("show %v", s)
	}

	renewTo := time.Now().UTC().AddDate(2, 0, 0).Format(time.DateOnly)
	if r := w.jsonObject("subscriptions", "renew", id, "--term-end", renewTo); r["termEndDateTime"] != renewTo+"T00:00:00Z" {
		t.Fatalf("renewed %v", r)
	}
	if c := w.jsonObject("subscriptions", "convert", tid); c["isTrial"] != false {
		t.Fatalf("converted %v", c)
	}
	w.fails(1, "not a trial", "subscriptions", "convert", tid)
	if q := w.jsonObject("subscriptions", "set-quantity", id, "9"); num(q["totalLicenses"]) != 9 {
		t.Fatalf("set-quantity %v", q)
	}
	if c := w.jsonObject("subscriptions", "cancel", tid); c["status"] != "LockedOut" {
		t.Fatalf("cancelled %v", c)
	}
	w.fails(1, "Request_BadRequest", "subscriptions", "reactivate", tid)

	// Refused before any request: exit 2.
	w.fails(2, "--sku is required", "subscriptions", "create", "--quantity", "1")
	w.fails(2, "--quantity must be at least 1", "subscriptions", "create", "--sku", "STANDARDPACK")
	w.fails(2, "--term-end must be a date", "subscriptions", "create", "--sku", "STANDARDPACK", "--quantity", "1", "--term-end", "next week")
	w.fails(2, "takes one subscription id", "subscriptions", "renew")
	w.fails(2, "a subscription id and a quantity", "subscriptions", "set-quantity", id)
	w.fails(2, "whole number", "subscriptions", "set-quantity", id, "many")
	w.fails(2, "--grace-days must be at least 1", "subscriptions", "settings", "--grace-days", "0")
	w.fails(2, "needs a subcommand", "subscriptions")
	// Refused by the server: exit 1, nothing changed.
	w.fails(1, "unknown product", "subscriptions", "create", "--sku", "NOPE", "--quantity", "1")
	w.fails(1, "Authorization_RequestDenied", "subscriptions", "cancel", id, "--token", w.reader)
	w.fails(1, "Request_ResourceNotFound", "subscriptions", "show", "00000000-0000-4000-8000-000000000000")
	if s := w.jsonObject("subscriptions", "show", id, "--token", w.reader); s["status"] != "Enabled" || num(s["totalLicenses"]) != 9 {
		t.Fatalf("after refusals %v", s)
	}

	st := w.jsonObject("subscriptions", "settings")
	if num(st["graceDays"]) != 30 || num(st["suspendedDays"]) != 90 {
		t.Fatalf("settings %v", st)
	}
	st = w.jsonObject("subscriptions", "settings", "--grace-days", "45", "--alert-days", "60,7")
	if num(st["graceDays"]) != 45 || num(st["suspendedDays"]) != 90 || len(st["alertDays"].([]any)) != 2 {
		t.Fatalf("changed settings %v", st)
	}
	if st := w.jsonObject("subscriptions", "settings", "--alert-days", "none"); len(st["alertDays"].([]any)) != 0 {
		t.Fatalf("no alerts %v", st)
	}
	w.fails(1, "Authorization_RequestDenied", "subscriptions", "settings", "--grace-days", "5", "--token", w.reader)
	if out := runCLIArgs("help", "subscriptions", "create").stdout; !strings.Contains(out, "--term-end") || !strings.Contains(out, "--trial") {
		t.Fatalf("help lacks the flags:\n%s", out)
	}
}
