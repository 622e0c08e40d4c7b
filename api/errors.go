package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/scim"
)

// statusError is an error the HTTP layer raises itself, for conditions the
// domain has no code for (a body too large, a wrong method).
type statusError struct {
	status  int
	code    string
	message string
}

func (e *statusError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func errTooLarge(limit int64) error {
	return &statusError{http.StatusRequestEntityTooLarge, "Request_EntityTooLarge",
		fmt.Sprintf("The request payload is larger than the limit of %d bytes.", limit)}
}

var (
	errNoToken          = &statusError{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty."}
	errBadToken         = &statusError{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure."}
	errDenied           = &statusError{http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}
	errMethod           = &statusError{http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."}
	errUnsupportedMedia = &statusError{http.StatusUnsupportedMediaType, "UnsupportedMediaType", "The request body must be JSON: send it with Content-Type: application/json."}
	internalMessage     = "An internal server error occurred."
)

func badRequest(format string, args ...any) error {
	return allot.Errorf(allot.EINVALID, format, args...)
}

func unsupportedQuery(format string, args ...any) error {
	return allot.Errorf(allot.EUNSUPPORTEDQUERY, format, args...)
}

func invalidID(s string) error {
	return badRequest("Invalid object identifier '%s'.", s)
}

// errorResponse is the single mapping from an error to a status, a Graph
// error code and a caller-safe message.
func errorResponse(err error) (status int, code, message string) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, se.code, se.message
	}
	var limited *rateLimitError
	if errors.As(err, &limited) {
		return http.StatusTooManyRequests, "TooManyRequests",
			fmt.Sprintf("Too many failed authentication attempts. Retry after %d seconds.", limited.seconds())
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		se := errTooLarge(tooBig.Limit).(*statusError)
		return se.status, se.code, se.message
	}
	switch allot.ErrorCode(err) {
	case allot.EINVALID, allot.ECONFLICT:
		return http.StatusBadRequest, "Request_BadRequest", allot.ErrorMessage(err)
	case allot.EUNSUPPORTEDQUERY:
		return http.StatusBadRequest, "Request_UnsupportedQuery", allot.ErrorMessage(err)
	case allot.ENOTFOUND:
		return http.StatusNotFound, "Request_ResourceNotFound", allot.ErrorMessage(err)
	case allot.EFORBIDDEN:
		return http.StatusForbidden, "Authorization_RequestDenied", allot.ErrorMessage(err)
	case allot.EUNAUTHORIZED:
		return http.StatusUnauthorized, "InvalidAuthenticationToken", allot.ErrorMessage(err)
	case allot.ETOOMANY:
		return http.StatusTooManyRequests, "TooManyRequests", allot.ErrorMessage(err)
	case allot.EUNAVAILABLE:
		return http.StatusServiceUnavailable, "ServiceUnavailable", allot.ErrorMessage(err)
	}
	return http.StatusInternalServerError, "InternalServerError", internalMessage
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError innerError `json:"innerError"`
}

type innerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// writeError answers with Graph's error envelope. Internal errors are logged
// with the request id and replaced by a generic message.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, message := errorResponse(err)
	info := infoFrom(r.Context())
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "internal error",
			slog.String("request_id", info.id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("error", err))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="allot"`)
	}
	if status == http.StatusTooManyRequests {
		retry := "5"
		var limited *rateLimitError
		if errors.As(err, &limited) {
			retry = strconv.Itoa(limited.seconds())
		}
		w.Header().Set("Retry-After", retry)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if strings.HasPrefix(r.URL.Path, "/scim/") {
		// SCIM clients read SCIM's error schema, also when authentication,
		// the rate limit or the body limit refuses them.
		scim.WriteError(w, status, message)
		return
	}
	writeJSON(w, status, errorBody{errorDetail{
		Code:    code,
		Message: message,
		InnerError: innerError{
			Date:            s.now().UTC().Format("2006-01-02T15:04:05"),
			RequestID:       info.id,
			ClientRequestID: info.clientID,
		},
	}})
}
