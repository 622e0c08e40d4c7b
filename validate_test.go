package allot

import (
	"strings"
	"testing"
)

func TestUserCreateNormalized(t *testing.T) {
	u, err := UserCreate{ID: "6E90A2A9-0C31-4F0B-8F73-0B7C0A8D5E01", UserPrincipalName: "Ｂob@contoso.com", DisplayName: "Bob",
		UsageLocation: " de ", ProxyAddresses: []string{"", "SMTP:Bob@contoso.com", "  "}}.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "6e90a2a9-0c31-4f0b-8f73-0b7c0a8d5e01" || u.UserPrincipalName != "Bob@contoso.com" || u.UsageLocation != "DE" ||
		len(u.ProxyAddresses) != 1 || u.ProxyAddresses[0] != "SMTP:Bob@contoso.com" {
		t.Fatalf("normalized %+v", u)
	}
	for name, in := range map[string]UserCreate{
		"upn":      {UserPrincipalName: "bob", DisplayName: "Bob"},
		"name":     {UserPrincipalName: "bob@x", DisplayName: " "},
		"long":     {UserPrincipalName: "bob@x", DisplayName: strings.Repeat("x", MaxDisplayName+1)},
		"location": {UserPrincipalName: "bob@x", DisplayName: "Bob", UsageLocation: "XX"},
		"address":  {UserPrincipalName: "bob@x", DisplayName: "Bob", ProxyAddresses: []string{"smtp:nobody"}},
	} {
		if _, err := in.Normalized(); ErrorCode(err) != EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func TestUpdatesNormalized(t *testing.T) {
	loc, empty := "us", " "
	u, err := UserUpdate{UsageLocation: &loc}.Normalized()
	if err != nil || *u.UsageLocation != "US" || loc != "us" {
		t.Fatalf("%v %v (the caller's value must stay)", u.UsageLocation, err)
	}
	if _, err := (UserUpdate{DisplayName: &empty}).Normalized(); ErrorCode(err) != EINVALID {
		t.Fatalf("empty displayName: %v", err)
	}
	nick := "Sales\u200b"
	if _, err := (GroupUpdate{MailNickname: &nick}).Normalized(); ErrorCode(err) != EINVALID {
		t.Fatalf("invisible character in mailNickname: %v", err)
	}
	g, err := GroupCreate{DisplayName: "Sales", GroupTypes: nil}.Normalized()
	if err != nil || g.GroupTypes == nil {
		t.Fatalf("%+v %v", g, err)
	}
	if _, err := (GroupCreate{DisplayName: "Sales", GroupTypes: []string{"Team"}}).Normalized(); ErrorCode(err) != EINVALID {
		t.Fatalf("bad group type: %v", err)
	}
}
