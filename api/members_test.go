package api_test

import (
	"net/http"
	"strings"
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

// TestOrderExpandAndTransitiveMemberOf: $orderby with a direction across
// pages, $expand on users and groups, and a user's groups through nesting.
func TestOrderExpandAndTransitiveMemberOf(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 5}).expect(http.StatusCreated, "")
	var ids []string
	for _, n := range []string{"dan", "ann", "eve", "cy", "ben"} {
		ids = append(ids, w.createUser(w.ga, n+"@contoso.example", "US"))
	}
	outer, inner := w.createGroup(w.ga, "Outer"), w.createGroup(w.ga, "Inner")
	w.addMember(w.ga, outer, inner)
	w.addMember(w.ga, inner, ids[1]) // ann
	w.do("POST", "/v1.0/users/"+ids[1]+"/assignLicense", w.ga,
		`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusOK, "")
	w.drain()

	pages, items := w.follow(w.ga, "/v1.0/users?$orderby=userPrincipalName%20desc&$top=2&$select=userPrincipalName")
	var got []string
	for _, it := range items {
		got = append(got, it["userPrincipalName"].(string)[:3])
	}
	if len(pages) != 3 || strings.Join(got, ",") != "eve,dan,cy@,ben,ann" {
		t.Fatalf("sorted descending over %d pages: %v", len(pages), got)
	}
	w.do("GET", "/v1.0/users?$orderby=mail", w.ga, nil).expect(http.StatusBadRequest, "")

	u := w.do("GET", "/v1.0/users/"+ids[1]+"?$expand=licenseDetails,memberOf&$select=id", w.ga, nil).expect(http.StatusOK, "")
	details, groups := u["licenseDetails"].([]any), u["memberOf"].([]any)
	if len(details) != 1 || details[0].(map[string]any)["skuId"] != skuE3 || len(groups) != 1 || groups[0].(map[string]any)["id"] != inner {
		t.Fatalf("expanded user %v", u)
	}
	_, list := w.follow(w.ga, "/v1.0/users?$expand=memberOf&$filter=id%20eq%20"+ids[0])
	if len(list) != 1 || len(list[0]["memberOf"].([]any)) != 0 {
		t.Fatalf("expanded list %v", list)
	}
	g := w.do("GET", "/v1.0/groups/"+outer+"?$expand=members", w.ga, nil).expect(http.StatusOK, "")
	if m := g["members"].([]any); len(m) != 1 || m[0].(map[string]any)["@odata.type"] != "#microsoft.graph.group" {
		t.Fatalf("expanded group %v", g)
	}
	w.do("GET", "/v1.0/users?$expand=manager", w.ga, nil).expect(http.StatusBadRequest, "")
	w.do("GET", "/v1.0/users?$expand=memberOf($select=id)", w.ga, nil).expect(http.StatusBadRequest, "")

	_, direct := w.follow(w.ga, "/v1.0/users/"+ids[1]+"/memberOf")
	_, all := w.follow(w.ga, "/v1.0/users/"+ids[1]+"/transitiveMemberOf?$orderby=displayName")
	if len(direct) != 1 || len(all) != 2 || all[0]["id"] != inner || all[1]["id"] != outer {
		t.Fatalf("memberOf %v, transitiveMemberOf %v", direct, all)
	}
}
