package web

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// TestBarChartEscapesAndClips: names typed by admins (groups, products)
// reach the SVG escaped, a long name is shortened in the picture but whole
// in the aria-label, and bars keep their proportions.
func TestBarChartEscapesAndClips(t *testing.T) {
	long := strings.Repeat("Very long group name ", 6)
	c := barChart{ID: chartID("test", `a"b<c`), Title: `Spend & <more>`, Rows: []barRow{
		{Label: `<script>alert("x")</script>`, Text: "10 EUR", Segs: []segment{{10, segSolid}}},
		{Label: long, Text: "5 EUR", Segs: []segment{{4, segSolid}, {1, segHatch}}},
	}}
	s := string(c.SVG())
	if strings.Contains(s, "<script>") || !strings.Contains(s, "&lt;script&gt;") {
		t.Fatalf("label not escaped: %s", s)
	}
	if !strings.Contains(s, `id="chart-test-a-b-c"`) {
		t.Fatalf("unsafe id: %s", s)
	}
	if !strings.Contains(s, "aria-label=\"Spend &amp; &lt;more&gt;. ") || !strings.Contains(s, strings.TrimSpace(long)) {
		t.Fatalf("aria-label lacks the title or the whole long name: %s", s)
	}
	if strings.Contains(s, ">"+long+"<") || !strings.Contains(s, "…</text>") {
		t.Fatalf("long name drawn whole: %s", s)
	}
	for _, w := range []string{`width="400"`, `width="160"`, `width="40"`, `fill="url(#chart-test-a-b-c-hatch)"`} {
		if !strings.Contains(s, w) {
			t.Fatalf("chart lacks %s: %s", w, s)
		}
	}
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
	}
	if (barChart{Title: "empty"}).SVG() != "" {
		t.Fatal("a chart without rows draws something")
	}
}
