package allot

// Expr is a parsed OData $filter expression. The API parses it; the store
// translates it to SQL, so filters run in the database and pages stay cheap.
type Expr interface{ isExpr() }

// Compare is "Property Op Value" or startswith(Property, Value).
// Op is "eq", "ne", "ge", "gt", "le", "lt", "in" or "startswith". Value is
// a string, a bool, a time.Time, nil (null), or for "in" a []any of
// strings. Inside Any, Property is "Collection/property", or Collection
// itself for an element of a collection of strings.
type Compare struct {
	Property string
	Op       string
	Value    any
}

// And, Or and Not combine expressions.
type (
	And struct{ Left, Right Expr }
	Or  struct{ Left, Right Expr }
	Not struct{ X Expr }
)

// AnyLicense is assignedLicenses/any(x:x/skuId eq SkuID).
type AnyLicense struct{ SkuID string }

// Any is Collection/any(v: Cond): some element of the collection satisfies
// Cond, whose properties are the element's ("Collection/property").
type Any struct {
	Collection string
	Cond       Expr
}

// LicenseCount is assignedLicenses/$count eq|ne 0 (Op "eq" or "ne", N 0).
type LicenseCount struct {
	Op string
	N  int
}

func (*Compare) isExpr()      {}
func (*And) isExpr()          {}
func (*Or) isExpr()           {}
func (*Not) isExpr()          {}
func (*AnyLicense) isExpr()   {}
func (*Any) isExpr()          {}
func (*LicenseCount) isExpr() {}

// MaxPageSize is Graph's largest $top.
const MaxPageSize = 999

// DefaultPageSize is Graph's page size when $top is absent.
const DefaultPageSize = 100

// ListOptions select and page a collection. After is the opaque cursor from
// the previous page's NextCursor; the API wraps it in $skiptoken.
type ListOptions struct {
	Filter        Expr
	Top           int
	After         string
	OrderBy       string // "" (by id) or the property to sort by: displayName, or userPrincipalName for users
	Descending    bool
	Count         bool
	ErrorsOnly    bool   // members with a license error from the group (membersWithLicenseErrors)
	SuccessOnly   bool   // members whose states from the group are all Active
	MemberID      string // members: only this user or group (members/{id})
	Search        string
	WithLicensing bool // fill AssignedLicenses and States (costly; only when selected)
}

// Page is one page of a collection.
type Page[T any] struct {
	Items      []T
	NextCursor string // empty on the last page
	Count      int    // total matching, when ListOptions.Count
}
