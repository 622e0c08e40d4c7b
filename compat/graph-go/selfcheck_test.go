package graphgo

import (
	"testing"

	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// TestSDKIsStrict shows that the suite's checks can fail: the SDK refuses a
// value of the wrong JSON type, and keeps a property it does not know in
// AdditionalData, where noUnknown finds it.
func TestSDKIsStrict(t *testing.T) {
	parse := func(body string) (models.SubscribedSkuable, error) {
		n, err := jsonserialization.NewJsonParseNode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		v, err := n.GetObjectValue(models.CreateSubscribedSkuFromDiscriminatorValue)
		if err != nil {
			return nil, err
		}
		return v.(models.SubscribedSkuable), nil
	}
	for name, body := range map[string]string{
		"consumedUnits as a string":   `{"consumedUnits":"3"}`,
		"skuId not a GUID":            `{"skuId":"E1"}`,
		"subscriptionIds as a string": `{"subscriptionIds":"x"}`,
	} {
		if _, err := parse(body); err == nil {
			t.Errorf("%s: the SDK accepted %s", name, body)
		}
	}
	// A scalar where an object belongs parses as an empty object, which
	// checkSku's value checks (prepaidUnits.enabled present) then catch.
	if s, err := parse(`{"prepaidUnits":25}`); err == nil && s.GetPrepaidUnits() != nil && s.GetPrepaidUnits().GetEnabled() != nil {
		t.Errorf("prepaidUnits as a number came back with enabled %v", *s.GetPrepaidUnits().GetEnabled())
	}
	s, err := parse(`{"@odata.context":"x","consumedUnits":3,"consumedUnit":3}`)
	if err != nil {
		t.Fatal(err)
	}
	extra := s.GetAdditionalData()
	if _, ok := extra["consumedUnit"]; !ok || len(extra) != 2 || *s.GetConsumedUnits() != 3 {
		t.Fatalf("AdditionalData %v, consumedUnits %v", extra, s.GetConsumedUnits())
	}
}
