package store

import (
	"context"

	"github.com/allot-dev/allot"
)

// checkAddresses refuses addresses for object self when one looks like an
// address another object lists, or like another of addrs; the same address
// may be listed by several (docs/RULES.md decides who owns it).
func (s *DB) checkAddresses(ctx context.Context, tx *txn, tenantID, self string, addrs []string) error {
	claims := make([]nameClaim, 0, len(addrs))
	for _, a := range addrs {
		claims = append(claims, nameClaim{name: a, owner: self})
	}
	var first error
	err := s.checkClaims(ctx, tx, tenantID, addressNames, claims, func(_ nameClaim, err error) {
		if first == nil {
			first = err
		}
	})
	if err != nil {
		return err
	}
	return first
}

// setAddresses replaces the addresses an object lists.
func (s *DB) setAddresses(ctx context.Context, tx *txn, tenantID, owner, kind string, addrs []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM addresses WHERE tenant_id = ? AND owner_id = ?`, tenantID, owner); err != nil {
		return err
	}
	return insertAddresses(ctx, tx, addressRows(tenantID, owner, kind, addrs))
}

// addressRows are the rows of the addresses owner lists, one per key.
func addressRows(tenantID, owner, kind string, addrs []string) [][]any {
	var rows [][]any
	for _, a := range normalizeAll(addrs) {
		rows = append(rows, []any{tenantID, a, owner, kind, allot.IdentifierSkeleton(a)})
	}
	return rows
}

// insertAddresses adds addressRows, of any number of objects.
func insertAddresses(ctx context.Context, tx *txn, rows [][]any) error {
	return tx.insertRows(ctx, `INSERT INTO addresses (tenant_id, address, owner_id, owner_kind, skeleton) VALUES `, rows)
}

func normalizeAll(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if n := allot.NormalizeAddress(a); n != "" {
			out = append(out, n)
		}
	}
	return dedupe(out)
}
