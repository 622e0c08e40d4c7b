package web

// Deleted users and Deleted groups (docs/DELETED-ITEMS.md): what was
// deleted in the last 30 days, with a Restore button and a Delete
// permanently button that asks first. Only roles that may delete the
// object see the buttons; every POST redirects back to the list.

import (
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// deletedKind is what differs between the two pages.
type deletedKind struct {
	kind  string // allot.MemberUser or MemberGroup
	path  string // the list's path
	title string // the page's title
	noun  string // "user" or "group"
	perm  allot.Permission
	nav   string
}

var (
	deletedUsersKind = deletedKind{kind: allot.MemberUser, path: "/users/deleted", title: "Deleted users", noun: "user",
		perm: allot.PermManageUsers, nav: "deleted-users"}
	deletedGroupsKind = deletedKind{kind: allot.MemberGroup, path: "/groups/deleted", title: "Deleted groups", noun: "group",
		perm: allot.PermManageGroups, nav: "deleted-groups"}
)

type deletedData struct {
	Title     string
	Path      string
	Noun      string
	NameLabel string // "Username" or "Mail nickname"
	Query     string
	Items     []deletedRow
	Count     int
	Next      string
	CanChange bool // the role may restore and purge these
	Confirm   *confirmData
}

type deletedRow struct {
	ID, DisplayName, Name string
	Deleted, PurgeOn      time.Time
	DaysLeft              int
}

func (k deletedKind) list(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request) error { return s.renderDeleted(w, r, k, nil) }
}

func (s *server) renderDeleted(w http.ResponseWriter, r *http.Request, k deletedKind, confirm *confirmData) error {
	q := r.URL.Query()
	a, _ := allot.ActorFromContext(r.Context())
	d := deletedData{Title: k.title, Path: k.path, Noun: k.noun, NameLabel: "Username", Query: strings.TrimSpace(q.Get("q")),
		CanChange: a.Role.Can(k.perm), Confirm: confirm}
	if k.kind == allot.MemberGroup {
		d.NameLabel = "Mail nickname"
	}
	page, err := s.svc.Deleted.ListDeletedItems(r.Context(), k.kind, allot.ListOptions{Search: d.Query, Top: 100, After: q.Get("after"), Count: true})
	if err != nil {
		return err
	}
	d.Count = page.Count
	now := s.now()
	for _, it := range page.Items {
		row := deletedRow{ID: it.ID, Deleted: it.DeletedAt, PurgeOn: it.PurgeAt, DaysLeft: max(0, int(math.Ceil(it.PurgeAt.Sub(now).Hours()/24)))}
		if it.User != nil {
			row.DisplayName, row.Name = it.User.DisplayName, it.User.UserPrincipalName
		} else {
			row.DisplayName, row.Name = it.Group.DisplayName, it.Group.MailNickname
		}
		d.Items = append(d.Items, row)
	}
	if page.NextCursor != "" {
		d.Next = k.path + "?" + url.Values{"q": {d.Query}, "after": {page.NextCursor}}.Encode()
	}
	s.render(w, r, http.StatusOK, "deleted", s.newView(w, r, k.title, k.nav, d))
	return nil
}

// item reads the deleted item of the path, which must be of the page's
// kind: a group's id under Deleted users is not found.
func (k deletedKind) item(s *server, r *http.Request) (*allot.DeletedItem, error) {
	id, ok := allot.ParseID(r.PathValue("id"))
	if !ok {
		return nil, allot.Errorf(allot.ENOTFOUND, "no such deleted item")
	}
	d, err := s.svc.Deleted.DeletedItem(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if d.Kind != k.kind {
		return nil, allot.Errorf(allot.ENOTFOUND, "no such deleted %s", k.noun)
	}
	return d, nil
}

func itemName(d *allot.DeletedItem) string {
	if d.User != nil {
		return d.User.DisplayName + " (" + d.User.UserPrincipalName + ")"
	}
	return d.Group.DisplayName
}

// restore brings the item back and says what happens next; a refusal
// (its name is taken) comes back as the flash, with nothing changed.
func (k deletedKind) restore(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		d, err := k.item(s, r)
		if allot.ErrorCode(err) == allot.ENOTFOUND {
			return s.redirect(w, r, k.path, flash{Kind: "error", Text: "Nothing was restored: that " + k.noun + " is no longer in deleted items."})
		} else if err != nil {
			return err
		}
		if _, err := s.svc.Deleted.RestoreDeletedItem(r.Context(), d.ID); err != nil {
			switch allot.ErrorCode(err) {
			case allot.ECONFLICT, allot.EINVALID, allot.ENOTFOUND:
				return s.redirect(w, r, k.path, flash{Kind: "error", Text: plainMessage(err)})
			}
			return err
		}
		text := "Restored " + itemName(d) + "."
		link := "/groups/" + d.ID
		if d.User != nil {
			text += " Its licenses and group memberships are being applied again; if its seats were taken meanwhile, it waits for one."
			link = "/users/" + d.ID
		} else {
			text += " Its members that still exist are back in it."
		}
		return s.redirect(w, r, link, flash{Kind: "success", Text: text})
	}
}

// purgeConfirm is the dialog before an item is deleted for good.
func (k deletedKind) purgeConfirm(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		d, err := k.item(s, r)
		if err != nil {
			return err
		}
		return s.renderDeleted(w, r, k, &confirmData{Title: "Delete " + k.noun + " permanently",
			Text:    "This " + k.noun + " will be deleted permanently and can no longer be restored. This cannot be undone.",
			Items:   []string{itemName(d)},
			Action:  k.path + "/" + d.ID + "/purge",
			Confirm: "Delete permanently", Cancel: k.path, CancelLabel: "Cancel", ConfirmField: "confirm", Danger: true})
	}
}

// purge deletes the item for good; without confirm=1 it sends to the
// dialog.
func (k deletedKind) purge(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.PostForm.Get("confirm") != "1" {
			return redirectTo(w, r, k.path+"/"+url.PathEscape(r.PathValue("id"))+"/purge")
		}
		d, err := k.item(s, r)
		if allot.ErrorCode(err) == allot.ENOTFOUND {
			return s.redirect(w, r, k.path, flash{Kind: "info", Text: "That " + k.noun + " is no longer in deleted items."})
		} else if err != nil {
			return err
		}
		if err := s.svc.Deleted.PurgeDeletedItem(r.Context(), d.ID); err != nil {
			return err
		}
		return s.redirect(w, r, k.path, flash{Kind: "success", Text: "Deleted " + itemName(d) + " permanently."})
	}
}
