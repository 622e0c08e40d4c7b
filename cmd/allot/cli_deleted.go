package main

// allot deleted: the tenant's deleted users and groups, through Graph's
// /v1.0/directory/deletedItems (docs/DELETED-ITEMS.md). Listing needs any
// role; restoring and purging need the role that may delete the object.

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// deletedJSON is a deleted user or group as the API lists it.
type deletedJSON struct {
	ODataType         string `json:"@odata.type"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	MailNickname      string `json:"mailNickname"`
	DeletedDateTime   string `json:"deletedDateTime"`
	PurgeDateTime     string `json:"@allot.purgeDateTime"`
}

// name is the userPrincipalName of a user, the mailNickname of a group.
func (d deletedJSON) name() string {
	if d.UserPrincipalName != "" {
		return d.UserPrincipalName
	}
	return d.MailNickname
}

// daysLeft is how many days, rounded up, remain before the item is
// purged: 30 for one deleted a moment ago, 1 on its last day.
func (d deletedJSON) daysLeft(now time.Time) any {
	purge, err := time.Parse(time.RFC3339Nano, d.PurgeDateTime)
	if err != nil {
		return nil
	}
	return max(0, int(math.Ceil(purge.Sub(now).Hours()/24)))
}

func deletedTable() *table {
	return newTable("id", "ID", "name", "NAME", "displayName", "DISPLAY NAME", "deletedDateTime", "DELETED",
		"purgeDateTime", "PURGED ON", "daysLeft", "DAYS LEFT")
}

func (d deletedJSON) row(now time.Time) []any {
	return []any{d.ID, d.name(), d.DisplayName, d.DeletedDateTime, d.PurgeDateTime, d.daysLeft(now)}
}

// deletedKinds maps the list command's argument to Graph's cast.
var deletedKinds = map[string]string{"users": "microsoft.graph.user", "groups": "microsoft.graph.group"}

func defineDeletedList(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		kind := "users"
		if len(pos) > 1 {
			return usagef("unexpected argument %q", pos[1])
		}
		if len(pos) == 1 {
			kind = strings.ToLower(strings.TrimSpace(pos[0]))
		}
		cast, ok := deletedKinds[kind]
		if !ok {
			return usagef("deleted list takes users or groups, not %q", pos[0])
		}
		t := deletedTable()
		now := time.Now()
		err := e.c.list(ctx, "/v1.0/directory/deletedItems/"+cast, url.Values{"$top": {"999"}}, func(raw json.RawMessage) error {
			var d deletedJSON
			if err := json.Unmarshal(raw, &d); err != nil {
				return err
			}
			t.add(d.row(now)...)
			return nil
		})
		if err != nil {
			return err
		}
		return t.write(e.stdout, e.format)
	}
}

// deletedArg resolves the command's one argument: an id, or the
// userPrincipalName of a deleted user (looked up among the deleted users,
// since a live user may hold the same name).
func deletedArg(ctx context.Context, e *cliEnv, cmd string, pos []string) (string, error) {
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return "", usagef("%s takes one deleted user's or group's id, or a deleted user's userPrincipalName (see 'allot deleted list')", cmd)
	}
	arg := strings.TrimSpace(pos[0])
	if id, ok := allot.ParseID(arg); ok {
		return id, nil
	}
	if !strings.Contains(arg, "@") {
		return "", usagef("%q is neither an id nor a userPrincipalName", arg)
	}
	var found []string
	err := e.c.list(ctx, "/v1.0/directory/deletedItems/microsoft.graph.user", url.Values{"$top": {"999"}, "$select": {"id,userPrincipalName"}}, func(raw json.RawMessage) error {
		var d deletedJSON
		if err := json.Unmarshal(raw, &d); err != nil {
			return err
		}
		if strings.EqualFold(d.UserPrincipalName, arg) {
			found = append(found, d.ID)
		}
		return nil
	})
	switch {
	case err != nil:
		return "", err
	case len(found) == 0:
		return "", &apiError{Code: "Request_ResourceNotFound", Message: "No deleted user has the userPrincipalName " + arg + "."}
	case len(found) > 1:
		return "", &apiError{Code: "Request_BadRequest", Message: "Several deleted users had the userPrincipalName " + arg + ": name one by id (" + strings.Join(found, ", ") + ")."}
	}
	return found[0], nil
}

func defineDeletedRestore(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		id, err := deletedArg(ctx, e, "deleted restore", pos)
		if err != nil {
			return err
		}
		var d deletedJSON
		if err := e.c.post(ctx, "/v1.0/directory/deletedItems/"+url.PathEscape(id)+"/restore", map[string]any{}, &d); err != nil {
			return err
		}
		t := newTable("id", "ID", "type", "TYPE", "name", "NAME", "displayName", "DISPLAY NAME", "restored", "RESTORED")
		t.single = true
		t.add(d.ID, strings.TrimPrefix(d.ODataType, "#microsoft.graph."), d.name(), d.DisplayName, true)
		return t.write(e.stdout, e.format)
	}
}

func defineDeletedPurge(fs *flag.FlagSet, e *cliEnv) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		id, err := deletedArg(ctx, e, "deleted purge", pos)
		if err != nil {
			return err
		}
		if err := e.c.delete(ctx, "/v1.0/directory/deletedItems/"+url.PathEscape(id)); err != nil {
			return err
		}
		t := newTable("id", "ID", "purged", "PURGED")
		t.single = true
		t.add(id, true)
		return t.write(e.stdout, e.format)
	}
}
