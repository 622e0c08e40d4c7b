package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/allot-dev/allot"
)

// What the SCIM service provider (package scim) needs beyond allot.Service:
// the externalId an identity provider sets, which Allot's model has no
// field for, and membership look-ups by id that stay cheap for groups of
// any size. Every method is scoped to the caller's tenant.

// MaxExternalIDLength bounds an externalId; identity providers send GUIDs
// or short opaque strings.
const MaxExternalIDLength = 256

// objectTable is the table of a SCIM resource kind.
func objectTable(kind string) (string, error) {
	switch kind {
	case allot.MemberUser:
		return "users", nil
	case allot.MemberGroup:
		return "dir_groups", nil
	}
	return "", allot.Errorf(allot.EINVALID, "Unknown object kind '%s'.", kind)
}

// SCIMExternalIDs returns the externalId of each of ids that has one.
func (s *DB) SCIMExternalIDs(ctx context.Context, ids []string) (map[string]string, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = s.readTx(ctx, func(tx *txn) error {
		return tx.each(ctx, `SELECT id, external_id FROM scim_external_ids WHERE tenant_id = ? AND id IN (%s)`, lowerIDs(ids), []any{a.TenantID}, func(rows *sql.Rows) error {
			var id, ext string
			if err := rows.Scan(&id, &ext); err != nil {
				return err
			}
			out[id] = ext
			return nil
		})
	})
	return out, err
}

// SetSCIMExternalID sets the externalId of a user or group (kind
// allot.MemberUser or allot.MemberGroup); an empty one removes it, also
// once the object is gone.
func (s *DB) SetSCIMExternalID(ctx context.Context, kind, id, externalID string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	table, err := objectTable(kind)
	if err != nil {
		return err
	}
	if len(externalID) > MaxExternalIDLength || strings.ContainsRune(externalID, 0) || !utf8.ValidString(externalID) {
		return allot.Errorf(allot.EINVALID, "externalId must be valid text of at most %d bytes.", MaxExternalIDLength)
	}
	id = strings.ToLower(id)
	return s.tx(ctx, func(tx *txn) error {
		// Removing needs no object: it also follows the object's deletion,
		// so that its row goes with it.
		if externalID != "" {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ? AND id = ?`, a.TenantID, id).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return notFound(id)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM scim_external_ids WHERE tenant_id = ? AND id = ?`, a.TenantID, id); err != nil || externalID == "" {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO scim_external_ids (tenant_id, id, kind, external_id) VALUES (?, ?, ?, ?)`, a.TenantID, id, kind, externalID)
		return err
	})
}

// SCIMFindExternalID returns the ids of the existing users or groups whose
// externalId is externalID (compared exactly, as SCIM's caseExact says).
func (s *DB) SCIMFindExternalID(ctx context.Context, kind, externalID string) ([]string, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	table, err := objectTable(kind)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) ([]string, error) {
		return tx.queryIDs(ctx, `SELECT e.id FROM scim_external_ids e JOIN `+table+` o ON o.tenant_id = e.tenant_id AND o.id = e.id
			WHERE e.tenant_id = ? AND e.kind = ? AND e.external_id = ? ORDER BY e.id`, a.TenantID, kind, externalID)
	})
}

// SCIMObjectKinds returns, for each of ids that names a user or group of
// the tenant, its kind (allot.MemberUser or allot.MemberGroup), so that a
// request naming many members can be checked whole before any change.
func (s *DB) SCIMObjectKinds(ctx context.Context, ids []string) (map[string]string, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	lower := lowerIDs(ids)
	err = s.readTx(ctx, func(tx *txn) error {
		for _, kind := range []string{allot.MemberUser, allot.MemberGroup} {
			table, _ := objectTable(kind)
			found, err := tx.idSet(ctx, `SELECT id FROM `+table+` WHERE tenant_id = ? AND id IN (%s)`, lower, a.TenantID)
			if err != nil {
				return err
			}
			for id := range found {
				out[id] = kind
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SCIMMembersAmong returns which of ids are direct members of the group.
func (s *DB) SCIMMembersAmong(ctx context.Context, groupID string, ids []string) (map[string]bool, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (map[string]bool, error) {
		return tx.idSet(ctx, `SELECT member_id FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_id IN (%s)`, lowerIDs(ids),
			a.TenantID, strings.ToLower(groupID))
	})
}

// SCIMGroupsWithMember returns the ids of the groups that memberID is a
// direct member of, for the filter members[value eq "…"].
func (s *DB) SCIMGroupsWithMember(ctx context.Context, memberID string) ([]string, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) ([]string, error) {
		return tx.queryIDs(ctx, `SELECT group_id FROM memberships WHERE tenant_id = ? AND member_id = ? ORDER BY group_id`, a.TenantID, strings.ToLower(memberID))
	})
}

func lowerIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" && !strings.ContainsRune(id, 0) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
