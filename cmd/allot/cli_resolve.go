package main

// Resolution of what people type (a part number, a group's name, a UPN) to
// the ids the API takes. Everything a command names is resolved before it
// changes anything, so that a typo changes nothing.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
)

// cliFailure is an error of a command that the server did not phrase (an
// unknown product, an ambiguous group name): exit status 1.
type cliFailure struct{ msg string }

func (e cliFailure) Error() string { return e.msg }
func (e cliFailure) ExitCode() int { return 1 }

func failf(format string, args ...any) error { return cliFailure{fmt.Sprintf(format, args...)} }

func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// resolver looks names up on the server, fetching the catalog once.
type resolver struct {
	c   *apiClient
	cat *allot.Catalog
}

// catalog is the server's catalog, read once per command.
func (r *resolver) catalog(ctx context.Context) (*allot.Catalog, error) {
	if r.cat != nil {
		return r.cat, nil
	}
	var raw json.RawMessage
	if err := r.c.get(ctx, "/allot/v1/catalog", nil, &raw); err != nil {
		return nil, err
	}
	cat, err := catalog.Parse(strings.NewReader(string(raw)))
	if err != nil {
		return nil, failf("the server's catalog could not be read: %v", err)
	}
	r.cat = cat
	return cat, nil
}

// sku resolves a product given by part number (case-insensitive) or SKU id.
func (r *resolver) sku(ctx context.Context, s string) (*allot.SKU, error) {
	cat, err := r.catalog(ctx)
	if err != nil {
		return nil, err
	}
	if id, ok := allot.ParseID(s); ok {
		if sku := cat.SKUs[id]; sku != nil {
			return sku, nil
		}
	}
	for _, sku := range cat.SKUs {
		if strings.EqualFold(sku.PartNumber, s) {
			return sku, nil
		}
	}
	return nil, failf("unknown product %q: not a part number or SKU id in the catalog (`allot products` lists the subscribed ones)", s)
}

// plans resolves service plans of sku given by name or id.
func (r *resolver) plans(ctx context.Context, sku *allot.SKU, names []string) ([]string, error) {
	cat, err := r.catalog(ctx)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, n := range names {
		found := ""
		for _, pid := range sku.Plans {
			p := cat.Plans[pid]
			if strings.EqualFold(pid, n) || (p != nil && strings.EqualFold(p.Name, n)) {
				found = pid
				break
			}
		}
		if found == "" {
			var have []string
			for _, pid := range sku.Plans {
				if p := cat.Plans[pid]; p != nil {
					have = append(have, p.Name)
				}
			}
			sort.Strings(have)
			return nil, failf("product %s has no service plan %q; its plans are: %s", sku.PartNumber, n, strings.Join(have, ", "))
		}
		ids = append(ids, found)
	}
	return ids, nil
}

// partNumber names a SKU id for people, or returns the id if unknown.
func (r *resolver) partNumber(ctx context.Context, id string) string {
	if cat, err := r.catalog(ctx); err == nil {
		if sku := cat.SKUs[strings.ToLower(id)]; sku != nil {
			return sku.PartNumber
		}
	}
	return id
}

// readable replaces the SKU and plan ids in a server message with their
// names.
func (r *resolver) readable(ctx context.Context, msg string) string {
	cat, err := r.catalog(ctx)
	if err != nil {
		return msg
	}
	var pairs []string
	for id, sku := range cat.SKUs {
		pairs = append(pairs, id, sku.PartNumber)
	}
	for id, p := range cat.Plans {
		pairs = append(pairs, id, p.Name)
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

type groupRef struct {
	ID, Name string
}

// group resolves a group given by id or by display name; a name that
// several groups share must be given by id.
func (r *resolver) group(ctx context.Context, s string) (groupRef, error) {
	if allot.IsID(s) {
		var g struct{ ID, DisplayName string }
		err := r.c.get(ctx, "/v1.0/groups/"+url.PathEscape(s), url.Values{"$select": {"id,displayName"}}, &g)
		if isNotFound(err) {
			return groupRef{}, failf("unknown group %q: no group has this id", s)
		}
		if err != nil {
			return groupRef{}, err
		}
		return groupRef{g.ID, g.DisplayName}, nil
	}
	q := url.Values{
		"$filter": {"displayName eq '" + strings.ReplaceAll(s, "'", "''") + "'"},
		"$select": {"id,displayName"},
	}
	var found []groupRef
	err := r.c.list(ctx, "/v1.0/groups", q, func(raw json.RawMessage) error {
		var g struct{ ID, DisplayName string }
		if err := json.Unmarshal(raw, &g); err != nil {
			return err
		}
		found = append(found, groupRef{g.ID, g.DisplayName})
		return nil
	})
	if err != nil {
		return groupRef{}, err
	}
	switch len(found) {
	case 0:
		return groupRef{}, failf("unknown group %q: no group has this name or id", s)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, g := range found {
		ids[i] = g.ID
	}
	return groupRef{}, failf("%d groups are named %q; give one by id: %s", len(found), s, strings.Join(ids, ", "))
}

type userRef struct {
	ID, UPN string
}

// user resolves a user given by id or userPrincipalName.
func (r *resolver) user(ctx context.Context, s string) (userRef, error) {
	if !allot.IsID(s) && !strings.Contains(s, "@") {
		return userRef{}, usagef("user %q: give a user id or a userPrincipalName (name@domain)", s)
	}
	var u struct{ ID, UserPrincipalName string }
	err := r.c.get(ctx, "/v1.0/users/"+url.PathEscape(s), url.Values{"$select": {"id,userPrincipalName"}}, &u)
	if isNotFound(err) {
		return userRef{}, failf("unknown user %q", s)
	}
	if err != nil {
		return userRef{}, err
	}
	return userRef{u.ID, u.UserPrincipalName}, nil
}

func (r *resolver) groups(ctx context.Context, names []string) ([]groupRef, error) {
	return resolveAll(ctx, names, r.group, func(g groupRef) string { return g.ID })
}

func (r *resolver) users(ctx context.Context, names []string) ([]userRef, error) {
	return resolveAll(ctx, names, r.user, func(u userRef) string { return u.ID })
}

// resolveAll resolves each name, keeping the first of those that name the
// same object (an id and a name for one group, say).
func resolveAll[T any](ctx context.Context, names []string, resolve func(context.Context, string) (T, error), id func(T) string) ([]T, error) {
	out := make([]T, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		x, err := resolve(ctx, n)
		if err != nil {
			return nil, err
		}
		if !seen[id(x)] {
			seen[id(x)] = true
			out = append(out, x)
		}
	}
	return out, nil
}
