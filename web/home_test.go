package web_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/web"
)

// svgRe finds the inline SVG charts of a page.
var svgRe = regexp.MustCompile(`(?s)<svg[^>]*>.*?</svg>`)

// charts returns the page's SVGs, each checked to be well-formed XML and
// accessible: role="img", an aria-label, and a <title> first.
func charts(t *testing.T, body string) []string {
	t.Helper()
	svgs := svgRe.FindAllString(body, -1)
	for _, s := range svgs {
		d := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chart is not well-formed: %v\n%s", err, s)
			}
		}
		if !strings.Contains(s, `role="img"`) || !regexp.MustCompile(`aria-label="[^"]+"`).MatchString(s) || !regexp.MustCompile(`^<svg[^>]*><title>[^<]+</title>`).MatchString(s) {
			t.Fatalf("chart lacks role, aria-label or title: %s", s)
		}
		if strings.Contains(s, "style=") {
			t.Fatalf("chart has a style attribute, which the CSP refuses: %s", s)
		}
	}
	return svgs
}

func chartWith(t *testing.T, svgs []string, want ...string) string {
	t.Helper()
	for _, s := range svgs {
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return s
		}
	}
	t.Fatalf("no chart has all of %q among %d charts", want, len(svgs))
	return ""
}

// TestHomePage: / is a page, not a redirect, and answers "what needs me
// today": the products near or over their licenses, the groups in error
// with their counts, the waiting rooms, the errors by kind, and the
// subscriptions whose terms end soon; each picture also
// says its figures in words.
func TestHomePage(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	b, _ := e.signIn(allot.RoleGlobalReader)

	p := b.get("/")
	if p.status != http.StatusOK {
		t.Fatalf("home: status %d, want 200", p.status)
	}
	wantIn(t, p, `id="all-clear"`, `id="none-ending"`)
	if len(charts(t, p.body)) != 0 {
		t.Fatal("a quiet tenant's home page draws charts")
	}

	// Marketing (alice US, bob without a location, carol GB, dave US) gets
	// Office 365 E1, which has 2 licenses: bob is in error for his
	// location, one of the others waits for a license.
	dave, err := e.db.CreateUser(e.ga, allot.UserCreate{UserPrincipalName: "dave@contoso.example", DisplayName: "dave", UsageLocation: "US", AccountEnabled: true})
	e.must(dave, err)
	if err := e.db.AddMember(e.ga, e.groups["Marketing"], dave.ID); err != nil {
		t.Fatal(err)
	}
	e.must(e.db.AssignGroupLicense(e.ga, e.groups["Marketing"], []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	e.must(e.db.SetSeats(e.ga, skuE1, 1)) // now over-allocated by one

	p = b.get("/")
	if strings.Contains(p.body, `id="all-clear"`) {
		t.Fatal("the home page says nothing needs the admin")
	}
	svgs := charts(t, p.body)
	chartWith(t, svgs, "Products near or over their licenses", "Office 365 E1: 2 of 1 assigned, 1 over", `-over)"`)
	chartWith(t, svgs, "Users waiting for a license, by product", "Office 365 E1: 1 user")
	chartWith(t, svgs, "License errors from groups, by kind", "User usage location not specified: 1 error", "Not enough licenses: 1 error")
	wantIn(t, p,
		`<li data-sku="`+skuE1+`"><a href="/billing/licenses/`+skuE1+`">Office 365 E1</a>: 2 of 1 licenses assigned, 0 available, 1 over-allocated.`,
		`<tr data-group="`+e.groups["Marketing"]+`">`, `data-label="Members in error">2</td>`,
		`href="/billing/licenses/`+skuE1+`/groups/`+e.groups["Marketing"]+`?tab=actions"`,
		`href="/billing/licenses/`+skuE1+`/waiting">Office 365 E1</a>: 1 user waits for a license.`)
	// The Kiosk product has every license left: not listed as near.
	if strings.Contains(p.body, `<li data-sku="`+skuKiosk+`">`) {
		t.Fatal("a product with every license left is listed as near its licenses")
	}
}

// TestSubscriptionsUsageBars: each product of the Subscriptions tab has a
// bar of assigned / available / total; an over-allocated one is drawn
// with the red cross-hatched part and says so in words.
func TestSubscriptionsUsageBars(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	e.must(e.db.UpdateTenant(e.ga, ptr("US"), nil))
	e.must(e.db.AssignGroupLicense(e.ga, e.groups["Marketing"], []allot.AssignedLicense{{SkuID: skuKiosk, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	e.must(e.db.SetSeats(e.ga, skuKiosk, 1))
	b, _ := e.signIn(allot.RoleGlobalReader)
	p := b.get("/billing/licenses")
	svgs := charts(t, p.body)
	chartWith(t, svgs, `id="usage-legend"`, "Assigned", "Available", "Over-allocated")
	e1 := chartWith(t, svgs, `aria-label="Office 365 E1: 0 of 2 licenses assigned, 2 available"`)
	if strings.Contains(e1, `-over)"`) {
		t.Fatal("a product with licenses left is drawn over-allocated")
	}
	kiosk := chartWith(t, svgs, "licenses assigned, 0 available, 1 over-allocated")
	if !strings.Contains(kiosk, `fill="url(#chart-usage-`+skuKiosk+`-over)"`) {
		t.Fatalf("the over-allocated part is not cross-hatched: %s", kiosk)
	}
	wantIn(t, p, `data-label="Available licenses">0</td>`, `data-label="Total licenses">1</td>`)
}

// TestCostCharts: Billing › Cost draws spend by product (the idle part
// hatched) and by group per currency once a price is set, and says how
// to get them before.
func TestCostCharts(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	e.must(e.db.UpdateTenant(e.ga, ptr("US"), nil))
	b, _ := e.signIn(allot.RoleGlobalReader)
	wantIn(t, b.get("/billing/cost"), `id="no-spend-charts"`)

	e.must(e.db.SetSeats(e.ga, skuKiosk, 4))
	e.must(e.db.AssignGroupLicense(e.ga, e.groups["Marketing"], []allot.AssignedLicense{{SkuID: skuKiosk, DisabledPlans: []string{}}}, []string{}))
	e.drain()
	e.must(e.db.SetPrice(e.ga, skuKiosk, allot.Price{Units: 8 * allot.PriceScale, Currency: "EUR"}))
	p := b.get("/billing/cost")
	svgs := charts(t, p.body)
	byProduct := chartWith(t, svgs, "Spend by product in EUR", "32.00 EUR (8.00 idle)", `-hatch)"`)
	if !strings.Contains(byProduct, `width="300"`) || !strings.Contains(byProduct, `width="100"`) {
		t.Fatalf("3 of 4 licenses in use should fill three quarters of the bar: %s", byProduct)
	}
	chartWith(t, svgs, "Spend by group in EUR", "Marketing: 24.00 EUR")
	if strings.Contains(p.body, `id="no-spend-charts"`) {
		t.Fatal("the placeholder stays with a price set")
	}
}
