package csvio

// MaxChanges is how many changes a report lists one by one; the counts
// always cover all of them.
const MaxChanges = 1000

// Report is what an import did, or with DryRun what it would do. When
// Errors has any, nothing was applied.
type Report struct {
	DryRun         bool             `json:"dryRun"`
	Applied        bool             `json:"applied"`
	Users          Counts           `json:"users"`
	Groups         Counts           `json:"groups"`
	Memberships    MembershipCounts `json:"memberships"`
	Changes        []Change         `json:"changes"`
	ChangesOmitted int              `json:"changesOmitted"`
	Errors         Errors           `json:"-"`
}

// Counts are the users or groups of an import by outcome.
type Counts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// MembershipCounts are the memberships of an import by outcome.
type MembershipCounts struct {
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Unchanged int `json:"unchanged"`
}

// Change is one object an import creates, updates, adds or removes.
type Change struct {
	File   string   `json:"file,omitempty"` // empty for a membership removed by pruning
	Line   int      `json:"line,omitempty"`
	Object string   `json:"object"` // "user", "group" or "membership"
	Action string   `json:"action"` // "create", "update", "add" or "remove"
	Key    string   `json:"key"`    // userPrincipalName, or the group's mailNickname
	Member string   `json:"member,omitempty"`
	Fields []string `json:"fields,omitempty"` // the properties an update changes
}

// AddChange records c, listing it while fewer than MaxChanges are.
func (r *Report) AddChange(c Change) {
	if len(r.Changes) >= MaxChanges {
		r.ChangesOmitted++
		return
	}
	r.Changes = append(r.Changes, c)
}
