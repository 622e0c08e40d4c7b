package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// checkShape walks the JSON tokens of a catalog file and refuses what
// encoding/json would let through or report badly: syntax errors (reported
// with line and column), a top level that is not an object, unknown fields,
// fields whose case differs from the documented spelling (encoding/json
// would match them silently), fields given twice (encoding/json would keep
// the last), elements of "plans" and "skus" that are not objects, and data
// after the catalog object. Values inside plans and SKUs are type-checked
// afterwards when they are decoded.
func checkShape(data []byte) error {
	w := &walker{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	w.dec.UseNumber()
	tok, err := w.token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return invalidf(`the catalog must be a JSON object {"plans": [...], "skus": [...]}, not %s`, describeToken(tok))
	}
	err = w.object("the catalog object", topFields, func(key string) error {
		if key == "plans" {
			return w.list("plans", planFields)
		}
		return w.list("skus", skuFields)
	})
	if err != nil {
		return err
	}
	off := w.dec.InputOffset()
	if _, err := w.dec.Token(); err != io.EOF {
		for off < int64(len(data)) && isSpace(data[off]) {
			off++
		}
		return invalidf("unexpected data after the catalog object at %s", position(data, off))
	}
	return nil
}

type walker struct {
	data []byte
	dec  *json.Decoder
}

// token reads the next token, wording syntax errors with their position.
func (w *walker) token() (json.Token, error) {
	tok, err := w.dec.Token()
	if err == nil {
		return tok, nil
	}
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, invalidf("the file ends in the middle of the catalog (truncated?)")
	case errors.As(err, &se):
		return nil, invalidf("invalid JSON at %s: %s", position(w.data, se.Offset), strings.TrimPrefix(se.Error(), "json: "))
	}
	return nil, invalidf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// object reads the members of an object whose '{' has been read. Each key
// must be one of fields, spelt exactly, and given once; value reads the
// value of a key, or, when nil, the value is skipped.
func (w *walker) object(where string, fields []string, value func(key string) error) error {
	seen := make(map[string]bool, len(fields))
	for w.dec.More() {
		tok, err := w.token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return invalidf("%s: invalid JSON: expected a field name, found %s", where, describeToken(tok))
		}
		if !slices.Contains(fields, key) {
			for _, f := range fields {
				if strings.EqualFold(f, key) {
					return invalidf("%s: unknown field %q; field names are case-sensitive: did you mean %q?", where, key, f)
				}
			}
			return invalidf("%s: unknown field %q; the fields are %s", where, key, strings.Join(fields, ", "))
		}
		if seen[key] {
			return invalidf("%s: field %q is given twice", where, key)
		}
		seen[key] = true
		if value != nil {
			err = value(key)
		} else {
			err = w.skip()
		}
		if err != nil {
			return err
		}
	}
	_, err := w.token() // '}'
	return err
}

// list reads the value of "plans" or "skus": a list of objects.
func (w *walker) list(name string, fields []string) error {
	tok, err := w.token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return invalidf("%q must be a list of objects, not %s", name, describeToken(tok))
	}
	for i := 0; w.dec.More(); i++ {
		at := fmt.Sprintf("%s[%d]", name, i)
		tok, err := w.token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return invalidf("%s must be an object, not %s", at, describeToken(tok))
		}
		if err := w.object(at, fields, nil); err != nil {
			return err
		}
	}
	_, err = w.token() // ']'
	return err
}

// skip reads one value, however deep.
func (w *walker) skip() error {
	depth := 0
	for {
		tok, err := w.token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
		}
		if depth <= 0 {
			return nil
		}
	}
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "a list"
		}
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "true or false"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// position words a byte offset as "line L, column C" (1-based).
func position(data []byte, off int64) string {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
