package catalog_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
)

// microsoftCSV is Microsoft's published "Product names and service plan
// identifiers for licensing" list, unchanged (UTF-8 with a BOM).
const microsoftCSV = "testdata/microsoft-365-service-plans.csv"

func demoFile(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("demo.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(s string) (*allot.Catalog, error) { return catalog.Parse(strings.NewReader(s)) }

// wantInvalid fails unless err is an *allot.Error with code EINVALID whose
// message starts with "catalog: " and contains every one of want.
func wantInvalid(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", want)
	}
	var e *allot.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *allot.Error", err, err)
	}
	if e.Code != allot.EINVALID {
		t.Fatalf("code %q, want %q (%v)", e.Code, allot.EINVALID, err)
	}
	t.Log(e.Message)
	if !strings.HasPrefix(e.Message, "catalog: ") {
		t.Errorf("message %q does not start with \"catalog: \"", e.Message)
	}
	for _, w := range want {
		if !strings.Contains(e.Message, w) {
			t.Errorf("message %q does not mention %q", e.Message, w)
		}
	}
}

func planByName(t *testing.T, c *allot.Catalog, name string) *allot.ServicePlan {
	t.Helper()
	for _, p := range c.Plans {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no plan %q", name)
	return nil
}

func skuByPart(t *testing.T, c *allot.Catalog, part string) *allot.SKU {
	t.Helper()
	s := c.SKUByPartNumber(part)
	if s == nil {
		t.Fatalf("no SKU %q", part)
	}
	return s
}

func names(c *allot.Catalog, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if p := c.Plans[id]; p != nil {
			out[i] = p.Name
		} else {
			out[i] = "?" + id
		}
	}
	return out
}

// Small valid pieces for building test inputs.
const (
	idA = "9aaf7827-d63c-4b61-89c3-182f06f82e5c"
	idB = "efb87545-963c-4e0d-99df-69c6916d9eb0"
	idS = "18181a46-0d4e-45cd-891e-60aabd171b4e"
	idT = "6fd2c87f-b296-42f0-b197-1e91e994b900"

	planA = `{"id": "` + idA + `", "name": "A"}`
	planB = `{"id": "` + idB + `", "name": "B"}`
	skuS  = `{"id": "` + idS + `", "partNumber": "S", "plans": ["A"]}`
)

func doc(plans, skus string) string {
	return `{"plans": [` + plans + `], "skus": [` + skus + `]}`
}

func TestParseErrors(t *testing.T) {
	valid := doc(planA+","+planB, skuS)
	if _, err := parse(valid); err != nil {
		t.Fatalf("the base input is invalid: %v", err)
	}
	tests := []struct {
		name  string
		input string
		want  []string // substrings of the message
	}{
		// Syntax and shape.
		{"Empty", "", []string{"empty"}},
		{"OnlySpaces", " \n\t", []string{"empty"}},
		{"NotJSON", "plans: []", []string{"invalid JSON", "line 1"}},
		{"SyntaxErrorPosition", "{\n  \"plans\": [,\n", []string{"invalid JSON", "line 2"}},
		{"Truncated", `{"plans": [`, []string{"ends in the middle"}},
		{"TopLevelList", `[]`, []string{"JSON object", "a list"}},
		{"TopLevelNull", `null`, []string{"JSON object", "null"}},
		{"TrailingObject", valid + "\n{}", []string{"after the catalog object", "line 2, column 1"}},
		{"TrailingGarbage", valid + " x", []string{"after the catalog object"}},
		{"InvalidUTF8", "{\"plans\": [], \"skus\": [], \"x\xff\": 1}", []string{"UTF-8"}},
		{"UnknownTopField", `{"plans": [], "skus": [], "rules": []}`, []string{`"rules"`, "unknown field"}},
		{"TopFieldWrongCase", `{"Plans": [], "skus": []}`, []string{`"Plans"`, `did you mean "plans"`}},
		{"TopFieldTwice", `{"plans": [], "plans": [], "skus": []}`, []string{`"plans"`, "twice"}},
		{"PlansNotAList", `{"plans": {}, "skus": []}`, []string{`"plans"`, "list"}},
		{"PlansNull", `{"plans": null, "skus": []}`, []string{`"plans"`, "null"}},
		{"PlanNotAnObject", doc(`null`, ``), []string{"plans[0]", "object"}},
		{"SKUNotAnObject", doc(planA, `"S"`), []string{"skus[0]", "object"}},
		{"UnknownPlanField", doc(`{"id": "`+idA+`", "name": "A", "conflicts": ["B"]}`, ``), []string{"plans[0]", `"conflicts"`}},
		{"PlanFieldWrongCase", doc(`{"ID": "`+idA+`", "name": "A"}`, ``), []string{"plans[0]", `"ID"`, `"id"`}},
		{"PlanFieldTwice", doc(`{"id": "`+idA+`", "name": "A", "name": "B"}`, ``), []string{"plans[0]", `"name"`, "twice"}},
		{"UnknownSKUField", doc(planA, `{"id": "`+idS+`", "partNumber": "S", "plans": ["A"], "seats": 5}`), []string{"skus[0]", `"seats"`}},
		{"AvailableInNotAList", doc(`{"id": "`+idA+`", "name": "A", "availableIn": "US"}`, ``), []string{"plans[0]", `"availableIn"`, "list of strings"}},
		{"MailboxNotABool", doc(`{"id": "`+idA+`", "name": "A", "provisionsMailbox": "yes"}`, ``), []string{"plans[0]", `"provisionsMailbox"`, "true or false"}},
		{"DependsOnFlat", doc(planB+`,{"id": "`+idA+`", "name": "A", "dependsOn": ["B"]}`, ``), []string{"plans[1]", `"dependsOn"`, "list of lists"}},
		{"IDNotAString", doc(`{"id": 12, "name": "A"}`, ``), []string{"plans[0]", `"id"`, "a string"}},
		{"SKUPlansNotAList", doc(planA, `{"id": "`+idS+`", "partNumber": "S", "plans": "A"}`), []string{"skus[0]", `"plans"`}},

		// Plans.
		{"PlanIDMissing", doc(`{"name": "A"}`, ``), []string{`plans[0] "A"`, "id is required"}},
		{"PlanIDNotAGUID", doc(`{"id": "9aaf7827", "name": "A"}`, ``), []string{`plans[0] "A"`, `"9aaf7827"`, "not a GUID"}},
		{"PlanIDInBraces", doc(`{"id": "{`+idA+`}", "name": "A"}`, ``), []string{`plans[0] "A"`, "not a GUID"}},
		{"PlanIDNotHex", doc(`{"id": "9aaf7827-d63c-4b61-89c3-182f06f82e5g", "name": "A"}`, ``), []string{`plans[0] "A"`, "not a GUID"}},
		{"DuplicatePlanID", doc(planA+`,{"id": "`+strings.ToUpper(idA)+`", "name": "B"}`, ``), []string{`plans[1] "B"`, idA, `plans[0] "A"`}},
		{"PlanNameMissing", doc(`{"id": "`+idA+`"}`, ``), []string{"plans[0]", "name is required"}},
		{"PlanNameSpaces", doc(`{"id": "`+idA+`", "name": "A "}`, ``), []string{"plans[0]", "name", "spaces"}},
		{"PlanNameControl", doc(`{"id": "`+idA+`", "name": "A\u0007"}`, ``), []string{"plans[0]", "name", "control"}},
		{"PlanNameIsAGUID", doc(`{"id": "`+idA+`", "name": "`+idB+`"}`, ``), []string{"plans[0]", "name", "GUID"}},
		{"DuplicatePlanName", doc(planA+`,{"id": "`+idB+`", "name": "A"}`, ``), []string{`plans[1] "A"`, "name", `plans[0] "A"`}},
		{"CountryTooLong", doc(`{"id": "`+idA+`", "name": "A", "availableIn": ["US", "USA"]}`, ``), []string{`plans[0] "A"`, "availableIn[1]", `"USA"`}},
		{"CountryDigit", doc(`{"id": "`+idA+`", "name": "A", "availableIn": ["U1"]}`, ``), []string{"availableIn[0]", `"U1"`}},
		{"CountryNotASCII", doc(`{"id": "`+idA+`", "name": "A", "availableIn": ["üs"]}`, ``), []string{"availableIn[0]", `"üs"`}},
		{"CountryEmpty", doc(`{"id": "`+idA+`", "name": "A", "availableIn": [""]}`, ``), []string{"availableIn[0]"}},
		{"CountryTwice", doc(`{"id": "`+idA+`", "name": "A", "availableIn": ["US", "us"]}`, ``), []string{"availableIn[1]", `"US"`, "twice"}},
		{"ConflictUndefined", doc(`{"id": "`+idA+`", "name": "A", "conflictsWith": ["NOPE"]}`, ``), []string{`plans[0] "A"`, "conflictsWith[0]", `"NOPE"`, "not defined"}},
		{"ConflictUndefinedGUID", doc(`{"id": "`+idA+`", "name": "A", "conflictsWith": ["`+idB+`"]}`, ``), []string{"conflictsWith[0]", idB, "not defined"}},
		{"ConflictSelfByName", doc(`{"id": "`+idA+`", "name": "A", "conflictsWith": ["A"]}`, ``), []string{`plans[0] "A"`, "conflictsWith[0]", "itself"}},
		{"ConflictSelfByGUID", doc(`{"id": "`+idA+`", "name": "A", "conflictsWith": ["`+strings.ToUpper(idA)+`"]}`, ``), []string{"conflictsWith[0]", "itself"}},
		{"ConflictTwice", doc(planB+`,{"id": "`+idA+`", "name": "A", "conflictsWith": ["B", "`+idB+`"]}`, ``), []string{`plans[1] "A"`, "conflictsWith[1]", "twice"}},
		{"DependsOnEmptyGroup", doc(planB+`,{"id": "`+idA+`", "name": "A", "dependsOn": [["B"], []]}`, ``), []string{`plans[1] "A"`, "dependsOn[1]", "empty"}},
		{"DependsOnUndefined", doc(planB+`,{"id": "`+idA+`", "name": "A", "dependsOn": [["B", "NOPE"]]}`, ``), []string{"dependsOn[0][1]", `"NOPE"`, "not defined"}},
		{"DependsOnSelf", doc(planB+`,{"id": "`+idA+`", "name": "A", "dependsOn": [["B", "A"]]}`, ``), []string{`plans[1] "A"`, "dependsOn[0][1]", "itself"}},
		{"DependsOnTwiceInGroup", doc(planB+`,{"id": "`+idA+`", "name": "A", "dependsOn": [["B", "`+idB+`"]]}`, ``), []string{"dependsOn[0][1]", "twice"}},

		// SKUs.
		{"SKUIDMissing", doc(planA, `{"partNumber": "S", "plans": ["A"]}`), []string{`skus[0] "S"`, "id is required"}},
		{"SKUIDNotAGUID", doc(planA, `{"id": "S1", "partNumber": "S", "plans": ["A"]}`), []string{`skus[0] "S"`, `"S1"`, "not a GUID"}},
		{"DuplicateSKUID", doc(planA, skuS+`,{"id": "`+strings.ToUpper(idS)+`", "partNumber": "T", "plans": ["A"]}`), []string{`skus[1] "T"`, idS, `skus[0] "S"`}},
		{"PartNumberMissing", doc(planA, `{"id": "`+idS+`", "plans": ["A"]}`), []string{"skus[0]", "partNumber is required"}},
		{"PartNumberSpaces", doc(planA, `{"id": "`+idS+`", "partNumber": " S", "plans": ["A"]}`), []string{"skus[0]", "partNumber", "spaces"}},
		{"DuplicatePartNumber", doc(planA, skuS+`,{"id": "`+idT+`", "partNumber": "S", "plans": ["A"]}`), []string{`skus[1] "S"`, "partNumber", `skus[0] "S"`}},
		{"AppliesToInvalid", doc(planA, `{"id": "`+idS+`", "partNumber": "S", "appliesTo": "Users", "plans": ["A"]}`), []string{`skus[0] "S"`, "appliesTo", `"Users"`}},
		{"SKUPlansMissing", doc(planA, `{"id": "`+idS+`", "partNumber": "S"}`), []string{`skus[0] "S"`, "plans", "at least one"}},
		{"SKUPlansEmpty", doc(planA, `{"id": "`+idS+`", "partNumber": "S", "plans": []}`), []string{`skus[0] "S"`, "plans", "at least one"}},
		{"SKUPlanUndefined", doc(planA, `{"id": "`+idS+`", "partNumber": "S", "plans": ["A", "FOO"]}`), []string{`skus[0] "S"`, "plans[1]", `"FOO"`, "not defined"}},
		{"SKUPlanTwice", doc(planA, `{"id": "`+idS+`", "partNumber": "S", "plans": ["A", "`+strings.ToUpper(idA)+`"]}`), []string{`skus[0] "S"`, "plans[1]", "twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(tt.input)
			if c != nil {
				t.Errorf("got a catalog along with the error")
			}
			wantInvalid(t, err, tt.want...)
		})
	}
}

func TestParseReadError(t *testing.T) {
	_, err := catalog.Parse(iotest.ErrReader(errors.New("connection reset")))
	wantInvalid(t, err, "connection reset")
	_, err = catalog.Parse(nil)
	wantInvalid(t, err)
}

func TestParseNormalises(t *testing.T) {
	input := "\ufeff" + strings.ReplaceAll(`{
  "plans": [
    {"id": "`+strings.ToUpper(idA)+`", "name": "EXCHANGE_S_STANDARD", "provisionsMailbox": true, "availableIn": ["us", "Gb"]},
    {"id": "`+idB+`", "name": "MY_PLAN", "service": "", "availableIn": [],
     "conflictsWith": ["`+strings.ToUpper(idA)+`"], "dependsOn": [["EXCHANGE_S_STANDARD"]]}
  ],
  "skus": [
    {"id": "`+strings.ToUpper(idS)+`", "partNumber": "S", "displayName": "S & <co>", "appliesTo": "company", "plans": ["`+strings.ToUpper(idB)+`", "EXCHANGE_S_STANDARD"]},
    {"id": "`+idT+`", "partNumber": "T", "plans": ["MY_PLAN"]}
  ]
}`, "\n", "\r\n")
	c, err := parse(input)
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Plans[idA], c.Plans[idB]
	if a == nil || b == nil {
		t.Fatalf("plans are not keyed by lower-case id: %v", c.Plans)
	}
	s, tt := c.SKUs[idS], c.SKUs[idT]
	if s == nil || tt == nil {
		t.Fatalf("SKUs are not keyed by lower-case id: %v", c.SKUs)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"plan id", a.ID, idA},
		{"country codes upper case", a.AvailableIn, []string{"US", "GB"}},
		{"service guessed when absent", a.Service, "exchange"},
		{"service kept when given empty", b.Service, ""},
		{"empty availableIn means everywhere", b.AvailableIn, []string(nil)},
		{"conflict reference by GUID", b.ConflictsWith, []string{idA}},
		{"dependency reference by name", b.DependsOn, [][]string{{idA}}},
		{"mailbox flag", a.ProvisionsMailbox, true},
		{"no rules when absent", a.ConflictsWith, []string(nil)},
		{"SKU id", s.ID, idS},
		{"SKU plans are lower-case ids in file order", s.Plans, []string{idB, idA}},
		{"appliesTo normalised", s.AppliesTo, "Company"},
		{"appliesTo defaults to User", tt.AppliesTo, "User"},
		{"displayName kept", s.DisplayName, "S & <co>"},
		{"conflicts are symmetric", c.Conflicts(idA, idB) && c.Conflicts(idB, idA), true},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %#v, want %#v", ch.what, ch.got, ch.want)
		}
	}
}

func TestParseEmptyCatalog(t *testing.T) {
	c, err := parse(`{"plans": [], "skus": []}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Plans) != 0 || len(c.SKUs) != 0 {
		t.Fatalf("got %d plans, %d SKUs", len(c.Plans), len(c.SKUs))
	}
	if _, err := parse(`{}`); err != nil {
		t.Fatalf("a catalog without plans and skus: %v", err)
	}
}

func TestRoundTripDemo(t *testing.T) {
	c := catalog.Demo()
	out, err := catalog.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := catalog.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("Parse(Marshal(demo)): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("Parse(Marshal(demo)) differs from the demo\n%s", out)
	}
	again, err := catalog.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, out) {
		t.Fatalf("Marshal is not deterministic:\n%s\n---\n%s", out, again)
	}
	fromFile, err := catalog.Parse(bytes.NewReader(demoFile(t)))
	if err != nil {
		t.Fatalf("demo.json: %v", err)
	}
	if !reflect.DeepEqual(fromFile, c) {
		t.Fatal("Demo() differs from demo.json")
	}
	if catalog.Demo() != c {
		t.Error("Demo() parses the file again on each call")
	}
}

func TestRoundTripOddCatalog(t *testing.T) {
	// Names that need escaping, an empty service, GUID references, a
	// Company SKU, a long list, and a plan no SKU uses.
	var long []string
	var plans []string
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		name := fmt.Sprintf("PLAN_%02d", i)
		plans = append(plans, `{"id": "`+id+`", "name": "`+name+`"}`)
		long = append(long, `"`+strings.ToUpper(id)+`"`)
	}
	input := doc(strings.Join(plans, ",")+`,
		{"id": "`+idA+`", "name": "Ünïcode <&> \"quoted\"", "friendlyName": "tab\there", "service": "", "availableIn": ["NL"],
		 "conflictsWith": ["PLAN_01", "PLAN_00"], "dependsOn": [["PLAN_02", "PLAN_03"], ["PLAN_04"]]},
		{"id": "`+idB+`", "name": "ORPHAN", "provisionsMailbox": true}`,
		`{"id": "`+idS+`", "partNumber": "BIG", "appliesTo": "Company", "plans": [`+strings.Join(long, ",")+`]},
		 {"id": "`+idT+`", "partNumber": "a & b", "displayName": "x", "plans": ["`+idA+`"]}`)
	c, err := parse(input)
	if err != nil {
		t.Fatal(err)
	}
	out, err := catalog.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := catalog.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("Parse(Marshal(c)) differs from c\n%s", out)
	}
	if !bytes.Contains(out, []byte(`"a & b"`)) {
		t.Errorf("Marshal escapes HTML characters:\n%s", out)
	}
}

func TestMarshalOrderAndReferences(t *testing.T) {
	c, err := parse(doc(
		`{"id": "`+idB+`", "name": "ZED", "conflictsWith": ["`+idA+`"]}, {"id": "`+idA+`", "name": "ALPHA"}`,
		`{"id": "`+idT+`", "partNumber": "ZZZ", "plans": ["`+idB+`", "`+idA+`"]}, {"id": "`+idS+`", "partNumber": "AAA", "plans": ["ALPHA"]}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := catalog.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	before := func(a, b string) {
		t.Helper()
		i, j := strings.Index(s, a), strings.Index(s, b)
		if i < 0 || j < 0 || i > j {
			t.Errorf("%s should come before %s in\n%s", a, b, s)
		}
	}
	before(`"name": "ALPHA"`, `"name": "ZED"`)
	before(`"partNumber": "AAA"`, `"partNumber": "ZZZ"`)
	for _, want := range []string{`"conflictsWith": ["ALPHA"]`, `"plans": ["ZED", "ALPHA"]`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s (references by name, in their order):\n%s", want, s)
		}
	}
	if strings.Count(s, idA) != 1 {
		t.Errorf("a plan id appears outside its plan's id field:\n%s", s)
	}
}

func TestMarshalRefusesWhatParseWouldRefuse(t *testing.T) {
	a := &allot.ServicePlan{ID: idA, Name: "A"}
	tests := []struct {
		name string
		c    *allot.Catalog
		want string
	}{
		{"NilCatalog", nil, "no catalog"},
		{"DanglingSKUPlan", allot.NewCatalog([]*allot.ServicePlan{a}, []*allot.SKU{{ID: idS, PartNumber: "S", Plans: []string{idB}}}), idB},
		{"DanglingConflict", allot.NewCatalog([]*allot.ServicePlan{{ID: idA, Name: "A", ConflictsWith: []string{idB}}}, nil), idB},
		{"TwoPlansOneName", allot.NewCatalog([]*allot.ServicePlan{a, {ID: idB, Name: "A"}}, nil), `"A"`},
		{"BadGUID", allot.NewCatalog([]*allot.ServicePlan{{ID: "x", Name: "A"}}, nil), `"x"`},
		{"NilPlan", &allot.Catalog{Plans: map[string]*allot.ServicePlan{idA: nil}}, idA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := catalog.Marshal(tt.c)
			if out != nil {
				t.Errorf("got output along with the error:\n%s", out)
			}
			wantInvalid(t, err, tt.want)
		})
	}
}

// TestDemoSKUs pins the demo's products: other packages' end-to-end tests
// and docs/CATALOG.md rely on these exact values.
func TestDemoSKUs(t *testing.T) {
	c := catalog.Demo()
	tests := []struct {
		part, id, display string
		plans             []string
	}{
		{"STANDARDPACK", "18181a46-0d4e-45cd-891e-60aabd171b4e", "Office 365 E1",
			[]string{"EXCHANGE_S_STANDARD", "SHAREPOINTSTANDARD", "SHAREPOINTWAC", "MCOSTANDARD", "TEAMS1", "FORMS_PLAN_E1", "BPOS_S_TODO_1"}},
		{"ENTERPRISEPACK", "6fd2c87f-b296-42f0-b197-1e91e994b900", "Office 365 E3",
			[]string{"EXCHANGE_S_ENTERPRISE", "SHAREPOINTENTERPRISE", "SHAREPOINTWAC", "MCOSTANDARD", "TEAMS1", "OFFICESUBSCRIPTION", "FORMS_PLAN_E3", "BPOS_S_TODO_2"}},
		{"SPE_E5", "06ebc4ee-1bb5-47dd-8120-11324bc54e06", "Microsoft 365 E5",
			[]string{"EXCHANGE_S_ENTERPRISE", "SHAREPOINTENTERPRISE", "SHAREPOINTWAC", "MCOSTANDARD", "TEAMS1", "OFFICESUBSCRIPTION", "MCOMEETADV", "MCOEV"}},
		{"DESKLESSPACK", "4b585984-651b-448a-9e53-3b10f069cf7f", "Office 365 F3",
			[]string{"EXCHANGE_S_DESKLESS", "SHAREPOINTDESKLESS", "SHAREPOINTWAC", "TEAMS1", "FORMS_PLAN_K", "BPOS_S_TODO_FIRSTLINE"}},
		{"EXCHANGESTANDARD", "4b9405b0-7788-4568-add1-99614e613b69", "Exchange Online (Plan 1)",
			[]string{"EXCHANGE_S_STANDARD", "INTUNE_O365", "BPOS_S_TODO_1"}},
		{"EXCHANGEENTERPRISE", "19ec0d23-8335-4cbd-94ac-6050e30712fa", "Exchange Online (Plan 2)", []string{"EXCHANGE_S_ENTERPRISE"}},
		{"EXCHANGEDESKLESS", "80b2d799-d2ba-4d2a-8842-fb0d0f3a4b82", "Exchange Online Kiosk", []string{"EXCHANGE_S_DESKLESS"}},
		{"MCOMEETADV", "0c266dff-15dd-4b49-8397-2bb16070ed52", "Microsoft 365 Audio Conferencing", []string{"MCOMEETADV"}},
		{"MCOEV", "e43b5b99-8dfb-405f-9987-dc307f34bcbd", "Microsoft Teams Phone Standard", []string{"MCOEV"}},
		{"MCOPSTN1", "0dab259f-bf13-4952-b7f8-7db8f131b28d", "Skype for Business PSTN Domestic Calling", []string{"MCOPSTN1"}},
	}
	if len(c.SKUs) != len(tests) {
		t.Errorf("the demo has %d SKUs, want %d", len(c.SKUs), len(tests))
	}
	if len(c.Plans) != 20 {
		t.Errorf("the demo has %d plans, want 20", len(c.Plans))
	}
	for _, tt := range tests {
		t.Run(tt.part, func(t *testing.T) {
			s := skuByPart(t, c, tt.part)
			if s.ID != tt.id || s.DisplayName != tt.display || s.AppliesTo != "User" {
				t.Errorf("got %s %q %s, want %s %q User", s.ID, s.DisplayName, s.AppliesTo, tt.id, tt.display)
			}
			if c.SKUs[tt.id] != s {
				t.Errorf("SKU not keyed by its id")
			}
			if got := names(c, s.Plans); !slices.Equal(got, tt.plans) {
				t.Errorf("plans %v, want %v", got, tt.plans)
			}
		})
	}
}

func TestDemoRules(t *testing.T) {
	c := catalog.Demo()
	id := func(name string) string { return planByName(t, c, name).ID }

	t.Run("Conflicts", func(t *testing.T) {
		// The only conflicting pair is Kiosk vs Plan 1; Plan 2 stacks.
		want := map[[2]string]bool{
			{"EXCHANGE_S_DESKLESS", "EXCHANGE_S_STANDARD"}: true,
			{"EXCHANGE_S_STANDARD", "EXCHANGE_S_DESKLESS"}: true,
		}
		for _, p := range c.Plans {
			for _, q := range c.Plans {
				got := c.Conflicts(p.ID, q.ID)
				if got != want[[2]string{p.Name, q.Name}] {
					t.Errorf("Conflicts(%s, %s) = %v", p.Name, q.Name, got)
				}
			}
		}
		if c.Conflicts(id("EXCHANGE_S_DESKLESS"), id("EXCHANGE_S_ENTERPRISE")) {
			t.Error("EXCHANGE_S_ENTERPRISE must stack with the Kiosk plan")
		}
	})

	t.Run("Dependencies", func(t *testing.T) {
		want := map[string][][]string{
			"MCOMEETADV":    {{"MCOSTANDARD"}},
			"SHAREPOINTWAC": {{"SHAREPOINTSTANDARD", "SHAREPOINTENTERPRISE", "SHAREPOINTDESKLESS"}},
		}
		for _, p := range c.Plans {
			var got [][]string
			for _, g := range p.DependsOn {
				got = append(got, names(c, g))
			}
			if !reflect.DeepEqual(got, want[p.Name]) {
				t.Errorf("%s dependsOn %v, want %v", p.Name, got, want[p.Name])
			}
		}
	})

	t.Run("Availability", func(t *testing.T) {
		pstn := planByName(t, c, "MCOPSTN1")
		for _, in := range []string{"US", "GB", "CA", "DE", "FR", "NL", "AU"} {
			if !slices.Contains(pstn.AvailableIn, in) {
				t.Errorf("MCOPSTN1 is not available in %s", in)
			}
		}
		for _, out := range []string{"JP", "IN", "BR", "CH", "ZA"} {
			if slices.Contains(pstn.AvailableIn, out) {
				t.Errorf("MCOPSTN1 is available in %s", out)
			}
		}
		for _, p := range c.Plans {
			if p.Name != "MCOPSTN1" && len(p.AvailableIn) != 0 {
				t.Errorf("%s has availableIn %v; only MCOPSTN1 should", p.Name, p.AvailableIn)
			}
		}
	})

	t.Run("Mailbox", func(t *testing.T) {
		want := []string{"EXCHANGE_S_DESKLESS", "EXCHANGE_S_ENTERPRISE", "EXCHANGE_S_STANDARD"}
		var got []string
		for _, p := range c.Plans {
			if p.ProvisionsMailbox {
				got = append(got, p.Name)
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("mailbox plans %v, want %v", got, want)
		}
	})

	t.Run("Services", func(t *testing.T) {
		want := map[string]string{
			"EXCHANGE_S_STANDARD": "exchange", "EXCHANGE_S_ENTERPRISE": "exchange", "EXCHANGE_S_DESKLESS": "exchange",
			"SHAREPOINTSTANDARD": "SharePoint", "SHAREPOINTWAC": "SharePoint",
			"MCOSTANDARD": "MicrosoftCommunicationsOnline", "MCOPSTN1": "MicrosoftCommunicationsOnline",
			"TEAMS1": "TeamspaceAPI", "OFFICESUBSCRIPTION": "MicrosoftOffice",
		}
		for name, w := range want {
			if got := planByName(t, c, name).Service; got != w {
				t.Errorf("%s service %q, want %q", name, got, w)
			}
		}
		for _, p := range c.Plans {
			if p.Service == "" || p.FriendlyName == "" {
				t.Errorf("%s has no service or friendly name", p.Name)
			}
		}
	})
}

// TestDemoScenarios checks, at the level of the catalog, the situations the
// demo exists to show (docs/CATALOG.md, "Scenarios").
func TestDemoScenarios(t *testing.T) {
	c := catalog.Demo()
	sku := func(part string) *allot.SKU { return skuByPart(t, c, part) }
	conflict := func(a, b *allot.SKU) bool {
		for _, p := range a.Plans {
			for _, q := range b.Plans {
				if c.Conflicts(p, q) {
					return true
				}
			}
		}
		return false
	}
	// missing lists the plans of skus whose dependencies skus do not meet.
	missing := func(skus ...*allot.SKU) []string {
		enabled := map[string]bool{}
		for _, s := range skus {
			for _, p := range s.Plans {
				enabled[p] = true
			}
		}
		var out []string
		for p := range enabled {
			for _, g := range c.Plans[p].DependsOn {
				if !slices.ContainsFunc(g, func(q string) bool { return enabled[q] }) {
					out = append(out, c.Plans[p].Name)
				}
			}
		}
		return out
	}
	mailbox := func(s *allot.SKU) bool {
		return slices.ContainsFunc(s.Plans, func(p string) bool { return c.Plans[p].ProvisionsMailbox })
	}
	availableIn := func(s *allot.SKU, country string) bool {
		for _, p := range s.Plans {
			if a := c.Plans[p].AvailableIn; len(a) > 0 && !slices.Contains(a, country) {
				return false
			}
		}
		return true
	}

	conflicts := []struct {
		a, b string
		want bool
	}{
		{"STANDARDPACK", "EXCHANGEDESKLESS", true},
		{"STANDARDPACK", "DESKLESSPACK", true},
		{"EXCHANGESTANDARD", "EXCHANGEDESKLESS", true},
		{"ENTERPRISEPACK", "EXCHANGEDESKLESS", false},
		{"SPE_E5", "DESKLESSPACK", false},
		{"EXCHANGEENTERPRISE", "EXCHANGESTANDARD", false},
		{"STANDARDPACK", "ENTERPRISEPACK", false},
	}
	for _, tt := range conflicts {
		if got := conflict(sku(tt.a), sku(tt.b)); got != tt.want {
			t.Errorf("%s and %s conflict: %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	deps := []struct {
		skus []string
		want []string
	}{
		{[]string{"MCOMEETADV"}, []string{"MCOMEETADV"}},
		{[]string{"MCOMEETADV", "STANDARDPACK"}, nil},
		{[]string{"SPE_E5"}, nil},
	}
	for _, tt := range deps {
		var ss []*allot.SKU
		for _, p := range tt.skus {
			ss = append(ss, sku(p))
		}
		if got := missing(ss...); !slices.Equal(got, tt.want) {
			t.Errorf("%v: plans missing a dependency %v, want %v", tt.skus, got, tt.want)
		}
	}
	// Every SKU but MCOMEETADV meets its own dependencies.
	for _, s := range c.SKUs {
		if got := missing(s); s.PartNumber != "MCOMEETADV" && len(got) > 0 {
			t.Errorf("%s alone misses dependencies of %v", s.PartNumber, got)
		}
	}
	for _, s := range c.SKUs {
		wantMailbox := slices.Contains([]string{"STANDARDPACK", "ENTERPRISEPACK", "SPE_E5", "DESKLESSPACK",
			"EXCHANGESTANDARD", "EXCHANGEENTERPRISE", "EXCHANGEDESKLESS"}, s.PartNumber)
		if mailbox(s) != wantMailbox {
			t.Errorf("%s provisions a mailbox: %v, want %v", s.PartNumber, mailbox(s), wantMailbox)
		}
		wantJP := s.PartNumber != "MCOPSTN1"
		if availableIn(s, "US") != true || availableIn(s, "JP") != wantJP {
			t.Errorf("%s: available in US %v (want true), in JP %v (want %v)", s.PartNumber, availableIn(s, "US"), availableIn(s, "JP"), wantJP)
		}
	}
}

// TestDemoMatchesMicrosoftCSV checks that the demo invents nothing: each SKU
// and plan, with its id, name and friendly name, and each plan of a SKU, is
// in Microsoft's published list.
func TestDemoMatchesMicrosoftCSV(t *testing.T) {
	f, err := os.Open(microsoftCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ms, err := catalog.ParseMicrosoftCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	demo := catalog.Demo()
	for _, p := range demo.Plans {
		q := ms.Plans[p.ID]
		if q == nil {
			t.Errorf("plan %s %s is not in the list", p.Name, p.ID)
			continue
		}
		if q.Name != p.Name || q.FriendlyName != p.FriendlyName {
			t.Errorf("plan %s: the list has %q %q, the demo %q %q", p.ID, q.Name, q.FriendlyName, p.Name, p.FriendlyName)
		}
	}
	for _, s := range demo.SKUs {
		m := ms.SKUs[s.ID]
		if m == nil {
			t.Errorf("SKU %s %s is not in the list", s.PartNumber, s.ID)
			continue
		}
		if m.PartNumber != s.PartNumber || m.DisplayName != s.DisplayName {
			t.Errorf("SKU %s: the list has %q %q, the demo %q %q", s.ID, m.PartNumber, m.DisplayName, s.PartNumber, s.DisplayName)
		}
		for _, p := range s.Plans {
			if !slices.Contains(m.Plans, p) {
				t.Errorf("SKU %s: plan %s is not one of its plans in the list", s.PartNumber, demo.Plans[p].Name)
			}
		}
	}
}

// TestParseNeverPanics feeds every prefix of the demo file, and many garbled
// copies of it, to Parse: each must give a catalog or an EINVALID error, and
// a catalog must survive a round trip.
func TestParseNeverPanics(t *testing.T) {
	data := demoFile(t)
	full := bytes.TrimSpace(data)
	for n := 0; n < len(data); n++ {
		c, err := catalog.Parse(bytes.NewReader(data[:n]))
		if bytes.Equal(bytes.TrimSpace(data[:n]), full) {
			if err != nil {
				t.Fatalf("the whole file less its final newline: %v", err)
			}
			continue
		}
		if err == nil || c != nil || allot.ErrorCode(err) != allot.EINVALID {
			t.Fatalf("prefix of %d bytes: catalog %v, error %v; want only an EINVALID error", n, c != nil, err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	junk := []byte("{}[]\",:\\ \x00\xff\xef\xbb\xbfnul0-e9aZ")
	for i := 0; i < 3000; i++ {
		b := slices.Clone(data)
		for k := 0; k <= rng.IntN(3); k++ {
			p := rng.IntN(len(b))
			switch rng.IntN(4) {
			case 0: // overwrite a byte
				b[p] = junk[rng.IntN(len(junk))]
			case 1: // delete a run
				b = slices.Delete(b, p, min(len(b), p+1+rng.IntN(40)))
			case 2: // duplicate a run
				q := min(len(b), p+1+rng.IntN(200))
				b = slices.Insert(b, q, b[p:q]...)
			case 3: // swap two bytes
				q := rng.IntN(len(b))
				b[p], b[q] = b[q], b[p]
			}
			if len(b) == 0 {
				b = []byte("{")
			}
		}
		checkParse(t, b)
	}
}

// checkParse is the property of FuzzParse: a catalog or an EINVALID error,
// and a parsed catalog marshals and parses back to itself.
func checkParse(t *testing.T, b []byte) {
	t.Helper()
	c, err := catalog.Parse(bytes.NewReader(b))
	if err != nil {
		var e *allot.Error
		if !errors.As(err, &e) || e.Code != allot.EINVALID || c != nil {
			t.Fatalf("input %q: error %v (%T), catalog %v; want only an EINVALID *allot.Error", b, err, err, c != nil)
		}
		return
	}
	out, err := catalog.Marshal(c)
	if err != nil {
		t.Fatalf("input %q parses but does not marshal: %v", b, err)
	}
	back, err := catalog.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("input %q: Marshal wrote what Parse refuses: %v\n%s", b, err, out)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("input %q: Parse(Marshal(c)) differs from c\n%s", b, out)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(demoFile(f))
	f.Add([]byte(doc(planA+","+planB, skuS)))
	f.Add([]byte(`{"plans": [{"id": "` + idA + `", "name": "A", "availableIn": ["us"], "dependsOn": [["B"]]}, ` + planB + `], "skus": []}`))
	f.Add([]byte("\ufeff{}"))
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, b) })
}

func TestParseMicrosoftCSVFile(t *testing.T) {
	f, err := os.Open(microsoftCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := catalog.ParseMicrosoftCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	// The file has 5,457 rows: 569 SKU GUIDs, 723 plan GUIDs, and 5,448
	// distinct (SKU, plan) pairs (9 rows are repeats).
	pairs := 0
	for _, s := range c.SKUs {
		pairs += len(s.Plans)
	}
	if len(c.SKUs) != 569 || len(c.Plans) != 723 || pairs != 5448 {
		t.Fatalf("got %d SKUs, %d plans, %d pairs; want 569, 723, 5448", len(c.SKUs), len(c.Plans), pairs)
	}
	e3 := skuByPart(t, c, "ENTERPRISEPACK")
	if e3.ID != "6fd2c87f-b296-42f0-b197-1e91e994b900" || e3.DisplayName != "Office 365 E3" || len(e3.Plans) != 36 || e3.AppliesTo != "User" {
		t.Errorf("ENTERPRISEPACK: %+v", e3)
	}
	if n := len(skuByPart(t, c, "SPE_E5").Plans); n != 86 {
		t.Errorf("SPE_E5 has %d plans, want 86", n)
	}
	plans := []struct{ id, name, friendly, service string }{
		{"9aaf7827-d63c-4b61-89c3-182f06f82e5c", "EXCHANGE_S_STANDARD", "Exchange Online (Plan 1)", "exchange"},
		{"e95bec33-7c88-4a70-8e19-b10bd9d0c014", "SHAREPOINTWAC", "Office for the Web", "SharePoint"},
		{"113feb6c-3fe4-4440-bddc-54d774bf0318", "EXCHANGE_S_FOUNDATION", "Exchange Foundation", "exchange"}, // also spelt with a suffix once
		{"bea4c11e-220a-4e6d-8eb8-8ea15d019f90", "RMS_S_ENTERPRISE", "Azure Rights Management", "RMSOnline"}, // once with a stray ")"
		{"f20fedf3-f3c3-43c3-8267-2bfdd51c0939", "ATP_ENTERPRISE", "Microsoft Defender for Office 365 (Plan 1)", ""},
		{"1259157c-8581-4875-bca7-2ffb18c51bda", "PROJECT_ESSENTIALS", "Project Online Essentials", ""},
		{"f944d685-f762-4371-806d-a1f48e5bea13", "PROJECT_ESSENTIALS_f944d685", "Project Online Essentials", ""},
		{"e7c91390-7625-45be-94e0-e16907e03118", "Virtualization Rights for Windows 10 (E3/E5+VDA)", "Windows 10/11 Enterprise", ""},
	}
	for _, w := range plans {
		p := c.Plans[w.id]
		if p == nil {
			t.Errorf("no plan %s", w.id)
			continue
		}
		if p.Name != w.name || p.FriendlyName != w.friendly || p.Service != w.service {
			t.Errorf("plan %s: got %q %q %q, want %q %q %q", w.id, p.Name, p.FriendlyName, p.Service, w.name, w.friendly, w.service)
		}
	}
	if s := c.SKUs["54a152dc-90de-4996-93d2-bc47e670fc06"]; s == nil || s.PartNumber != "MCOPSTN5_54a152dc" {
		t.Errorf("the second MCOPSTN5: %+v", s)
	}
	if s := c.SKUs["d43177b5-475b-4880-92d4-d54c27b5efbd"]; s == nil || s.PartNumber != "MCOPSTN5" {
		t.Errorf("the first MCOPSTN5: %+v", s)
	}
	for _, p := range c.Plans {
		if len(p.AvailableIn)+len(p.ConflictsWith)+len(p.DependsOn) > 0 || p.ProvisionsMailbox {
			t.Errorf("plan %s has rules", p.Name)
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
		t.Fatal("Parse(Marshal(imported list)) differs from the imported list")
	}
}

func TestParseMicrosoftCSV(t *testing.T) {
	const header = "Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,Service_Plans_Included_Friendly_Names\n"
	row := func(product, part, sku, plan, planID, friendly string) string {
		return strings.Join([]string{product, part, sku, plan, planID, friendly}, ",") + "\n"
	}
	t.Run("Small", func(t *testing.T) {
		in := "\ufeff" + header +
			row("Office 365 E1", "STANDARDPACK", strings.ToUpper(idS), "EXCHANGE_S_STANDARD", idA, "EXCHANGE ONLINE (PLAN 1)") +
			row("Office 365 E1", "STANDARDPACK", idS, "EXCHANGE_S_STANDARD", idA, "EXCHANGE ONLINE (PLAN 1)") + // a repeat
			row(`"Office 365 E3, big"`, "ENTERPRISEPACK", idT, "EXCHANGE_S_STANDARD ", idA, "Exchange Online (Plan 1)") +
			row(`"Office 365 E3, big"`, "ENTERPRISEPACK", idT, "EXCHANGE_S_STANDARD", idA, "Exchange Online (Plan 1)") +
			row(`"Office 365 E3, big"`, "ENTERPRISEPACK", idT, "MY\t PLAN", idB, "")
		c, err := catalog.ParseMicrosoftCSV(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.SKUs) != 2 || len(c.Plans) != 2 {
			t.Fatalf("got %d SKUs and %d plans, want 2 and 2", len(c.SKUs), len(c.Plans))
		}
		e1, e3 := c.SKUs[idS], c.SKUs[idT]
		if e1 == nil || e3 == nil {
			t.Fatalf("SKUs not keyed by lower-case id: %v", c.SKUs)
		}
		if !slices.Equal(e1.Plans, []string{idA}) || !slices.Equal(e3.Plans, []string{idA, idB}) {
			t.Errorf("plans: E1 %v, E3 %v", e1.Plans, e3.Plans)
		}
		if e3.DisplayName != "Office 365 E3, big" || e3.PartNumber != "ENTERPRISEPACK" || e3.AppliesTo != "User" {
			t.Errorf("E3: %+v", e3)
		}
		a, b := c.Plans[idA], c.Plans[idB]
		if a.Name != "EXCHANGE_S_STANDARD" || a.FriendlyName != "EXCHANGE ONLINE (PLAN 1)" || a.Service != "exchange" {
			t.Errorf("plan A: %+v (the first of equally used spellings wins)", a)
		}
		if b.Name != "MY PLAN" || b.FriendlyName != "" || b.Service != "" {
			t.Errorf("plan B: %+v", b)
		}
	})
	errs := []struct {
		name, input string
		want        []string
	}{
		{"Empty", "", []string{"empty"}},
		{"WrongHeader", strings.Replace(header, "GUID", "SkuId", 1), []string{"column 3", `"SkuId"`, `"GUID"`}},
		{"ShortHeader", "Product_Display_Name,String_Id\n", []string{"header", "2 columns"}},
		{"ShortRow", header + "a,b,c\n", []string{"line 2", "number of fields"}},
		{"BadQuote", header + row(`Office "E1"`, "S", idS, "A", idA, "x"), []string{"line 2"}},
		{"BadSKUGUID", header + row("E1", "S", idS, "A", idA, "x") + row("E1", "S", "nope", "A", idA, "x"), []string{"line 3", `"nope"`}},
		{"BadPlanGUID", header + row("E1", "S", idS, "A", "12", "x"), []string{"line 2", "Service_Plan_Id", `"12"`}},
		{"EmptyPartNumber", header + row("E1", " ", idS, "A", idA, "x"), []string{"line 2", "String_Id"}},
		{"EmptyPlanName", header + row("E1", "S", idS, "", idA, "x"), []string{"line 2", "Service_Plan_Name"}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			c, err := catalog.ParseMicrosoftCSV(strings.NewReader(tt.input))
			if c != nil {
				t.Error("got a catalog along with the error")
			}
			wantInvalid(t, err, tt.want...)
		})
	}
}

func TestGuessService(t *testing.T) {
	tests := map[string]string{
		"EXCHANGE_S_STANDARD": "exchange", "exchange_s_deskless": "exchange", "SHAREPOINTWAC": "SharePoint",
		"MCOSTANDARD": "MicrosoftCommunicationsOnline", "TEAMS1": "TeamspaceAPI", "OFFICESUBSCRIPTION": "MicrosoftOffice",
		"FORMS_PLAN_E1": "OfficeForms", "BPOS_S_TODO_2": "To-Do", "INTUNE_O365": "SCO", "WIDGETS": "", "": "",
	}
	for name, want := range tests {
		if got := catalog.GuessService(name); got != want {
			t.Errorf("GuessService(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestDocsTables keeps the tables of docs/CATALOG.md equal to the demo.
func TestDocsTables(t *testing.T) {
	b, err := os.ReadFile("../docs/CATALOG.md")
	if err != nil {
		t.Fatal(err)
	}
	skus, plans := docTables(catalog.Demo())
	for name, table := range map[string]string{"SKU": skus, "plan": plans} {
		if !strings.Contains(string(b), table) {
			t.Errorf("docs/CATALOG.md lacks the demo's %s table; it should read:\n\n%s", name, table)
		}
	}
}

// docTables renders the demo's SKU and plan tables as docs/CATALOG.md shows them.
func docTables(c *allot.Catalog) (skus, plans string) {
	var b strings.Builder
	b.WriteString("| partNumber | display name | skuId | plans |\n|---|---|---|---|\n")
	for _, s := range c.SortedSKUs() {
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", s.PartNumber, s.DisplayName, s.ID, strings.Join(names(c, s.Plans), ", "))
	}
	skus = b.String()

	b.Reset()
	b.WriteString("| servicePlanName | servicePlanId | friendly name | service | rules |\n|---|---|---|---|---|\n")
	var ps []*allot.ServicePlan
	for _, p := range c.Plans {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	for _, p := range ps {
		var rules []string
		if p.ProvisionsMailbox {
			rules = append(rules, "provisionsMailbox")
		}
		var conflicts []string
		for _, q := range ps {
			if c.Conflicts(p.ID, q.ID) {
				conflicts = append(conflicts, q.Name)
			}
		}
		if len(conflicts) > 0 {
			rules = append(rules, "conflicts with "+strings.Join(conflicts, ", "))
		}
		for _, g := range p.DependsOn {
			rules = append(rules, "depends on one of "+strings.Join(names(c, g), ", "))
		}
		if len(p.AvailableIn) > 0 {
			rules = append(rules, "available only in "+strings.Join(p.AvailableIn, ", "))
		}
		if len(rules) == 0 {
			rules = []string{"—"}
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", p.Name, p.ID, p.FriendlyName, p.Service, strings.Join(rules, "; "))
	}
	plans = b.String()
	return skus, plans
}
