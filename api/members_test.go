package api_test

import (
	"net/http"
	"testing"
)

// TestMemberCountsAndMemberByID: the $count segments under a group and
// one member by id, as license reports call them.
func TestMemberCountsAndMemberByID(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 1}).expect(http.StatusCreated, "")
	outer, inner := w.createGroup(w.ga, "Outer"), w.createGroup(w.ga, "Inner")
	ann, ben, cy := w.createUser(w.ga, "ann@contoso.example", "US"), w.createUser(w.ga, "ben@contoso.example", "US"), w.createUser(w.ga, "cy@contoso.example", "US")
	w.addMember(w.ga, outer, ann)
	w.addMember(w.ga, outer, ben)
	w.addMember(w.ga, outer, inner)
	w.addMember(w.ga, inner, cy)
	w.do("POST", "/v1.0/groups/"+outer+"/assignLicense", w.ga,
		`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusAccepted, "")
	w.drain()

	count := func(path string) string {
		t.Helper()
		r := w.do("GET", path, w.ga, nil)
		if r.Code != http.StatusOK || r.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("GET %s: %d %q %s", path, r.Code, r.Header().Get("Content-Type"), r.Body.String())
		}
		return r.Body.String()
	}
	for path, want := range map[string]string{
		"/v1.0/groups/" + outer + "/members/$count":                                   "3",
		"/v1.0/groups/" + outer + "/transitiveMembers/$count":                         "4",
		"/v1.0/groups/" + outer + "/members/$count?$filter=usageLocation%20eq%20'US'": "2",
		"/v1.0/groups/" + outer + "/membersWithLicenseErrors/$count":                  "1", // one seat, two users
		"/v1.0/groups/" + inner + "/membersWithLicenseErrors/$count":                  "0",
		"/v1.0/groups/" + outer + "/transitiveMembers/$count?$filter=id%20eq%20" + cy: "1",
	} {
		if got := count(path); got != want {
			t.Errorf("GET %s = %s, want %s", path, got, want)
		}
	}

	m := w.do("GET", "/v1.0/groups/"+outer+"/members/"+ann+"?$select=id,userPrincipalName", w.ga, nil).expect(http.StatusOK, "")
	if m["id"] != ann || m["userPrincipalName"] != "ann@contoso.example" || m["@odata.type"] != "#microsoft.graph.user" {
		t.Fatalf("member by id %v", m)
	}
	if g := w.do("GET", "/v1.0/groups/"+outer+"/members/"+inner, w.ga, nil).expect(http.StatusOK, ""); g["@odata.type"] != "#microsoft.graph.group" {
		t.Fatalf("group member by id %v", g)
	}
	w.do("GET", "/v1.0/groups/"+outer+"/members/"+cy, w.ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	if c := w.do("GET", "/v1.0/groups/"+outer+"/transitiveMembers/"+cy, w.ga, nil).expect(http.StatusOK, ""); c["id"] != cy {
		t.Fatalf("transitive member by id %v", c)
	}
	w.do("GET", "/v1.0/groups/"+outer+"/members/$count?$filter=nope%20eq%201", w.ga, nil).expect(http.StatusBadRequest, "")
}
