package allot

import (
	"context"
	"time"
)

// WaitingRoomService lists who waits for seats (docs/WAITING-ROOM-COST-POLICY.md).
type WaitingRoomService interface {
	// WaitingRoom lists the users in CountViolation for a subscribed SKU in
	// the order they will get seats, skipping skip and returning at most
	// top (PermRead). ENOTFOUND when the tenant has no subscription to it.
	WaitingRoom(ctx context.Context, skuID string, skip, top int) (*WaitingRoom, error)
}

// WaitingRoom is a page of a SKU's waiting room (docs/RULES.md §2.3.4).
type WaitingRoom struct {
	SkuID     string
	Total     int // users waiting, all pages
	Available int // seats free now; non-zero only until processing catches up
	Users     []WaitingUser
}

// WaitingUser is one place in a waiting room.
type WaitingUser struct {
	Position          int // 1 gets the next free seat
	UserID            string
	UserPrincipalName string
	DisplayName       string
	Direct            bool       // waits through a direct assignment
	Groups            []GroupRef // groups whose assignment waits for the seat
	WaitingSince      time.Time
}

// GroupRef names a group.
type GroupRef struct {
	ID          string
	DisplayName string
}
