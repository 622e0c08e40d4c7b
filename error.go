package allot

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer; the API maps each to an HTTP status and
// a Graph error code in one place.
const (
	EINVALID          = "invalid"           // 400 Request_BadRequest
	EUNSUPPORTEDQUERY = "unsupported_query" // 400 Request_UnsupportedQuery
	ECONFLICT         = "conflict"          // 400 Request_BadRequest: a unique value is taken
	ENOTFOUND         = "not_found"         // 404 Request_ResourceNotFound
	EFORBIDDEN        = "forbidden"         // 403 Authorization_RequestDenied
	EUNAUTHORIZED     = "unauthorized"      // 401 InvalidAuthenticationToken
	ETOOMANY          = "too_many"          // 429 TooManyRequests
	EUNAVAILABLE      = "unavailable"       // 503 ServiceUnavailable with Retry-After: busy, try again
	EINTERNAL         = "internal"          // 500, message never shown
)

// Error is a domain error whose message is safe to show to the caller.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("allot: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an *Error anywhere in err's chain, else EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}
