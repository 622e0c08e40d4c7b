package main

// Browser tests of the admin center: the real server, driven through real
// headless Chromium (Debian's chromium) with chromedp. They sign in and click
// through Microsoft's "Assign or unassign licenses to a group" article step by step, and
// save screenshots of the key pages under artifacts/screenshots/ at the
// repository root (ALLOT_ARTIFACTS overrides the folder).
//
// Without Chromium the tests are skipped, or fail when CI is set.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
	"github.com/allot-dev/allot/web"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds the browser, or skips (fails in CI) when there is none.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("ALLOT_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is not installed, and CI is set: the admin center's browser tests need it " +
			"(apt-get install -y chromium, or set ALLOT_CHROMIUM to the browser's path)")
	}
	t.Skip("Chromium is not installed (apt-get install -y chromium); skipping the browser tests")
	return ""
}

func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ALLOT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	dir = filepath.Join(dir, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lockedBuffer collects output that another goroutine writes (the
// browser's, the server's log).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// browser is one headless Chromium with a fresh profile, at 1280×800.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath(t)
	out := &lockedBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 800),
		chromedp.CombinedOutput(out),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first action starts the browser, which lives as long as the
	// context it runs in: start it here, not under a step's timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium (%s): %v\n%s", path, err, out.String())
	}
	b := &browser{t: t, ctx: ctx, base: base, dir: artifactsDir(t)}
	_ = os.Remove(filepath.Join(b.dir, failedShot(t)+".png")) // from an earlier run
	b.do(chromedp.EmulateViewport(1280, 800))
	return b
}

const stepTimeout = 45 * time.Second

func failedShot(t *testing.T) string {
	return "FAILED-" + regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")
}

// fatal stops the test with a screenshot of what the browser shows.
func (b *browser) fatal(format string, args ...any) {
	b.t.Helper()
	name := failedShot(b.t)
	if buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(filepath.Join(b.dir, name+".png"), buf, 0o644)
	}
	if url, err := chromedp.Run(b.ctx, chromedp.Location()); err == nil {
		args = append(args, url)
		format += " (at %s)"
	}
	b.t.Fatalf(format, args...)
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fatal("browser: %v", err)
	}
}

// load runs steps that navigate (a link, a form's button) and waits for the
// new page; it returns its HTTP status.
func (b *browser) load(steps ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		b.fatal("browser: %v", err)
	}
	return resp.Status
}

// open goes to a path of the server and wants status 200.
func (b *browser) open(path string) {
	b.t.Helper()
	if st := b.load(chromedp.Navigate(b.base + path)); st != 200 {
		b.fatal("GET %s: status %d", path, st)
	}
}

// press clicks what selector finds (a link or a submit button), waits for
// the page it leads to, and wants status 200.
func (b *browser) press(sel string) {
	b.t.Helper()
	if st := b.pressStatus(sel); st != 200 {
		b.fatal("after clicking %s: status %d", sel, st)
	}
}

func (b *browser) pressStatus(sel string) int64 {
	b.t.Helper()
	b.wantPresent(sel)
	return b.load(chromedp.Click(chromedp.CSS(sel)))
}

// click clicks without expecting a new page (a check box).
func (b *browser) click(sel string) {
	b.t.Helper()
	b.wantPresent(sel)
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

func js(s string) string { b, _ := json.Marshal(s); return string(b) }

func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatal("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) has(sel string) bool {
	return eval[bool](b, "document.querySelector("+js(sel)+") !== null")
}

func (b *browser) count(sel string) int {
	return eval[int](b, "document.querySelectorAll("+js(sel)+").length")
}

// text is the visible text of what sel finds ("" when nothing).
func (b *browser) text(sel string) string {
	return eval[string](b, "(function(){var e=document.querySelector("+js(sel)+");return e?e.innerText:''})()")
}

func (b *browser) wantPresent(sel string) {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !b.has(sel) {
		if time.Now().After(deadline) {
			b.fatal("nothing on the page matches %s", sel)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) wantAbsent(sel, why string) {
	b.t.Helper()
	if b.has(sel) {
		b.fatal("%s: %s is on the page", why, sel)
	}
}

// wantText wants the text of sel to contain each of want.
func (b *browser) wantText(sel string, want ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.fatal("%s says %q, want it to contain %q", sel, got, w)
		}
	}
}

// waitFor waits until cond holds, up to stepTimeout.
func (b *browser) waitFor(what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.fatal("waited in vain for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shot saves a PNG of the viewport as name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.fatal("screenshot: %v", err)
	}
	if !bytes.HasPrefix(buf, []byte("\x89PNG")) {
		b.fatal("screenshot %s is not a PNG", name)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// phone switches the viewport to a phone's (390×844) or back to 1280×800.
func (b *browser) phone(on bool) {
	if on {
		b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	} else {
		b.do(chromedp.EmulateViewport(1280, 800))
	}
}

func (b *browser) signIn(username, password string) {
	b.t.Helper()
	b.open("/signin")
	b.do(chromedp.SetValue(chromedp.ID("username"), username), chromedp.SetValue(chromedp.ID("password"), password))
	b.press("#signin")
	b.wantText(".topbar .name", username)
}

func (b *browser) signOut() {
	b.t.Helper()
	b.open("/billing/licenses") // a page with no panel over the top bar
	b.press("#signout")
	b.wantText("main", "You signed out.")
}

// location is the path and query the browser shows.
func (b *browser) location() string {
	return eval[string](b, "location.pathname + location.search")
}

// fetchStatus posts a form from the page with the browser's cookies, as a
// forged request would, and returns the status.
func (b *browser) fetchStatus(path string, fields map[string][]string) int {
	b.t.Helper()
	body, _ := json.Marshal(fields)
	return eval[int](b, `(async function(){
		var f = new URLSearchParams(); var o = `+string(body)+`;
		for (var k in o) { o[k].forEach(function(v){ f.append(k, v); }); }
		var r = await fetch(`+js(path)+`, {method: "POST", body: f, credentials: "same-origin"});
		return r.status; })()`)
}

// csrf is the CSRF token of the page's first form.
func (b *browser) csrf() string {
	return eval[string](b, `(document.querySelector("input[name=csrf_token]")||{}).value||""`)
}

// --- the data of the reference flow ---

// fixture is a tenant like the one of TestReferenceFlow, one admin center
// account per role, and the ids the tests click on.
type fixture struct {
	srv      *server
	c        *client
	tenant   string
	users    map[string]string // name -> id
	groups   map[string]string // name -> id
	accounts map[string]string // username -> password
	// db, when set, is the test's own handle on the server's database, and
	// the only one that processes: the server's worker sleeps (newPausedFixture).
	db *store.DB
}

var accountsOf = map[string]string{
	"lena.license": "LicenseAdministrator", "bill.billing": "BillingAdministrator", "ursula.users": "UserAdministrator",
	"gary.groups": "GroupAdministrator", "rita.reader": "GlobalReader", "gloria.global": "GlobalAdministrator",
}

func newFixture(t *testing.T, extra ...string) *fixture {
	t.Helper()
	srv := startServer(t, extra...)
	op := &client{t: t, base: srv.url, token: "op-secret"}
	created := op.ok(201, "POST", "/allot/v1/tenants", map[string]any{"displayName": "Fabrikam"})
	f := &fixture{srv: srv, tenant: created["tenant"].(map[string]any)["id"].(string), users: map[string]string{}, groups: map[string]string{}, accounts: map[string]string{}}
	f.c = &client{t: t, base: srv.url, token: created["token"].(map[string]any)["secret"].(string)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for username, role := range accountsOf {
		wg.Add(1)
		go func() { // bcrypt is slow on purpose, and slower under -race
			defer wg.Done()
			var out bytes.Buffer
			if err := run(context.Background(), []string{"account", "create", "--db", srv.db, "--tenant", f.tenant, "--username", username, "--role", role}, &out, io.Discard); err != nil {
				t.Errorf("account create %s: %v", username, err)
				return
			}
			fields := strings.Fields(out.String())
			mu.Lock()
			f.accounts[username] = fields[len(fields)-1]
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return f
}

func (f *fixture) user(name, loc string, proxy ...string) string {
	body := map[string]any{"displayName": name, "userPrincipalName": name + "@fabrikam.example", "accountEnabled": true,
		"mailNickname": name, "usageLocation": loc, "proxyAddresses": append([]string{"SMTP:" + name + "@fabrikam.example"}, proxy...)}
	id := f.c.ok(201, "POST", "/v1.0/users", body)["id"].(string)
	f.users[name] = id
	return id
}

func (f *fixture) group(name string, members ...string) string {
	id := f.c.ok(201, "POST", "/v1.0/groups", map[string]any{"displayName": name, "mailNickname": strings.ReplaceAll(name, " ", ""), "mailEnabled": false, "securityEnabled": true})["id"].(string)
	f.groups[name] = id
	for _, m := range members {
		f.c.ok(204, "POST", "/v1.0/groups/"+id+"/members/$ref", map[string]any{"@odata.id": f.srv.url + "/v1.0/directoryObjects/" + f.users[m]})
	}
	return id
}

// referenceData is the reference flow's starting point: Marketing, whose
// members will run into each error kind once Office 365 E1 is assigned to
// it, and Conferencing, whose member lacks a dependent plan.
func (f *fixture) referenceData() {
	for sku, seats := range map[string]int{demoE1: 3, demoE3: 5, demoKiosk: 5, demoExoP1: 5, demoAudio: 5, demoCalling: 5} {
		f.c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": sku, "seats": seats})
	}
	ivan := f.user("ivan", "US")
	f.c.ok(200, "POST", "/v1.0/users/"+ivan+"/assignLicense", lic(demoE1)) // holds one of the 3 E1 seats
	erin := f.user("erin", "US", "smtp:shared@fabrikam.example")
	f.c.ok(200, "POST", "/v1.0/users/"+erin+"/assignLicense", lic(demoExoP1)) // owns the shared address
	carol := f.user("carol", "US")
	f.c.ok(200, "POST", "/v1.0/users/"+carol+"/assignLicense", lic(demoKiosk)) // Kiosk conflicts with E1's Exchange
	f.user("alice", "US")
	f.user("bob", "") // no usage location, and the tenant has no default
	f.user("dave", "US", "smtp:Shared@fabrikam.example")
	f.user("frank", "GB")
	f.user("gina", "DE")
	f.user("henry", "US")
	f.group("Marketing", "alice", "bob", "carol", "dave", "frank", "gina")
	f.group("Market Research")
	f.group("Sales")
	conferencing := f.group("Conferencing", "henry")
	f.c.ok(202, "POST", "/v1.0/groups/"+conferencing+"/assignLicense", map[string]any{"addLicenses": []any{
		map[string]any{"skuId": demoAudio, "disabledPlans": []string{}}, map[string]any{"skuId": demoCalling, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	f.settle()
}

func (f *fixture) browser(t *testing.T) *browser { return newBrowser(t, f.srv.url) }

func (f *fixture) signIn(b *browser, username string) {
	b.t.Helper()
	b.signIn(username, f.accounts[username])
}

func e1Groups() string { return "/billing/licenses/" + demoE1 + "/groups" }

func (f *fixture) panel(sku, group, tab string) string {
	return "/billing/licenses/" + sku + "/groups/" + f.groups[group] + "?tab=" + tab
}

func rowOf(kind, id string) string { return fmt.Sprintf(`tr[data-%s="%s"]`, kind, id) }

func checkboxOf(kind, id string) string { return rowOf(kind, id) + " input[type=checkbox]" }

// TestBrowserSubscriptions: sign in as a License Administrator, Billing ›
// Licenses shows the Subscriptions tab with assigned / available / total
// and an over-allocated warning; a product's page has Users and Groups tabs.
func TestBrowserSubscriptions(t *testing.T) {
	f := newFixture(t)
	f.referenceData()
	// Lowering seats below consumption over-allocates Kiosk.
	f.c.ok(200, "PATCH", "/allot/v1/subscriptions/"+demoKiosk, map[string]any{"seats": 0})
	b := f.browser(t)

	// Signing in: a wrong password is refused with a plain message.
	b.open("/billing/licenses")
	if !strings.HasPrefix(b.location(), "/signin") {
		b.fatal("an anonymous visitor was not sent to sign in")
	}
	b.do(chromedp.SetValue(chromedp.ID("username"), "lena.license"), chromedp.SetValue(chromedp.ID("password"), "not the password"))
	if st := b.pressStatus("#signin"); st != 401 {
		b.fatal("wrong password: status %d", st)
	}
	b.wantText("#signin-error", "The username or password is incorrect.")
	b.shot("01-sign-in")
	f.signIn(b, "lena.license")
	b.wantText(".topbar .role", "License Administrator")

	// Billing › Licenses › Subscriptions tab.
	b.open("/billing/licenses")
	b.wantText("#tab-subscriptions", "Subscriptions")
	row := rowOf("sku", demoE1)
	b.wantText(row+" .assigned", "1")
	b.wantText(row+" .available", "2")
	b.wantText(row+" .total", "3")
	b.wantText(rowOf("sku", demoKiosk)+" .over-allocated", "Over-allocated: 1 more assigned than owned")
	b.shot("02-licenses-subscriptions")

	// The product's page: Users tab with "Assigned via", then the Groups tab.
	b.press(row + " a.product-link")
	b.wantText("#product-name", "Office 365 E1")
	b.wantText("#tab-users", "Users (1)")
	b.wantText(rowOf("user", f.users["ivan"])+" .via", "Direct")
	b.press("#tab-groups")
	b.wantText("#tab-groups", "Groups (0)")
	b.wantPresent("#assign-licenses")
	b.shot("03-product-groups-empty")

	// Active users: search, a user's details; Active groups: members.
	b.press(`.sidenav a[href="/users"]`)
	b.do(chromedp.SetValue(chromedp.ID("user-search"), "car"))
	b.press(`form[role=search] button`)
	if b.count("#users tbody tr[data-user]") != 1 {
		b.fatal("searching car lists %d users", b.count("#users tbody tr[data-user]"))
	}
	b.press(rowOf("user", f.users["carol"]) + " a")
	b.wantText("main", "United States (US)", "SMTP:carol@fabrikam.example", "Exchange Online Kiosk", "Direct", "Marketing")
	b.shot("29-user-details")
	b.press(`.sidenav a[href="/groups"]`)
	b.press(rowOf("group", f.groups["Marketing"]) + " a")
	b.wantText("#h-members", "Members (6)")
	b.wantText("#group-members", "alice", "gina")
	b.shot("30-group-members")
}

// planID is the id of a demo catalog plan, by name.
func planID(t *testing.T, name string) string {
	for id, p := range catalog.Demo().Plans {
		if p.Name == name {
			return id
		}
	}
	t.Fatalf("no plan %s in the demo catalog", name)
	return ""
}

// TestBrowserAssignLicenses walks "Assign licenses to a group" (steps 1–7),
// "Verify that the license assignment is finished" (the Status column goes
// through In progress to Errors & issues) and "Find users with license
// errors in the group" (the side panel's two tabs and its error column).
func TestBrowserAssignLicenses(t *testing.T) {
	// The test does the processing, batch by batch, so that In progress is
	// there for as long as the test looks at it, however busy the machine.
	f := newPausedFixture(t)
	f.referenceData()
	b := f.browser(t)
	// 1. Sign in as at least a License Administrator.
	f.signIn(b, "lena.license")
	// 2. Billing › Licenses; 3. the Subscriptions tab, select the product.
	b.press(`.sidenav a[href="/billing/licenses"]`)
	b.press(rowOf("sku", demoE1) + " a.product-link")
	// 4. The Groups tab, then Assign licenses.
	b.press("#tab-groups")
	b.press("#assign-licenses")
	b.wantText("#panel-title", "Assign licenses to groups")
	b.shot("04-assign-licenses-panel")
	// 5. Search for the group and select it from the Suggested groups list:
	// while typing (the page's script) ...
	b.do(chromedp.SendKeys(chromedp.ID("group-search"), "Mark"))
	b.waitFor("the suggestions for Mark", func() bool {
		got := b.text("#suggested-groups")
		return strings.Contains(got, "Marketing") && strings.Contains(got, "Market Research") && !strings.Contains(got, "Sales")
	})
	// ... and with the Search button, which works without the script.
	b.press("#search-groups")
	b.wantText("#suggested-groups", "Marketing", "Market Research")
	b.click(`#suggested-groups input[value="` + f.groups["Marketing"] + `"]`)
	// 6. Turn apps and services on or off: Microsoft Forms off.
	b.click("#apps-toggle")
	b.click(`#app-list input[value="` + planID(t, "FORMS_PLAN_E1") + `"]`)
	b.shot("05-assign-licenses-search-and-apps")
	// 7. Assign, then Close.
	b.press("#assign")
	b.wantText("#flash", "Office 365 E1 is assigned to 1 group: Marketing.", "Turned off: Microsoft Forms (Plan E1).")
	b.shot("06-assign-licenses-done")
	b.press("#assign-close")

	// Verify: the Status column says In progress, then Errors & issues,
	// by itself (the page's script), without Refresh.
	status := rowOf("group", f.groups["Marketing"]) + " .status-cell"
	b.wantText(status, "In progress")
	b.wantPresent(`#product-progress [data-progress-group="` + f.groups["Marketing"] + `"]`)
	f.step(2)
	b.waitFor("Marketing at 2 of 6 users", func() bool { return strings.Contains(b.text(status), "2 of 6 users") })
	b.wantText("#product-progress", "2 of 6 users")
	b.shot("07-groups-tab-in-progress")
	f.settle()
	b.waitFor("Marketing's Errors & issues", func() bool { return strings.HasPrefix(b.text(status), "Errors & issues") })
	b.wantAbsent("#product-progress", "the progress stays after the walk")
	b.wantText(rowOf("group", f.groups["Marketing"]), "1 app turned off")
	b.shot("08-groups-tab-errors-and-issues")

	// Find users with license errors: select the group; the side panel has
	// Successfully assigned and Actions needed, the error in plain words.
	b.press(rowOf("group", f.groups["Marketing"]) + " a.group-link")
	b.wantText("#panel-title", "Marketing")
	b.wantText("#tab-success", "Successfully assigned (2)")
	b.wantText("#tab-actions", "Actions needed (4)")
	for name, words := range map[string]string{
		"bob":   "User usage location not specified",
		"carol": "Conflicting service plans",
		"dave":  "Proxy address violation",
		"gina":  "Not enough licenses",
	} {
		b.wantText("#member-rows "+rowOf("user", f.users[name])+" .error-words", words)
	}
	b.shot("09-group-panel-actions-needed")
	b.press("#tab-success")
	b.wantText("#member-rows", "alice", "frank")
	if b.count("#member-rows tr[data-user]") != 2 {
		b.fatal("Successfully assigned lists %d users", b.count("#member-rows tr[data-user]"))
	}
	b.shot("10-group-panel-successfully-assigned")
	// A missing dependent plan, in the other group.
	b.open(f.panel(demoAudio, "Conferencing", "actions"))
	b.wantText("#member-rows "+rowOf("user", f.users["henry"])+" .error-words", "Missing dependent service plans")
}

// selectUser checks a user's box in the group panel's list.
func (b *browser) selectUser(id string) {
	b.t.Helper()
	b.click("#member-rows " + checkboxOf("user", id))
}

// TestBrowserResolveErrors walks "Manage group-based licensing errors":
// each error kind and its resolution as the article gives it — Not enough
// licenses (free up unused licenses: Unassign licenses on the Users tab,
// then Reprocess; buy more: Purchase license as Billing Administrator,
// Yes, Manage product licenses › Buy › Done), Conflicting service plans and
// Missing dependent service plans (Edit user, licenses and apps, Save
// changes, Reprocess), Duplicate proxy address and Other (View error
// details), User usage location not specified (Edit user, Select
// location) — until the group's status is All licenses assigned; then
// "Unassign licenses from a group" with its confirm step.
func TestBrowserResolveErrors(t *testing.T) {
	f := newFixture(t)
	f.referenceData()
	f.c.ok(202, "POST", "/v1.0/groups/"+f.groups["Marketing"]+"/assignLicense", lic(demoE1))
	f.c.waitIdle()
	marketing := f.panel(demoE1, "Marketing", "actions")
	b := f.browser(t)
	f.signIn(b, "lena.license")

	// Not enough licenses — free up unused licenses: the Users tab lists
	// users with the product directly or through groups ...
	b.open("/billing/licenses/" + demoE1)
	b.wantText(rowOf("user", f.users["ivan"])+" .via", "Direct")
	b.wantText(rowOf("user", f.users["alice"])+" .via", "Marketing")
	b.click(checkboxOf("user", f.users["ivan"]))
	b.press("#unassign-users")
	b.wantText("#confirm-dialog", "Unassign licenses", "ivan")
	b.shot("11-unassign-users-confirm")
	b.press("#confirm-yes")
	b.wantText("#flash", "Office 365 E1 is unassigned from 1 user: ivan.")
	// ... then on the Groups tab the group with the error and the user who
	// was missing a license. Allot hands a freed license to the users
	// waiting for one by itself (docs/RULES.md §2.3.4), so gina already has it;
	// Reprocess, the article's last step, confirms it.
	f.c.waitIdle()
	b.press("#tab-groups")
	b.press(rowOf("group", f.groups["Marketing"]) + " a.group-link")
	b.wantText("#tab-actions", "Actions needed (3)")
	b.press("#tab-success")
	b.selectUser(f.users["gina"])
	b.press("#reprocess")
	b.wantText("#flash", "Reprocessed 1 user. Licenses assigned: gina.")
	b.shot("12-reprocess-done")
	b.press("#tab-actions")

	// User usage location not specified: Edit user, Select location, Save
	// changes, close the panel, Reprocess.
	b.selectUser(f.users["bob"])
	b.press("#edit-user")
	b.wantText("#panel-title", "Edit user")
	b.do(chromedp.SetValue(chromedp.ID("usage-location"), "US"))
	b.shot("13-edit-user-location")
	b.press("#save-changes")
	// Saving reprocesses the user: every seat is taken, so bob now waits
	// for one — the next error kind.
	b.wantText("#flash", "Changes saved: usage location changed from none to United States (US).", "Still in error: Office 365 E1: Not enough licenses.")
	b.press("#edit-close")
	if b.location() != marketing {
		b.fatal("Close went to %s, want the group's panel", b.location())
	}
	b.selectUser(f.users["bob"])
	b.press("#reprocess")
	b.wantText("#flash", "Reprocessed 1 user. Still with errors: 1 user:", "bob — Not enough licenses")
	b.wantText("#member-rows "+rowOf("user", f.users["bob"])+" .error-words", "Not enough licenses")

	// Buy more licenses: only a Billing Administrator may.
	b.wantAbsent("#purchase-license", "a License Administrator is offered Purchase license")
	b.signOut()
	f.signIn(b, "bill.billing")
	b.open(marketing)
	b.wantAbsent("#reprocess", "a Billing Administrator is offered Reprocess")
	b.wantAbsent("#edit-user", "a Billing Administrator is offered Edit user")
	b.selectUser(f.users["bob"])
	b.press("#purchase-license")
	b.wantText("#confirm-dialog", "Purchase license", "bob")
	b.shot("14-purchase-license-confirm")
	b.press("#confirm-yes")
	b.wantText("#panel-title", "Manage product licenses")
	b.wantText("#manage-total", "3")
	// Seats for bob, and for the two users fixed below.
	b.do(chromedp.SetValue(chromedp.ID("quantity"), "3"))
	b.shot("15-manage-product-licenses")
	b.press("#buy")
	b.wantText("#flash", "You bought 3 licenses of Office 365 E1; you now have 6 in total", "Assigned to 1 selected user: bob.")
	b.wantText("#manage-total", "6")
	b.shot("16-manage-product-licenses-done")
	b.press("#purchase-done")
	b.wantAbsent("#member-rows "+rowOf("user", f.users["bob"]), "bob still needs action after the purchase")
	b.signOut()

	// Conflicting service plans: Edit user, remove the conflicting license,
	// Save changes, close, Reprocess.
	f.signIn(b, "lena.license")
	b.open(marketing)
	b.selectUser(f.users["carol"])
	b.press("#edit-user")
	b.click(`.product[data-sku="` + demoKiosk + `"] input[name=license]`)
	b.shot("17-edit-user-licenses")
	b.press("#save-changes")
	// A license change evaluates the user at once, its groups included, so
	// there is nothing left to reprocess.
	b.wantText("#flash", "Exchange Online Kiosk removed", "Every license of this user is now assigned.")
	b.press("#edit-close")
	b.wantAbsent("#member-rows "+rowOf("user", f.users["carol"]), "carol still needs action")

	// Missing dependent service plans, and Other on the group's second
	// product: View error details tells both; Edit user gives the required
	// plan another way (Office 365 E3 has Skype for Business Online).
	conferencing := f.panel(demoAudio, "Conferencing", "actions")
	b.open(conferencing)
	b.selectUser(f.users["henry"])
	b.press("#view-error-details")
	details := `.user-details[data-user="` + f.users["henry"] + `"]`
	b.wantText(details, "Microsoft 365 Audio Conferencing", "Missing dependent service plans", "Skype for Business PSTN Domestic Calling", "Other")
	b.shot("18-view-error-details-dependency")
	b.press("#details-close")
	b.selectUser(f.users["henry"])
	b.press("#edit-user")
	b.click(`.product[data-sku="` + demoE3 + `"] input[name=license]`)
	b.press("#save-changes")
	b.wantText("#flash", "Office 365 E3 assigned", "Every license of this user is now assigned.")
	b.press("#edit-close")
	b.wantText("#tab-actions", "Actions needed (0)")
	b.signOut()

	// Duplicate proxy address: View error details; then a User
	// Administrator changes the address.
	f.signIn(b, "ursula.users")
	b.open(marketing)
	b.selectUser(f.users["dave"])
	b.press("#view-error-details")
	details = `.user-details[data-user="` + f.users["dave"] + `"]`
	b.wantText(details, "Proxy address violation", "smtp:Shared@fabrikam.example")
	b.shot("19-view-error-details-proxy-address")
	b.press("#details-close")
	b.selectUser(f.users["dave"])
	b.press("#edit-user")
	b.do(chromedp.SetValue(chromedp.ID("proxy"), "SMTP:dave@fabrikam.example"))
	b.press("#save-changes")
	b.wantText("#flash", "Changes saved: proxy addresses changed.", "Every license of this user is now assigned.")
	b.press("#edit-close")
	b.wantText("#tab-actions", "Actions needed (0)")
	b.wantText("#tab-success", "Successfully assigned (6)")

	// Every group: All licenses assigned.
	f.c.waitIdle()
	b.open(e1Groups())
	b.wantText(rowOf("group", f.groups["Marketing"])+" .status-cell", "All licenses assigned")
	b.open("/billing/licenses/" + demoAudio + "/groups")
	b.wantText(rowOf("group", f.groups["Conferencing"])+" .status-cell", "All licenses assigned")
	b.open(e1Groups())
	b.shot("20-groups-tab-all-licenses-assigned")

	// Unassign licenses from a group: select it, Unassign licenses, Unassign.
	b.click(checkboxOf("group", f.groups["Marketing"]))
	b.press("#unassign-groups")
	b.wantText("#confirm-dialog", "Unassign licenses", "Marketing")
	b.shot("21-unassign-group-confirm")
	b.press("#confirm-yes")
	b.wantText("#flash", "Office 365 E1 is unassigned from 1 group: Marketing.")
	b.wantAbsent(rowOf("group", f.groups["Marketing"]), "Marketing is still listed after its license was unassigned")
	f.c.waitIdle()
	if sku := f.c.ok(200, "GET", "/v1.0/subscribedSkus/"+demoE1, nil); sku["consumedUnits"].(float64) != 0 {
		t.Fatalf("E1 seats not released: %v", sku["consumedUnits"])
	}
}

// TestBrowserRoles: every page and action obeys docs/RULES.md §3. A Group
// Administrator sees no Assign licenses button and a forged assignment is
// refused with 403; a form without the session's CSRF token is refused; a
// Global Reader changes nothing; a Billing Administrator cannot edit users.
func TestBrowserRoles(t *testing.T) {
	f := newFixture(t)
	f.referenceData()
	f.c.ok(202, "POST", "/v1.0/groups/"+f.groups["Marketing"]+"/assignLicense", lic(demoE1))
	f.c.waitIdle()
	b := f.browser(t)
	assign := "/billing/licenses/" + demoE1 + "/groups/assign"
	forgedAssign := func(token string) map[string][]string {
		form := map[string][]string{"action": {"assign"}, "group": {f.groups["Sales"]}}
		if token != "" {
			form["csrf_token"] = []string{token}
		}
		return form
	}
	salesLicensed := func() bool {
		g := f.c.ok(200, "GET", "/v1.0/groups/"+f.groups["Sales"]+"?$select=assignedLicenses", nil)
		return len(g["assignedLicenses"].([]any)) > 0
	}

	// A Group Administrator: no Assign button, the panel refused, a forged
	// POST with a valid CSRF token refused, and nothing assigned.
	f.signIn(b, "gary.groups")
	b.open(e1Groups())
	b.wantAbsent("#assign-licenses", "a Group Administrator is offered Assign licenses")
	b.wantAbsent("#unassign-groups", "a Group Administrator is offered Unassign licenses")
	b.shot("22-group-administrator-no-assign-button")
	token := b.csrf()
	if token == "" {
		b.fatal("no CSRF token on the page")
	}
	if st := b.fetchStatus(assign, forgedAssign(token)); st != 403 {
		b.fatal("a Group Administrator's forged Assign: status %d, want 403", st)
	}
	if st := b.fetchStatus(f.panel(demoE1, "Marketing", "actions")[:strings.Index(f.panel(demoE1, "Marketing", "actions"), "?")]+"/action",
		map[string][]string{"csrf_token": {token}, "action": {"reprocess"}, "user": {f.users["bob"]}}); st != 403 {
		b.fatal("a Group Administrator's forged Reprocess: status %d, want 403", st)
	}
	if st := b.load(chromedp.Navigate(b.base + assign)); st != 403 {
		b.fatal("a Group Administrator opened the Assign licenses panel: status %d", st)
	}
	b.wantText(".error-message", "You don't have permission to assign, unassign or reprocess licenses.")
	b.shot("23-forbidden")
	b.open(f.panel(demoE1, "Marketing", "actions"))
	for _, sel := range []string{"#reprocess", "#purchase-license", "#edit-user"} {
		b.wantAbsent(sel, "a Group Administrator is offered an action on licenses")
	}
	b.wantPresent("#view-error-details")
	if salesLicensed() {
		t.Fatal("a Group Administrator's forged request assigned a license")
	}
	b.signOut()

	// A License Administrator: a form without the CSRF token, or with
	// another one, is refused; with the page's token the same form works.
	f.signIn(b, "lena.license")
	b.open(e1Groups())
	if st := b.fetchStatus(assign, forgedAssign("")); st != 403 {
		b.fatal("Assign without a CSRF token: status %d, want 403", st)
	}
	if st := b.fetchStatus(assign, forgedAssign("not-the-token")); st != 403 {
		b.fatal("Assign with a wrong CSRF token: status %d, want 403", st)
	}
	if salesLicensed() {
		t.Fatal("a request without the CSRF token assigned a license")
	}
	if st := b.fetchStatus(assign, forgedAssign(b.csrf())); st != 200 {
		b.fatal("Assign with the page's CSRF token: status %d, want 200", st)
	}
	if !salesLicensed() {
		t.Fatal("Assign with the page's token did not assign the license")
	}
	b.signOut()

	// A Global Reader sees and changes nothing.
	f.signIn(b, "rita.reader")
	b.open(f.panel(demoE1, "Marketing", "actions"))
	for _, sel := range []string{"#reprocess", "#purchase-license", "#edit-user"} {
		b.wantAbsent(sel, "a Global Reader is offered an action")
	}
	b.open("/users/" + f.users["bob"])
	b.wantAbsent("#edit-user", "a Global Reader is offered Edit user")
	if st := b.load(chromedp.Navigate(b.base + "/users/" + f.users["bob"] + "/edit")); st != 403 {
		b.fatal("a Global Reader opened Edit user: status %d", st)
	}
	b.signOut()

	// A Billing Administrator may buy licenses but not edit a user.
	f.signIn(b, "bill.billing")
	b.open("/users/" + f.users["bob"])
	if st := b.fetchStatus("/users/"+f.users["bob"]+"/edit", map[string][]string{"csrf_token": {b.csrf()}, "usageLocation": {"US"}}); st != 403 {
		b.fatal("a Billing Administrator's forged Edit user: status %d, want 403", st)
	}
	if u := f.c.ok(200, "GET", "/v1.0/users/"+f.users["bob"]+"?$select=usageLocation", nil); u["usageLocation"] != nil && u["usageLocation"] != "" {
		t.Fatalf("a forged edit changed the location: %v", u["usageLocation"])
	}
	b.signOut()

	// Signed out, the session is gone: pages send to sign in again.
	b.open(e1Groups())
	if !strings.HasPrefix(b.location(), "/signin") {
		b.fatal("after sign-out a page opened without signing in")
	}
}

// TestBrowserGroupPanelPages: the side panel lists 200 users a page and
// loads the next page when scrolled to the bottom; at most 20 users may be
// selected for an action.
func TestBrowserGroupPanelPages(t *testing.T) {
	f := newFixture(t)
	f.c.ok(201, "POST", "/allot/v1/subscriptions", map[string]any{"skuId": demoE3, "seats": 1100})
	g := f.group("All Staff")
	const n = web.DefaultPageSize + 50
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			name := fmt.Sprintf("staff%04d", i)
			id := f.c.ok(201, "POST", "/v1.0/users", map[string]any{"displayName": name, "userPrincipalName": name + "@fabrikam.example",
				"accountEnabled": true, "mailNickname": name, "usageLocation": "US"})["id"].(string)
			f.c.ok(204, "POST", "/v1.0/groups/"+g+"/members/$ref", map[string]any{"@odata.id": f.srv.url + "/v1.0/directoryObjects/" + id})
		}()
	}
	wg.Wait()
	f.c.ok(202, "POST", "/v1.0/groups/"+g+"/assignLicense", lic(demoE3))
	f.c.waitIdle()

	b := f.browser(t)
	f.signIn(b, "lena.license")
	b.open(f.panel(demoE3, "All Staff", "success"))
	b.wantText("#tab-success", fmt.Sprintf("Successfully assigned (%d)", n))
	if got := b.count("#member-rows tr[data-user]"); got != web.DefaultPageSize {
		b.fatal("the first page lists %d users, want %d", got, web.DefaultPageSize)
	}
	b.do(chromedp.ScrollIntoView(chromedp.ID("load-more")))
	b.waitFor("the next page of users", func() bool { return b.count("#member-rows tr[data-user]") == n })
	b.wantAbsent("#load-more", "the last page still offers more")
	b.shot("24-group-panel-next-page-loaded")

	// Up to 20 users at a time.
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("#member-rows input[name=user]").forEach(function(b, i){ if (i < 21) b.click(); })`))
	b.wantText("#members-form [data-selected-count]", "21 selected — select at most 20")
	b.press("#reprocess")
	b.wantText("#flash", "You can select up to 20 users at a time, and 21 are selected.")
}

// startDemo runs `allot demo` and reads the sign-ins it prints.
func startDemo(t *testing.T) (url string, accounts map[allot.Role][2]string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--db", testdb.DSN(t, false)}, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("demo stopped: %v", err))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	accounts = map[allot.Role][2]string{}
	rd := bufio.NewReader(pr)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("demo output: %v", err)
		}
		f := strings.Fields(line)
		if strings.HasPrefix(line, "Allot demo is running at ") {
			url = f[5]
		}
		if len(f) == 5 && f[1] == "username" && f[3] == "password" {
			accounts[allot.Role(f[0])] = [2]string{f[2], f[4]}
		}
		if strings.HasPrefix(line, "Try:") {
			break
		}
	}
	go io.Copy(io.Discard, rd)
	return url, accounts
}

// TestBrowserDemo: `allot demo` prints a sign-in for each role, and each
// signs in; the admin center is usable on a phone.
func TestBrowserDemo(t *testing.T) {
	chromiumPath(t)
	url, accounts := startDemo(t)
	if len(accounts) != len(allot.Roles) {
		t.Fatalf("demo printed %d sign-ins, want one per role: %v", len(accounts), accounts)
	}
	b := newBrowser(t, url)
	for _, role := range allot.Roles {
		acc := accounts[role]
		b.signIn(acc[0], acc[1])
		b.wantPresent(`.topbar .role[data-role="` + string(role) + `"]`)
		b.open("/billing/licenses")
		// Eight products in use and one suspended (demo.go, lifecycles).
		if got := b.count("#subscriptions tbody tr[data-sku]"); got != 9 {
			b.fatal("%s sees %d products, want 9", role, got)
		}
		if role != allot.RoleGlobalAdministrator {
			b.signOut()
			continue
		}
		// The demo's big group, at 1280×800 and on a phone.
		b.open("/billing/licenses/" + demoE3 + "/groups")
		b.press(`#product-groups a.group-link`)
		b.wantText("#panel-title", "All Staff")
		b.shot("25-demo-all-staff-panel")
		b.phone(true)
		b.open("/billing/licenses/" + demoE3 + "/groups")
		b.shot("26-phone-groups-tab")
		b.press(`#product-groups a.group-link`)
		b.shot("27-phone-group-panel")
		b.open("/billing/licenses")
		b.shot("28-phone-subscriptions")
		// Every lifecycle state is there to see (demo.go, lifecycles), and
		// Home counts the trial, the grace period and the suspension.
		b.wantText("#subscriptions", "Trial ends in 5 days", "In grace until", "Suspended since")
		b.wantText(rowOf("sku", demoExoP2)+" .services-stopped", "Services stopped")
		b.wantNothingClipped("the demo's subscriptions")
		b.open("/")
		b.wantText("#ending-banner", "3 subscriptions end within 30 days or have ended.")
		b.wantText("#home-subscription-list", "Microsoft 365 E5", "Audio Conferencing", "Exchange Online (Plan 2)")
		b.wantNothingClipped("the demo's home")
		b.shot("35-phone-demo-home")
		b.phone(false)
		b.signOut()
	}
}
