package allot

import "strings"

// ParseID reads an object id: a GUID in its 36-character 8-4-4-4-12 form,
// in either case, returned in lower case, the spelling every id is stored
// and compared in. Braces, the 32-digit form and surrounding space are not
// ids: Graph refuses them too.
func ParseID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return "", false
			}
		}
	}
	return strings.ToLower(s), true
}

// IsID reports whether s is an object id as ParseID reads it.
func IsID(s string) bool {
	_, ok := ParseID(s)
	return ok
}
