package web

// Server-rendered SVG charts: no script and no chart library, so they work
// under the CSP (no inline script or style) and without JavaScript. Every
// chart says what it shows in words as well as in shapes: a role="img"
// with an aria-label giving every value, a <title>, the values written
// beside the bars, and kinds told apart by pattern as well as colour.

import (
	"fmt"
	"html/template"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/allot-dev/allot"
)

// Segment kinds: how a part of a bar is drawn.
const (
	segSolid = "solid" // the measure itself: assigned, spend, errors
	segFree  = "free"  // room left: available licenses (light, outlined)
	segHatch = "hatch" // a part of the measure to tell apart: idle spend
	segOver  = "over"  // beyond what is owned: red and cross-hatched
)

// Colours of app.css's palette, written into the SVG because presentation
// attributes need no style sheet (and a style attribute would break the CSP).
var segFill = map[string]string{segSolid: "#0f6cbd", segFree: "#deecf9"}

type segment struct {
	Value float64
	Kind  string
}

// barRow is one bar: its label and its value in words above it.
type barRow struct {
	Label string
	Text  string // the value as read, e.g. "12 users" or "96.00 EUR (16.00 idle)"
	Segs  []segment
}

func (b barRow) sum() float64 {
	var t float64
	for _, s := range b.Segs {
		t += s.Value
	}
	return t
}

type legendItem struct{ Kind, Label string }

// barChart is a horizontal bar chart of rows on a common scale.
type barChart struct {
	ID     string // unique on the page; prefixes the patterns' ids
	Title  string
	Rows   []barRow
	Legend []legendItem
}

const (
	chartW     = 400.0 // narrow, so that a phone shrinks the text little
	chartRowH  = 44.0
	chartBarH  = 16.0
	chartFont  = 13
	chartCharW = 7.2 // a rough width of one character at chartFont
)

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// chartID makes an id safe for an attribute and a url(#…) reference.
func chartID(parts ...string) string {
	return "chart-" + idUnsafe.ReplaceAllString(strings.Join(parts, "-"), "-")
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// clip shortens a label to n characters; the whole label stays in the
// chart's aria-label.
func clip(s string, n int) string {
	if n < 4 {
		n = 4
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func num(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// patterns are the fills that do not rely on colour: diagonal lines for a
// part told apart, crossed lines for over-allocation.
func patterns(id string) string {
	return `<defs>` +
		`<pattern id="` + id + `-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
		`<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#0f6cbd" stroke-width="3"/></pattern>` +
		`<pattern id="` + id + `-over" width="6" height="6" patternUnits="userSpaceOnUse">` +
		`<rect width="6" height="6" fill="#fde7e9"/><path d="M0 0L6 6M6 0L0 6" stroke="#a4262c" stroke-width="1.6"/></pattern>` +
		`</defs>`
}

func fillOf(id, kind string) string {
	switch kind {
	case segHatch:
		return `fill="url(#` + id + `-hatch)" stroke="#0f6cbd" stroke-width="1"`
	case segOver:
		return `fill="url(#` + id + `-over)" stroke="#a4262c" stroke-width="1"`
	case segFree:
		return `fill="` + segFill[segFree] + `" stroke="#0f6cbd" stroke-width="1"`
	}
	return `fill="` + segFill[segSolid] + `"`
}

// summary is every row in words, for the aria-label.
func (c barChart) summary() string {
	parts := make([]string, 0, len(c.Rows))
	for _, r := range c.Rows {
		parts = append(parts, r.Label+": "+r.Text)
	}
	return c.Title + ". " + strings.Join(parts, "; ") + "."
}

// SVG draws the chart; with no rows it draws nothing.
func (c barChart) SVG() template.HTML {
	if len(c.Rows) == 0 {
		return ""
	}
	most := 0.0
	for _, r := range c.Rows {
		most = math.Max(most, r.sum())
	}
	if most == 0 {
		most = 1
	}
	top := 0.0
	if len(c.Legend) > 0 {
		top = 28
	}
	h := top + chartRowH*float64(len(c.Rows)) + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" role="img" aria-label="%s" viewBox="0 0 %s %s" width="100%%" preserveAspectRatio="xMinYMin meet" font-size="%d" font-family="system-ui, sans-serif">`,
		c.ID, esc(c.summary()), num(chartW), num(h), chartFont)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	b.WriteString(patterns(c.ID))
	x := 0.0
	for _, l := range c.Legend {
		fmt.Fprintf(&b, `<rect x="%s" y="6" width="14" height="14" %s/><text x="%s" y="18" fill="#201f1e">%s</text>`,
			num(x), fillOf(c.ID, l.Kind), num(x+20), esc(l.Label))
		x += 20 + float64(utf8.RuneCountInString(l.Label))*chartCharW + 18
	}
	scale := chartW / most
	for i, r := range c.Rows {
		y := top + chartRowH*float64(i)
		textW := float64(utf8.RuneCountInString(r.Text)) * chartCharW
		fmt.Fprintf(&b, `<g class="bar"><text x="0" y="%s" fill="#201f1e">%s</text>`,
			num(y+14), esc(clip(r.Label, int((chartW-textW-12)/chartCharW))))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" font-weight="600" fill="#201f1e" class="value">%s</text>`, num(chartW), num(y+14), esc(r.Text))
		bx := 0.0
		for _, s := range r.Segs {
			w := s.Value * scale
			if w <= 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" %s/>`, num(bx), num(y+20), num(math.Max(w, 1)), num(chartBarH), fillOf(c.ID, s.Kind))
			bx += w
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above went through esc
}

// Figure is the chart under its title, shown: the SVG's own <title> is
// only a tooltip.
func (c barChart) Figure() template.HTML {
	svg := c.SVG()
	if svg == "" {
		return ""
	}
	return template.HTML(`<figure class="chart-figure"><figcaption>` + esc(c.Title) + `</figcaption>` + string(svg) + `</figure>`)
}

// Usage is a product's licenses in words, as the bars' labels say them.
func (p productRow) Usage() string {
	s := fmt.Sprintf("%d of %d licenses assigned, %d available", p.Assigned, p.Total, p.Available)
	if p.Over > 0 {
		s += fmt.Sprintf(", %d over-allocated", p.Over)
	}
	return s
}

// usageSegs draws assigned within the licenses owned, then what is left,
// then what is assigned beyond them.
func (p productRow) usageSegs() []segment {
	within := min(p.Assigned, p.Total)
	return []segment{{float64(within), segSolid}, {float64(p.Available), segFree}, {float64(p.Over), segOver}}
}

// UsageBar is the Subscriptions tab's bar of a product: assigned, available
// and, past the mark of the total, over-allocated.
func (p productRow) UsageBar() template.HTML {
	const w, h = 160.0, 18.0
	id := chartID("usage", p.ID)
	scale := w / math.Max(1, float64(max(p.Total, p.Assigned)))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="usage-bar" id="%s" role="img" aria-label="%s" viewBox="0 0 %s %s" width="%s" height="%s">`,
		id, esc(p.Name+": "+p.Usage()), num(w+2), num(h), num(w+2), num(h))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(p.Usage()))
	b.WriteString(patterns(id))
	// The track shows the bar's extent even when nothing is owned or assigned.
	fmt.Fprintf(&b, `<rect x="1" y="3" width="%s" height="12" fill="none" stroke="#c8c6c4" stroke-width="1"/>`, num(w))
	x := 1.0
	for _, s := range p.usageSegs() {
		if s.Value <= 0 {
			continue
		}
		fmt.Fprintf(&b, `<rect x="%s" y="3" width="%s" height="12" %s/>`, num(x), num(s.Value*scale), fillOf(id, s.Kind))
		x += s.Value * scale
	}
	if p.Over > 0 { // where the licenses owned end
		tx := 1 + float64(p.Total)*scale
		fmt.Fprintf(&b, `<line x1="%s" y1="0" x2="%s" y2="18" stroke="#201f1e" stroke-width="2"/>`, num(tx), num(tx))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above went through esc
}

// usageLegend explains the Subscriptions tab's bars once for the table.
var usageLegend = []legendItem{{segSolid, "Assigned"}, {segFree, "Available"}, {segOver, "Over-allocated"}}

// legendSVG draws a legend alone (the Subscriptions tab's, above its table).
func legendSVG(id, label string, items []legendItem) template.HTML {
	var b strings.Builder
	x := 0.0
	for _, l := range items {
		x += 20 + float64(utf8.RuneCountInString(l.Label))*chartCharW + 18
	}
	fmt.Fprintf(&b, `<svg class="chart-legend" id="%s" role="img" aria-label="%s" viewBox="0 0 %s 24" width="%s" height="24" font-size="%d" font-family="system-ui, sans-serif"><title>%s</title>`,
		id, esc(label), num(x), num(x), chartFont, esc(label))
	b.WriteString(patterns(id))
	x = 0
	for _, l := range items {
		fmt.Fprintf(&b, `<rect x="%s" y="5" width="14" height="14" %s/><text x="%s" y="17" fill="#201f1e">%s</text>`,
			num(x), fillOf(id, l.Kind), num(x+20), esc(l.Label))
		x += 20 + float64(utf8.RuneCountInString(l.Label))*chartCharW + 18
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above went through esc
}

// amount reads a cost report's decimal amount ("96.00") for a bar's
// length; the bar's text keeps the report's own string.
func amount(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0
	}
	return f
}

// spendCharts are Billing › Cost's pictures: spend by product (the idle
// part hatched) and by group, one chart per currency, since amounts of
// different currencies are never added or compared.
func spendCharts(rep *allot.CostReport) []barChart {
	var out []barChart
	for _, t := range rep.Totals {
		cur := t.Currency
		byProduct := barChart{ID: chartID("spend-products", cur), Title: "Spend by product in " + cur,
			Legend: []legendItem{{segSolid, "Licenses in use"}, {segHatch, "Idle licenses"}}}
		for _, p := range rep.Products {
			if p.Currency != cur || p.Spend == "" {
				continue
			}
			name := p.DisplayName
			if name == "" {
				name = p.PartNumber
			}
			spend, idle := amount(p.Spend), amount(p.IdleSpend)
			byProduct.Rows = append(byProduct.Rows, barRow{Label: name, Text: p.Spend + " " + cur + " (" + p.IdleSpend + " idle)",
				Segs: []segment{{spend - idle, segSolid}, {idle, segHatch}}})
		}
		if len(byProduct.Rows) > 0 {
			out = append(out, byProduct)
		}
		byGroup := barChart{ID: chartID("spend-groups", cur), Title: "Spend by group in " + cur}
		for _, g := range rep.Groups {
			for _, gt := range g.Totals {
				if gt.Currency == cur && gt.Spend != "" {
					byGroup.Rows = append(byGroup.Rows, barRow{Label: g.DisplayName, Text: gt.Spend + " " + cur, Segs: []segment{{amount(gt.Spend), segSolid}}})
				}
			}
		}
		if len(byGroup.Rows) > 0 {
			out = append(out, byGroup)
		}
	}
	return out
}

// SpendCharts gives cost.html its charts from the page's cost report, so
// that the page's handler stays as it is.
func (v *view) SpendCharts() []template.HTML {
	var rep *allot.CostReport
	switch d := v.Data.(type) {
	case *allot.CostReport:
		rep = d
	case allot.CostReport:
		rep = &d
	}
	if rep == nil {
		return nil
	}
	var out []template.HTML
	for _, c := range spendCharts(rep) {
		out = append(out, c.Figure())
	}
	return out
}

// Legend is the legend of the Subscriptions tab's usage bars.
func (subscriptionsData) Legend() template.HTML {
	return legendSVG("usage-legend", "Bars: assigned, available and over-allocated licenses", usageLegend)
}
