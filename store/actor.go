package store

import (
	"context"

	"github.com/allot-dev/allot"
)

// actor returns the tenant actor of ctx, or an error when there is none.
func actorOf(ctx context.Context) (allot.Actor, error) {
	a, ok := allot.ActorFromContext(ctx)
	if !ok || a.TenantID == "" {
		return a, allot.Errorf(allot.EFORBIDDEN, "Insufficient privileges to complete the operation.")
	}
	return a, nil
}

func actorName(ctx context.Context) string {
	a, _ := allot.ActorFromContext(ctx)
	switch {
	case a.Name != "":
		return a.Name
	case a.Operator:
		return "operator"
	}
	return "Allot group-based licensing"
}
