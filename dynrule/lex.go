package dynrule

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tString // a quoted string; text is its value, unescaped
	tWord   // anything unquoted: a property, a bare value, an operator without its hyphen
	tOp     // -name; text is the name without the hyphen
)

type token struct {
	kind       tokKind
	start, end int // byte offsets in the rule
	text       string
}

// describe names a token in error messages.
func (t token) describe(src string) string {
	switch t.kind {
	case tEOF:
		return "the end of the rule"
	case tString:
		return "the string " + clip(src[t.start:t.end])
	case tOp:
		return "-" + t.text
	}
	return clip(src[t.start:t.end])
}

// clip shortens s for a message.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	r := []rune(s)
	return string(r[:37]) + "..."
}

func isDash(r rune) bool { return r == '-' || r == '\u2013' || r == '\u2014' }

func isDelim(r rune) bool {
	switch r {
	case '(', ')', '[', ']', ',', '"', '\'':
		return true
	}
	return unicode.IsSpace(r)
}

func isLetter(r rune) bool { return r < utf8.RuneSelf && ('a' <= r|0x20 && r|0x20 <= 'z') }

// lex splits src into tokens, ending with tEOF.
func lex(src string) ([]token, *Error) {
	if !utf8.ValidString(src) {
		for i, r := range src {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(src[i:]); size == 1 {
					return nil, errAt(src, i, "invalid UTF-8")
				}
			}
		}
	}
	var toks []token
	i := 0
	for i < len(src) {
		r, size := utf8.DecodeRuneInString(src[i:])
		if unicode.IsSpace(r) {
			i += size
			continue
		}
		start := i
		switch r {
		case '(':
			toks = append(toks, token{kind: tLParen, start: i, end: i + 1})
			i++
		case ')':
			toks = append(toks, token{kind: tRParen, start: i, end: i + 1})
			i++
		case '[':
			toks = append(toks, token{kind: tLBrack, start: i, end: i + 1})
			i++
		case ']':
			toks = append(toks, token{kind: tRBrack, start: i, end: i + 1})
			i++
		case ',':
			toks = append(toks, token{kind: tComma, start: i, end: i + 1})
			i++
		case '"':
			v, end, ok := lexDouble(src, i+1)
			if !ok {
				return nil, errAt(src, start, "unterminated string: a closing \" is missing")
			}
			toks = append(toks, token{kind: tString, start: start, end: end, text: v})
			i = end
		case '\'':
			v, end, ok := lexSingle(src, i+1)
			if !ok {
				return nil, errAt(src, start, "unterminated string: a closing ' is missing")
			}
			toks = append(toks, token{kind: tString, start: start, end: end, text: v})
			i = end
		default:
			if isDash(r) && i+size < len(src) && isLetter(rune(src[i+size])) {
				j := i + size
				for j < len(src) && isLetter(rune(src[j])) {
					j++
				}
				toks = append(toks, token{kind: tOp, start: start, end: j, text: src[i+size : j]})
				i = j
				continue
			}
			text, j := lexWord(src, i)
			toks = append(toks, token{kind: tWord, start: start, end: j, text: text})
			i = j
		}
	}
	return append(toks, token{kind: tEOF, start: len(src), end: len(src)}), nil
}

// lexWord reads an unquoted word from i, up to a space or delimiter; a
// backtick makes the next character part of the word, as in `"Sales`".
func lexWord(src string, i int) (string, int) {
	var b strings.Builder
	plain := i
	for i < len(src) {
		r, size := utf8.DecodeRuneInString(src[i:])
		if r == '`' && i+1 < len(src) {
			_, next := utf8.DecodeRuneInString(src[i+1:])
			b.WriteString(src[plain:i])
			b.WriteString(src[i+1 : i+1+next])
			i += 1 + next
			plain = i
			continue
		}
		if isDelim(r) {
			break
		}
		i += size
	}
	if b.Len() == 0 {
		return src[plain:i], i
	}
	b.WriteString(src[plain:i])
	return b.String(), i
}

// lexDouble reads a double-quoted string from i (after the opening quote):
// `" and \" are a quote, “ a backtick, `' a single quote, `\ a backslash;
// anything else is itself. It returns the value and the offset after the
// closing quote.
func lexDouble(src string, i int) (string, int, bool) {
	var b strings.Builder
	plain := i
	for i < len(src) {
		switch c := src[i]; {
		case c == '"':
			if b.Len() == 0 {
				return src[plain:i], i + 1, true
			}
			b.WriteString(src[plain:i])
			return b.String(), i + 1, true
		case c == '`' && i+1 < len(src) && strings.IndexByte("\"`'\\", src[i+1]) >= 0,
			c == '\\' && i+1 < len(src) && src[i+1] == '"':
			b.WriteString(src[plain:i])
			b.WriteByte(src[i+1])
			i += 2
			plain = i
		default:
			i++
		}
	}
	return "", 0, false
}

// lexSingle reads a single-quoted string from i: ” is a quote.
func lexSingle(src string, i int) (string, int, bool) {
	var b strings.Builder
	plain := i
	for i < len(src) {
		if src[i] == '\'' {
			if i+1 < len(src) && src[i+1] == '\'' {
				b.WriteString(src[plain : i+1])
				i += 2
				plain = i
				continue
			}
			b.WriteString(src[plain:i])
			return b.String(), i + 1, true
		}
		i++
	}
	return "", 0, false
}

// quote writes v as a double-quoted rule string that lexDouble reads back.
func quote(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' || c == '`':
			b.WriteByte('`')
			b.WriteByte(c)
		case c == '\\' && i == len(v)-1:
			b.WriteString("`\\")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
