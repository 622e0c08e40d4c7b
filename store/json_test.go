package store

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/allot-dev/allot"
)

// The hand-written JSON of processing must read and write exactly what
// encoding/json does, for any text.
func FuzzJSONLists(f *testing.F) {
	for _, s := range []string{`[]`, `null`, `["a"]`, `["SMTP:a@b.com","smtp:c@d.com"]`, `[""]`, `["a",]`, `["a" ,"b"]`,
		`["\u00e9"]`, `["a\"b"]`, `[1]`, `["<&>"]`, "[\"\x01\"]", `["a","`, `"a"`, `[`, "[\"\xff\"]", `["a"]x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []string
		_ = json.Unmarshal([]byte(s), &want)
		if want == nil {
			want = []string{}
		}
		if got := strList(s); !slices.Equal(got, want) {
			t.Fatalf("strList(%q) = %q, encoding/json reads %q", s, got, want)
		}
		list := want
		if s == "null" {
			list = nil
		}
		b, _ := json.Marshal(list)
		if got := listJSON(list); got != string(b) {
			t.Fatalf("listJSON(%q) = %s, encoding/json writes %s", list, got, b)
		}
		states := []allot.LicenseState{{SkuID: s, State: allot.StateActive, Error: allot.ErrNone}, {SkuID: "x", Source: s, State: s, Error: s}}
		type st struct {
			SkuID  string `json:"skuId"`
			Source string `json:"assignedByGroup,omitempty"`
			State  string `json:"state"`
			Error  string `json:"error"`
		}
		var ref []st
		for _, x := range states {
			ref = append(ref, st{x.SkuID, x.Source, x.State, x.Error})
		}
		b, _ = json.Marshal(ref)
		if got := statesJSON(states); got != string(b) {
			t.Fatalf("statesJSON = %s, encoding/json writes %s", got, b)
		}
	})
}
