package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// roleToken makes a token of role in the world's tenant.
func (w *world) roleToken(role string) string {
	w.t.Helper()
	return w.do("POST", "/allot/v1/tokens", w.ga, map[string]any{"name": role + "-deleted", "role": role}).
		expect(http.StatusCreated, "")["secret"].(string)
}

// Deleted users and groups through Graph's deletedItems: listed with
// deletedDateTime in the shape of the live objects, read, restored with
// their licenses and memberships (200 with the object), deleted
// permanently; errors as Graph's.
func TestDeletedItemsEndToEnd(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 5}).expect(http.StatusCreated, "")
	u := w.createUser(w.ga, "adele@contoso.com", "US")
	g := w.createGroup(w.ga, "Sales")
	w.addMember(w.ga, g, u)
	w.do("POST", "/v1.0/users/"+u+"/assignLicense", w.ga, `{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).
		expect(http.StatusOK, "")
	w.do("DELETE", "/v1.0/users/"+u, w.ga, nil).expect(http.StatusNoContent, "")
	w.do("GET", "/v1.0/users/"+u, w.ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")

	m := w.do("GET", "/v1.0/directory/deletedItems/microsoft.graph.user", w.ga, nil).expect(http.StatusOK, "")
	if !strings.HasSuffix(m["@odata.context"].(string), "/v1.0/$metadata#directory/deletedItems/microsoft.graph.user") {
		t.Errorf("context %v", m["@odata.context"])
	}
	v := m["value"].([]any)
	if len(v) != 1 {
		t.Fatalf("deleted users %v", m)
	}
	item := v[0].(map[string]any)
	if item["id"] != u || item["userPrincipalName"] != "adele@contoso.com" || item["displayName"] != "adele" {
		t.Fatalf("item %v", item)
	}
	deleted, err := time.Parse(time.RFC3339, fmt.Sprint(item["deletedDateTime"]))
	if err != nil {
		t.Fatalf("deletedDateTime %v: %v", item["deletedDateTime"], err)
	}
	purge, err := time.Parse(time.RFC3339, fmt.Sprint(item["@allot.purgeDateTime"]))
	if err != nil || purge.Sub(deleted) != 30*24*time.Hour {
		t.Fatalf("@allot.purgeDateTime %v (deleted %v): %v", item["@allot.purgeDateTime"], deleted, err)
	}
	m = w.do("GET", "/v1.0/directory/deletedItems/microsoft.graph.user?$select=id,deletedDateTime", w.ga, nil).expect(http.StatusOK, "")
	if item := m["value"].([]any)[0].(map[string]any); len(item) != 3 || item["deletedDateTime"] == nil {
		t.Fatalf("$select: %v", item)
	}
	m = w.do("GET", "/v1.0/directory/deletedItems/microsoft.graph.group", w.ga, nil).expect(http.StatusOK, "")
	if len(m["value"].([]any)) != 0 {
		t.Fatalf("deleted groups %v", m)
	}
	m = w.do("GET", "/v1.0/directory/deletedItems/"+u, w.ga, nil).expect(http.StatusOK, "")
	if m["@odata.type"] != "#microsoft.graph.user" || m["id"] != u || m["deletedDateTime"] == nil ||
		!strings.HasSuffix(m["@odata.context"].(string), "$metadata#directoryObjects/$entity") {
		t.Fatalf("item %v", m)
	}

	// A reader may read but not restore; a Group Administrator may
	// restore groups but not users.
	reader, groupAdmin := w.roleToken("GlobalReader"), w.roleToken("GroupAdministrator")
	w.do("GET", "/v1.0/directory/deletedItems/"+u, reader, nil).expect(http.StatusOK, "")
	w.do("POST", "/v1.0/directory/deletedItems/"+u+"/restore", reader, nil).expect(http.StatusForbidden, "Authorization_RequestDenied")
	w.do("POST", "/v1.0/directory/deletedItems/"+u+"/restore", groupAdmin, nil).expect(http.StatusForbidden, "Authorization_RequestDenied")
	w.do("DELETE", "/v1.0/directory/deletedItems/"+u, groupAdmin, nil).expect(http.StatusForbidden, "Authorization_RequestDenied")

	// Errors: an unknown id, a malformed one.
	w.do("GET", "/v1.0/directory/deletedItems/"+g, w.ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	w.do("POST", "/v1.0/directory/deletedItems/00000000-0000-4000-8000-000000000001/restore", w.ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	w.do("POST", "/v1.0/directory/deletedItems/nope/restore", w.ga, nil).expect(http.StatusBadRequest, "")
	w.do("GET", "/v1.0/directory/deletedItems/microsoft.graph.user?$filter=displayName%20eq%20'x'", w.ga, nil).expect(http.StatusBadRequest, "")

	// The name is taken meanwhile: restore is refused and changes nothing.
	other := w.createUser(w.ga, "adele@contoso.com", "US")
	res := w.do("POST", "/v1.0/directory/deletedItems/"+u+"/restore", w.ga, nil)
	body := res.expect(http.StatusBadRequest, "Request_BadRequest")
	if msg := fmt.Sprint(body["error"].(map[string]any)["message"]); !strings.Contains(msg, "cannot be restored") || !strings.Contains(msg, "userPrincipalName") {
		t.Fatalf("conflict message %q", msg)
	}
	w.do("GET", "/v1.0/directory/deletedItems/"+u, w.ga, nil).expect(http.StatusOK, "")
	w.do("DELETE", "/v1.0/users/"+other, w.ga, nil).expect(http.StatusNoContent, "")

	m = w.do("POST", "/v1.0/directory/deletedItems/"+u+"/restore", w.ga, nil).expect(http.StatusOK, "")
	if m["@odata.type"] != "#microsoft.graph.user" || m["id"] != u || m["userPrincipalName"] != "adele@contoso.com" {
		t.Fatalf("restored %v", m)
	}
	w.drain()
	m = w.do("GET", "/v1.0/users/"+u+"?$select=id,assignedLicenses", w.ga, nil).expect(http.StatusOK, "")
	if l := m["assignedLicenses"].([]any); len(l) != 1 || l[0].(map[string]any)["skuId"] != skuE3 {
		t.Fatalf("licenses after restore %v", m)
	}
	m = w.do("GET", "/v1.0/users/"+u+"/memberOf", w.ga, nil).expect(http.StatusOK, "")
	if v := m["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != g {
		t.Fatalf("memberOf after restore %v", m)
	}
	w.do("GET", "/v1.0/directory/deletedItems/"+u, w.ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")

	// A group: deleted, restored by a Group Administrator, deleted again
	// and purged for good.
	w.do("DELETE", "/v1.0/groups/"+g, w.ga, nil).expect(http.StatusNoContent, "")
	m = w.do("GET", "/v1.0/directory/deletedItems/microsoft.graph.group", reader, nil).expect(http.StatusOK, "")
	if v := m["value"].([]any); len(v) != 1 || v[0].(map[string]any)["mailNickname"] != "Sales" || v[0].(map[string]any)["deletedDateTime"] == nil {
		t.Fatalf("deleted groups %v", m)
	}
	m = w.do("POST", "/v1.0/directory/deletedItems/"+g+"/restore", groupAdmin, nil).expect(http.StatusOK, "")
	if m["@odata.type"] != "#microsoft.graph.group" || m["id"] != g {
		t.Fatalf("restored group %v", m)
	}
	m = w.do("GET", "/v1.0/groups/"+g+"/members", w.ga, nil).expect(http.StatusOK, "")
	if v := m["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != u {
		t.Fatalf("members after restore %v", m)
	}
	w.do("DELETE", "/v1.0/groups/"+g, w.ga, nil).expect(http.StatusNoContent, "")
	w.do("DELETE", "/v1.0/directory/deletedItems/"+g, reader, nil).expect(http.StatusForbidden, "Authorization_RequestDenied")
	w.do("DELETE", "/v1.0/directory/deletedItems/"+g, groupAdmin, nil).expect(http.StatusNoContent, "")
	w.do("DELETE", "/v1.0/directory/deletedItems/"+g, w.ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	w.do("POST", "/v1.0/directory/deletedItems/"+g+"/restore", w.ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")

	// Another tenant sees none of it.
	fabrikam := w.newTenant("Fabrikam", "US")
	w.do("DELETE", "/v1.0/users/"+u, w.ga, nil).expect(http.StatusNoContent, "")
	w.do("GET", "/v1.0/directory/deletedItems/"+u, fabrikam, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	m = w.do("GET", "/v1.0/directory/deletedItems/microsoft.graph.user", fabrikam, nil).expect(http.StatusOK, "")
	if len(m["value"].([]any)) != 0 {
		t.Fatalf("another tenant's deleted users %v", m)
	}
}

// $top pages with @odata.nextLink; $count counts.
func TestDeletedItemsPaging(t *testing.T) {
	w := newWorld(t)
	want := map[string]bool{}
	for i := range 5 {
		u := w.createUser(w.ga, fmt.Sprintf("u%d@contoso.com", i), "")
		w.do("DELETE", "/v1.0/users/"+u, w.ga, nil).expect(http.StatusNoContent, "")
		want[u] = true
	}
	m := w.do("GET", "/v1.0/directory/deletedItems/microsoft.graph.user?$top=2&$count=true", w.ga, nil, "ConsistencyLevel", "eventual").expect(http.StatusOK, "")
	if m["@odata.count"] != float64(5) {
		t.Fatalf("count %v", m["@odata.count"])
	}
	pages, items := w.follow(w.ga, "/v1.0/directory/deletedItems/microsoft.graph.user?$top=2")
	if len(pages) != 3 || len(items) != 5 {
		t.Fatalf("%d pages, %d items", len(pages), len(items))
	}
	for _, it := range items {
		if !want[it["id"].(string)] {
			t.Fatalf("unexpected item %v", it)
		}
		delete(want, it["id"].(string))
	}
	if len(want) != 0 {
		t.Fatalf("items missing from the pages: %v", want)
	}
}
