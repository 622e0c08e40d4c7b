package store

import "github.com/allot-dev/allot"

// Services returns the store as every domain service, for the API, the
// admin center and SCIM. That it compiles is the check that the store
// implements each of them.
func (s *DB) Services() allot.Services {
	return allot.Services{
		Tenants: s, Tokens: s, Subscriptions: s, Users: s, Groups: s, Licenses: s,
		Audit: s, WaitingRoom: s, Cost: s, Policy: s, Preview: s, Accounts: s, Lifecycle: s,
		Deleted: s,
	}
}
