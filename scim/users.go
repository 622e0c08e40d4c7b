package scim

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/allot-dev/allot"
	scimlib "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
)

// users serves /Users. The mapping (docs/SCIM.md):
//
//	userName            ↔ userPrincipalName
//	displayName         ↔ displayName (from name.formatted, or givenName
//	                      familyName, or userName when absent)
//	active              ↔ accountEnabled
//	emails              ↔ mail (the primary email, else the work one, else
//	                      the first) and proxyAddresses ("SMTP:" the
//	                      primary, "smtp:" the others)
//	addresses.country   ↔ usageLocation (the primary address, else the
//	                      work one, else the first with a country), and
//	                      country when SCIM sets it
//	externalId          ↔ kept beside the user for SCIM
//
// and the profile (profile.go).
type users struct{ *handler }

// userState is what SCIM maps of a user.
type userState struct {
	upn, displayName, mail, location, externalID string
	proxies                                      []string
	active                                       bool
	profile                                      allot.Profile
}

func stateOfUser(u *allot.User, ext string) userState {
	p := u.Profile
	p.BusinessPhones, p.OtherMails = slices.Clone(p.BusinessPhones), slices.Clone(p.OtherMails)
	return userState{upn: u.UserPrincipalName, displayName: u.DisplayName, mail: u.Mail, location: u.UsageLocation,
		externalID: ext, proxies: slices.Clone(u.ProxyAddresses), active: u.AccountEnabled, profile: p}
}

// emails is the SCIM emails of a user's mail and proxy addresses.
func (s userState) emails() []any {
	var out []any
	hasPrimary := false
	for _, p := range s.proxies {
		if strings.HasPrefix(p, "SMTP:") {
			hasPrimary = true
		}
	}
	for _, p := range s.proxies {
		v := p
		if i := strings.IndexByte(p, ':'); i >= 0 && strings.EqualFold(p[:i], "smtp") {
			v = p[i+1:]
		}
		primary := strings.HasPrefix(p, "SMTP:") || (!hasPrimary && strings.EqualFold(v, s.mail))
		typ := "other"
		if primary {
			typ = "work"
		}
		out = append(out, map[string]any{"value": v, "type": typ, "primary": primary})
	}
	if len(out) == 0 && s.mail != "" {
		out = append(out, map[string]any{"value": s.mail, "type": "work", "primary": true})
	}
	return out
}

// attributes are the user's SCIM attributes, but for id and externalId.
func (s userState) attributes(withFormatted bool) map[string]any {
	attrs := map[string]any{"userName": s.upn, "displayName": s.displayName, "active": s.active}
	if e := s.emails(); len(e) > 0 {
		attrs["emails"] = e
	}
	profileAttributes(attrs, &s.profile, s.location, withFormatted)
	return attrs
}

// doc is the user as a lower-cased SCIM document, for PATCH to work on.
// It has no name.formatted, so that a displayName a PATCH removes is made
// of the names as the PATCH leaves them.
func (s userState) doc() doc {
	d := lowerKeys(s.attributes(false)).(map[string]any)
	if s.externalID != "" {
		d["externalid"] = s.externalID
	}
	return d
}

// fromDoc reads a user from a lower-cased SCIM document; what the document
// does not have is taken from base (POST and PUT: not asserted, so kept).
func fromDoc(d doc, base userState, keepAbsent bool) (userState, error) {
	s := base
	if v, ok := d["username"].(string); ok {
		s.upn = v
	}
	if v, ok := d["active"].(bool); ok {
		s.active = v
	}
	if v, ok := d["externalid"].(string); ok {
		s.externalID = v
	} else if !keepAbsent {
		s.externalID = ""
	}
	if v, ok := d["displayname"].(string); ok && strings.TrimSpace(v) != "" {
		s.displayName = v
	} else if n := nameOf(d); n != "" {
		s.displayName = n
	} else if s.displayName == "" || !keepAbsent {
		s.displayName = s.upn
	}
	if list, ok := d["emails"].([]any); ok {
		s.mail, s.proxies = mailOf(list)
	} else if !keepAbsent {
		s.mail, s.proxies = "", []string{}
	}
	if list, ok := d["addresses"].([]any); ok {
		s.location = countryOf(list)
	} else if !keepAbsent {
		s.location = ""
	}
	s.profile = profileOf(d, s.profile, keepAbsent)
	return s, nil
}

// nameOf is a display name made of the name attribute.
func nameOf(d doc) string {
	n, _ := d["name"].(map[string]any)
	if f, _ := n["formatted"].(string); strings.TrimSpace(f) != "" {
		return strings.TrimSpace(f)
	}
	g, _ := n["givenname"].(string)
	f, _ := n["familyname"].(string)
	return strings.TrimSpace(strings.TrimSpace(g) + " " + strings.TrimSpace(f))
}

// pick returns the index of the element marked primary, else the one of
// type work, else the first of those ok accepts; -1 when none is.
func pick(list []any, ok func(map[string]any) bool) int {
	best, rank := -1, 3
	for i, e := range list {
		m, isMap := e.(map[string]any)
		if !isMap || !ok(m) {
			continue
		}
		r := 2
		if p, _ := m["primary"].(bool); p {
			r = 0
		} else if t, _ := m["type"].(string); strings.EqualFold(t, "work") {
			r = 1
		}
		if r < rank {
			best, rank = i, r
		}
	}
	return best
}

func mailOf(list []any) (string, []string) {
	i := pick(list, func(m map[string]any) bool { v, _ := m["value"].(string); return strings.TrimSpace(v) != "" })
	if i < 0 {
		return "", []string{}
	}
	mail := strings.TrimSpace(list[i].(map[string]any)["value"].(string))
	proxies := []string{"SMTP:" + mail}
	seen := map[string]bool{allot.NormalizeAddress(mail): true}
	for _, e := range list {
		m, _ := e.(map[string]any)
		v, _ := m["value"].(string)
		v = strings.TrimSpace(v)
		if v == "" || seen[allot.NormalizeAddress(v)] {
			continue
		}
		seen[allot.NormalizeAddress(v)] = true
		proxies = append(proxies, "smtp:"+v)
	}
	return mail, proxies
}

func countryOf(list []any) string {
	i := pick(list, func(m map[string]any) bool { v, _ := m["country"].(string); return strings.TrimSpace(v) != "" })
	if i < 0 {
		return ""
	}
	return strings.ToUpper(strings.TrimSpace(list[i].(map[string]any)["country"].(string)))
}

func (h *handler) userResource(u *allot.User, ext string) scimlib.Resource {
	return resource(u.ID, stateOfUser(u, ext).attributes(true), ext, u.CreatedAt, u.ModifiedAt)
}

// resource leaves out an empty externalId and unknown times rather than
// sending them empty. Times are UTC (RFC 7643 §3.1 wants xsd:dateTime; the
// library writes RFC 3339 in the time's own zone).
func resource(id string, attrs scimlib.ResourceAttributes, ext string, created, modified time.Time) scimlib.Resource {
	res := scimlib.Resource{ID: id, Attributes: attrs}
	if ext != "" {
		res.ExternalID = optional.NewString(ext)
	}
	if modified.IsZero() {
		// Never modified: RFC 7643 §3.1 wants lastModified equal to created.
		modified = created
	}
	if !created.IsZero() {
		c := created.UTC()
		res.Meta.Created = &c
	}
	if !modified.IsZero() {
		m := modified.UTC()
		res.Meta.LastModified = &m
		res.Meta.Version = version(m, ext)
	}
	return res
}

// version is meta.version, a weak entity tag (RFC 7644 §3.14) of what
// moves when the resource changes: its last change, and its externalId,
// which is kept beside the object and does not move that time. Weak: the
// member names a group shows can change under it. Allot does not evaluate
// If-Match (the ServiceProviderConfig says etag is unsupported); the
// version lets a client see that a resource changed.
func version(modified time.Time, ext string) string {
	h := fnv.New64a()
	h.Write([]byte(modified.Format(time.RFC3339Nano)))
	h.Write([]byte{0})
	h.Write([]byte(ext))
	return fmt.Sprintf(`W/"%016x"`, h.Sum64())
}

func (h *handler) externalID(ctx context.Context, id string) (string, error) {
	m, err := h.st.SCIMExternalIDs(ctx, []string{id})
	if err != nil {
		return "", h.scimError(ctx, err)
	}
	return m[strings.ToLower(id)], nil
}

// user finds a user by id only (the service also resolves a
// userPrincipalName, which is no SCIM id).
func (h *handler) user(ctx context.Context, id string) (*allot.User, string, error) {
	if err := validID(id); err != nil {
		return nil, "", err
	}
	u, err := h.svc.Users.User(ctx, id)
	if err != nil {
		return nil, "", h.scimError(ctx, err)
	}
	if !strings.EqualFold(u.ID, id) {
		return nil, "", notFound(id)
	}
	ext, err := h.externalID(ctx, u.ID)
	return u, ext, err
}

func (x *users) Create(r *http.Request, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	ctx := r.Context()
	s, err := fromDoc(lowerKeys(map[string]any(attrs)).(map[string]any), userState{active: true}, true)
	if err != nil {
		return scimlib.Resource{}, err
	}
	if err := validExternalID(s.externalID); err != nil {
		return scimlib.Resource{}, err
	}
	// addresses.country sets Graph's country as well as the usage location.
	s.profile.Country = s.location
	u, err := x.svc.Users.CreateUser(ctx, allot.UserCreate{UserPrincipalName: s.upn, DisplayName: s.displayName, Mail: s.mail,
		UsageLocation: s.location, ProxyAddresses: s.proxies, AccountEnabled: s.active, Profile: s.profile})
	if err != nil {
		return scimlib.Resource{}, x.scimError(ctx, err)
	}
	if s.externalID != "" {
		if err := x.st.SetSCIMExternalID(ctx, allot.MemberUser, u.ID, s.externalID); err != nil {
			// Undo the user, so that a refused request changes nothing.
			// Purged too: an undone create is not a deletion to restore.
			if derr := x.svc.Users.DeleteUser(ctx, u.ID); derr != nil {
				x.log.ErrorContext(ctx, "scim: undo user create", "user", u.ID, "error", derr)
			} else if derr := x.svc.Deleted.PurgeDeletedItem(ctx, u.ID); derr != nil {
				x.log.ErrorContext(ctx, "scim: undo user create", "user", u.ID, "error", derr)
			}
			return scimlib.Resource{}, x.scimError(ctx, err)
		}
	}
	return x.project(r, x.userResource(u, s.externalID)), nil
}

func (x *users) project(r *http.Request, res scimlib.Resource) scimlib.Resource {
	res.Attributes = project(r, res.Attributes)
	return res
}

func (x *users) Get(r *http.Request, id string) (scimlib.Resource, error) {
	u, ext, err := x.user(r.Context(), id)
	if err != nil {
		return scimlib.Resource{}, err
	}
	return x.project(r, x.userResource(u, ext)), nil
}

func (x *users) GetAll(r *http.Request, params scimlib.ListRequestParams) (scimlib.Page, error) {
	items, total, exts, err := listPage(x.handler, r.Context(), allot.MemberUser, params, x.svc.Users.ListUsers, func(u *allot.User) string { return u.ID })
	if err != nil {
		return scimlib.Page{}, err
	}
	page := scimlib.Page{TotalResults: total, Resources: []scimlib.Resource{}}
	for i := range items {
		page.Resources = append(page.Resources, x.project(r, x.userResource(&items[i], exts[items[i].ID])))
	}
	return page, nil
}

// Replace is PUT (Okta's way of updating a user). Attributes the body
// leaves out are not asserted (RFC 7644 §3.5.1) and keep their values, so
// that a profile push without addresses does not drop the usage location
// that licensing needs.
func (x *users) Replace(r *http.Request, id string, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	ctx := r.Context()
	u, ext, err := x.user(ctx, id)
	if err != nil {
		return scimlib.Resource{}, err
	}
	old := stateOfUser(u, ext)
	s, err := fromDoc(lowerKeys(map[string]any(attrs)).(map[string]any), old, true)
	if err != nil {
		return scimlib.Resource{}, err
	}
	return x.update(r, u, old, s)
}

func (x *users) Patch(r *http.Request, id string, ops []scimlib.PatchOperation) (scimlib.Resource, error) {
	ctx := r.Context()
	u, ext, err := x.user(ctx, id)
	if err != nil {
		return scimlib.Resource{}, err
	}
	old := stateOfUser(u, ext)
	d := old.doc()
	for _, op := range ops {
		if err := applyPatch(d, op.Op, op.Path, op.Value); err != nil {
			return scimlib.Resource{}, err
		}
	}
	// The document is the whole user; the profile's unmapped properties
	// come from the user as it is.
	s, err := fromDoc(d, userState{active: old.active, profile: old.profile}, false)
	if err != nil {
		return scimlib.Resource{}, err
	}
	return x.update(r, u, old, s)
}

// update applies the difference between old and s: only changed fields
// reach the service, so a PATCH that changes nothing queues nothing.
func (x *users) update(r *http.Request, u *allot.User, old, s userState) (scimlib.Resource, error) {
	ctx := r.Context()
	var in allot.UserUpdate
	changed := false
	set := func(cur string, next string, field **string) {
		if cur != next {
			v := next
			*field, changed = &v, true
		}
	}
	set(old.upn, s.upn, &in.UserPrincipalName)
	set(old.displayName, s.displayName, &in.DisplayName)
	set(old.mail, s.mail, &in.Mail)
	set(old.location, s.location, &in.UsageLocation)
	if !slices.Equal(old.proxies, s.proxies) && !(len(old.proxies) == 0 && len(s.proxies) == 0) {
		p := s.proxies
		in.ProxyAddresses, changed = &p, true
	}
	if old.active != s.active {
		v := s.active
		in.AccountEnabled, changed = &v, true
	}
	if old.location != s.location {
		s.profile.Country = s.location
	}
	// The service checks an update's profile but stores it as given, so
	// it is put in its stored form here: "member" is userType Member, and
	// blanks around a value change nothing. A bad value is refused before
	// anything changes.
	next, err := s.profile.Normalized()
	if err != nil {
		return scimlib.Resource{}, x.scimError(ctx, err)
	}
	s.profile = next
	if in.ProfileFields = profileChanges(&old.profile, &s.profile); old.location != s.location {
		in.ProfileFields = append(in.ProfileFields, "country")
	}
	if len(in.ProfileFields) > 0 {
		in.Profile, changed = s.profile, true
	}
	// The externalId is checked before the user changes, so that a bad one
	// changes nothing.
	if err := validExternalID(s.externalID); err != nil {
		return scimlib.Resource{}, err
	}
	if changed {
		if u, err = x.svc.Users.UpdateUser(ctx, u.ID, in); err != nil {
			return scimlib.Resource{}, x.scimError(ctx, err)
		}
	}
	if s.externalID != old.externalID {
		if err := x.st.SetSCIMExternalID(ctx, allot.MemberUser, u.ID, s.externalID); err != nil {
			return scimlib.Resource{}, x.scimError(ctx, err)
		}
	}
	return x.project(r, x.userResource(u, s.externalID)), nil
}

func (x *users) Delete(r *http.Request, id string) error {
	ctx := r.Context()
	if err := validID(id); err != nil {
		return err
	}
	if err := x.svc.Users.DeleteUser(ctx, id); err != nil {
		return x.scimError(ctx, err)
	}
	if err := x.st.SetSCIMExternalID(ctx, allot.MemberUser, id, ""); err != nil {
		x.log.ErrorContext(ctx, "scim: drop externalId of a deleted user", "user", id, "error", err)
	}
	return nil
}

// maxExternalID is the store's limit (store.MaxExternalIDLength).
const maxExternalID = 256

// validExternalID repeats the store's check of an externalId, so that it
// comes before any change and a refused request changes nothing.
func validExternalID(s string) error {
	if len(s) > maxExternalID || strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
		return badValue("externalId must be valid text of at most %d bytes.", maxExternalID)
	}
	return nil
}
