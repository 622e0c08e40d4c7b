package store

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(timeLayout, s)
	return t
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// strList reads a JSON array of strings. Processing reads one or two per
// state and per user, so the shapes Allot writes are split directly
// instead of through encoding/json.
func strList(s string) []string {
	if out, ok := splitPlainList(s); ok {
		return out
	}
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	if out == nil {
		out = []string{}
	}
	return out
}

// splitPlainList reads ["a","b"] without spaces or escapes, where every
// quote delimits a string; ok is false for any other text.
func splitPlainList(s string) (out []string, ok bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	for i := range len(s) {
		if c := s[i]; c <= ' ' || c >= 0x80 || c == '\\' {
			return nil, false // escapes, spacing, UTF-8: encoding/json decides
		}
	}
	out = []string{}
	body := s[1 : len(s)-1]
	for body != "" {
		end := strings.IndexByte(body[1:], '"')
		if body[0] != '"' || end < 0 {
			return nil, false
		}
		out = append(out, body[1:1+end])
		body = body[2+end:]
		if body != "" {
			if body[0] != ',' || len(body) == 1 {
				return nil, false
			}
			body = body[1:]
		}
	}
	return out, true
}

// statesJSON is the audit's view of states. Processing writes two per
// user, so it is built directly: encoding/json was 2% of a large group's
// processing. The bytes are what encoding/json writes for the same struct.
func statesJSON(states []allot.LicenseState) string {
	b := make([]byte, 0, 2+len(states)*160)
	b = append(b, '[')
	for i, s := range states {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"skuId":`...)
		b = appendJSONString(b, s.SkuID)
		if s.Source != "" {
			b = append(b, `,"assignedByGroup":`...)
			b = appendJSONString(b, s.Source)
		}
		b = append(b, `,"state":`...)
		b = appendJSONString(b, s.State)
		b = append(b, `,"error":`...)
		b = appendJSONString(b, string(s.Error))
		b = append(b, '}')
	}
	return string(append(b, ']'))
}

// listJSON is toJSON for a list of strings, built directly for the same
// reason as statesJSON.
func listJSON(xs []string) string {
	if xs == nil {
		return "null"
	}
	b := make([]byte, 0, 2+len(xs)*40)
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, x)
	}
	return string(append(b, ']'))
}

// appendJSONString appends s as encoding/json quotes it: directly when
// nothing in it needs escaping, else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// dedupe keeps the first of each value, in order. Where the order is the
// caller's (users evaluated or queued in order, groups assigned in order)
// slices.Compact after a sort would not do.
func dedupe(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
