package store

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
)

// The hand-written JSON of processing must read and write exactly what
// encoding/json does, for any text.
func FuzzJSONLists(f *testing.F) {
	for _, s := range []string{`[]`, `null`, `["a"]`, `["SMTP:a@b.com","smtp:c@d.com"]`, `[""]`, `["a",]`, `["a" ,"b"]`,
		`["\u00e9"]`, `["a\"b"]`, `[1]`, `["<&>"]`, "[\"\x01\"]", `["a","`, `"a"`, `[`, "[\"\xff\"]", `["a"]x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []string
		_ = json.Unmarshal([]byte(s), &want)
		if want == nil {
			want = []string{}
		}
		if got := strList(s); !slices.Equal(got, want) {
			t.Fatalf("strList(%q) = %q, encoding/json reads %q", s, got, want)
		}
		list := want
		if s == "null" {
			list = nil
		}
		b, _ := json.Marshal(list)
		if got := listJSON(list); got != string(b) {
			t.Fatalf("listJSON(%q) = %s, encoding/json writes %s", list, got, b)
		}
		states := []allot.LicenseState{{SkuID: s, State: allot.StateActive, Error: allot.NoLicenseError}, {SkuID: "x", Source: s, State: s, Error: allot.LicenseError(s)}}
		type st struct {
			SkuID  string `json:"skuId"`
			Source string `json:"assignedByGroup,omitempty"`
			State  string `json:"state"`
			Error  string `json:"error"`
		}
		var ref []st
		for _, x := range states {
			ref = append(ref, st{x.SkuID, x.Source, x.State, string(x.Error)})
		}
		b, _ = json.Marshal(ref)
		if got := statesJSON(states); got != string(b) {
			t.Fatalf("statesJSON = %s, encoding/json writes %s", got, b)
		}
	})
}

// Every text survives pgTextArray and PostgreSQL's parse of it, in order.
func TestPGTextArray(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("PostgreSQL only; CI runs it with " + testdb.Env)
	}
	db, err := Open(context.Background(), Config{DSN: testdb.DSN(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := []string{"", "a", `"`, `\`, `\"`, "{", "}", "{}", ",", " lead", "trail ", "NULL", "null", "é日本", "a,b", `x"y\z`, "\t\n"}
	rows, err := db.db.Query(`SELECT x FROM unnest(CAST($1 AS TEXT[])) AS x`, pgTextArray(want))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var x string
		if err := rows.Scan(&x); err != nil {
			t.Fatal(err)
		}
		got = append(got, x)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Migration 0008 (PostgreSQL only) makes the id columns compare by bytes,
// the order Go compares them in; SQLite records the version without change.
func TestIDsCompareAsBytes(t *testing.T) {
	db, err := Open(context.Background(), Config{DSN: testdb.DSN(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(context.Background()); err != nil || v < 8 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	// "B" < "a" in bytes, and after it in most linguistic collations.
	if _, err := db.db.Exec(db.q(`INSERT INTO license_states (tenant_id, user_id, sku_id, source, state, error, updated_at) VALUES ('t', 'a', 's', '', 'Active', 'None', ''), ('t', 'B', 's', '', 'Active', 'None', '')`)); err != nil {
		t.Fatal(err)
	}
	var first string
	if err := db.db.QueryRow(`SELECT user_id FROM license_states WHERE tenant_id = 't' ORDER BY user_id LIMIT 1`).Scan(&first); err != nil || first != "B" {
		t.Fatalf("first in order %q, %v; want B", first, err)
	}
	if !testdb.Postgres() {
		return
	}
	var n int
	if err := db.db.QueryRow(`SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema()
		AND table_name = 'license_states' AND column_name IN ('tenant_id', 'user_id', 'sku_id', 'source') AND collation_name = 'C'`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d of 4 license_states key columns in collation C, %v", n, err)
	}
}
