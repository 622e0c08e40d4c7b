package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/allot-dev/allot"
)

// Names that people read to tell objects apart (userPrincipalName,
// mailNickname, proxy addresses) are stored in their IdentifierForm with
// their IdentifierSkeleton beside them (migration 10), and every write path
// refuses a name that looks like another object's name without being the
// same name (allot.IdentifierSkeleton, identity.go in the root package).

// nameColumns says where one kind of name is stored.
type nameColumns struct {
	prop     string // the property, in messages
	what     string // the name in a sentence
	table    string
	name     string // the stored name
	key      string // the unique comparison key; "" when the name need not be unique
	skeleton string
	owner    string // the id of the object holding the name
}

var (
	upnNames = nameColumns{prop: "userPrincipalName", what: "User principal name",
		table: "users", name: "upn", key: "upn_key", skeleton: "upn_skeleton", owner: "id"}
	nicknameNames = nameColumns{prop: "mailNickname", what: "Mail nickname",
		table: "dir_groups", name: "mail_nickname", skeleton: "mail_nickname_skeleton", owner: "id"}
	addressNames = nameColumns{prop: "proxyAddresses", what: "Proxy address",
		table: "addresses", name: "address", skeleton: "skeleton", owner: "owner_id"}
)

// nameClaim is a name an object is about to hold. where says which part of
// the request it comes from ("line 4"), for a request writing many.
type nameClaim struct {
	name, owner, where string
	line               int // of a CSV file, for the import's report
}

// storedName is a name held by an object.
type storedName struct {
	name, owner string
}

// lookalikes returns the tenant's names whose skeleton is one of skels,
// by skeleton.
func (s *DB) lookalikes(ctx context.Context, tx *txn, c nameColumns, tenantID string, skels []string) (map[string][]storedName, error) {
	out := map[string][]storedName{}
	if len(skels) == 0 {
		return out, nil
	}
	want := make(map[string]bool, len(skels))
	for _, k := range skels {
		want[k] = true
	}
	err := tx.each(ctx, `SELECT `+c.name+`, `+c.owner+`, `+c.skeleton+` FROM `+c.table+` WHERE tenant_id = ? AND `+c.skeleton+` IN (%s)`,
		slices.Compact(slices.Sorted(slices.Values(skels))), []any{tenantID}, func(r *sql.Rows) error {
			var n storedName
			var k string
			if err := r.Scan(&n.name, &n.owner, &k); err != nil {
				return err
			}
			out[k] = append(out[k], n)
			return nil
		})
	if err != nil {
		return nil, err
	}
	// Rows without a skeleton: non-ASCII names from before migration 10,
	// or written since by a replica still running the version before it.
	// They are few, so theirs is computed here rather than in SQL, which
	// cannot.
	rows, err := tx.Query(ctx, `SELECT `+c.name+`, `+c.owner+` FROM `+c.table+` WHERE tenant_id = ? AND `+c.skeleton+` = '' AND `+c.name+` <> ''`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n storedName
		if err := rows.Scan(&n.name, &n.owner); err != nil {
			return nil, err
		}
		if k := skeletonOf(c, n.name); want[k] {
			out[k] = append(out[k], n)
		}
	}
	return out, rows.Err()
}

// skeletonOf is the skeleton stored beside a name of kind c: an address
// is stored as its key, so its skeleton is that of the key.
func skeletonOf(c nameColumns, name string) string {
	if name == "" {
		return ""
	}
	if c.table == addressNames.table {
		return allot.IdentifierSkeleton(allot.NormalizeAddress(name))
	}
	return allot.IdentifierSkeleton(name)
}

// keyOf is the comparison key of a name of kind c.
func keyOf(c nameColumns, name string) string {
	if c.table == addressNames.table {
		return allot.NormalizeAddress(name)
	}
	return allot.IdentifierKey(name)
}

// checkClaims refuses, through fail, each claim whose name looks like
// another object's name without being the same name, whether the other is
// stored or claimed earlier in claims; and, for a unique name, each claim
// of a name another object holds. The objects' names as they are before
// the write are compared: a name that an object gives up in the same
// request still counts.
func (s *DB) checkClaims(ctx context.Context, tx *txn, tenantID string, c nameColumns, claims []nameClaim, fail func(nameClaim, error)) error {
	type seen struct {
		key string
		nameClaim
	}
	bySkel := map[string]seen{}
	var skels, ks []string
	for _, cl := range claims {
		if cl.name == "" {
			continue
		}
		k, sk := keyOf(c, cl.name), skeletonOf(c, cl.name)
		skels, ks = append(skels, sk), append(ks, k)
		prev, ok := bySkel[sk]
		switch {
		case !ok:
			bySkel[sk] = seen{k, cl}
		case prev.key != k:
			// Also two addresses of one object: whoever reads its list
			// could not tell them apart.
			where := prev.where
			if where == "" {
				where = "the same request"
			}
			fail(cl, confusable(c, cl.name, prev.name, where))
		case prev.owner != cl.owner && c.key != "":
			fail(cl, taken(c))
		}
	}
	held := map[string][]storedName{}
	if c.key != "" {
		err := tx.each(ctx, `SELECT `+c.name+`, `+c.owner+`, `+c.key+` FROM `+c.table+` WHERE tenant_id = ? AND `+c.key+` IN (%s)`,
			slices.Compact(slices.Sorted(slices.Values(ks))), []any{tenantID}, func(r *sql.Rows) error {
				var n storedName
				var k string
				err := r.Scan(&n.name, &n.owner, &k)
				held[k] = append(held[k], n)
				return err
			})
		if err != nil {
			return err
		}
	}
	alike, err := s.lookalikes(ctx, tx, c, tenantID, skels)
	if err != nil {
		return err
	}
	for _, cl := range claims {
		if cl.name == "" {
			continue
		}
		k := keyOf(c, cl.name)
		if c.key != "" && slices.ContainsFunc(held[k], func(n storedName) bool { return n.owner != cl.owner }) {
			fail(cl, taken(c))
			continue
		}
		for _, n := range alike[skeletonOf(c, cl.name)] {
			if n.owner == cl.owner {
				continue
			}
			if keyOf(c, n.name) != k {
				fail(cl, confusable(c, cl.name, n.name, ""))
				break
			}
			if c.key != "" {
				// The same name under a key written before normalisation.
				fail(cl, taken(c))
				break
			}
		}
	}
	return nil
}

// checkClaim is checkClaims for one name.
func (s *DB) checkClaim(ctx context.Context, tx *txn, tenantID string, c nameColumns, name, owner string) error {
	var first error
	err := s.checkClaims(ctx, tx, tenantID, c, []nameClaim{{name: name, owner: owner}}, func(_ nameClaim, err error) {
		if first == nil {
			first = err
		}
	})
	if err != nil {
		return err
	}
	return first
}

func taken(c nameColumns) error {
	return allot.Errorf(allot.ECONFLICT, "Another object with the same value for property %s already exists.", c.prop)
}

// confusable is the refusal of name, which looks like other: an existing
// name, or one written by the same request at where. The code points
// outside ASCII are named, since on screen the two look the same.
func confusable(c nameColumns, name, other, where string) error {
	with := fmt.Sprintf("the existing '%s'", other)
	if where != "" {
		with = fmt.Sprintf("'%s' (%s)", other, where)
	}
	hint := ""
	for _, n := range []string{name, other} {
		if d := allot.DescribeNonASCII(n); d != "" {
			hint += fmt.Sprintf(" '%s' contains %s.", n, d)
		}
	}
	return allot.Errorf(allot.ECONFLICT, "%s '%s' is confusable with %s: the two look alike and would be mistaken for each other.%s",
		c.what, name, with, hint)
}
