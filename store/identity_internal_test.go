package store

import (
	"context"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
)

// Rows written before migration 10 (or by a replica still running the
// version before it) have no skeleton, and a non-ASCII name's key may be
// the lower case of an unnormalised spelling. They are still found, still
// block the same name, and still block look-alikes.
func TestNamesWrittenBeforeNormalisation(t *testing.T) {
	db, err := Open(context.Background(), Config{DSN: testdb.DSN(t, true), Catalog: allot.NewCatalog(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator, Name: "admin"})
	u, err := db.CreateUser(ctx, allot.UserCreate{UserPrincipalName: "placeholder@contoso.com", DisplayName: "José", ProxyAddresses: []string{"smtp:placeholder@contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := db.CreateGroup(ctx, allot.GroupCreate{DisplayName: "Sales", MailNickname: "placeholder", SecurityEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	// As the version before wrote them: the name as given (here NFD or
	// Cyrillic), its lower case as the key, no skeleton.
	nfd := "Jose\u0301@contoso.com"
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE users SET upn = ?, upn_key = ?, upn_skeleton = '' WHERE id = ?`, []any{nfd, strings.ToLower(nfd), u.ID}},
		{`UPDATE addresses SET address = ?, skeleton = '' WHERE owner_id = ?`, []any{"\u0456nfo@contoso.com", u.ID}},
		{`UPDATE dir_groups SET mail_nickname = ?, mail_nickname_skeleton = '' WHERE id = ?`, []any{"\u0455ales", g.ID}},
	} {
		if err := db.tx(context.Background(), func(tx *txn) error { _, err := tx.Exec(context.Background(), stmt.sql, stmt.args...); return err }); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{nfd, "josé@contoso.com", "JOSÉ@contoso.com"} {
		if got, err := db.User(ctx, name); err != nil || got.ID != u.ID {
			t.Errorf("User(%q) = %v, %v", name, got, err)
		}
	}
	for upn, want := range map[string]string{
		"josé@contoso.com":            "already exists",
		"jos\u0435\u0301@contoso.com": "is confusable with the existing 'Jose\u0301@contoso.com'",
	} {
		_, err := db.CreateUser(ctx, allot.UserCreate{UserPrincipalName: upn, DisplayName: "x"})
		if allot.ErrorCode(err) != allot.ECONFLICT || !strings.Contains(allot.ErrorMessage(err), want) {
			t.Errorf("create %q: %v, want %q", upn, err, want)
		}
	}
	_, err = db.CreateUser(ctx, allot.UserCreate{UserPrincipalName: "b@contoso.com", DisplayName: "b", ProxyAddresses: []string{"info@contoso.com"}})
	if allot.ErrorCode(err) != allot.ECONFLICT || !strings.Contains(allot.ErrorMessage(err), "confusable") {
		t.Errorf("address like a stored one: %v", err)
	}
	_, err = db.CreateGroup(ctx, allot.GroupCreate{DisplayName: "x", MailNickname: "sales", SecurityEnabled: true})
	if allot.ErrorCode(err) != allot.ECONFLICT || !strings.Contains(allot.ErrorMessage(err), "confusable") {
		t.Errorf("nickname like a stored one: %v", err)
	}
	// Renaming the user to its own name in NFC rewrites its key and skeleton.
	nfc := "José@contoso.com"
	if _, err := db.UpdateUser(ctx, u.ID, allot.UserUpdate{UserPrincipalName: &nfc}); err != nil {
		t.Fatal(err)
	}
	var key, skel string
	err = db.readTx(context.Background(), func(tx *txn) error {
		return tx.QueryRow(context.Background(), `SELECT upn_key, upn_skeleton FROM users WHERE id = ?`, u.ID).Scan(&key, &skel)
	})
	if err != nil || key != "josé@contoso.com" || skel != "josé@contoso.com" {
		t.Fatalf("key %q skeleton %q, %v", key, skel, err)
	}
}
