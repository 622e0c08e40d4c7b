package allot_test

import (
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

func TestIdentifierKey(t *testing.T) {
	for _, c := range []struct{ in, form, key string }{
		{"Alice@Contoso.com", "Alice@Contoso.com", "alice@contoso.com"},
		{"  bob@x.com ", "bob@x.com", "bob@x.com"},
		{"jose\u0301@contoso.com", "josé@contoso.com", "josé@contoso.com"}, // NFD
		{"JOSÉ@contoso.com", "JOSÉ@contoso.com", "josé@contoso.com"},
		{"\u212Aelly@contoso.com", "Kelly@contoso.com", "kelly@contoso.com"}, // Kelvin sign
		{"ａｄｍｉｎ@contoso.com", "admin@contoso.com", "admin@contoso.com"},      // full width
		{"admin＠contoso.com", "admin@contoso.com", "admin@contoso.com"},
		{"Straße@x.de", "Straße@x.de", "strasse@x.de"}, // full case folding
	} {
		if got := allot.IdentifierForm(c.in); got != c.form {
			t.Errorf("IdentifierForm(%q) = %q, want %q", c.in, got, c.form)
		}
		if got := allot.IdentifierKey(c.in); got != c.key {
			t.Errorf("IdentifierKey(%q) = %q, want %q", c.in, got, c.key)
		}
	}
	if allot.NormalizeAddress("SMTP:\u212Aelly@Contoso.com") != "kelly@contoso.com" || allot.NormalizeAddress("smtp:Bob@X") != "bob@x" {
		t.Error("NormalizeAddress does not use the identifier key")
	}
}

func TestIdentifierSkeleton(t *testing.T) {
	for _, c := range []struct {
		a, b      string
		confusing bool
	}{
		{"admin@contoso.com", "\u0430dmin@contoso.com", true},          // Cyrillic а
		{"paypal@x.com", "\u0440\u0430yp\u0430l@x.com", true},          // Cyrillic р, а
		{"Bob@x.com", "\u0412ob@x.com", true},                          // Cyrillic В
		{"NICK", "\u039dICK", true},                                    // Greek Ν
		{"scope@x.com", "\u0455c\u03bfpe@x.com", true},                 // Cyrillic ѕ, Greek ο
		{"jose@x.com", "jos\u0435\u0301@x.com", false},                 // é (Cyrillic е + acute) is not e
		{"josé@x.com", "jos\u0435\u0301@x.com", true},                  // but passes for é
		{"info@x.com", "\u0456nfo@x.com", true},                        // Cyrillic і
		{"admin@contoso.com", "admin@contoso.com", false},              // the same name
		{"admin@contoso.com", "ADMIN@contoso.com", false},              // the same name
		{"josé@contoso.com", "jose\u0301@contoso.com", false},          // the same name
		{"admin@contoso.com", "adm1n@contoso.com", false},              // ASCII look-alikes are out of scope
		{"ivan@x.com", "\u0438\u0432\u0430\u043d@x.com", false},        // иван reads as Cyrillic
		{"kelly@x.com", "\u212Aelly@x.com", false},                     // the same name after NFKC
		{"admin@contoso.com", "\uff41dmin@contoso.com", false},         // the same name after NFKC
		{"alice@contoso.com", "\u0251lice@contoso.com", true},          // Latin alpha
		{"paul@contoso.com", "\u0440\u0430\u0443l@contoso.com", false}, // рауl reads as payl
	} {
		if got := allot.Confusable(c.a, c.b); got != c.confusing {
			t.Errorf("Confusable(%q, %q) = %v, want %v (skeletons %q, %q)", c.a, c.b, got, c.confusing,
				allot.IdentifierSkeleton(c.a), allot.IdentifierSkeleton(c.b))
		}
	}
	// The migration fills in the skeleton of ASCII names with their lower
	// case: that must stay true.
	for _, s := range []string{"Alice.Smith@Contoso.COM", "g-r_0.up", "x+y@z"} {
		if allot.IdentifierSkeleton(s) != strings.ToLower(s) {
			t.Errorf("skeleton of ASCII %q is %q", s, allot.IdentifierSkeleton(s))
		}
	}
}

func TestCheckIdentifier(t *testing.T) {
	for _, bad := range []string{
		"ad\u200bmin@contoso.com", // zero-width space
		"ad\u200dmin@contoso.com", // zero-width joiner
		"\u202eadmin@contoso.com", // right-to-left override
		"admin\u2066@contoso.com", // left-to-right isolate
		"ad\u00admin@contoso.com", // soft hyphen
		"\ufeffadmin@contoso.com", // byte order mark
		"ad\u3164min@contoso.com", // Hangul filler
		"admin\ufe0f@contoso.com", // variation selector
		"ad\u00a0min@contoso.com", // no-break space
		"ad\x01min@contoso.com",   // control
		"ad\ue000min@contoso.com", // private use
		"ad\xffmin@contoso.com",   // invalid UTF-8
	} {
		err := allot.CheckIdentifier("userPrincipalName", bad)
		if allot.ErrorCode(err) != allot.EINVALID || !strings.Contains(allot.ErrorMessage(err), "userPrincipalName") {
			t.Errorf("CheckIdentifier(%q) = %v", bad, err)
		}
	}
	for _, good := range []string{"admin@contoso.com", " padded@x.com ", "josé@contoso.com", "jose\u0301@contoso.com", "иван@пример.рф", "用户@例子.中国"} {
		if err := allot.CheckIdentifier("userPrincipalName", good); err != nil {
			t.Errorf("CheckIdentifier(%q) = %v", good, err)
		}
	}
	if msg := allot.ErrorMessage(allot.CheckIdentifier("userPrincipalName", "ad\u200bmin@x")); !strings.Contains(msg, "U+200B") {
		t.Errorf("message %q does not name the character", msg)
	}
}

func TestActorKind(t *testing.T) {
	for _, c := range []struct {
		a        allot.Actor
		kind, id string
	}{
		{allot.Actor{TenantID: "t", Role: allot.RoleGlobalReader, Name: "demo LicenseAdministrator", TokenID: "tok1"}, allot.ActorToken, "tok1"},
		{allot.Actor{TenantID: "t", Role: allot.RoleGlobalReader, Name: "alice", TokenID: "account:acc1"}, allot.ActorAccount, "acc1"},
		{allot.Actor{Operator: true, Name: "operator"}, allot.ActorOperator, ""},
		{allot.Actor{Name: "Allot group-based licensing"}, allot.ActorSystem, ""},
		{allot.Actor{TenantID: "t", Role: allot.RoleGlobalAdministrator, Name: "demo setup"}, allot.ActorSystem, ""},
	} {
		if c.a.Kind() != c.kind || c.a.ID() != c.id {
			t.Errorf("%+v: kind %q id %q, want %q %q", c.a, c.a.Kind(), c.a.ID(), c.kind, c.id)
		}
	}
}
