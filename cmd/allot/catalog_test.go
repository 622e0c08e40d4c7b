package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// Microsoft's list beside the spec, and the committed rules for it.
const (
	msList  = "../../catalog/testdata/microsoft-365-service-plans.csv"
	msRules = "../../docs/microsoft-365.rules"

	formsE3 = "2789c901-c14e-48ab-a76a-be334d9d793a" // FORMS_PLAN_E3, a plan of ENTERPRISEPACK
	pstn1   = "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8" // MCOPSTN1, the Domestic Calling Plan
)

func needList(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(msList)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawCatalog is the server's catalog file as GET /allot/v1/catalog sends it.
func rawCatalog(t *testing.T, c *client) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+"/allot/v1/catalog", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET catalog: %d %s", resp.StatusCode, b)
	}
	return b
}

func parsedCatalog(t *testing.T, c *client) *allot.Catalog {
	t.Helper()
	cat, err := catalog.Parse(bytes.NewReader(rawCatalog(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// plansOf returns a user's licenseDetails for sku as plan id → status.
func plansOf(c *client, userID, sku string) map[string]string {
	c.t.Helper()
	out := map[string]string{}
	for _, d := range c.ok(200, "GET", "/v1.0/users/"+userID+"/licenseDetails", nil)["value"].([]any) {
		d := d.(map[string]any)
		if d["skuId"] != sku {
			continue
		}
		for _, p := range d["servicePlans"].([]any) {
			p := p.(map[string]any)
			out[p["servicePlanId"].(string)] = p["provisioningStatus"].(string)
		}
	}
	return out
}

// disabledOf returns the disabledPlans of a user's assignedLicenses entry.
func disabledOf(c *client, userID, sku string) []any {
	c.t.Helper()
	for _, l := range c.ok(200, "GET", "/v1.0/users/"+userID+"?$select=id,assignedLicenses", nil)["assignedLicenses"].([]any) {
		if l := l.(map[string]any); l["skuId"] == sku {
			return l["disabledPlans"].([]any)
		}
	}
	c.t.Fatalf("user %s has no license %s", userID, sku)
	return nil
}

// TestCatalogImport installs Microsoft's real list with the example rules
// on a running server (--server), gives a tenant a product the demo did not
// have, then changes SKUs' plans (--db, the same database) and checks the
// holders: reprocessed, a new plan enabled, a lost plan gone from
// disabledPlans. Bad files and a catalog dropping a SKU in use change
// nothing.
func TestCatalogImport(t *testing.T) {
	list := needList(t)
	srv := startServer(t)
	op := &client{t: t, base: srv.url, token: "op-secret"}
	created := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Tailspin"})
	c := &client{t: t, base: srv.url, token: created["token"].(map[string]any)["secret"].(string)}
	user := func(name, loc string) string {
		return c.ok(201, "POST", "/v1.0/users", map[string]any{"displayName": name, "userPrincipalName": name + "@tailspin.example",
			"accountEnabled": true, "mailNickname": name, "usageLocation": loc})["id"].(string)
	}
	c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE3, "seats": 5})
	c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoCalling, "seats": 5})
	ursula := user("ursula", "US")
	c.ok(200, "POST", "/v1.0/users/"+ursula+"/assignLicense", lic(demoE3, formsE3))
	// The demo sells calling plans in seven countries, not in Japan.
	kenji := user("kenji", "JP")
	phones := c.ok(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Phones", "mailNickname": "phones", "mailEnabled": false, "securityEnabled": true})["id"].(string)
	c.ok(204, "POST", "/v1.0/groups/"+phones+"/members/$ref", map[string]any{"@odata.id": srv.url + "/v1.0/directoryObjects/" + kenji})
	c.ok(202, "POST", "/v1.0/groups/"+phones+"/assignLicense", lic(demoCalling))
	c.waitIdle()
	if s := c.statesFrom(kenji, phones)[demoCalling]; s["error"] != "ProhibitedInUsageLocationViolation" {
		t.Fatalf("kenji before the import: %v", s)
	}
	if n := len(plansOf(c, ursula, demoE3)); n != 8 {
		t.Fatalf("the demo's E3 has %d plans, want 8", n)
	}

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rulesText, err := os.ReadFile(msRules)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(list), "\n")
	without := func(keep func(line string) bool) string {
		var b strings.Builder
		for _, l := range lines {
			if keep(l) {
				b.WriteString(l)
			}
		}
		return b.String()
	}
	server := []string{"--server", srv.url, "--token", "op-secret"}

	// Bad files: a clear error naming the line, and the catalog as it was.
	before := rawCatalog(t, c)
	goodRules := write("good.rules", string(rulesText))
	bad := []struct {
		name, list, rules string
		want              []string
	}{
		{"BadCSVLine", write("bad.csv", string(list)+"Contoso Widgets,WIDGETS,not-a-guid,EXCHANGE_S_STANDARD,9aaf7827-d63c-4b61-89c3-182f06f82e5c,Exchange\n"), goodRules,
			[]string{"bad.csv:5459:", `"not-a-guid"`}},
		{"UnknownPlanInRule", msList, write("unknown.rules", "# mailboxes\nmailbox EXCHANGE_S_STANDARD EXCHANGE_S_PLAN9\n"),
			[]string{"unknown.rules:2:29:", `"EXCHANGE_S_PLAN9"`}},
		{"MalformedRule", msList, write("malformed.rules", string(rulesText)+"depends SHAREPOINTWAC SHAREPOINTSTANDARD ONEDRIVESTANDARD\n"),
			[]string{"malformed.rules:" + strconv.Itoa(strings.Count(string(rulesText), "\n")+1) + ":23:", `expected "on"`}},
		{"Contradiction", msList, write("contra.rules", "conflict MCOMEETADV MCOSTANDARD\ndepends MCOMEETADV on MCOSTANDARD\n"),
			[]string{"contra.rules:2:9:", "conflicts with it"}},
		{"DropsSubscribedSKU", write("no-e3.csv", without(func(l string) bool { return !strings.Contains(l, ",ENTERPRISEPACK,") })), goodRules,
			[]string{"Request_BadRequest", "ENTERPRISEPACK", demoE3, "1 subscription and 1 license assignment"}},
	}
	for _, tt := range bad {
		out, err := runCmd(t, append([]string{"catalog", "import", "--plans", tt.list, "--rules", tt.rules}, server...)...)
		if err == nil {
			t.Fatalf("%s: no error; output:\n%s", tt.name, out)
		}
		var ec exitCoder
		if !errors.As(err, &ec) || ec.ExitCode() != 1 {
			t.Errorf("%s: error %v (%T) does not exit with status 1", tt.name, err, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tt.name, err, w)
			}
		}
		if !bytes.Equal(rawCatalog(t, c), before) {
			t.Fatalf("%s: the catalog changed", tt.name)
		}
	}

	// A dry run reports and changes nothing.
	out, err := runCmd(t, append([]string{"catalog", "import", "--plans", msList, "--rules", msRules, "--dry-run"}, server...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"569 SKUs, 723 service plans", "~ sku ENTERPRISEPACK " + demoE3 + "\n    + plans ", `+ sku SPE_E3 05e9a617-0261-4cee-bb44-138d3ef5d965 "Microsoft 365 E3"`,
		"~ plan MCOPSTN1 " + pstn1 + "\n    available AT AU", "559 SKUs added, 0 removed, 4 changed", "dry run"} {
		if !strings.Contains(out, w) {
			t.Errorf("the dry run's report lacks %q", w)
		}
	}
	if !bytes.Equal(rawCatalog(t, c), before) {
		t.Fatal("the dry run changed the catalog")
	}

	// The import.
	start := time.Now()
	out, err = runCmd(t, append([]string{"catalog", "import", "--plans", msList, "--rules", msRules}, server...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("imported the full list through the API in %s: %s", time.Since(start), out[strings.LastIndex(out[:len(out)-1], "\n")+1:])
	cat := parsedCatalog(t, c)
	spe := cat.SKUByPartNumber("SPE_E3")
	if len(cat.SKUs) != 569 || spe == nil || spe.ID != "05e9a617-0261-4cee-bb44-138d3ef5d965" {
		t.Fatalf("the server's catalog has %d SKUs, SPE_E3 %+v", len(cat.SKUs), spe)
	}
	c.waitIdle()
	// The calling plan's new countries reached its holders.
	if s := c.statesFrom(kenji, phones)[demoCalling]; s["state"] != "Active" {
		t.Errorf("kenji after the import: %v", s)
	}
	// E3 gained 28 plans: on for ursula, except the one she disabled.
	e3 := plansOf(c, ursula, demoE3)
	if len(e3) != 36 || e3[formsE3] != "Disabled" || e3["a23b959c-7ce8-4e57-9140-b90eb88a9e97"] != "Success" {
		t.Errorf("ursula's E3 plans after the import (%d): %v", len(e3), e3)
	}

	// A product the demo did not have: subscribe, assign, hold.
	c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": spe.ID, "seats": 2})
	nadia, chen := user("nadia", "US"), user("chen", "CN")
	c.ok(200, "POST", "/v1.0/users/"+nadia+"/assignLicense", lic(spe.ID))
	c.ok(200, "POST", "/v1.0/users/"+chen+"/assignLicense", lic(spe.ID))
	if got := plansOf(c, nadia, spe.ID); len(got) != len(spe.Plans) || len(got) < 50 {
		t.Errorf("nadia's SPE_E3 has %d plans, want %d", len(got), len(spe.Plans))
	}
	if sku := c.ok(200, "GET", "/v1.0/subscribedSkus/"+spe.ID, nil); sku["consumedUnits"] != float64(2) || sku["skuPartNumber"] != "SPE_E3" {
		t.Errorf("SPE_E3 subscription: %v", sku)
	}

	// Change plans, into the database this time (the server reads the new
	// catalog and its worker the queued holders): SPE_E3 gains the calling
	// plan, sold in the US but not in China; E3 loses the plan ursula had
	// disabled.
	changed := write("changed.csv", without(func(l string) bool {
		return !(strings.Contains(l, ",ENTERPRISEPACK,") && strings.Contains(l, formsE3))
	})+"Microsoft 365 E3,SPE_E3,"+spe.ID+",MCOPSTN1,"+pstn1+",Microsoft 365 Domestic Calling Plan\n")
	out, err = runCmd(t, "catalog", "import", "--plans", changed, "--rules", msRules, "--db", srv.db)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"~ sku ENTERPRISEPACK " + demoE3 + "\n    - plans FORMS_PLAN_E3\n", "~ sku SPE_E3 " + spe.ID + "\n    + plans MCOPSTN1\n", "ok: catalog replaced"} {
		if !strings.Contains(out, w) {
			t.Errorf("the report lacks %q:\n%s", w, out)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(parsedCatalog(t, c).SKUs[spe.ID].Plans) == len(spe.Plans) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // past the worker's poll (1 s)
	c.waitIdle()
	if got := plansOf(c, nadia, spe.ID); got[pstn1] != "Success" || len(got) != len(spe.Plans)+1 {
		t.Errorf("nadia's SPE_E3 after the change: MCOPSTN1 %q, %d plans", got[pstn1], len(got))
	}
	if s := c.statesFrom(chen, "")[spe.ID]; s["state"] != "Error" || s["error"] != "ProhibitedInUsageLocationViolation" {
		t.Errorf("chen (CN) was not reprocessed when SPE_E3 gained the calling plan: %v", s)
	}
	if d := disabledOf(c, ursula, demoE3); len(d) != 0 {
		t.Errorf("ursula's disabledPlans still lists %v, a plan E3 no longer has", d)
	}
	if e3 := plansOf(c, ursula, demoE3); len(e3) != 35 || e3[formsE3] != "" {
		t.Errorf("ursula's E3 after the change (%d plans): %v", len(e3), e3)
	}
}

// TestCatalogImportDB installs the list into a database with --db, then
// finds nothing to change the second time; --save writes a catalog file
// that allot serve --catalog reads.
func TestCatalogImportDB(t *testing.T) {
	needList(t)
	dsn := testdb.DSN(t, false)
	saved := filepath.Join(t.TempDir(), "catalog.json")
	out, err := runCmd(t, "catalog", "import", "--plans", msList, "--rules", msRules, "--db", dsn, "--save", saved)
	if err != nil || !strings.Contains(out, "ok: catalog replaced") {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = runCmd(t, "catalog", "import", "--plans", msList, "--rules", msRules, "--db", dsn)
	if err != nil || !strings.Contains(out, "ok: the catalog is already this one") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	db, err := store.Open(t.Context(), store.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e3 := db.Catalog().SKUByPartNumber("ENTERPRISEPACK")
	if len(db.Catalog().SKUs) != 569 || e3 == nil || len(e3.Plans) != 36 {
		t.Fatalf("stored catalog: %d SKUs, E3 %+v", len(db.Catalog().SKUs), e3)
	}
	b, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := catalog.Parse(bytes.NewReader(b))
	if err != nil || len(fromFile.SKUs) != 569 {
		t.Fatalf("--save wrote an unusable catalog: %v", err)
	}

	// Usage errors exit with status 2 and touch nothing.
	for _, args := range [][]string{
		{"catalog", "import", "--rules", msRules, "--db", dsn},
		{"catalog", "import", "--plans", msList, "--db", dsn, "--server", "http://127.0.0.1:1"},
		{"catalog", "import", "--plans", msList},
		{"catalog", "export"},
	} {
		_, err := runCmd(t, args...)
		var ec exitCoder
		var ex exitError
		if !(errors.As(err, &ec) && ec.ExitCode() == 2) && !(errors.As(err, &ex) && ex == 2) {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}
