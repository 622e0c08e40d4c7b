package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

func batchStepsByID(t *testing.T, m map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, x := range m["responses"].([]any) {
		r := x.(map[string]any)
		out[r["id"].(string)] = r
	}
	return out
}

// TestBatch: JSON batching as Graph defines it, through the real store:
// steps run in order as the caller, each with its own status and body;
// dependsOn holds back a step whose dependency failed (424); each step is
// authorized on its own; a batch that cannot run as a whole is one 400 and
// changes nothing.
func TestBatch(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 5}).expect(http.StatusCreated, "")
	u := w.createUser(w.ga, "ann@contoso.example", "")
	lic := map[string]any{"addLicenses": []any{map[string]any{"skuId": skuE3, "disabledPlans": []string{}}}, "removeLicenses": []string{}}

	res := w.do("POST", "/v1.0/$batch", w.ga, map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "PATCH", "url": "/users/" + u, "headers": map[string]string{"Content-Type": "application/json"},
			"body": map[string]any{"usageLocation": "DE"}},
		map[string]any{"id": "2", "method": "POST", "url": "users/" + u + "/assignLicense", "body": lic, "dependsOn": []string{"1"}},
		map[string]any{"id": "3", "method": "GET", "url": "/v1.0/users/" + u + "?$select=id,usageLocation,assignedLicenses", "dependsOn": []string{"2"}}, // as the JavaScript client sends it
		map[string]any{"id": "4", "method": "GET", "url": "/users/00000000-0000-4000-8000-00000000dead"},
		map[string]any{"id": "5", "method": "GET", "url": "/users", "dependsOn": []string{"4"}},
	}}).expect(http.StatusOK, "")
	steps := batchStepsByID(t, res)
	if len(steps) != 5 {
		t.Fatalf("responses %v", res)
	}
	for id, want := range map[string]float64{"1": 204, "2": 200, "3": 200, "4": 404, "5": 424} {
		if steps[id]["status"] != want {
			t.Fatalf("step %s: %v, want %v (all: %v)", id, steps[id]["status"], want, res)
		}
	}
	got := steps["3"]["body"].(map[string]any)
	if got["usageLocation"] != "DE" || len(got["assignedLicenses"].([]any)) != 1 {
		t.Fatalf("step 3 body %v", got)
	}
	if e := steps["4"]["body"].(map[string]any)["error"].(map[string]any); e["code"] != "Request_ResourceNotFound" {
		t.Fatalf("step 4 body %v", e)
	}
	// The steps really happened, as if sent alone.
	if user := w.do("GET", "/v1.0/users/"+u+"?$select=usageLocation,assignedLicenses", w.ga, nil).expect(http.StatusOK, ""); user["usageLocation"] != "DE" {
		t.Fatalf("after the batch: %v", user)
	}

	// Each step is authorized as the caller: a Global Reader's batch reads but cannot assign.
	reader := w.do("POST", "/allot/v1/tokens", w.ga, map[string]any{"name": "r", "role": "GlobalReader"}).expect(http.StatusCreated, "")["secret"].(string)
	steps = batchStepsByID(t, w.do("POST", "/v1.0/$batch", reader, map[string]any{"requests": []any{
		map[string]any{"id": "a", "method": "GET", "url": "/users/" + u},
		map[string]any{"id": "b", "method": "POST", "url": "/users/" + u + "/assignLicense", "body": lic},
	}}).expect(http.StatusOK, ""))
	if steps["a"]["status"] != float64(200) || steps["b"]["status"] != float64(403) {
		t.Fatalf("reader's batch %v", steps)
	}

	// Refused as a whole, with nothing run.
	many := []any{}
	for i := range 21 {
		many = append(many, map[string]any{"id": fmt.Sprint(i), "method": "PATCH", "url": "/users/" + u, "body": map[string]any{"usageLocation": "FR"}})
	}
	for name, body := range map[string]any{
		"21 steps":          map[string]any{"requests": many},
		"no steps":          map[string]any{"requests": []any{}},
		"duplicate id":      map[string]any{"requests": []any{many[0], many[0]}},
		"unknown dependsOn": map[string]any{"requests": []any{map[string]any{"id": "1", "method": "PATCH", "url": "/users/" + u, "body": map[string]any{"usageLocation": "FR"}, "dependsOn": []string{"9"}}}},
		"nested batch":      map[string]any{"requests": []any{many[0], map[string]any{"id": "x", "method": "POST", "url": "/$batch", "body": map[string]any{"requests": []any{}}}}},
		"absolute url":      map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}}},
		"bad method":        map[string]any{"requests": []any{map[string]any{"id": "1", "method": "TRACE", "url": "/users"}}},
	} {
		b, _ := json.Marshal(body)
		if r := w.do("POST", "/v1.0/$batch", w.ga, string(b)); r.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.Code, r.Body.String())
		}
	}
	if user := w.do("GET", "/v1.0/users/"+u+"?$select=usageLocation", w.ga, nil).expect(http.StatusOK, ""); user["usageLocation"] != "DE" {
		t.Fatalf("a refused batch changed the user: %v", user)
	}
	w.do("POST", "/v1.0/$batch", "", map[string]any{"requests": []any{many[0]}}).expect(http.StatusUnauthorized, "")
}
