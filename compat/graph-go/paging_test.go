package graphgo

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// pagedUsers is above Graph's largest page (999), so that even $top=999
// needs a second page.
const pagedUsers = 1050

// TestPageIterator lists more than 999 users with the SDK's PageIterator,
// which follows @odata.nextLink verbatim, and filters them with
// assignedLicenses/any(…) across pages.
func TestPageIterator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tn := newTenant(t, "Contoso Paging", map[string]int{skuE1: pagedUsers})

	start := time.Now()
	created := make([]string, pagedUsers)
	err := parallel(pagedUsers, 4, func(i int) error {
		u, err := tn.createUser(ctx, fmt.Sprintf("user%04d", i), "US")
		if err != nil {
			return fmt.Errorf("create user %d: %w", i, err)
		}
		created[i] = str(u.GetId())
		return nil
	})
	must(t, "create users", err)
	t.Logf("created %d users through the SDK in %v", pagedUsers, time.Since(start).Round(time.Millisecond))

	// A group licenses every other user, so that a filtered listing pages too.
	all := tn.group(ctx, "Everyone")
	licensed := map[string]bool{}
	for i, id := range created {
		if i%2 == 0 {
			tn.addMember(ctx, all, id)
			licensed[id] = true
		}
	}
	gb := newGroupAssign(t, skuE1)
	_, err = tn.client.Groups().ByGroupId(all).AssignLicense().Post(ctx, gb, nil)
	must(t, "group assignLicense", err)

	headers := abstractions.NewRequestHeaders()
	headers.Add("ConsistencyLevel", "eventual")
	first, err := tn.client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		Headers: headers,
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Top: ptr(int32(999)), Count: ptr(true), Select: []string{"id", "displayName", "createdDateTime"},
		},
	})
	must(t, "list users", err)
	if n := len(first.GetValue()); n != 999 {
		t.Fatalf("first page has %d users, want 999", n)
	}
	if c := first.GetOdataCount(); c == nil || *c != pagedUsers {
		t.Fatalf("@odata.count %v, want %d", c, pagedUsers)
	}
	next := str(first.GetOdataNextLink())
	// Absolute, on the server's own base, and keeping the other options.
	if !strings.HasPrefix(next, serverURL+"/v1.0/users?") {
		t.Fatalf("@odata.nextLink %q is not an absolute link on %s", next, serverURL)
	}
	if u, err := url.Parse(next); err != nil || u.Query().Get("$top") != "999" || u.Query().Get("$select") == "" {
		t.Errorf("@odata.nextLink %q does not keep $top and $select", next)
	}

	seen := map[string]int{}
	it, err := msgraphcore.NewPageIterator[models.Userable](first, tn.adapter, models.CreateUserCollectionResponseFromDiscriminatorValue)
	must(t, "page iterator", err)
	err = it.Iterate(ctx, func(u models.Userable) bool {
		seen[str(u.GetId())]++
		if u.GetDisplayName() == nil || u.GetCreatedDateTime() == nil || u.GetUserPrincipalName() != nil {
			t.Errorf("user %s: displayName %v createdDateTime %v userPrincipalName %v (not selected)",
				str(u.GetId()), u.GetDisplayName(), u.GetCreatedDateTime(), u.GetUserPrincipalName())
			return false
		}
		return true
	})
	must(t, "iterate users", err)
	if len(seen) != pagedUsers {
		t.Fatalf("iterated %d distinct users, want %d", len(seen), pagedUsers)
	}
	for _, id := range created {
		if seen[id] != 1 {
			t.Fatalf("user %s seen %d times", id, seen[id])
		}
	}
	if it.GetOdataNextLink() != nil {
		t.Errorf("the last page has @odata.nextLink %s", *it.GetOdataNextLink())
	}

	// The filter pages through Graph's default page size (100) once the
	// group is processed.
	tn.waitProcessed(ctx, all)
	tn.waitIdle()
	// /users/$count answers text/plain, which the SDK reads as an int32.
	n, err := tn.client.Users().Count().Get(ctx, &users.CountRequestBuilderGetRequestConfiguration{
		Headers: headers,
		QueryParameters: &users.CountRequestBuilderGetQueryParameters{
			Filter: ptr("assignedLicenses/any(x:x/skuId eq " + skuE1 + ")"),
		},
	})
	must(t, "users/$count", err)
	if n == nil || int(*n) != len(licensed) {
		t.Errorf("users/$count %v, want %d", n, len(licensed))
	}
	filtered, err := tn.client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		Headers: headers,
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: ptr("assignedLicenses/any(x:x/skuId eq " + skuE1 + ")"), Count: ptr(true),
		},
	})
	must(t, "filter users", err)
	if n := len(filtered.GetValue()); n != 100 {
		t.Errorf("first filtered page has %d users, want Graph's default 100", n)
	}
	if c := filtered.GetOdataCount(); c == nil || *c != int64(len(licensed)) {
		t.Errorf("filtered @odata.count %v, want %d", c, len(licensed))
	}
	got := 0
	fit, err := msgraphcore.NewPageIterator[models.Userable](filtered, tn.adapter, models.CreateUserCollectionResponseFromDiscriminatorValue)
	must(t, "page iterator", err)
	err = fit.Iterate(ctx, func(u models.Userable) bool {
		if !licensed[str(u.GetId())] {
			t.Errorf("unlicensed user %s in the filtered listing", str(u.GetId()))
			return false
		}
		got++
		return true
	})
	must(t, "iterate filtered users", err)
	if got != len(licensed) {
		t.Errorf("iterated %d licensed users, want %d", got, len(licensed))
	}
}
