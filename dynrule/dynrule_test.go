package dynrule

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
)

const exoPlan = "efb87545-963c-4e0d-99df-69c6916d9eb0"

func ptr[T any](v T) *T { return &v }

// sales is a US member of Sales with two proxy addresses and Exchange.
func sales() Subject {
	u := &allot.User{
		ID:                "11111111-0000-0000-0000-000000000001",
		UserPrincipalName: "david@contoso.com",
		DisplayName:       "David Jones",
		Mail:              "David@Contoso.com",
		UsageLocation:     "US",
		ProxyAddresses:    []string{"SMTP:david@contoso.com", "smtp:dj@fabrikam.com"},
		AccountEnabled:    true,
		CreatedAt:         time.Date(2024, 3, 5, 10, 30, 15, 500, time.UTC),
		Profile: allot.Profile{
			GivenName: "David", Surname: "Jones", JobTitle: "SDE II", Department: "Sales",
			OfficeLocation: "B40/1234", MobilePhone: "+1 555 0100", UserType: allot.UserMember,
			BusinessPhones: []string{"+1 555 0199"}, OtherMails: []string{"david@gmail.com"},
			OnPremisesSyncEnabled: ptr(true),
		},
	}
	u.Profile.ExtensionAttributes[14] = "Marketing"
	return Subject{User: u, Plans: []AssignedPlan{
		{ServicePlanID: exoPlan, Service: "exchange", CapabilityStatus: "Enabled", AssignedDateTime: time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC)},
		{ServicePlanID: "c1ec4a95-1f05-45b3-a911-aa3fa01094f5", Service: "SCO", CapabilityStatus: "Suspended"},
	}}
}

// guest is a disabled guest in France with nothing else set.
func guest() Subject {
	return Subject{User: &allot.User{
		ID: "22222222-0000-0000-0000-000000000002", UserPrincipalName: "ann_fabrikam.com#EXT#@contoso.com",
		DisplayName: "aDa Smith", UsageLocation: "FR",
		Profile: allot.Profile{UserType: allot.UserGuest, Department: "50002"},
	}}
}

func mustParse(t testing.TB, text string) *Rule {
	t.Helper()
	r, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return r
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		rule         string
		sales, guest bool
	}{
		// Microsoft's documented examples.
		{`user.department -eq "Sales"`, true, false},
		{`(user.department -eq "Sales") -and (user.usageLocation -eq "US")`, true, false},
		{`(user.department -eq "Sales") -or (user.department -eq "Marketing")`, true, false},
		{`(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE")`, false, false},
		{`user.department -in ["50001","50002","50003","50005"]`, false, true},
		{`user.department -notIn ["50001","50002"]`, true, false},
		{`user.proxyAddresses -any (_ -contains "contoso")`, true, false},
		{`(user.proxyAddresses -any (_ -startsWith "smtp:dj"))`, true, false},
		{`user.proxyAddresses -any _ -startsWith "SMTP:"`, true, false},
		{`user.proxyAddresses -all (_ -startsWith "smtp:")`, true, true}, // -all over nothing
		{`user.proxyAddresses -all (_ -endsWith "contoso.com")`, false, true},
		{`(user.accountEnabled -eq true) -and (user.userType -eq "Member")`, true, false},
		{`user.assignedPlans -any (assignedPlan.servicePlanId -eq "` + exoPlan + `" -and assignedPlan.capabilityStatus -eq "Enabled")`, true, false},
		{`user.assignedPlans -any (assignedPlan.service -eq "SCO" -and assignedPlan.capabilityStatus -eq "Enabled")`, false, false},
		{`user.assignedPlans -any (assignedPlan.service -eq "SCO" -and assignedPlan.capabilityStatus -eq "Suspended")`, true, false},
		{`user.assignedPlans -all (assignedPlan.servicePlanId -eq null)`, false, true},
		{`user.displayName -match "^Da.*"`, true, false}, // aDa does not match
		{`user.displayName -match ".*vid"`, true, false},
		{`user.displayName -notMatch "^Da"`, false, true},
		{`user.extensionAttribute15 -eq "Marketing"`, true, false},
		{`(user.extensionAttribute15 -eq "Marketing")`, true, false},
		{`user.onPremisesExtensionAttributes.extensionAttribute15 -eq "marketing"`, true, false},
		{`user.objectId -ne null`, true, true},
		{`(user.objectId -ne null) -and (user.userType -eq "Member")`, true, false},
		{`user.mail -ne null`, true, false},
		{`user.mail –ne null`, true, false}, // en dash, as Microsoft's docs print it
		{`user.department –eq "Marketing" –and user.country –eq "US"`, false, false},
		{`user.usageLocation -eq "US" -and (user.department -eq "Marketing" -or user.department -eq "Sales")`, true, false},
		// Case, hyphen-less operators, bare values, escapes.
		{`USER.DEPARTMENT -EQ "sALES" -AND user.accountenabled -eq TRUE`, true, false},
		{`user.department eq Sales and not (user.city eq null)`, false, false},
		{`user.department -eq Sales`, true, false},
		{`user.department -eq 'Sales'`, true, false},
		{"user.jobTitle -ne \"`\"SDE II`\"\"", true, true},
		{"user.department -eq `\"Quoted`\"", false, false},
		{"user.department -eq \"`\"Quoted`\"\"", false, false},
		{`user.department -eq null`, false, false},
		{`user.city -eq null`, true, true},
		{`user.city -ne "Paris"`, true, true}, // empty is not "Paris"
		{`user.city -notContains "x"`, true, true},
		{`user.city -contains ""`, true, true},
		// Aliases.
		{`user.physicalDeliveryOfficeName -startsWith "b40/"`, true, false},
		{`user.mobile -eq "+1 555 0100"`, true, false},
		{`user.telephoneNumber -endsWith "0199"`, true, false},
		{`user.dirSyncEnabled -eq true`, true, false},
		{`user.dirSyncEnabled -eq false`, false, false}, // never synced: null
		{`user.dirSyncEnabled -eq null`, false, true},
		{`user.accountEnabled -ne true`, false, true},
		{`user.accountEnabled -eq "false"`, false, true},
		// String collections compared directly: any value; negations: none.
		{`user.otherMails -endsWith "@gmail.com"`, true, false},
		{`user.proxyAddresses -notEndsWith "@outlook.com"`, true, true},
		{`user.proxyAddresses -startsWith "SMTP:david"`, true, false},
		{`user.otherMails -eq null`, false, true},
		{`user.businessPhones -ne null`, true, false},
		// Dates.
		{`user.createdDateTime -ge "2024-01-01"`, true, false},
		{`user.createdDateTime -le 2024-03-05`, true, false},
		{`user.createdDateTime -eq "2024-03-05"`, true, false},
		{`user.createdDateTime -eq "2024-03-05T10:30:15Z"`, true, false},
		{`user.createdDateTime -ge "2024-03-05T11:30:15+01:00"`, true, false},
		{`user.createdDateTime -le "2024-03-05T10:30:14Z"`, false, false},
		{`user.createdDateTime -eq null`, false, true},
		{`user.createdDateTime -ne "2024-03-05"`, false, true},
		{`user.assignedPlans -any (assignedPlan.assignedDateTime -ge "2024-03-01" -and assignedPlan.service -eq "exchange")`, true, false},
		// -not forms.
		{`-not user.department -eq "Sales"`, false, true},
		{`not (user.department -eq "Sales" -or user.usageLocation -eq "FR")`, false, false},
		{`-not -not (user.department -eq "Sales")`, true, false},
		{`user.department -in []`, false, false},
		{`user.userPrincipalName -in ["a","b","c","d","e","f","g","h","i","DAVID@contoso.com"]`, true, false},
		{`user.givenName -in ["a","b","c","d","e","f","g","h","i","dävid","DAVİD","david"]`, true, false},
	} {
		r := mustParse(t, tc.rule)
		if got := r.Match(sales()); got != tc.sales {
			t.Errorf("%s: sales: got %v", tc.rule, got)
		}
		if got := r.Match(guest()); got != tc.guest {
			t.Errorf("%s: guest: got %v", tc.rule, got)
		}
		if got := r.Explain(sales()).Result; got != tc.sales {
			t.Errorf("%s: Explain(sales): got %v", tc.rule, got)
		}
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct {
		rule, value string
		want        bool
	}{
		{`user.city -eq "MÜNCHEN"`, "münchen", true},
		{`user.city -startsWith "ÄR"`, "ärzte", true},
		{`user.city -endsWith "ÉE"`, "Lycée", true},
		{`user.city -contains "ßS"`, "Großstadt", true},
		{`user.city -contains "ss"`, "Großstadt", false},
		{`user.city -eq "kelvin"`, "\u212Aelvin", true},
		{`user.city -endsWith "x"`, "", false},
		{`user.city -endsWith ""`, "", true},
	} {
		u := &allot.User{Profile: allot.Profile{City: tc.value}}
		if got := mustParse(t, tc.rule).Match(Subject{User: u}); got != tc.want {
			t.Errorf("%s on %q: got %v", tc.rule, tc.value, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		rule string
		col  int
		msg  string
	}{
		{``, 1, "the rule is empty"},
		{`   `, 4, "the rule is empty"},
		{`user.departmnt -eq "Sales"`, 1, "unknown property user.departmnt (did you mean user.department?)"},
		{`(user.department -eq "Sales") -and (user.departmnt -eq "x")`, 37, "unknown property user.departmnt"},
		{`user.frobnicator -eq "x"`, 1, "unknown property user.frobnicator"},
		{`department -eq "x"`, 1, "properties are written user.<name>"},
		{`device.deviceOSType -eq "iPad"`, 1, "device rules are not supported: Allot has no devices"},
		{`user.memberof -any (group.objectId -in ['a'])`, 1, "rules on group membership are not supported"},
		{`user.manager -eq "x"`, 1, "rules on managers"},
		{`Direct Reports for "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"`, 1, "rules on managers"},
		{`user.createdDateTime -ge system.now -plus p1d`, 26, "time-relative rules are not supported"},
		{`user.mailNickName -eq "x"`, 1, "user.mailNickName is not supported"},
		{`user.extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber -eq "123"`, 1, "custom extension properties"},
		{`user.department -eq "Sales" user.city -eq "x"`, 29, "expected -and or -or, found user.city"},
		{`user.department -eq "Sales")`, 28, "unbalanced parentheses: this ) closes nothing"},
		{`(user.department -eq "Sales"`, 1, "unbalanced parentheses: this ( is never closed"},
		{`()`, 2, "expected a property"},
		{`user.department -eq "Sales" -and`, 33, "unexpected end of the rule"},
		{`user.department "Sales"`, 17, "expected an operator such as -eq after user.department"},
		{`user.department -eq`, 20, "expected a value after -eq"},
		{`user.department -equals "x"`, 17, "unknown operator -equals"},
		{`user.department -eq "Sales`, 21, "unterminated string"},
		{`user.accountEnabled -startsWith "t"`, 21, "-startsWith does not apply to user.accountEnabled, a boolean"},
		{`user.createdDateTime -contains "2024"`, 22, "-contains does not apply to user.createdDateTime, a date"},
		{`user.department -le "x"`, 17, "-le does not apply to user.department, a string"},
		{`user.accountEnabled -eq yes`, 25, "takes true, false or null"},
		{`user.createdDateTime -ge "yesterday"`, 26, "is not a date"},
		{`user.department -startsWith null`, 29, "null may be compared only with -eq or -ne"},
		{`user.displayName -match "^(Da"`, 25, "bad regular expression: missing closing )"},
		{`user.displayName -match "` + strings.Repeat("a", MaxPattern+1) + `"`, 25, "longer than 512"},
		{`user.displayName -match "a{1000}b{1000}"`, 25, "too complex"},
		{`user.department -in "a"`, 21, "-in takes a list"},
		{`user.department -in ["a" "b"]`, 26, "expected , or ]"},
		{`user.department -in ["a",`, 21, "unterminated list"},
		{`user.department -eq ["a"]`, 21, "a list of values takes -in or -notIn"},
		{`user.department -any (_ -eq "x")`, 17, "-any applies only to collections"},
		{`user.assignedPlans -eq "x"`, 20, "use -any or -all"},
		{`user.proxyAddresses -any (user.city -eq "x")`, 27, "compare _ (each value)"},
		{`user.assignedPlans -any (_ -eq "x")`, 26, "compare assignedPlan.servicePlanId"},
		{`user.assignedPlans -any (assignedPlan.skuId -eq "x")`, 26, "unknown property assignedPlan.skuId"},
		{`_ -eq "x"`, 1, "_ may be used only inside -any or -all"},
		{`assignedPlan.service -eq "x"`, 1, "may be used only inside user.assignedPlans"},
		{`user.department -eq user.city`, 21, "comparing two properties is not supported"},
		{`user.department -not "x"`, 17, "-not is not a comparison"},
		{`user.départment -eq "x"`, 1, "unknown property user.départment"},
		{"user.department -eq \"\xff\"", 22, "invalid UTF-8"},
		{`é user.department`, 1, "unknown property é"},
		{`user.city -eq "é" )`, 19, "this ) closes nothing"},
		{strings.Repeat("(", MaxDepth+1) + `user.city -eq "x"` + strings.Repeat(")", MaxDepth+1), MaxDepth + 1, "nests deeper than 32"},
		{strings.Repeat("-not ", MaxDepth+1) + `user.city -eq "x"`, 5*MaxDepth + 1, "nests deeper than 32"},
		{strings.Repeat(`_`, MaxLength+1), MaxLength + 1, "longer than 3072 characters"},
	} {
		_, err := Parse(tc.rule)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q): got %v, want *Error", clip(tc.rule), err)
			continue
		}
		if e.Col != tc.col || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("Parse(%q):\n got  %v\n want column %d: …%s…", clip(tc.rule), e, tc.col, tc.msg)
		}
		if !strings.HasPrefix(e.Error(), "column ") {
			t.Errorf("Error() = %q", e.Error())
		}
	}
}

func TestClauseLimit(t *testing.T) {
	short := strings.TrimSuffix(strings.Repeat(`_ eq a or `, MaxClauses+1), " or ")
	_, err := Parse(`user.proxyAddresses -any (` + short + `)`)
	var e *Error
	if !errors.As(err, &e) || e.Col != 26+10*MaxClauses+1 || !strings.Contains(e.Msg, "more than 256 comparisons") {
		t.Errorf("got %v", err)
	}
	ok := strings.TrimSuffix(strings.Repeat(`_ eq a or `, MaxClauses), " or ")
	if _, err := Parse(`user.proxyAddresses -any (` + ok + `)`); err != nil {
		t.Errorf("%d clauses: %v", MaxClauses, err)
	}
}

func TestExplain(t *testing.T) {
	r := mustParse(t, `(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE" -or user.city -eq "x") -and user.proxyAddresses -any (_ -contains "contoso")`)
	got := r.Explain(sales())
	want := Detail{
		Expression: r.Text, Result: false,
		Children: []Detail{
			{Expression: `(user.department -eq "Sales")`, Result: true},
			{Expression: `-not (user.jobTitle -startsWith "SDE" -or user.city -eq "x")`, Result: false, Children: []Detail{
				{Expression: `(user.jobTitle -startsWith "SDE" -or user.city -eq "x")`, Result: true, Children: []Detail{
					{Expression: `user.jobTitle -startsWith "SDE"`, Result: true},
					{Expression: `user.city -eq "x"`, Result: false},
				}},
			}},
			{Expression: `user.proxyAddresses -any (_ -contains "contoso")`, Result: true},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Explain:\n got  %+v\n want %+v", got, want)
	}
	leaf := mustParse(t, ` user.city -eq null `).Explain(Subject{})
	if !reflect.DeepEqual(leaf, Detail{Expression: `user.city -eq null`, Result: true}) {
		t.Errorf("leaf: %+v", leaf)
	}
}

func TestAnalysis(t *testing.T) {
	for _, tc := range []struct {
		rule  string
		props []string
		plans bool
		ids   []string
		any   bool
	}{
		{`user.department -eq "Sales"`, []string{"department"}, false, nil, false},
		{`user.mobile -eq "1" -or user.physicalDeliveryOfficeName -eq "x" -or user.telephoneNumber -eq "1" -or user.dirSyncEnabled -eq true -or user.objectId -ne null`,
			[]string{"businessPhones", "id", "mobilePhone", "officeLocation", "onPremisesSyncEnabled"}, false, nil, false},
		{`user.proxyAddresses -any (_ -contains "x") -and user.extensionAttribute3 -eq "y"`, []string{"extensionAttribute3", "proxyAddresses"}, false, nil, false},
		{`user.assignedPlans -any (assignedPlan.servicePlanId -eq "` + strings.ToUpper(exoPlan) + `" -and assignedPlan.capabilityStatus -eq "Enabled")`, []string{"assignedPlans"}, true, []string{exoPlan}, false},
		{`-not user.assignedPlans -any (assignedPlan.servicePlanId -in ["b","a"] -or assignedPlan.servicePlanId -eq "c")`, []string{"assignedPlans"}, true, []string{"a", "b", "c"}, false},
		{`user.assignedPlans -any (assignedPlan.service -eq "SCO")`, []string{"assignedPlans"}, true, nil, true},
		{`user.assignedPlans -any (assignedPlan.servicePlanId -ne "a")`, []string{"assignedPlans"}, true, nil, true},
		{`user.assignedPlans -any (assignedPlan.servicePlanId -eq "a" -or assignedPlan.service -eq "SCO")`, []string{"assignedPlans"}, true, []string{"a"}, true},
		{`user.assignedPlans -all (assignedPlan.servicePlanId -eq "a")`, []string{"assignedPlans"}, true, []string{"a"}, true},
		{`user.assignedPlans -any (-not assignedPlan.servicePlanId -eq "a")`, []string{"assignedPlans"}, true, nil, true},
	} {
		r := mustParse(t, tc.rule)
		if got := r.Properties(); !reflect.DeepEqual(got, tc.props) {
			t.Errorf("%s: Properties = %v, want %v", tc.rule, got, tc.props)
		}
		if r.ReadsPlans() != tc.plans {
			t.Errorf("%s: ReadsPlans = %v", tc.rule, r.ReadsPlans())
		}
		ids, anyPlan := r.PlanIDs()
		if !reflect.DeepEqual(ids, tc.ids) || anyPlan != tc.any {
			t.Errorf("%s: PlanIDs = %v, %v; want %v, %v", tc.rule, ids, anyPlan, tc.ids, tc.any)
		}
	}
}

func TestFlatBuild(t *testing.T) {
	for _, tc := range []struct {
		rule    string
		join    string
		clauses []Clause
		ok      bool
	}{
		{`user.department -eq "Sales"`, "", []Clause{{"department", "-eq", "Sales"}}, true},
		{`(user.department -eq "Sales") -and (user.usageLocation -eq "US")`, "-and", []Clause{{"department", "-eq", "Sales"}, {"usageLocation", "-eq", "US"}}, true},
		{`(USER.DEPARTMENT STARTSWITH Sa -or user.city -eq null) or user.accountEnabled -eq TRUE`, "-or", []Clause{{"department", "-startsWith", "Sa"}, {"city", "-eq", "null"}, {"accountEnabled", "-eq", "true"}}, true},
		{`user.department -in ["50001", '50''02', 50003]`, "", []Clause{{"department", "-in", `["50001","50'02","50003"]`}}, true},
		{"user.jobTitle -eq \"a`\"b`` \\\"c`\\\"", "", []Clause{{"jobTitle", "-eq", "a\"b` \"c\\"}}, true},
		{"user.jobTitle -eq `\"SDE`\"", "", []Clause{{"jobTitle", "-eq", "\"SDE\""}}, true},
		{`user.createdDateTime -ge 2024-01-01`, "", []Clause{{"createdDateTime", "-ge", "2024-01-01"}}, true},
		{`user.physicalDeliveryOfficeName -match "^B4\d"`, "", []Clause{{"physicalDeliveryOfficeName", "-match", `^B4\d`}}, true},
		{`user.department -eq "null"`, "", nil, false},
		{`user.department -eq "Sales" -and user.city -eq "x" -or user.city -eq "y"`, "", nil, false},
		{`-not (user.department -eq "Sales")`, "", nil, false},
		{`user.proxyAddresses -any (_ -contains "contoso")`, "", nil, false},
	} {
		r := mustParse(t, tc.rule)
		join, clauses, ok := r.Flat()
		if ok != tc.ok || join != tc.join || !reflect.DeepEqual(clauses, tc.clauses) {
			t.Errorf("%s: Flat = %q, %q, %v", tc.rule, join, clauses, ok)
			continue
		}
		if !ok {
			continue
		}
		text, err := Build(join, clauses)
		if err != nil {
			t.Errorf("%s: Build: %v", tc.rule, err)
			continue
		}
		r2 := mustParse(t, text)
		join2, clauses2, ok2 := r2.Flat()
		if !ok2 || join2 != join || !reflect.DeepEqual(clauses2, clauses) {
			t.Errorf("%s: Build gave %s, which is %q %q %v", tc.rule, text, join2, clauses2, ok2)
		}
		for _, s := range []Subject{sales(), guest()} {
			if r.Match(s) != r2.Match(s) {
				t.Errorf("%s and %s differ on %s", tc.rule, text, s.User.DisplayName)
			}
		}
	}
	got, err := Build("and", []Clause{{"user.Department", "eq", "Sales"}, {"accountEnabled", "-eq", "True"}, {"city", "-ne", "NULL"}})
	if want := `(user.department -eq "Sales") -and (user.accountEnabled -eq true) -and (user.city -ne null)`; err != nil || got != want {
		t.Errorf("Build = %s, %v; want %s", got, err, want)
	}
	for _, bad := range []struct {
		join    string
		clauses []Clause
		msg     string
	}{
		{"", nil, "needs a clause"},
		{"", []Clause{{"city", "-eq", "a"}, {"city", "-eq", "b"}}, "need -and or -or"},
		{"-xor", []Clause{{"city", "-eq", "a"}}, "unknown join"},
		{"", []Clause{{"cty", "-eq", "a"}}, "unknown property"},
		{"", []Clause{{"city", "-any", "a"}}, "unknown operator"},
		{"", []Clause{{"accountEnabled", "-eq", "yes"}}, "takes true or false"},
		{"", []Clause{{"accountEnabled", "-startsWith", "t"}}, "does not apply"},
		{"", []Clause{{"city", "-in", "a,b"}}, "takes a list"},
		{"", []Clause{{"city", "-in", `["a",]`}}, "takes a list"},
		{"", []Clause{{"city", "-match", "("}}, "bad regular expression"},
		{"", []Clause{{"createdDateTime", "-ge", "soon"}}, "is not a date"},
	} {
		if _, err := Build(bad.join, bad.clauses); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("Build(%q, %v) = %v, want …%s…", bad.join, bad.clauses, err, bad.msg)
		}
	}
}

func TestPropertyList(t *testing.T) {
	byName := map[string]PropertyInfo{}
	for _, p := range PropertyList() {
		byName[p.Name] = p
		if _, err := Parse("user." + p.Name + " " + p.Operators[0] + " null"); err != nil && p.Kind != "plans" && p.Operators[0] == "-eq" {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
	for _, n := range append(allot.ProfileTextNames(), "userPrincipalName", "displayName", "mail", "usageLocation", "objectId",
		"physicalDeliveryOfficeName", "mobile", "telephoneNumber", "extensionAttribute1", "extensionAttribute15") {
		if byName[n].Kind != "string" {
			t.Errorf("%s: %+v", n, byName[n])
		}
	}
	for n, k := range map[string]string{"accountEnabled": "bool", "dirSyncEnabled": "bool", "createdDateTime": "date",
		"proxyAddresses": "strings", "otherMails": "strings", "businessPhones": "strings", "assignedPlans": "plans"} {
		if byName[n].Kind != k {
			t.Errorf("%s: %+v", n, byName[n])
		}
	}
	if _, ok := byName["signInActivity"]; ok {
		t.Error("signInActivity is not a rule property")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	r := mustParse(t, `(user.department -eq "Sales" -and user.displayName -match "^Da") -or user.proxyAddresses -any (_ -contains "contoso") -or user.assignedPlans -any (assignedPlan.servicePlanId -eq "x") -or user.givenName -in ["a","b","c","d","e","f","g","h","i","j"] -or user.createdDateTime -ge "2030-01-01"`)
	s := guest()
	if n := testing.AllocsPerRun(100, func() { r.Match(s) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}

func BenchmarkMatch(b *testing.B) {
	r := mustParse(b, `(user.department -eq "Sales") -and (user.usageLocation -in ["US","CA","GB","FR","DE","IT","ES","NL","BE"]) -and user.assignedPlans -any (assignedPlan.servicePlanId -eq "`+exoPlan+`" -and assignedPlan.capabilityStatus -eq "Enabled")`)
	s := sales()
	for b.Loop() {
		r.Match(s)
	}
}
