package api

// Graph's deleted items (docs/DELETED-ITEMS.md): GET
// /directory/deletedItems/microsoft.graph.user and .group list deleted
// users and groups with deletedDateTime, in the shape of the live objects;
// an item is read, restored (200 with the restored object) or deleted
// permanently by id.

import (
	"net/http"
	"slices"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// A deleted object has no licenses or plans: assignedPlans, which reads
// the live user, is not offered.
var (
	deletedUserSelect  = append(slices.DeleteFunc(slices.Clone(userSelect), func(p string) bool { return p == "assignedPlans" }), "deletedDateTime")
	deletedUsersQuery  = odata.QuerySpec{Select: deletedUserSelect, Paging: true, Count: true, Search: true, TypeName: "microsoft.graph.user"}
	deletedGroupsQuery = odata.QuerySpec{Select: append(slices.Clone(groupSelect), "deletedDateTime"), Paging: true, Count: true, Search: true,
		TypeName: "microsoft.graph.group"}
	deletedItemQuery = odata.QuerySpec{Select: append(slices.Clone(deletedUserSelect), groupSelect...), TypeName: "microsoft.graph.directoryObject"}
)

// deletedView is a deleted item as Graph shows it: the user or group with
// its deletedDateTime, and Allot's annotation of when it is purged.
func (s *server) deletedView(r *http.Request, d *allot.DeletedItem, sel []string) (object, error) {
	var v object
	if d.User != nil {
		var err error
		if v, err = s.userView(r.Context(), d.User, onlyOf(sel, deletedUserSelect)); err != nil {
			return nil, err
		}
		v["@odata.type"] = "#microsoft.graph.user"
	} else {
		v = groupView(d.Group, onlyOf(sel, groupSelect))
		v["@odata.type"] = "#microsoft.graph.group"
	}
	if sel == nil || slices.Contains(sel, "deletedDateTime") {
		v["deletedDateTime"] = jsonTime(d.DeletedAt)
	}
	v["@allot.purgeDateTime"] = jsonTime(d.PurgeAt)
	return v, nil
}

// onlyOf keeps the names of sel that allowed knows (a directoryObject
// $select may name properties of either type), keeping nil as nil.
func onlyOf(sel, allowed []string) []string {
	if sel == nil {
		return nil
	}
	out := []string{}
	for _, p := range sel {
		if slices.Contains(allowed, p) {
			out = append(out, p)
		}
	}
	return out
}

// listDeleted lists deleted users or groups.
func (s *server) listDeleted(kind string) handlerFunc {
	spec, set := deletedUsersQuery, "directory/deletedItems/microsoft.graph.user"
	if kind == allot.MemberGroup {
		spec, set = deletedGroupsQuery, "directory/deletedItems/microsoft.graph.group"
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		q, opt, err := parseList(r, spec)
		if err != nil {
			return err
		}
		page, err := s.svc.Deleted.ListDeletedItems(r.Context(), kind, opt)
		if err != nil {
			return err
		}
		items := make([]any, 0, len(page.Items))
		for i := range page.Items {
			v, err := s.deletedView(r, &page.Items[i], q.Select)
			if err != nil {
				return err
			}
			delete(v, "@odata.type") // the collection's type says it
			items = append(items, v)
		}
		s.writeCollection(w, r, s.metadata(r, set, q.Select), items, page.Count, q, page.NextCursor)
		return nil
	}
}

func (s *server) getDeleted(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(r.URL.Query(), deletedItemQuery)
	if err != nil {
		return err
	}
	id, err := pathGUID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.svc.Deleted.DeletedItem(r.Context(), id)
	if err != nil {
		return err
	}
	v, err := s.deletedView(r, d, q.Select)
	if err != nil {
		return err
	}
	v["@odata.context"] = s.metadata(r, "directoryObjects/$entity", nil)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deletedForChange reads the item a restore or a permanent delete names
// and checks the permission its kind needs: deleting a user needs
// PermManageUsers, a group PermManageGroups (the route asks for the
// latter, which every role with the former has).
func (s *server) deletedForChange(r *http.Request) (*allot.DeletedItem, error) {
	id, err := noQueryID(r, "id")
	if err != nil {
		return nil, err
	}
	d, err := s.svc.Deleted.DeletedItem(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if d.User != nil {
		if err := can(r, allot.PermManageUsers); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// restoreDeleted answers 200 with the restored object, as Graph does.
// Its licenses come back through processing, so they are not in the
// answer yet.
func (s *server) restoreDeleted(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deletedForChange(r)
	if err != nil {
		return err
	}
	if _, err := s.svc.Deleted.RestoreDeletedItem(r.Context(), d.ID); err != nil {
		return err
	}
	var v object
	if d.User != nil {
		u, err := s.svc.Users.User(r.Context(), d.ID)
		if err != nil {
			return err
		}
		if v, err = s.userView(r.Context(), u, nil); err != nil {
			return err
		}
		v["@odata.type"] = "#microsoft.graph.user"
	} else {
		g, err := s.svc.Groups.Group(r.Context(), d.ID)
		if err != nil {
			return err
		}
		v = groupView(g, nil)
		v["@odata.type"] = "#microsoft.graph.group"
	}
	v["@odata.context"] = s.metadata(r, "directoryObjects/$entity", nil)
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *server) purgeDeleted(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deletedForChange(r)
	if err != nil {
		return err
	}
	if err := s.svc.Deleted.PurgeDeletedItem(r.Context(), d.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
