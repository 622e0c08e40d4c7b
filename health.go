package allot

import "context"

// Pinger is a dependency whose health a readiness probe can check: the
// store implements it by asking the database to answer. The API's
// GET /readyz answers 503 while Ping fails (api.Config.Ready).
type Pinger interface {
	// Ping returns nil when the dependency answers within ctx's deadline.
	Ping(ctx context.Context) error
}
