package scim

import (
	"net/http"
	"strings"
)

// Limits on a filter, checked before the library parses it. Its parser
// recurses at every level of nesting, at a cost that grows faster than the
// depth, so that a URL of parentheses overflows the goroutine's stack and
// kills the process; and a long and/or chain becomes SQL deeper than SQLite
// accepts. The length and depth are those of Allot's Graph $filter.
const (
	maxFilterLength = 4096 // bytes
	maxFilterDepth  = 32   // nested parentheses and brackets; "not" takes parentheses
	maxFilterTerms  = 64   // comparisons and logical operators
)

// filterOps are the words that each make a term: the comparison operators
// and the logical ones.
var filterOps = map[string]bool{
	"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true, "lt": true, "ge": true, "le": true, "pr": true,
	"and": true, "or": true, "not": true,
}

// checkFilters checks every filter of the query, whichever one the library
// would take.
func checkFilters(r *http.Request) error {
	for _, f := range r.URL.Query()["filter"] {
		if err := checkFilter(f); err != nil {
			return err
		}
	}
	return nil
}

// checkFilter enforces the limits in one pass that treats a string's
// contents as data, as the parser does.
func checkFilter(f string) error {
	if len(f) > maxFilterLength {
		return badFilter("The filter is longer than %d bytes.", maxFilterLength)
	}
	depth, terms := 0, 0
	for i := 0; i < len(f); i++ {
		switch c := f[i]; {
		case c == '"':
			for i++; i < len(f) && f[i] != '"'; i++ {
				if f[i] == '\\' {
					i++
				}
			}
		case c == '(' || c == '[':
			if depth++; depth > maxFilterDepth {
				return badFilter("The filter nests deeper than %d levels.", maxFilterDepth)
			}
		case c == ')' || c == ']':
			// An unmatched closer must not earn extra depth later.
			depth = max(depth-1, 0)
		case isWordByte(c):
			j := i + 1
			for j < len(f) && isWordByte(f[j]) {
				j++
			}
			if filterOps[strings.ToLower(f[i:j])] {
				if terms++; terms > maxFilterTerms {
					return badFilter("The filter has more than %d terms (comparisons and logical operators).", maxFilterTerms)
				}
			}
			i = j - 1
		}
	}
	return nil
}

// isWordByte reports whether c may be part of an attribute path, an
// operator or a bare value, so that "userName" is not read as "or".
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == '_' || c == ':' || c == '$' || c >= 0x80
}
