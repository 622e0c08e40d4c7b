package store_test

// Helpers that assign licenses to a group or a user and create a group with
// addresses, failing the test on any error. (The rv prefix is historical;
// other test files use these helpers by that name.)

import (
	"github.com/allot-dev/allot"
)

func rvAssign(e *env, gid string, add []allot.AssignedLicense, remove ...string) {
	e.t.Helper()
	if remove == nil {
		remove = []string{}
	}
	if add == nil {
		add = []allot.AssignedLicense{}
	}
	_, err := e.db.AssignGroupLicense(e.ctx, gid, add, remove)
	e.must(err)
}

func rvDirect(e *env, uid string, add []allot.AssignedLicense, remove ...string) {
	e.t.Helper()
	_, err := e.db.AssignUserLicense(e.ctx, uid, add, remove)
	e.must(err)
}

func rvGroupWithAddr(e *env, name string, addrs ...string) *allot.Group {
	e.t.Helper()
	g, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{DisplayName: name, MailNickname: name, SecurityEnabled: true, ProxyAddresses: addrs})
	e.must(err)
	return g
}
