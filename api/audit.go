package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/httpx"
	"github.com/allot-dev/allot/odata"
)

// audit reads the log. Its parameters are checked strictly, since a
// misspelt "sinse" silently ignored would show the wrong history.
func (s *server) audit(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.svc.Audit.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	body := valueList(page.Items, auditEntryView)
	if page.NextCursor != "" {
		body["@odata.nextLink"] = s.nextLink(r, page.NextCursor)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func auditEntryView(e *allot.AuditEntry) object {
	return object{
		"id":         e.ID,
		"time":       e.Time.UTC().Format(time.RFC3339Nano),
		"actor":      e.Actor,
		"actorKind":  e.ActorKind,
		"actorId":    nullable(e.ActorID),
		"actorRole":  nullable(string(e.ActorRole)),
		"activity":   e.Activity,
		"targetType": e.TargetType,
		"targetId":   e.TargetID,
		"before":     rawJSON(e.Before),
		"after":      rawJSON(e.After),
		"result":     e.Result,
	}
}

func auditFilter(v url.Values) (allot.AuditFilter, error) {
	f := allot.AuditFilter{Top: allot.DefaultPageSize}
	for k, vals := range v {
		if len(vals) != 1 {
			return f, badRequest("Query parameter '%s' was given more than once.", clip(k))
		}
		val := vals[0]
		var err error
		switch strings.ToLower(k) {
		case "targetid":
			if id, ok := allot.ParseID(val); ok {
				val = id
			} else if val == "" || len(val) > 128 || !httpx.Printable(val) {
				return f, badRequest("Invalid targetId '%s'.", clip(val))
			}
			f.TargetID = val
		case "since":
			f.Since, err = auditTime("since", val)
		case "until":
			f.Until, err = auditTime("until", val)
		case "$top", "top":
			f.Top, err = odata.ParseTop(val)
		case "$skiptoken", "skiptoken":
			f.After, err = odata.DecodeSkipToken(val)
		default:
			return f, badRequest("Query parameter '%s' is not supported here; use targetId, since, until, $top or $skiptoken.", clip(k))
		}
		if err != nil {
			return f, err
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return f, badRequest("'until' is before 'since'.")
	}
	return f, nil
}

func auditTime(name, val string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, val)
	if err != nil {
		return time.Time{}, badRequest("Invalid '%s' '%s': expected an RFC 3339 time such as 2025-01-31T12:00:00Z.", name, clip(val))
	}
	return t.UTC(), nil
}

// rawJSON embeds a stored JSON document as is; anything unparsable is shown
// as a string rather than breaking the response.
func rawJSON(s string) any {
	if s == "" {
		return nil
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	return s
}
