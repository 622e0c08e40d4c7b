package dynrule

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`user.department -eq "Sales"`,
		`(user.department -eq "Sales") -and (user.usageLocation -eq "US")`,
		`user.department -in ["50001","50002"]`,
		`user.proxyAddresses -any (_ -contains "contoso")`,
		`(user.accountEnabled -eq true) -and (user.userType -eq "Member")`,
		`user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled")`,
		`user.displayName -match "^Da.*"`,
		`user.extensionAttribute15 -eq "Marketing"`,
		`-not (user.city -eq null -or user.createdDateTime -ge 2024-01-01)`,
		"user.jobTitle -eq `\"x`\" -or user.mail eq 'a''b'",
		`user.assignedPlans -all (assignedPlan.assignedDateTime -le "2024-01-01T00:00:00Z")`,
		`((((user.city -notIn [a, "b", 'c']))))`,
		`device.deviceOSType -eq "iPad"`,
		`Direct Reports for "x"`,
	} {
		f.Add(s)
	}
	samples := []Subject{sales(), guest(), {}}
	f.Fuzz(func(t *testing.T, text string) {
		start := time.Now()
		r, err := Parse(text)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Parse took %v", d)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Col < 1 || e.Msg == "" {
				t.Fatalf("Parse(%q): %v is not an *Error with a column", text, err)
			}
			return
		}
		for _, s := range samples {
			if r.Match(s) != r.Explain(s).Result {
				t.Fatalf("%q: Match and Explain disagree", text)
			}
		}
		r.Properties()
		r.PlanIDs()
		join, clauses, ok := r.Flat()
		if !ok {
			return
		}
		built, err := Build(join, clauses)
		if err != nil {
			if strings.Contains(err.Error(), "longer than") {
				return
			}
			t.Fatalf("%q: Build(%q, %q): %v", text, join, clauses, err)
		}
		r2, err := Parse(built)
		if err != nil {
			t.Fatalf("%q: Build gave %q: %v", text, built, err)
		}
		join2, clauses2, ok2 := r2.Flat()
		if !ok2 || join2 != join || !reflect.DeepEqual(clauses, clauses2) {
			t.Fatalf("%q: Build gave %q, which is %q %q %v", text, built, join2, clauses2, ok2)
		}
		for _, s := range samples {
			if r.Match(s) != r2.Match(s) {
				t.Fatalf("%q and %q differ", text, built)
			}
		}
	})
}
