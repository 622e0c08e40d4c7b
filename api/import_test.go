package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// importFiles sends files (part name -> content) as multipart/form-data to
// POST /allot/v1/import?query.
func (w *world) importFiles(tok, query string, files map[string]string) response {
	w.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, name := range []string{"users", "groups", "memberships"} {
		if data, ok := files[name]; ok {
			part, err := mw.CreateFormFile(name, name+".csv")
			if err != nil {
				w.t.Fatal(err)
			}
			part.Write([]byte(data))
		}
	}
	mw.Close()
	target := "/allot/v1/import"
	if query != "" {
		target += "?" + query
	}
	return w.do("POST", target, tok, body.String(), "Content-Type", mw.FormDataContentType())
}

// importReport is the JSON answer of an import.
type importReport struct {
	DryRun      bool
	Applied     bool
	Users       map[string]int
	Groups      map[string]int
	Memberships map[string]int
	Changes     []map[string]any
}

func (w *world) imported(r response) importReport {
	w.t.Helper()
	if r.Code != http.StatusOK {
		w.t.Fatalf("import: %d %s", r.Code, r.Body.String())
	}
	var rep importReport
	if err := json.Unmarshal(r.Body.Bytes(), &rep); err != nil {
		w.t.Fatalf("report: %v: %s", err, r.Body.String())
	}
	return rep
}

// exportCSV reads an export and parses it back: the header row, then the
// rows as maps by column.
func (w *world) exportCSV(tok, target string) []map[string]string {
	w.t.Helper()
	r := w.do("GET", target, tok, nil)
	if r.Code != http.StatusOK {
		w.t.Fatalf("GET %s: %d %s", target, r.Code, r.Body.String())
	}
	if ct := r.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		w.t.Fatalf("Content-Type %q", ct)
	}
	if cd := r.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="`) || !strings.HasSuffix(cd, `.csv"`) {
		w.t.Fatalf("Content-Disposition %q", cd)
	}
	recs, err := csv.NewReader(r.Body).ReadAll()
	if err != nil || len(recs) == 0 {
		w.t.Fatalf("GET %s is not CSV with a header: %v", target, err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// snapshot is everything an import could change, read through the API:
// the newest audit entry (every change writes one), the users export, and
// each group with its members.
func (w *world) snapshot(tok string) string {
	w.t.Helper()
	var b strings.Builder
	audit := w.do("GET", "/allot/v1/audit?$top=1", tok, nil).expect(http.StatusOK, "")
	j, _ := json.Marshal(audit["value"])
	b.Write(j)
	b.WriteString(w.do("GET", "/allot/v1/export/users", tok, nil).Body.String())
	_, groups := w.follow(tok, "/v1.0/groups?$select=id,displayName,mailNickname,description,mailEnabled,securityEnabled,proxyAddresses&$top=999")
	for _, g := range groups {
		j, _ := json.Marshal(g)
		b.Write(j)
		_, members := w.follow(tok, "/v1.0/groups/"+g["id"].(string)+"/members?$select=id")
		j, _ = json.Marshal(members)
		b.Write(j)
	}
	return b.String()
}

func usersByUPN(rows []map[string]string) map[string][]map[string]string {
	out := map[string][]map[string]string{}
	for _, r := range rows {
		out[r["userPrincipalName"]] = append(out[r["userPrincipalName"]], r)
	}
	return out
}

const (
	usersCSV = "userPrincipalName,displayName,usageLocation,mail,proxyAddresses,accountEnabled\n" +
		"alice@contoso.example,Alice,US,alice@contoso.example,SMTP:alice@contoso.example,true\n" +
		"bob@contoso.example,Bob,,,,\n" +
		"carol@contoso.example,=Carol,GB,,,\n" +
		"dave@contoso.example,Dave,DE,,,false\n"
	groupsCSV = "mailNickname,displayName,description,groupTypes\n" +
		"sales,Sales,People who sell,\n" +
		"eng,Engineering,,Unified\n"
	membershipsCSV = "groupMailNickname,userPrincipalName,memberMailNickname\n" +
		"sales,alice@contoso.example,\n" +
		"sales,bob@contoso.example,\n" +
		"sales,carol@contoso.example,\n" +
		"eng,dave@contoso.example,\n" +
		"eng,,sales\n"
)

// TestImportCSV walks an import end to end through the API on the real
// store: a dry run into an empty tenant, the import, a re-import that
// changes nothing, memberships whose changes license and unlicense users,
// files with errors that change nothing, and the exports read back.
func TestImportCSV(t *testing.T) {
	w := newWorld(t)
	ga := w.ga
	all := map[string]string{"users": usersCSV, "groups": groupsCSV, "memberships": membershipsCSV}

	// A dry run reports everything and changes nothing.
	empty := w.snapshot(ga)
	dry := w.imported(w.importFiles(ga, "dryRun=true", all))
	if !dry.DryRun || dry.Applied {
		t.Fatalf("dry run report: %+v", dry)
	}
	want := importReport{Users: map[string]int{"created": 4, "updated": 0, "unchanged": 0},
		Groups:      map[string]int{"created": 2, "updated": 0, "unchanged": 0},
		Memberships: map[string]int{"added": 5, "removed": 0, "unchanged": 0}}
	if !reflect.DeepEqual(dry.Users, want.Users) || !reflect.DeepEqual(dry.Groups, want.Groups) || !reflect.DeepEqual(dry.Memberships, want.Memberships) {
		t.Fatalf("dry run counts: %+v", dry)
	}
	if len(dry.Changes) != 11 || dry.Changes[0]["file"] != "users.csv" || dry.Changes[0]["line"] != 2.0 || dry.Changes[0]["action"] != "create" {
		t.Fatalf("dry run changes: %v", dry.Changes)
	}
	if got := w.snapshot(ga); got != empty {
		t.Fatal("a dry run changed the tenant")
	}

	// The import does what the dry run said.
	done := w.imported(w.importFiles(ga, "", all))
	if done.DryRun || !done.Applied {
		t.Fatalf("import report: %+v", done)
	}
	dry.DryRun, dry.Applied = false, true
	if !reflect.DeepEqual(done, dry) {
		t.Fatalf("the import did not do what the dry run said:\n%+v\n%+v", done, dry)
	}
	users := usersByUPN(w.exportCSV(ga, "/allot/v1/export/users"))
	if len(users) != 4 {
		t.Fatalf("users after import: %v", users)
	}
	if a := users["alice@contoso.example"][0]; a["usageLocation"] != "US" || a["accountEnabled"] != "true" || a["skuId"] != "" {
		t.Errorf("alice: %v", a)
	}
	if d := users["dave@contoso.example"][0]; d["accountEnabled"] != "false" || d["usageLocation"] != "DE" {
		t.Errorf("dave: %v", d)
	}
	if c := users["carol@contoso.example"][0]; c["displayName"] != "'=Carol" {
		t.Errorf("the export runs a formula: displayName %q", c["displayName"])
	}
	_, groups := w.follow(ga, "/v1.0/groups?$select=id,mailNickname,groupTypes,mailEnabled,securityEnabled")
	gid := map[string]string{}
	for _, g := range groups {
		gid[g["mailNickname"].(string)] = g["id"].(string)
		if g["mailNickname"] == "eng" && (g["mailEnabled"] != true || g["securityEnabled"] != false) {
			t.Errorf("a Microsoft 365 group: %v", g)
		}
	}
	_, members := w.follow(ga, "/v1.0/groups/"+gid["eng"]+"/members?$select=id")
	if len(members) != 2 {
		t.Fatalf("eng has %d members, want dave and the sales group", len(members))
	}

	// Again: nothing changes, and the report says so.
	before := w.snapshot(ga)
	again := w.imported(w.importFiles(ga, "", all))
	if again.Applied || again.Users["unchanged"] != 4 || again.Groups["unchanged"] != 2 || again.Memberships["unchanged"] != 5 || len(again.Changes) != 0 {
		t.Fatalf("re-import: %+v", again)
	}
	if w.snapshot(ga) != before {
		t.Fatal("re-importing the same files changed the tenant")
	}

	// Licensing: two seats of E1 for sales' three members.
	w.do("POST", "/allot/v1/subscriptions", ga, map[string]any{"skuId": skuE1, "seats": 2}).expect(http.StatusCreated, "")
	w.do("POST", "/v1.0/groups/"+gid["sales"]+"/assignLicense", ga, map[string]any{
		"addLicenses": []map[string]any{{"skuId": skuE1}}, "removeLicenses": []string{}}).expect(http.StatusAccepted, "")
	w.drain()
	active, waiting := licensed(w.exportCSV(ga, "/allot/v1/export/users"), gid["sales"])
	if len(active) != 2 || len(waiting) != 1 {
		t.Fatalf("active %v, waiting %v", active, waiting)
	}
	errs := w.exportCSV(ga, "/allot/v1/export/groups/"+gid["sales"]+"/membersWithLicenseErrors")
	if len(errs) != 1 || errs[0]["userPrincipalName"] != waiting[0] || errs[0]["error"] != "CountViolation" || errs[0]["skuPartNumber"] != "STANDARDPACK" {
		t.Fatalf("members with errors: %v", errs)
	}

	// Sync sales to two members with pruning: a holder leaves, which frees
	// a seat for the one waiting; bob moves to GB. Dry run first.
	// Not bob: his move to GB queues him anyway, which would hide a leaver
	// that the import forgot to queue.
	leaver := active[0]
	if leaver == "bob@contoso.example" {
		leaver = active[1]
	}
	var keep []string
	for _, u := range []string{"alice@contoso.example", "bob@contoso.example", "carol@contoso.example"} {
		if u != leaver {
			keep = append(keep, u)
		}
	}
	sync := map[string]string{
		"users":       "userPrincipalName,displayName,usageLocation\nbob@contoso.example,Bob,gb\n",
		"memberships": "groupMailNickname,userPrincipalName\nsales," + keep[0] + "\nsales," + keep[1] + "\n",
	}
	before = w.snapshot(ga)
	dry = w.imported(w.importFiles(ga, "dryRun=true&pruneMemberships=true", sync))
	if w.snapshot(ga) != before {
		t.Fatal("a dry run with pruning changed the tenant")
	}
	if dry.Users["updated"] != 1 || dry.Memberships["removed"] != 1 || dry.Memberships["unchanged"] != 2 || dry.Memberships["added"] != 0 {
		t.Fatalf("sync dry run: %+v", dry)
	}
	last := dry.Changes[len(dry.Changes)-1]
	if last["action"] != "remove" || last["key"] != "sales" || last["member"] != leaver {
		t.Fatalf("the removal: %v", last)
	}
	done = w.imported(w.importFiles(ga, "pruneMemberships=true", sync))
	dry.DryRun, dry.Applied = false, true
	if !reflect.DeepEqual(done, dry) {
		t.Fatalf("the sync did not do what its dry run said:\n%+v\n%+v", done, dry)
	}
	w.drain()
	rows := w.exportCSV(ga, "/allot/v1/export/users")
	active, waiting = licensed(rows, gid["sales"])
	if len(active) != 2 || len(waiting) != 0 || strings.Contains(strings.Join(active, " "), leaver) {
		t.Fatalf("after the sync: active %v, waiting %v (%s left)", active, waiting, leaver)
	}
	if b := usersByUPN(rows)["bob@contoso.example"]; b[0]["usageLocation"] != "GB" || b[0]["displayName"] != "Bob" {
		t.Fatalf("bob: %v", b)
	}
	if len(w.exportCSV(ga, "/allot/v1/export/groups/"+gid["sales"]+"/membersWithLicenseErrors")) != 0 {
		t.Fatal("members with errors after the sync")
	}
	// A new user joining the licensed group is processed: no seat is left.
	w.imported(w.importFiles(ga, "", map[string]string{
		"users":       "userPrincipalName,displayName\nerin@contoso.example,Erin\n",
		"memberships": "groupMailNickname,userPrincipalName\nsales,erin@contoso.example\n",
	}))
	w.drain()
	if _, waiting = licensed(w.exportCSV(ga, "/allot/v1/export/users"), gid["sales"]); len(waiting) != 1 || waiting[0] != "erin@contoso.example" {
		t.Fatalf("erin joined sales: waiting %v", waiting)
	}
	if v, err := w.db.Check(context.Background()); err != nil || len(v) != 0 {
		t.Fatalf("invariants after the imports: %v %v", err, v)
	}

	// The audit export, filtered to the group, has what happened to it.
	audit := w.exportCSV(ga, "/allot/v1/export/audit?targetId="+gid["sales"])
	var activities []string
	for _, a := range audit {
		activities = append(activities, a["activity"])
		if a["targetId"] != gid["sales"] {
			t.Fatalf("audit export row for another target: %v", a)
		}
	}
	for _, act := range []string{"Remove member from group", "Finish applying group based license to users", "Set group license", "Add member to group", "Add group"} {
		if !strings.Contains(strings.Join(activities, "|"), act) {
			t.Errorf("audit export lacks %q: %v", act, activities)
		}
	}
	if activities[0] == "Add group" || activities[len(activities)-1] != "Add group" {
		t.Errorf("audit export is not newest first: %v", activities)
	}
}

// licensed lists the users with an Active and with a CountViolation state
// from the group in a users export.
func licensed(rows []map[string]string, group string) (active, waiting []string) {
	for _, r := range rows {
		if r["groupId"] != group || r["source"] != "group" {
			continue
		}
		switch {
		case r["state"] == "Active":
			active = append(active, r["userPrincipalName"])
		case r["error"] == "CountViolation":
			waiting = append(waiting, r["userPrincipalName"])
		}
	}
	return active, waiting
}

// TestImportErrorsChangeNothing: every error of every file is reported
// with its file and line, and nothing of the import is applied, whether
// the parser or the store finds it.
func TestImportErrorsChangeNothing(t *testing.T) {
	w := newWorld(t)
	ga := w.ga
	w.imported(w.importFiles(ga, "", map[string]string{"groups": groupsCSV}))
	// Two groups share a mailNickname: memberships cannot name either.
	for range 2 {
		w.do("POST", "/v1.0/groups", ga, map[string]any{"displayName": "Twin", "mailNickname": "twin", "mailEnabled": false, "securityEnabled": true}).
			expect(http.StatusCreated, "")
	}
	before := w.snapshot(ga)
	cases := []struct {
		name  string
		query string
		files map[string]string
		want  []string
	}{
		{"values", "", map[string]string{
			"users":       "userPrincipalName,displayName,usageLocation\nnew@contoso.example,New,US\nx@contoso.example,X,XX\n",
			"memberships": "groupMailNickname,userPrincipalName\nsales,new@contoso.example\nsales,\n",
		}, []string{`users.csv:3: usageLocation "XX" is not a country code`, `memberships.csv:3: no member`}},
		{"references", "", map[string]string{
			"users":       "userPrincipalName,displayName\nnew@contoso.example,New\n",
			"memberships": "groupMailNickname,userPrincipalName,memberMailNickname\nsales,new@contoso.example,\nnope,new@contoso.example,\nsales,ghost@contoso.example,\ntwin,new@contoso.example,\neng,,nope\n",
		}, []string{`memberships.csv:3: group "nope" is not a group of the tenant`,
			`memberships.csv:4: user "ghost@contoso.example" is neither in users.csv nor a user of the tenant`,
			`memberships.csv:5: mailNickname "twin" matches 2 groups`,
			`memberships.csv:6: group "nope" is not a group of the tenant`}},
		{"group type change", "dryRun=true", map[string]string{"groups": "mailNickname,displayName,groupTypes\nsales,Sales,Unified\n"},
			[]string{`groups.csv:2: groupTypes of an existing group cannot be changed`}},
		{"header", "", map[string]string{"users": "upn,displayName\n"}, []string{`users.csv:1: unknown column "upn"`,
			`users.csv:1: the header row has no "userPrincipalName" column`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := w.importFiles(ga, c.query, c.files).expect(http.StatusBadRequest, "Request_BadRequest")
			msg := errMessage(m)
			if !strings.Contains(msg, "nothing was changed") {
				t.Errorf("message %q", msg)
			}
			for _, want := range c.want {
				if !strings.Contains(msg, "\n"+want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
			if got := strings.Count(msg, "\n"); got != len(c.want) {
				t.Errorf("%d errors, want %d:\n%s", got, len(c.want), msg)
			}
			if w.snapshot(ga) != before {
				t.Fatal("an import with errors changed the tenant")
			}
		})
	}
}

// TestExportPages: exports read the store a page at a time; every row
// arrives once, across page boundaries.
func TestExportPages(t *testing.T) {
	w := newWorld(t)
	const n = 2*999 + 3
	var b strings.Builder
	b.WriteString("userPrincipalName,displayName\n")
	for i := range n {
		fmt.Fprintf(&b, "u%04d@contoso.example,User %d\n", i, i)
	}
	r := w.do("POST", "/allot/v1/import?file=users", w.ga, b.String(), "Content-Type", "text/csv")
	if rep := w.imported(r); rep.Users["created"] != n || len(rep.Changes) != 1000 {
		t.Fatalf("%+v", rep.Users)
	}
	seen := map[string]bool{}
	for _, row := range w.exportCSV(w.ga, "/allot/v1/export/users") {
		if seen[row["userPrincipalName"]] {
			t.Fatalf("%s exported twice", row["userPrincipalName"])
		}
		seen[row["userPrincipalName"]] = true
	}
	if len(seen) != n {
		t.Fatalf("%d users exported, want %d", len(seen), n)
	}
	ids := map[string]bool{}
	adds := 0
	for _, row := range w.exportCSV(w.ga, "/allot/v1/export/audit") {
		if ids[row["id"]] {
			t.Fatalf("audit entry %s exported twice", row["id"])
		}
		ids[row["id"]] = true
		if row["activity"] == "Add user" {
			adds++
		}
	}
	if adds != n {
		t.Fatalf("%d Add user entries exported, want %d", adds, n)
	}
}

// TestImportRequests: the ways of sending files, and the refusals.
func TestImportRequests(t *testing.T) {
	w := newWorld(t)
	ga := w.ga
	group := w.do("POST", "/allot/v1/tokens", ga, map[string]any{"name": "g", "role": "GroupAdministrator"}).expect(http.StatusCreated, "")["secret"].(string)
	// One file as the body.
	r := w.do("POST", "/allot/v1/import?file=users", ga, "userPrincipalName,displayName\nsolo@contoso.example,Solo\n", "Content-Type", "text/csv")
	if rep := w.imported(r); rep.Users["created"] != 1 {
		t.Fatalf("%+v", rep)
	}
	// The report is what api/openapi.json says.
	_, doc := openAPIDoc(t)
	var v any
	dec := json.NewDecoder(bytes.NewReader(r.Body.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	for _, e := range validate(doc, map[string]any{"$ref": "#/components/schemas/ImportReport"}, v, "$") {
		t.Errorf("report: %s", e)
	}
	// A Group Administrator may import groups and memberships, not users.
	w.do("POST", "/allot/v1/import?file=users", group, "userPrincipalName,displayName\nx@contoso.example,X\n", "Content-Type", "text/csv").
		expect(http.StatusForbidden, "Authorization_RequestDenied")
	w.importFiles(group, "", map[string]string{"users": "userPrincipalName,displayName\nx@contoso.example,X\n", "groups": groupsCSV}).
		expect(http.StatusForbidden, "Authorization_RequestDenied")
	if rep := w.imported(w.importFiles(group, "", map[string]string{"groups": groupsCSV})); rep.Groups["created"] != 2 {
		t.Fatalf("%+v", rep)
	}
	for _, c := range []struct{ target, ctype, body string }{
		{"/allot/v1/import", "text/csv", "userPrincipalName,displayName\n"},                                     // which file?
		{"/allot/v1/import?file=things", "text/csv", "a\n"},                                                     // not a file kind
		{"/allot/v1/import?file=users&dryRun=perhaps", "text/csv", "userPrincipalName,displayName\n"},           // not a boolean
		{"/allot/v1/import?file=users&colour=red", "text/csv", "userPrincipalName,displayName\n"},               // unknown parameter
		{"/allot/v1/import?file=users&dryRun=true&dryrun=false", "text/csv", "userPrincipalName,displayName\n"}, // the same name twice
		{"/allot/v1/import?file=users&pruneMemberships=true", "text/csv", "userPrincipalName,displayName\n"},
		{"/allot/v1/import", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"photos\"\r\n\r\nx\r\n--xyz--\r\n"},
		{"/allot/v1/import", "multipart/form-data; boundary=xyz", "--xyz\r\nbroken"},
		{"/allot/v1/import", "multipart/form-data; boundary=xyz", "--xyz--\r\n"}, // no file
		{"/allot/v1/import?file=users", "text/csv", ""},
	} {
		w.do("POST", c.target, ga, c.body, "Content-Type", c.ctype).expect(http.StatusBadRequest, "Request_BadRequest")
	}
	// Exports refuse what they do not take, and the group's must exist.
	w.do("GET", "/allot/v1/export/users?$top=5", ga, nil).expect(http.StatusBadRequest, "")
	w.do("GET", "/allot/v1/export/audit?$skiptoken=x", ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	w.do("GET", "/allot/v1/export/audit?since=yesterday", ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	w.do("GET", "/allot/v1/export/groups/"+newTestGUID()+"/membersWithLicenseErrors", ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	w.do("GET", "/allot/v1/export/groups/nope/membersWithLicenseErrors", ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
}

// TestDirectoryExportRoundTrip: the users export for the import, with the
// profile, read into another tenant gives the same file back.
func TestDirectoryExportRoundTrip(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/v1.0/users", w.ga, map[string]any{
		"displayName": "=Ann", "userPrincipalName": "ann@contoso.example", "accountEnabled": false, "usageLocation": "GB",
		"proxyAddresses": []string{"SMTP:ann@contoso.example"}, "department": "Sales", "userType": "Guest", "jobTitle": "Lead, EMEA",
		"businessPhones": []string{"+44 20 1"}, "otherMails": []string{"a@example.com", "b@example.com"}, "onPremisesSyncEnabled": true,
		"onPremisesExtensionAttributes": map[string]any{"extensionAttribute7": "cost \"17\""},
		"signInActivity":                map[string]any{"lastSignInDateTime": "2026-03-01T08:00:00Z"},
	}).expect(http.StatusCreated, "")
	w.createUser(w.ga, "bob@contoso.example", "")
	export := func(tok string) string {
		r := w.do("GET", "/allot/v1/export/directory/users", tok, nil)
		if r.Code != http.StatusOK {
			t.Fatalf("export: %d %s", r.Code, r.Body.String())
		}
		return r.Body.String()
	}
	first := export(w.ga)
	if !strings.Contains(first, "Sales") || !strings.Contains(first, "2026-03-01T08:00:00Z") {
		t.Fatalf("export lacks the profile:\n%s", first)
	}
	other := w.newTenant("Fabrikam", "US")
	rep := w.imported(w.importFiles(other, "", map[string]string{"users": first}))
	if rep.Users["created"] != 2 {
		t.Fatalf("import of the export: %+v", rep)
	}
	// Rows come in id order, and ids differ between tenants.
	lines := func(s string) []string { l := strings.Split(s, "\n"); slices.Sort(l); return l }
	if again := export(other); !slices.Equal(lines(again), lines(first)) {
		t.Fatalf("the directory did not come back the same:\n%s\nwas\n%s", again, first)
	}
}
