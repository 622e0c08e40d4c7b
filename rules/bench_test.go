package rules_test

import (
	"fmt"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/rules"
)

// benchInput is a user with 3 direct units and 5 group units on a catalog of
// 30 plans in 12 SKUs, with conflicts, dependencies, availability and
// mailbox plans, half of its units Active before.
func benchInput() rules.Input {
	var plans []*allot.ServicePlan
	for i := range 30 {
		p := &allot.ServicePlan{ID: fmt.Sprintf("bp-%02d", i), Name: fmt.Sprintf("PLAN_%02d", i)}
		switch {
		case i%10 == 0:
			p.ProvisionsMailbox = true
		case i%7 == 0:
			p.AvailableIn = []string{"US", "CA", "GB"}
		case i%5 == 0:
			p.DependsOn = [][]string{{fmt.Sprintf("bp-%02d", i-1), fmt.Sprintf("bp-%02d", (i+13)%30)}}
		}
		if i%9 == 4 {
			p.ConflictsWith = []string{fmt.Sprintf("bp-%02d", (i+11)%30)}
		}
		plans = append(plans, p)
	}
	var skus []*allot.SKU
	for i := range 12 {
		s := &allot.SKU{ID: fmt.Sprintf("bsku-%02d", i), PartNumber: fmt.Sprintf("B%02d", i)}
		for j := range 3 + i%3 {
			s.Plans = append(s.Plans, fmt.Sprintf("bp-%02d", (i*5+j*2)%30))
		}
		skus = append(skus, s)
	}
	c := allot.NewCatalog(plans, skus)
	us := []rules.Unit{
		direct("bsku-00", 1), direct("bsku-03", 2, "bp-15"), direct("bsku-07", 3),
		group("g-1", 1, "bsku-01", "bsku-02"),
		group("g-2", 2, "bsku-04"),
		group("g-3", 2, "bsku-05", "bsku-06", "bsku-08"),
		group("g-4", 3, "bsku-09", "bsku-10"),
		group("g-5", 4, "bsku-11", "bsku-00"),
	}
	var bf []allot.LicenseState
	for _, u := range us[:5] {
		for _, l := range u.SKUs {
			bf = append(bf, active(u.Source, l.SkuID))
		}
	}
	free := map[string]int{}
	for i, s := range skus {
		free[s.ID] = i%4 - 1
	}
	return rules.Input{
		Location:       "US",
		ProxyAddresses: []string{"SMTP:user@contoso.test", "smtp:u@contoso.test"},
		Taken:          map[string]bool{"someone@contoso.test": true},
		Units:          us,
		Before:         bf,
		Free:           free,
		Catalog:        c,
		Now:            now,
	}
}

func BenchmarkEvaluate(b *testing.B) {
	in := benchInput()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rules.Evaluate(in)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "users/sec")
}
