package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// TestWaitingRoomAPI: GET …/waitingRoom lists, page by page, exactly the
// order in which buying one seat at a time licenses the waiting users.
func TestWaitingRoomAPI(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 1}).expect(http.StatusCreated, "")
	var users []string
	for i := range 5 {
		users = append(users, w.createUser(w.ga, fmt.Sprintf("w%d@contoso.example", i), "US"))
	}
	g := w.createGroup(w.ga, "Waiters")
	for i := len(users) - 1; i >= 0; i-- { // membership order is the reverse of creation
		w.addMember(w.ga, g, users[i])
	}
	w.do("POST", "/v1.0/groups/"+g+"/assignLicense", w.ga,
		`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusAccepted, "")
	w.drain()

	room := func() []string {
		t.Helper()
		pages, items := w.follow(w.ga, "/allot/v1/subscriptions/"+skuE3+"/waitingRoom?$top=2")
		var ids []string
		for i, it := range items {
			if it["position"] != float64(i+1) || it["waitingSince"] == "" || it["direct"] != false {
				t.Fatalf("entry %d: %v", i, it)
			}
			if sg := it["sourceGroups"].([]any); len(sg) != 1 || sg[0].(map[string]any)["id"] != g || sg[0].(map[string]any)["displayName"] != "Waiters" {
				t.Fatalf("entry %d groups %v", i, sg)
			}
			ids = append(ids, it["userId"].(string))
		}
		if len(items) > 0 && pages[0]["waiting"] != float64(len(items)) {
			t.Fatalf("waiting %v, listed %d", pages[0]["waiting"], len(items))
		}
		return ids
	}
	order := room()
	if want := []string{users[3], users[2], users[1], users[0]}; !slices.Equal(order, want) {
		t.Fatalf("waiting room %v, want %v", order, want)
	}
	m := w.do("GET", "/allot/v1/subscriptions/"+skuE3+"/waitingRoom", w.ga, nil).expect(http.StatusOK, "")
	if first := m["value"].([]any)[0].(map[string]any); first["userPrincipalName"] != "w3@contoso.example" || first["displayName"] != "w3" {
		t.Fatalf("first %v", first)
	}
	for i, next := range order {
		w.do("POST", "/allot/v1/subscriptions/"+skuE3+"/purchase", w.ga, map[string]any{"quantity": 1}).expect(http.StatusOK, "")
		w.drain()
		for _, id := range order[i:] {
			u := w.do("GET", "/v1.0/users/"+id+"?$select=assignedLicenses", w.ga, nil).expect(http.StatusOK, "")
			if held := len(u["assignedLicenses"].([]any)) == 1; held != (id == next) {
				t.Fatalf("seat %d: %s holds=%v; the waiting room said %s was next", i+1, id, held, next)
			}
		}
		if rest := room(); !slices.Equal(rest, order[i+1:]) && len(rest)+len(order[i+1:]) > 0 {
			t.Fatalf("after seat %d: %v, want %v", i+1, rest, order[i+1:])
		}
	}

	t.Run("BadRequests", func(t *testing.T) {
		w.do("GET", "/allot/v1/subscriptions/"+skuE1+"/waitingRoom", w.ga, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
		w.do("GET", "/allot/v1/subscriptions/nope/waitingRoom", w.ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
		w.do("GET", "/allot/v1/subscriptions/"+skuE3+"/waitingRoom?$top=0", w.ga, nil).expect(http.StatusBadRequest, "Request_UnsupportedQuery")
		w.do("GET", "/allot/v1/subscriptions/"+skuE3+"/waitingRoom?$skiptoken=x", w.ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
		w.do("GET", "/allot/v1/subscriptions/"+skuE3+"/waitingRoom?$filter=x", w.ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	})
}
