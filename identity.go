package allot

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Names that identify an object to people (userPrincipalName, a group's
// mailNickname, proxy addresses) must not have two spellings that look
// alike, or an administrator reading "admin@contoso.com" cannot tell which
// of two users it is. Three measures, applied on every write path:
//
//   - IdentifierForm is what is stored: NFKC, so that compatibility
//     variants (full-width letters, the Kelvin sign, ligatures, math
//     alphanumerics) become the letters they stand for and canonically
//     equivalent spellings (NFD and NFC "josé") become one string;
//   - IdentifierKey is what is compared for "the same name": NFKC with
//     Unicode full case folding (NFKC_Casefold without its removal of
//     ignorables, which CheckIdentifier refuses instead);
//   - IdentifierSkeleton is what is compared for "looks like": a
//     different name with the skeleton of an existing one is refused.
//
// The domain part gets the same treatment; it is not converted to
// punycode.

// IdentifierForm returns the form of an identifier to store.
func IdentifierForm(s string) string {
	return norm.NFKC.String(strings.TrimSpace(s))
}

// IdentifierKey returns the comparison key of an identifier: two
// identifiers with the same key are the same name. Plain ASCII keys are
// the lower-case text, as before normalisation was introduced.
func IdentifierKey(s string) string {
	s = strings.TrimSpace(s)
	if ascii(s) {
		return strings.ToLower(s)
	}
	// A Caser keeps state, so each call takes its own. NFKC again after
	// folding, since folding can undo normalisation (e.g. U+0345).
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// IdentifierSkeleton returns the skeleton of an identifier: two names with
// the same skeleton look alike. It follows the skeleton algorithm of
// Unicode TR39 (§4) with a subset of its confusables data: the Cyrillic,
// Greek and Armenian letters and the Latin variants that pass for plain
// Latin letters, mapped before case folding so that an upper-case look-alike
// maps to the upper-case letter it imitates. Full-width forms and other
// compatibility variants are covered by NFKC. Look-alikes within ASCII
// (l/I/1, O/0, rn/m) are left out, so the skeleton of a plain ASCII name is
// its lower-case text: migration 10 fills in stored skeletons on that
// ground, and a stored skeleton goes stale if this table grows.
func IdentifierSkeleton(s string) string {
	if ascii(s) {
		return IdentifierKey(s)
	}
	// Decomposed first, so that a look-alike base letter keeps its marks
	// (Cyrillic ё is е + U+0308, like Latin ë).
	d := norm.NFD.String(norm.NFKC.String(strings.TrimSpace(s)))
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if m, ok := confusables[r]; ok {
			b.WriteRune(m)
		} else {
			b.WriteRune(r)
		}
	}
	return IdentifierKey(b.String())
}

// Confusable reports whether a and b look alike without being the same name.
func Confusable(a, b string) bool {
	return IdentifierKey(a) != IdentifierKey(b) && IdentifierSkeleton(a) == IdentifierSkeleton(b)
}

// CheckIdentifier refuses an identifier holding a character that does not
// show, or shows as nothing: controls (Cc), format characters (Cf: the zero
// width space, joiners, bidirectional controls, the byte order mark, tag
// characters), other default-ignorable code points (Hangul fillers,
// variation selectors), white space, private-use, surrogate and unassigned
// code points, and invalid UTF-8. prop names the property in the message.
func CheckIdentifier(prop, s string) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "Property '%s' is not valid UTF-8.", prop)
	}
	for _, r := range strings.TrimSpace(s) {
		if invisible(r) {
			return Errorf(EINVALID, "Property '%s' contains the invisible or control character %U, which is not allowed in a name: two names differing by it would look the same.", prop, r)
		}
	}
	return nil
}

func invisible(r rune) bool {
	return !unicode.IsGraphic(r) || unicode.IsSpace(r) ||
		unicode.In(r, unicode.Cf, unicode.Zs, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// DescribeNonASCII lists the code points of s outside ASCII ("U+0430"),
// for a message about two names that look the same on screen.
func DescribeNonASCII(s string) string {
	var out []string
	seen := map[rune]bool{}
	for _, r := range s {
		if r >= utf8.RuneSelf && !seen[r] {
			seen[r] = true
			out = append(out, fmt.Sprintf("%U", r))
		}
	}
	return strings.Join(out, ", ")
}

// confusables maps a letter to the ASCII letter it passes for. It is a
// subset of TR39's confusables.txt, limited to what reads as Latin in a
// name; letters whose upper and lower case imitate different Latin letters
// (Greek Η/η: H/n) are mapped case by case.
var confusables = map[rune]rune{
	// Cyrillic, upper case.
	'А': 'A', 'В': 'B', 'С': 'C', 'Е': 'E', 'Н': 'H', 'І': 'I', 'Ј': 'J', 'К': 'K',
	'М': 'M', 'О': 'O', 'Р': 'P', 'Ѕ': 'S', 'Т': 'T', 'Х': 'X', 'У': 'Y', 'Ү': 'Y',
	'Ԛ': 'Q', 'Ԝ': 'W', 'Ӏ': 'I', 'Ь': 'b', 'Ԁ': 'd', 'Ԍ': 'G', 'Һ': 'h', 'Ѵ': 'V',
	// Cyrillic, lower case; в н к м т look like small capitals.
	'а': 'a', 'в': 'b', 'с': 'c', 'ԁ': 'd', 'е': 'e', 'һ': 'h', 'н': 'h', 'і': 'i',
	'ј': 'j', 'к': 'k', 'ӏ': 'l', 'м': 'm', 'о': 'o', 'р': 'p', 'ԛ': 'q', 'ѕ': 's',
	'т': 't', 'ԝ': 'w', 'х': 'x', 'у': 'y', 'ү': 'y', 'ѵ': 'v', 'ь': 'b', 'ԍ': 'g',
	// Greek, upper case.
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M',
	'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X', 'Ϲ': 'C', 'Ϳ': 'J',
	// Greek, lower case.
	'α': 'a', 'β': 'b', 'γ': 'y', 'ε': 'e', 'ζ': 'z', 'η': 'n', 'ι': 'i', 'κ': 'k',
	'μ': 'u', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w',
	'ϲ': 'c', 'ϳ': 'j',
	// Armenian.
	'օ': 'o', 'ս': 'u', 'ո': 'n', 'հ': 'h', 'ց': 'g', 'զ': 'q', 'Օ': 'O', 'Տ': 'S',
	// Latin letters that pass for plain ones.
	'ı': 'i', 'ȷ': 'j', 'ɑ': 'a', 'ɡ': 'g', 'ɩ': 'i', 'ʏ': 'y', 'ɪ': 'i', 'ᴀ': 'a',
	'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ᴊ': 'j', 'ᴋ': 'k', 'ᴍ': 'm', 'ᴏ': 'o', 'ᴘ': 'p',
	'ᴛ': 't', 'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ᴢ': 'z', 'ʀ': 'r', 'ʜ': 'h', 'ɴ': 'n',
	'ʟ': 'l', 'ꜱ': 's', 'ƅ': 'b',
}
