package allot

// GroupErrors counts the members of a group with license errors from it,
// and their errors by product and kind, at one moment: the admin center's
// home page reads it for the groups in error it lists.
type GroupErrors struct {
	Users  int              // members with an error from the group, each once
	Errors []GroupErrorKind // their errors by product and kind
}

// GroupErrorKind counts the members of a group with one kind of error on
// one product from it, as the group panel words a member's errors: a
// member's OtherViolation only repeats a real error of the group on
// another product, so it is counted only when the member has no other
// kind of error from the group.
type GroupErrorKind struct {
	SkuID string
	Error LicenseError
	// NoLocation: the members have no usage location of their own (set
	// for ProhibitedInUsageLocationViolation only, which the words tell
	// apart when the tenant has no default either).
	NoLocation bool
	Users      int
}
