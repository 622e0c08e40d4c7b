package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestDynamicGroupsAPI: a dynamic group in Graph's shape through the real
// server: created with a rule, members that follow users' properties and
// get the group's licenses, Graph's 400 for members changed by hand,
// evaluateDynamicMembership, pause and resume, conversion both ways, and
// bad rules refused with the column and nothing changed.
func TestDynamicGroupsAPI(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 5}).expect(http.StatusCreated, "")
	user := func(upn, dept string) string {
		return w.do("POST", "/v1.0/users", w.ga, map[string]any{"displayName": upn, "userPrincipalName": upn, "accountEnabled": true,
			"usageLocation": "US", "department": dept}).expect(http.StatusCreated, "")["id"].(string)
	}
	ann, ben, cy := user("ann@contoso.example", "Sales"), user("ben@contoso.example", "Engineering"), user("cy@contoso.example", "Sales")
	members := func(g string) []string {
		t.Helper()
		var out []string
		for _, m := range w.do("GET", "/v1.0/groups/"+g+"/members?$select=id", w.ga, nil).expect(http.StatusOK, "")["value"].([]any) {
			out = append(out, m.(map[string]any)["id"].(string))
		}
		slices.Sort(out)
		return out
	}
	want := func(g string, ids ...string) {
		t.Helper()
		slices.Sort(ids)
		if got := members(g); !slices.Equal(got, ids) {
			t.Fatalf("members %v, want %v", got, ids)
		}
	}
	const rule = `(user.department -eq "Sales") -and (user.accountEnabled -eq true)`
	created := w.do("POST", "/v1.0/groups", w.ga, map[string]any{
		"displayName": "Sales (dynamic)", "mailNickname": "salesdyn", "mailEnabled": false, "securityEnabled": true,
		"groupTypes": []string{"DynamicMembership"}, "membershipRule": rule, "membershipRuleProcessingState": "On",
	}).expect(http.StatusCreated, "")
	g := created["id"].(string)
	if created["membershipRule"] != rule || created["membershipRuleProcessingState"] != "On" || created["groupTypes"].([]any)[0] != "DynamicMembership" {
		t.Fatalf("created dynamic group %v", created)
	}
	w.drain()
	want(g, ann, cy)
	st := w.do("GET", "/beta/groups/"+g+"?$select=membershipRuleProcessingStatus", w.ga, nil).expect(http.StatusOK, "")["membershipRuleProcessingStatus"].(map[string]any)
	if st["status"] != "Succeeded" || st["lastMembershipUpdated"] == nil {
		t.Fatalf("membershipRuleProcessingStatus %v", st)
	}
	w.do("POST", "/v1.0/groups/"+g+"/assignLicense", w.ga, `{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusAccepted, "")
	w.drain()
	licensed := func(u string) bool {
		return len(states(w.do("GET", "/v1.0/users/"+u+"?$select=licenseAssignmentStates", w.ga, nil).expect(http.StatusOK, ""))) == 1
	}
	if !licensed(ann) || !licensed(cy) || licensed(ben) {
		t.Fatal("the group's members are not the licensed users")
	}

	// A PATCH of a user moves it at once; disabling an account takes it out.
	w.do("PATCH", "/v1.0/users/"+ben, w.ga, map[string]any{"department": "sales"}).expect(http.StatusNoContent, "")
	w.do("PATCH", "/v1.0/users/"+ann, w.ga, map[string]any{"accountEnabled": false}).expect(http.StatusNoContent, "")
	want(g, ben, cy)
	w.drain()
	if licensed(ann) || !licensed(ben) {
		t.Fatal("licenses did not follow the rule")
	}

	// Members are the rule's.
	w.do("POST", "/v1.0/groups/"+g+"/members/$ref", w.ga, map[string]string{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + ann}).
		expect(http.StatusBadRequest, "Request_BadRequest")
	w.do("DELETE", "/v1.0/groups/"+g+"/members/"+cy+"/$ref", w.ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")

	// Scripts find dynamic groups by type.
	found := w.do("GET", "/v1.0/groups?$filter="+url.QueryEscape("groupTypes/any(c:c eq 'DynamicMembership')")+"&$select=id", w.ga, nil).expect(http.StatusOK, "")["value"].([]any)
	if len(found) != 1 || found[0].(map[string]any)["id"] != g {
		t.Fatalf("groupTypes/any filter: %v", found)
	}

	// evaluateDynamicMembership, Graph's (beta) shape.
	ev := w.do("POST", "/beta/groups/"+g+"/evaluateDynamicMembership", w.ga, map[string]any{"memberId": ann}).expect(http.StatusOK, "")
	d := ev["membershipRuleEvaluationDetails"].(map[string]any)
	kids := d["expressionEvaluationDetails"].([]any)
	if ev["membershipRule"] != rule || ev["membershipRuleEvaluationResult"] != false || d["expressionResult"] != false || len(kids) != 2 ||
		kids[0].(map[string]any)["expressionResult"] != true || kids[1].(map[string]any)["expressionResult"] != false {
		t.Fatalf("evaluateDynamicMembership %v", ev)
	}
	ev = w.do("POST", "/v1.0/groups/evaluateDynamicMembership", w.ga, map[string]any{"memberId": ben, "membershipRule": `user.department -startsWith "SAL"`}).expect(http.StatusOK, "")
	if ev["membershipRuleEvaluationResult"] != true {
		t.Fatalf("draft evaluated %v", ev)
	}
	v := w.do("POST", "/allot/v1/groups/validateRule", w.ga, map[string]any{"membershipRule": rule, "userIds": []string{ann, cy}}).expect(http.StatusOK, "")
	if res := v["results"].([]any); len(res) != 2 || res[1].(map[string]any)["membershipRuleEvaluationResult"] != true {
		t.Fatalf("validateRule %v", v)
	}

	// Bad rules: a 400 naming the column, and nothing changes.
	audit := len(w.do("GET", "/allot/v1/audit", w.ga, nil).expect(http.StatusOK, "")["value"].([]any))
	for _, bad := range []string{`user.departmnt -eq "Sales"`, `user.department -eq "Sales" -and`, `device.deviceOSType -eq "iPad"`, `(user.city -eq "x"`} {
		e := w.do("POST", "/allot/v1/groups/validateRule", w.ga, map[string]any{"membershipRule": bad}).expect(http.StatusBadRequest, "Request_BadRequest")
		if msg := e["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "column") && !strings.Contains(msg, "device") {
			t.Errorf("%s: %s", bad, msg)
		}
		w.do("PATCH", "/v1.0/groups/"+g, w.ga, map[string]any{"membershipRule": bad}).expect(http.StatusBadRequest, "Request_BadRequest")
		w.do("POST", "/v1.0/groups", w.ga, map[string]any{"displayName": "x", "mailNickname": "x", "mailEnabled": false, "securityEnabled": true,
			"groupTypes": []string{"DynamicMembership"}, "membershipRule": bad}).expect(http.StatusBadRequest, "Request_BadRequest")
	}
	w.do("POST", "/v1.0/groups", w.ga, map[string]any{"displayName": "x", "mailNickname": "x", "mailEnabled": false, "securityEnabled": true,
		"membershipRule": rule}).expect(http.StatusBadRequest, "Request_BadRequest")
	w.do("PATCH", "/v1.0/groups/"+g, w.ga, map[string]any{"membershipRuleProcessingState": "Off"}).expect(http.StatusBadRequest, "Request_BadRequest")
	if n := len(w.do("GET", "/allot/v1/audit", w.ga, nil).expect(http.StatusOK, "")["value"].([]any)); n != audit {
		t.Fatalf("refused requests wrote %d audit lines", n-audit)
	}
	if got := w.do("GET", "/v1.0/groups/"+g, w.ga, nil).expect(http.StatusOK, "")["membershipRule"]; got != rule {
		t.Fatalf("a refused PATCH changed the rule to %v", got)
	}

	// Paused: a change moves nobody until the rule is On again.
	w.do("PATCH", "/v1.0/groups/"+g, w.ga, map[string]any{"membershipRuleProcessingState": "Paused"}).expect(http.StatusNoContent, "")
	w.do("PATCH", "/v1.0/users/"+ann, w.ga, map[string]any{"accountEnabled": true}).expect(http.StatusNoContent, "")
	w.drain()
	want(g, ben, cy)
	w.do("PATCH", "/v1.0/groups/"+g, w.ga, map[string]any{"membershipRuleProcessingState": "On"}).expect(http.StatusNoContent, "")
	w.drain()
	want(g, ann, ben, cy)

	// Dynamic → assigned keeps the members; assigned → dynamic takes the rule's.
	w.do("PATCH", "/v1.0/groups/"+g, w.ga, map[string]any{"groupTypes": []string{}}).expect(http.StatusNoContent, "")
	m := w.do("GET", "/v1.0/groups/"+g, w.ga, nil).expect(http.StatusOK, "")
	if m["membershipRule"] != nil || m["membershipRuleProcessingState"] != nil || len(m["groupTypes"].([]any)) != 0 {
		t.Fatalf("made assigned: %v", m)
	}
	want(g, ann, ben, cy)
	w.do("DELETE", "/v1.0/groups/"+g+"/members/"+cy+"/$ref", w.ga, nil).expect(http.StatusNoContent, "")
	w.do("PATCH", "/v1.0/groups/"+g, w.ga, map[string]any{"groupTypes": []string{"DynamicMembership"}, "membershipRule": `user.userPrincipalName -startsWith "c"`}).
		expect(http.StatusNoContent, "")
	w.drain()
	want(g, cy)
}

// TestDynamicRulePreview: the what-if of a rule through the API says who
// would join and leave and what that does to seats, and changes nothing.
func TestDynamicRulePreview(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 1}).expect(http.StatusCreated, "")
	for _, upn := range []string{"a@contoso.example", "b@contoso.example"} {
		w.do("POST", "/v1.0/users", w.ga, map[string]any{"displayName": upn, "userPrincipalName": upn, "accountEnabled": true,
			"usageLocation": "US", "city": "Paris"}).expect(http.StatusCreated, "")
	}
	g := w.createGroup(w.ga, "Paris")
	w.do("POST", "/v1.0/groups/"+g+"/assignLicense", w.ga, `{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusAccepted, "")
	w.drain()
	p := w.do("POST", "/allot/v1/preview", w.ga, map[string]any{"changes": []map[string]any{{"op": "setMembershipRule", "groupId": g, "membershipRule": `user.city -eq "paris"`}}}).
		expect(http.StatusOK, "")
	ms := p["members"].([]any)
	tot := p["totals"].(map[string]any)
	if len(ms) != 1 || ms[0].(map[string]any)["joined"] != float64(2) || tot["gained"] != float64(1) || tot["intoError"] != float64(1) {
		t.Fatalf("preview %v", p)
	}
	if got := w.do("GET", "/v1.0/groups/"+g, w.ga, nil).expect(http.StatusOK, "")["membershipRule"]; got != nil {
		t.Fatalf("a preview changed the group: %v", got)
	}
	w.do("POST", "/allot/v1/preview", w.ga, map[string]any{"changes": []map[string]any{{"op": "setMembershipRule", "groupId": g, "membershipRule": `user.city -eq`}}}).
		expect(http.StatusBadRequest, "Request_BadRequest")
}
