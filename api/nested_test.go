package api_test

import (
	"context"
	"net/http"
	"testing"
)

// TestNestedGroupsAPI: includeNestedGroups on Graph's group assignLicense
// and on /allot/v1/groups/assignLicense, shown on the group only when on;
// Graph's shapes unchanged otherwise; bad values refused with nothing changed.
func TestNestedGroupsAPI(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 5}).expect(http.StatusCreated, "")
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE1, "seats": 5}).expect(http.StatusCreated, "")
	top, mid := w.createGroup(w.ga, "Top"), w.createGroup(w.ga, "Mid")
	w.addMember(w.ga, top, mid)
	u := w.createUser(w.ga, "nested@contoso.com", "US")
	w.addMember(w.ga, mid, u)
	licenses := func(group string) []any {
		t.Helper()
		return w.do("GET", "/v1.0/groups/"+group+"?$select=assignedLicenses", w.ga, nil).expect(http.StatusOK, "")["assignedLicenses"].([]any)
	}
	userStates := func() []map[string]any {
		t.Helper()
		return states(w.do("GET", "/v1.0/users/"+u+"?$select=licenseAssignmentStates", w.ga, nil).expect(http.StatusOK, ""))
	}

	t.Run("BadValuesChangeNothing", func(t *testing.T) {
		for _, body := range []string{
			`{"addLicenses":[{"skuId":"` + skuE3 + `","disabledPlans":[],"includeNestedGroups":"yes"}],"removeLicenses":[]}`,
			`{"addLicenses":[{"skuId":"` + skuE3 + `","disabledPlans":[],"includeNestedGroups":null}],"removeLicenses":[]}`,
			`{"addLicenses":[{"skuId":"` + skuE3 + `","disabledPlans":[],"includeNestedGroups":true,"other":1}],"removeLicenses":[]}`,
			`{"addLicenses":[{"skuId":"` + skuE3 + `","disabledPlans":[],"includeNestedGroups":true}]}`,
		} {
			w.do("POST", "/v1.0/groups/"+top+"/assignLicense", w.ga, body).expect(http.StatusBadRequest, "Request_BadRequest")
		}
		// A user's assignLicense is Graph's own: the extension is unknown there.
		w.do("POST", "/v1.0/users/"+u+"/assignLicense", w.ga,
			`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[],"includeNestedGroups":true}],"removeLicenses":[]}`).
			expect(http.StatusBadRequest, "Request_BadRequest")
		w.do("POST", "/allot/v1/groups/assignLicense", w.ga, map[string]any{"groupIds": []string{top}, "skuId": skuE3, "includeNestedGroups": 1}).
			expect(http.StatusBadRequest, "Request_BadRequest")
		if l := licenses(top); len(l) != 0 {
			t.Fatalf("a refused request changed the group: %v", l)
		}
	})
	t.Run("GraphAssignLicense", func(t *testing.T) {
		w.do("POST", "/v1.0/groups/"+top+"/assignLicense", w.ga,
			`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[],"includeNestedGroups":true},{"skuId":"`+skuE1+`","disabledPlans":[]}],"removeLicenses":[]}`).
			expect(http.StatusAccepted, "")
		w.drain()
		for _, l := range licenses(top) {
			m := l.(map[string]any)
			_, has := m["includeNestedGroups"]
			if want := m["skuId"] == skuE3; has != want || has && m["includeNestedGroups"] != true {
				t.Errorf("assignedLicenses entry %v", m)
			}
			if !has && len(m) != 2 {
				t.Errorf("an entry without nesting is not Graph's shape: %v", m)
			}
		}
		st := userStates()
		if len(st) != 1 || st[0]["assignedByGroup"] != top || st[0]["skuId"] != skuE3 || st[0]["state"] != "Active" {
			t.Fatalf("nested member states %v", st)
		}
	})
	t.Run("OmittedKeepsOffRemoves", func(t *testing.T) {
		// An unchanged Graph client re-assigning keeps the setting.
		w.do("POST", "/v1.0/groups/"+top+"/assignLicense", w.ga,
			`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusAccepted, "")
		w.drain()
		if len(userStates()) != 1 {
			t.Fatal("re-assigning without the field dropped nesting")
		}
		w.do("POST", "/allot/v1/groups/assignLicense", w.ga, map[string]any{"groupIds": []string{top}, "skuId": skuE3, "includeNestedGroups": false}).
			expect(http.StatusAccepted, "")
		w.drain()
		if st := userStates(); len(st) != 0 {
			t.Fatalf("after switching nesting off: %v", st)
		}
		m := w.do("POST", "/allot/v1/groups/assignLicense", w.ga, map[string]any{"groupIds": []string{top}, "skuId": skuE3, "includeNestedGroups": true}).
			expect(http.StatusAccepted, "")
		if m["includeNestedGroups"] != true {
			t.Fatalf("202 body %v", m)
		}
		w.drain()
		if st := userStates(); len(st) != 1 || st[0]["assignedByGroup"] != top {
			t.Fatalf("after switching nesting on: %v", st)
		}
		// Removing the edge removes the inheritance.
		w.do("DELETE", "/v1.0/groups/"+top+"/members/"+mid+"/$ref", w.ga, nil).expect(http.StatusNoContent, "")
		w.drain()
		if st := userStates(); len(st) != 0 {
			t.Fatalf("after removing the nesting edge: %v", st)
		}
		if v, err := w.db.Check(context.Background()); err != nil || len(v) != 0 {
			t.Fatalf("check: %v %v", v, err)
		}
	})
}
