package graphgo

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// TestScriptRequests: what admins' scripts do beyond the licensing flow,
// through the SDK's own builders: a JSON batch that sets a usage location
// and then assigns a license, the license report's filter, a delta round,
// and an audit query.
func TestScriptRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tn := newTenant(t, "Contoso scripts", map[string]int{skuE3: 2})
	ann := tn.user(ctx, "ann", "US")
	ben := tn.user(ctx, "ben", "")

	// $batch: ben needs a usage location before a license; step 2 runs
	// only after step 1 succeeded.
	batch := msgraphgocore.NewBatchRequest(tn.adapter)
	patch := models.NewUser()
	patch.SetUsageLocation(ptr("US"))
	patchInfo, err := tn.client.Users().ByUserId(ben).ToPatchRequestInformation(ctx, patch, nil)
	must(t, "PATCH request information", err)
	setLocation, err := batch.AddBatchRequestStep(*patchInfo)
	must(t, "batch step 1", err)
	body := users.NewItemAssignLicensePostRequestBody()
	body.SetAddLicenses([]models.AssignedLicenseable{lic(t, skuE3)})
	body.SetRemoveLicenses([]uuid.UUID{})
	assignInfo, err := tn.client.Users().ByUserId(ben).AssignLicense().ToPostRequestInformation(ctx, body, nil)
	must(t, "assignLicense request information", err)
	assign, err := batch.AddBatchRequestStep(*assignInfo)
	must(t, "batch step 2", err)
	assign.SetDependsOn([]string{*setLocation.GetId()})
	readInfo, err := tn.client.Users().ByUserId(ann).ToGetRequestInformation(ctx, nil)
	must(t, "GET request information", err)
	read, err := batch.AddBatchRequestStep(*readInfo)
	must(t, "batch step 3", err)
	resp, err := batch.Send(ctx, tn.adapter)
	must(t, "send the batch", err)
	codes := resp.GetStatusCodes()
	if codes[*setLocation.GetId()] != http.StatusNoContent || codes[*assign.GetId()] != http.StatusOK || codes[*read.GetId()] != http.StatusOK {
		t.Fatalf("batch status codes %v", codes)
	}
	got, err := msgraphgocore.GetBatchResponseById[models.Userable](resp, *read.GetId(), models.CreateUserFromDiscriminatorValue)
	must(t, "read step 3 as a user", err)
	if str(got.GetId()) != ann {
		t.Fatalf("step 3 answered user %s, want %s", str(got.GetId()), ann)
	}
	tn.waitIdle()
	wantState(t, tn.getUser(ctx, ben), skuE3, "", "Active", "None")

	// The filter of most license reports, with the advanced-query header
	// the SDK's samples send.
	headers := abstractions.NewRequestHeaders()
	headers.Add("ConsistencyLevel", "eventual")
	licensed, err := tn.client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		Headers: headers,
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: ptr("assignedLicenses/$count ne 0 and userType eq 'Member'"), Count: ptr(true),
			Select: []string{"id", "userType", "assignedLicenses"},
		},
	})
	must(t, "license report", err)
	if ids := idsOf(licensed.GetValue()); !slices.Equal(ids, []string{ben}) || licensed.GetOdataCount() == nil || *licensed.GetOdataCount() != 1 ||
		str(licensed.GetValue()[0].GetUserType()) != "Member" {
		t.Fatalf("license report: %v, count %v", ids, licensed.GetOdataCount())
	}

	// Delta: a full round, a change and a deletion, then only those.
	deltaLink := deltaRound(ctx, t, tn, nil, func(u models.Userable) {})
	patch = models.NewUser()
	patch.SetJobTitle(ptr("Delta watcher"))
	_, err = tn.client.Users().ByUserId(ann).Patch(ctx, patch, nil)
	must(t, "PATCH ann", err)
	must(t, "DELETE ben", tn.client.Users().ByUserId(ben).Delete(ctx, nil))
	changed, removed := map[string]string{}, map[string]bool{}
	deltaRound(ctx, t, tn, &deltaLink, func(u models.Userable) {
		if _, ok := u.GetAdditionalData()["@removed"]; ok {
			removed[str(u.GetId())] = true
			return
		}
		changed[str(u.GetId())] = str(u.GetJobTitle())
	})
	if changed[ann] != "Delta watcher" || !removed[ben] {
		t.Fatalf("delta after the changes: changed %v, removed %v", changed, removed)
	}

	// The audit of the deletion, as Get-MgAuditLogDirectoryAudit asks.
	audits, err := tn.client.AuditLogs().DirectoryAudits().Get(ctx, &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{
			Filter: ptr("activityDisplayName eq 'Delete user' and targetResources/any(t:t/id eq '" + ben + "')"), Top: ptr(int32(10)),
		},
	})
	must(t, "directoryAudits", err)
	if len(audits.GetValue()) != 1 {
		t.Fatalf("directoryAudits for the deletion: %d entries", len(audits.GetValue()))
	}
	a := audits.GetValue()[0]
	if str(a.GetCategory()) != "UserManagement" || a.GetActivityDateTime() == nil || len(a.GetTargetResources()) == 0 ||
		str(a.GetTargetResources()[0].GetId()) != ben {
		t.Fatalf("directoryAudit: category %s, targets %d", str(a.GetCategory()), len(a.GetTargetResources()))
	}
	noUnknown(t, "directoryAudit", a)
}

// deltaRound follows users/delta from link (nil: a new round selecting
// displayName and jobTitle) to its deltaLink, calling each for every user.
func deltaRound(ctx context.Context, t *testing.T, tn *tenant, link *string, each func(models.Userable)) string {
	t.Helper()
	var page users.DeltaGetResponseable
	var err error
	if link == nil {
		page, err = tn.client.Users().Delta().GetAsDeltaGetResponse(ctx, &users.DeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{Select: []string{"displayName", "jobTitle"}},
		})
	} else {
		page, err = users.NewDeltaRequestBuilder(*link, tn.adapter).GetAsDeltaGetResponse(ctx, nil)
	}
	for pages := 0; ; pages++ {
		must(t, "users/delta", err)
		for _, u := range page.GetValue() {
			each(u)
		}
		if d := page.GetOdataDeltaLink(); d != nil {
			return *d
		}
		next := page.GetOdataNextLink()
		if next == nil || pages > 100 {
			t.Fatal("users/delta: a page with neither nextLink nor deltaLink")
		}
		page, err = users.NewDeltaRequestBuilder(*next, tn.adapter).GetAsDeltaGetResponse(ctx, nil)
	}
}
