package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// graphTyped lets a request body name its Graph type, so that an unknown
// property is reported the way Graph reports it.
type graphTyped interface{ graphType() string }

// decodeJSON reads a required JSON object from the request body into dst
// strictly: malformed JSON, trailing data, an empty body, a property that dst
// does not declare (at any depth) or a value of the wrong type is a 400.
// Keys beginning with "@odata." are ignored unless dst declares them, because
// Graph SDKs send "@odata.type" on every object.
//
// It returns the top-level keys that were present, so that callers can tell
// an absent property from an explicit null (PATCH clears on null).
func decodeJSON(r *http.Request, dst any) (present map[string]bool, err error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if err := jsonContentType(r, body); err != nil {
		return nil, err
	}
	return decodeJSONBytes(body, dst)
}

// jsonContentType refuses a body sent with a media type other than JSON
// (415, as Graph answers): a form post or a text body is a client bug, not
// something to read as JSON by luck. A body without any Content-Type is
// read as JSON, as older scripts send it.
func jsonContentType(r *http.Request, body []byte) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return errUnsupportedMedia
}

// readBody reads the whole (size-limited) body; a body over the limit is a
// 413 and a broken upload a 400, never a 500.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errTooLarge(tooBig.Limit)
		}
		return nil, allot.Errorf(allot.EINVALID, "Unable to read the request payload.")
	}
	return body, nil
}

func decodeJSONBytes(body []byte, dst any) (map[string]bool, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, allot.Errorf(allot.EINVALID, "Empty Payload, JSON content expected.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, allot.Errorf(allot.EINVALID, "Unable to read JSON request payload: unexpected data after the JSON object.")
	}
	t := reflect.TypeOf(dst).Elem()
	if err := checkFields(raw, t, ""); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return nil, malformed(err)
	}
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(raw, &keys) // checkFields proved it is an object
	present := make(map[string]bool, len(keys))
	for k := range keys {
		present[k] = true
	}
	return present, nil
}

func malformed(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return allot.Errorf(allot.EINVALID, "Invalid value for property '%s': expected %s.", typeErr.Field, jsonKind(typeErr.Type))
	}
	return allot.Errorf(allot.EINVALID, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// checkFields walks raw against t and rejects properties t does not declare.
// encoding/json's DisallowUnknownFields cannot do this because it would also
// reject "@odata.type", and it cannot name the nested path.
func checkFields(raw json.RawMessage, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			if path == "" {
				return allot.Errorf(allot.EINVALID, "Unable to read JSON request payload: a JSON object is expected.")
			}
			return allot.Errorf(allot.EINVALID, "Invalid value for property '%s': expected an object.", path)
		}
		for key, val := range obj {
			f, ok := fieldByTag(t, key)
			if !ok {
				if strings.HasPrefix(key, "@odata.") {
					continue
				}
				typeName := "the request payload"
				if gt, ok := reflect.New(t).Interface().(graphTyped); ok {
					typeName = "type '" + gt.graphType() + "'"
				}
				return allot.Errorf(allot.EINVALID, "Property '%s' does not exist on %s.", joinPath(path, key), typeName)
			}
			if err := checkFields(val, f.Type, joinPath(path, key)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return allot.Errorf(allot.EINVALID, "Invalid value for property '%s': expected an array.", path)
		}
		for i, it := range items {
			if err := checkFields(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldByTag matches JSON names exactly: OData property names are
// case-sensitive, unlike encoding/json's default matching.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if sub, ok := fieldByTag(f.Type, key); ok {
				return sub, true
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == key && name != "-" && name != "" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// writeJSON writes v with the media type the Graph SDKs select their parser by.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a programming error (an unencodable value) gets here.
		http.Error(w, `{"error":{"code":"InternalServerError","message":"An internal server error occurred."}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// jsonTime formats like Graph ("2021-03-12T11:15:03Z"); the zero time is null.
func jsonTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// nullable turns the empty string into JSON null, as Graph reports unset strings.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// list never returns nil, so that collections encode as [] rather than null.
func list[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
