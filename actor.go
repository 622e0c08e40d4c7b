package allot

import "strings"

// Kinds of actor in the audit log. The name of a token or account is free
// text chosen by whoever made it ("demo LicenseAdministrator"), so the log
// shows beside it what cannot be chosen: the kind, the id and the role.
const (
	ActorToken    = "token"    // an API token of the tenant; ActorID is the token's id
	ActorAccount  = "account"  // an admin center account; ActorID is the account's id
	ActorOperator = "operator" // the server's operator
	ActorSystem   = "system"   // Allot itself: processing, or a command run on the server
	ActorUnknown  = "unknown"  // an entry written before kinds were recorded
)

// accountPrefix marks the TokenID of an actor signed in with an account.
const accountPrefix = "account:"

// Kind is the kind of actor a is (ActorToken, ActorAccount, ActorOperator
// or ActorSystem).
func (a Actor) Kind() string {
	switch {
	case a.Operator:
		return ActorOperator
	case strings.HasPrefix(a.TokenID, accountPrefix):
		return ActorAccount
	case a.TokenID != "":
		return ActorToken
	}
	return ActorSystem
}

// ID is the id of a's token or account; empty for the operator and the system.
func (a Actor) ID() string {
	switch a.Kind() {
	case ActorAccount:
		return strings.TrimPrefix(a.TokenID, accountPrefix)
	case ActorToken:
		return a.TokenID
	}
	return ""
}
