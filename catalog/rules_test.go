package catalog_test

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
)

// exampleRules is the committed rules file for Microsoft's list.
const exampleRules = "../docs/microsoft-365.rules"

func importFiles(t testing.TB) *allot.Catalog {
	t.Helper()
	list, err := os.Open(microsoftCSV)
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("the published list is not beside the module:", microsoftCSV)
	} else if err != nil {
		t.Fatal(err)
	}
	defer list.Close()
	rules, err := os.Open(exampleRules)
	if err != nil {
		t.Fatal(err)
	}
	defer rules.Close()
	c, err := catalog.Import("microsoft-365-service-plans.csv", list, "microsoft-365.rules", rules)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestImportMicrosoftListWithRules(t *testing.T) {
	c := importFiles(t)
	if len(c.SKUs) != 569 || len(c.Plans) != 723 {
		t.Fatalf("got %d SKUs and %d plans, want 569 and 723", len(c.SKUs), len(c.Plans))
	}
	e3 := skuByPart(t, c, "ENTERPRISEPACK")
	if e3.ID != "6fd2c87f-b296-42f0-b197-1e91e994b900" || e3.DisplayName != "Office 365 E3" || len(e3.Plans) != 36 {
		t.Errorf("ENTERPRISEPACK: %s %q with %d plans", e3.ID, e3.DisplayName, len(e3.Plans))
	}
	for _, p := range []string{"efb87545-963c-4e0d-99df-69c6916d9eb0", "5dbe027f-2339-4123-9542-606e4d348a72", "e95bec33-7c88-4a70-8e19-b10bd9d0c014", "0feaeb32-d00e-4d66-bd5a-43b5b83db82c"} {
		if !c.HasPlan(e3.ID, p) {
			t.Errorf("ENTERPRISEPACK lacks plan %s (%v)", p, names(c, []string{p}))
		}
	}

	// The rules of the example file, as the demo catalog has them too.
	std, kiosk, ent := planByName(t, c, "EXCHANGE_S_STANDARD"), planByName(t, c, "EXCHANGE_S_DESKLESS"), planByName(t, c, "EXCHANGE_S_ENTERPRISE")
	if !std.ProvisionsMailbox || !kiosk.ProvisionsMailbox || !ent.ProvisionsMailbox {
		t.Error("Exchange plans do not provision mailboxes")
	}
	if planByName(t, c, "EXCHANGE_S_FOUNDATION").ProvisionsMailbox {
		t.Error("Exchange Foundation provisions a mailbox")
	}
	if !c.Conflicts(std.ID, kiosk.ID) || !c.Conflicts(kiosk.ID, std.ID) || c.Conflicts(std.ID, ent.ID) {
		t.Error("Exchange conflicts: want Plan 1 with Kiosk, not Plan 1 with Plan 2")
	}
	wac := planByName(t, c, "SHAREPOINTWAC")
	if len(wac.DependsOn) != 1 || !slices.Contains(wac.DependsOn[0], planByName(t, c, "SHAREPOINTSTANDARD").ID) {
		t.Errorf("SHAREPOINTWAC depends on %v", wac.DependsOn)
	}
	if got := planByName(t, c, "MCOPSTN1").AvailableIn; !slices.Contains(got, "US") || slices.Contains(got, "CN") {
		t.Errorf("MCOPSTN1 available in %v", got)
	}
	// Every product that carries Office for the web carries a plan it
	// needs: none of them is refused when assigned on its own.
	for _, s := range c.SKUs {
		if !slices.Contains(s.Plans, wac.ID) {
			continue
		}
		if !slices.ContainsFunc(wac.DependsOn[0], func(p string) bool { return slices.Contains(s.Plans, p) }) {
			t.Errorf("SKU %s has SHAREPOINTWAC without a SharePoint or OneDrive plan", s.PartNumber)
		}
	}
	// No product has two plans the rules make conflict: such a product
	// would conflict with every other product holding either.
	for _, s := range c.SKUs {
		for i, p := range s.Plans {
			for _, q := range s.Plans[i+1:] {
				if c.Conflicts(p, q) {
					t.Errorf("SKU %s has conflicting plans %v", s.PartNumber, names(c, []string{p, q}))
				}
			}
		}
	}

	out, err := catalog.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := catalog.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatal("Parse(Marshal(imported catalog)) differs from the imported catalog")
	}
}

const csvHeader = "Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,Service_Plans_Included_Friendly_Names\n"

// Plans and SKUs of the small list below.
const (
	idStd   = "9aaf7827-d63c-4b61-89c3-182f06f82e5c"
	idKiosk = "4a82b400-a79f-41a4-b4e2-e94f5787b113"
	idSP    = "c7699d2e-19aa-44de-8edf-1736da088ca1"
	idWAC   = "e95bec33-7c88-4a70-8e19-b10bd9d0c014"
	idPSTN  = "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8"
	idVirt  = "e7c91390-7625-45be-94e0-e16907e03118"
	idE1    = "18181a46-0d4e-45cd-891e-60aabd171b4e"
	idK     = "80b2d799-d2ba-4d2a-8842-fb0d0f3a4b82"
	idCall  = "0dab259f-bf13-4952-b7f8-7db8f131b28d"
)

// smallList is a Microsoft-style CSV of three products.
var smallList = csvHeader +
	"Office 365 E1,STANDARDPACK," + idE1 + ",EXCHANGE_S_STANDARD," + idStd + ",Exchange Online (Plan 1)\n" +
	"Office 365 E1,STANDARDPACK," + idE1 + ",SHAREPOINTSTANDARD," + idSP + ",SharePoint (Plan 1)\n" +
	"Office 365 E1,STANDARDPACK," + idE1 + ",SHAREPOINTWAC," + idWAC + ",Office for the Web\n" +
	"Office 365 E1,STANDARDPACK," + idE1 + ",Virtualization Rights for Windows," + idVirt + ",Windows\n" +
	"Exchange Online Kiosk,EXCHANGEDESKLESS," + idK + ",EXCHANGE_S_DESKLESS," + idKiosk + ",Exchange Online Kiosk\n" +
	"Calling,MCOPSTN1," + idCall + ",MCOPSTN1," + idPSTN + ",Domestic Calling Plan\n"

func importSmall(rules string) (*allot.Catalog, error) {
	return catalog.Import("plans.csv", strings.NewReader(smallList), "rules.txt", strings.NewReader(rules))
}

func TestImportRules(t *testing.T) {
	rules := "\ufeff# rules for the small list\r\n" +
		"mailbox EXCHANGE_S_STANDARD " + strings.ToUpper(idKiosk) + "  # by id, any case\r\n" +
		"mailbox EXCHANGE_S_STANDARD\n" + // repeating is harmless
		"\n" +
		"conflict EXCHANGE_S_DESKLESS EXCHANGE_S_STANDARD\n" +
		"conflict EXCHANGE_S_STANDARD EXCHANGE_S_DESKLESS\n" + // so is a pair twice
		"depends\tSHAREPOINTWAC on SHAREPOINTSTANDARD or \"Virtualization Rights for Windows\"\n" +
		"depends SHAREPOINTWAC on EXCHANGE_S_STANDARD\n" +
		"available MCOPSTN1 in us gb\n"
	c, err := importSmall(rules)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Plans[idStd].ProvisionsMailbox || !c.Plans[idKiosk].ProvisionsMailbox || c.Plans[idSP].ProvisionsMailbox {
		t.Error("mailbox plans")
	}
	if !c.Conflicts(idStd, idKiosk) || !c.Conflicts(idKiosk, idStd) || len(c.Plans[idKiosk].ConflictsWith)+len(c.Plans[idStd].ConflictsWith) != 1 {
		t.Errorf("conflicts: %v %v", c.Plans[idKiosk].ConflictsWith, c.Plans[idStd].ConflictsWith)
	}
	if want := [][]string{{idSP, idVirt}, {idStd}}; !reflect.DeepEqual(c.Plans[idWAC].DependsOn, want) {
		t.Errorf("SHAREPOINTWAC depends on %v, want %v", c.Plans[idWAC].DependsOn, want)
	}
	if got := c.Plans[idPSTN].AvailableIn; !slices.Equal(got, []string{"US", "GB"}) {
		t.Errorf("MCOPSTN1 available in %v", got)
	}
	if _, err := catalog.Marshal(c); err != nil {
		t.Fatalf("the result is not a valid catalog: %v", err)
	}

	// Apply replaces the rules a catalog had.
	rs, err := catalog.ParseRules("more.rules", strings.NewReader("available MCOPSTN1 in FR\n"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := rs.Apply(c, "the catalog")
	if err != nil {
		t.Fatal(err)
	}
	if p := again.Plans[idStd]; p.ProvisionsMailbox || len(p.ConflictsWith) > 0 || again.Conflicts(idStd, idKiosk) || !slices.Equal(again.Plans[idPSTN].AvailableIn, []string{"FR"}) {
		t.Errorf("Apply kept old rules: %+v", p)
	}
	if !c.Plans[idStd].ProvisionsMailbox {
		t.Error("Apply changed the catalog it was given")
	}

	// Without a rules file, the list alone.
	bare, err := catalog.Import("plans.csv", strings.NewReader(smallList), "", nil)
	if err != nil || len(bare.SKUs) != 3 || bare.Plans[idStd].ProvisionsMailbox {
		t.Fatalf("import without rules: %v", err)
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name, list, rules string
		want              []string
	}{
		// The list.
		{"BadCSVLine", smallList + "E3,ENTERPRISEPACK,not-a-guid,A," + idStd + ",x\n", "", []string{"plans.csv:8:", `"not-a-guid"`}},
		{"BadCSVQuote", smallList + "E3,\"ENTERPRISE\"PACK\"," + idE1 + ",A," + idStd + ",x\n", "", []string{"plans.csv:8:"}},
		{"ShortCSVRow", smallList + "E3,ENTERPRISEPACK\n", "", []string{"plans.csv:8:", "number of fields"}},
		{"CSVHeader", "Product,String_Id\n", "", []string{"plans.csv:1:", "header"}},
		{"EmptyCSV", "", "", []string{"plans.csv", "empty"}},

		// The syntax of the rules.
		{"UnknownRule", smallList, "mailbox EXCHANGE_S_STANDARD\n  conflicts A B\n", []string{"rules.txt:2:3:", `unknown rule "conflicts"`, `did you mean "conflict"`}},
		{"MailboxNoPlan", smallList, "mailbox   # nothing\n", []string{"rules.txt:1:1:", "no plan"}},
		{"ConflictOnePlan", smallList, "conflict EXCHANGE_S_STANDARD\n", []string{"rules.txt:1:1:", "at least two"}},
		{"UnclosedQuote", smallList, "mailbox \"EXCHANGE_S_STANDARD\n", []string{"rules.txt:1:9:", "quote"}},
		{"DependsNoOn", smallList, "depends SHAREPOINTWAC SHAREPOINTSTANDARD EXCHANGE_S_STANDARD\n", []string{"rules.txt:1:23:", `expected "on"`}},
		{"DependsNoOr", smallList, "depends SHAREPOINTWAC on SHAREPOINTSTANDARD EXCHANGE_S_STANDARD\n", []string{"rules.txt:1:45:", `expected "or"`}},
		{"DependsTrailingOr", smallList, "depends SHAREPOINTWAC on SHAREPOINTSTANDARD or\n", []string{"rules.txt:1:45:", `must follow "or"`}},
		{"DependsShort", smallList, "depends SHAREPOINTWAC on\n", []string{"rules.txt:1:1:", "incomplete"}},
		{"AvailableNoIn", smallList, "available MCOPSTN1 US\n", []string{"rules.txt:1:1:", `"in"`}},
		{"AvailableNoCountry", smallList, "available MCOPSTN1 in\n", []string{"rules.txt:1:20:", "no country"}},
		{"AvailableBadCountry", smallList, "available MCOPSTN1 in US USA\n", []string{"rules.txt:1:26:", `"USA"`, "two-letter"}},
		{"AvailableCountryTwice", smallList, "available MCOPSTN1 in US gb us\n", []string{"rules.txt:1:29:", `"US" is listed twice`}},
		{"TwoRulesOnOneLine", smallList, "mailbox EXCHANGE_S_STANDARD conflict EXCHANGE_S_DESKLESS\n", []string{"rules.txt:1:29:", `"conflict"`}},
		{"NotUTF8", smallList, "mailbox \xff\n", []string{"rules.txt", "UTF-8"}},

		// Plans the list lacks, and contradictions.
		{"UnknownPlan", smallList, "# c\nconflict EXCHANGE_S_STANDARD EXCHANGE_S_ENTERPRISE\n", []string{"rules.txt:2:30:", `plan "EXCHANGE_S_ENTERPRISE" is not in plans.csv`}},
		{"UnknownPlanCase", smallList, "mailbox exchange_s_standard\n", []string{"rules.txt:1:9:", `did you mean "EXCHANGE_S_STANDARD"`}},
		{"UnknownPlanID", smallList, "mailbox 00000000-0000-0000-0000-000000000000\n", []string{"rules.txt:1:9:", "not in plans.csv"}},
		{"UnknownPlanInGroup", smallList, "depends SHAREPOINTWAC on SHAREPOINTSTANDARD or SHAREPOINTENTERPRISE\n", []string{"rules.txt:1:48:", `"SHAREPOINTENTERPRISE"`}},
		{"PlanTwiceInRule", smallList, "conflict EXCHANGE_S_STANDARD EXCHANGE_S_DESKLESS " + idStd + "\n", []string{"rules.txt:1:50:", "listed twice"}},
		{"DependsOnItself", smallList, "depends SHAREPOINTWAC on SHAREPOINTSTANDARD or " + idWAC + "\n", []string{"rules.txt:1:48:", "itself"}},
		{"DependencyTwice", smallList, "depends SHAREPOINTWAC on SHAREPOINTSTANDARD\n\ndepends SHAREPOINTWAC on SHAREPOINTSTANDARD\n", []string{"rules.txt:3:9:", "already given on line 1"}},
		{"AvailabilityTwice", smallList, "available MCOPSTN1 in US\navailable SHAREPOINTWAC MCOPSTN1 in GB\n", []string{"rules.txt:2:25:", "already given on line 1"}},
		{"Contradiction", smallList, "conflict EXCHANGE_S_STANDARD EXCHANGE_S_DESKLESS\ndepends EXCHANGE_S_DESKLESS on EXCHANGE_S_STANDARD\n", []string{"rules.txt:2:9:", "conflicts with it", "line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rules *strings.Reader
			if tt.rules != "" {
				rules = strings.NewReader(tt.rules)
			}
			var c *allot.Catalog
			var err error
			if rules == nil {
				c, err = catalog.Import("plans.csv", strings.NewReader(tt.list), "rules.txt", nil)
			} else {
				c, err = catalog.Import("plans.csv", strings.NewReader(tt.list), "rules.txt", rules)
			}
			if c != nil {
				t.Error("got a catalog along with the error")
			}
			wantInvalid(t, err, tt.want...)
		})
	}

	// A dependency met by one plan it does not conflict with is no
	// contradiction.
	if _, err := importSmall("conflict EXCHANGE_S_STANDARD EXCHANGE_S_DESKLESS\ndepends EXCHANGE_S_DESKLESS on EXCHANGE_S_STANDARD or SHAREPOINTSTANDARD\n"); err != nil {
		t.Fatal(err)
	}
}

func TestCompare(t *testing.T) {
	old, err := importSmall("mailbox EXCHANGE_S_STANDARD\nconflict EXCHANGE_S_STANDARD EXCHANGE_S_DESKLESS\navailable MCOPSTN1 in US\n")
	if err != nil {
		t.Fatal(err)
	}
	if d := catalog.Compare(old, old); !d.Empty() || len(d.Reevaluate()) != 0 {
		t.Fatalf("a catalog differs from itself: %+v", d)
	}

	// E1 loses SHAREPOINTWAC and gains MCOPSTN1; Kiosk is renamed; the
	// calling SKU goes; a new SKU comes; MCOPSTN1 is available in GB too.
	idNew := "c42b9cae-ea4f-4ab7-9717-81576235ccac"
	list := strings.NewReplacer(
		"Office 365 E1,STANDARDPACK,"+idE1+",SHAREPOINTWAC,"+idWAC+",Office for the Web\n", "Office 365 E1,STANDARDPACK,"+idE1+",MCOPSTN1,"+idPSTN+",Domestic Calling Plan\n",
		"Exchange Online Kiosk,", "Exchange Kiosk,",
		"Calling,MCOPSTN1,"+idCall, "New,NEWSKU,"+idNew,
	).Replace(smallList)
	newer, err := catalog.Import("plans.csv", strings.NewReader(list), "rules", strings.NewReader("mailbox EXCHANGE_S_STANDARD\nconflict EXCHANGE_S_DESKLESS EXCHANGE_S_STANDARD\navailable MCOPSTN1 in US GB\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := catalog.Compare(old, newer)
	if len(d.AddedSKUs) != 1 || d.AddedSKUs[0].ID != idNew || len(d.RemovedSKUs) != 1 || d.RemovedSKUs[0].ID != idCall {
		t.Errorf("added %v, removed %v", d.AddedSKUs, d.RemovedSKUs)
	}
	if len(d.ChangedSKUs) != 2 {
		t.Fatalf("changed SKUs: %+v", d.ChangedSKUs)
	}
	for _, sc := range d.ChangedSKUs {
		switch sc.New.ID {
		case idE1:
			if !slices.Equal(sc.AddedPlans, []string{idPSTN}) || !slices.Equal(sc.RemovedPlans, []string{idWAC}) {
				t.Errorf("E1: +%v -%v", sc.AddedPlans, sc.RemovedPlans)
			}
		case idK:
			if sc.Old.DisplayName != "Exchange Online Kiosk" || sc.New.DisplayName != "Exchange Kiosk" || len(sc.AddedPlans)+len(sc.RemovedPlans) > 0 {
				t.Errorf("Kiosk: %+v", sc)
			}
		default:
			t.Errorf("unexpected change of %s", sc.New.PartNumber)
		}
	}
	if len(d.RemovedPlans) != 1 || d.RemovedPlans[0].ID != idWAC || len(d.AddedPlans) != 0 {
		t.Errorf("plans: +%v -%v", d.AddedPlans, d.RemovedPlans)
	}
	// The conflict is declared on the other side now: the same rule.
	if len(d.ChangedPlans) != 1 || d.ChangedPlans[0].New.ID != idPSTN || len(d.ChangedPlans[0].Rules) != 1 {
		t.Errorf("changed plans: %+v", d.ChangedPlans)
	}
	// E1 (plans changed; it also has MCOPSTN1 now), NEWSKU (has MCOPSTN1,
	// whose availability changed), the calling SKU (removed) — not the
	// renamed Kiosk.
	if got, want := d.Reevaluate(), slices.Sorted(slices.Values([]string{idE1, idNew, idCall})); !slices.Equal(got, want) {
		t.Errorf("Reevaluate() = %v, want %v", got, want)
	}
	var b strings.Builder
	if err := d.Write(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"+ sku NEWSKU " + idNew,
		"- sku MCOPSTN1 " + idCall,
		"~ sku STANDARDPACK " + idE1 + "\n    + plans MCOPSTN1\n    - plans SHAREPOINTWAC\n",
		`~ sku EXCHANGEDESKLESS ` + idK + ` "Exchange Kiosk" (was "Exchange Online Kiosk")`,
		"- plan SHAREPOINTWAC " + idWAC,
		"~ plan MCOPSTN1 " + idPSTN + "\n    available US GB (was US)\n",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("the report lacks %q:\n%s", line, b.String())
		}
	}

	// A plan that changes only its rules makes its SKUs be evaluated again.
	mailboxes, err := importSmall("mailbox EXCHANGE_S_STANDARD EXCHANGE_S_DESKLESS\nconflict EXCHANGE_S_STANDARD EXCHANGE_S_DESKLESS\navailable MCOPSTN1 in US\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := catalog.Compare(old, mailboxes).Reevaluate(); !slices.Equal(got, []string{idK}) {
		t.Errorf("mailbox on Kiosk: Reevaluate() = %v, want [%s]", got, idK)
	}
}

// BenchmarkImport measures reading Microsoft's full list with the example
// rules: what `allot catalog import` spends before talking to a database.
func BenchmarkImport(b *testing.B) {
	list, err := os.ReadFile(microsoftCSV)
	if err != nil {
		b.Skip(err)
	}
	rules, err := os.ReadFile(exampleRules)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := catalog.Import("list.csv", bytes.NewReader(list), "rules", bytes.NewReader(rules)); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzImportRules checks that no rules file makes the parser panic, and
// that whatever it accepts applies to a list as a catalog Marshal writes.
func FuzzImportRules(f *testing.F) {
	f.Add("mailbox EXCHANGE_S_STANDARD\nconflict EXCHANGE_S_STANDARD EXCHANGE_S_DESKLESS\n")
	f.Add("depends SHAREPOINTWAC on SHAREPOINTSTANDARD or \"Virtualization Rights for Windows\" # x\n")
	f.Add("available MCOPSTN1 " + idSP + " in us GB\r\n\ufeff\"")
	f.Add("conflict A\tB \"on\" or\n#\n\"\"")
	f.Fuzz(func(t *testing.T, rules string) {
		c, err := importSmall(rules)
		if err != nil {
			var e *allot.Error
			if !errors.As(err, &e) || e.Code != allot.EINVALID || !strings.HasPrefix(e.Message, "catalog: rules.txt") {
				t.Fatalf("error %v (%T)", err, err)
			}
			return
		}
		if _, err := catalog.Marshal(c); err != nil {
			t.Fatalf("accepted rules make an invalid catalog: %v\n%q", err, rules)
		}
	})
}
