// Package catalog reads and writes Allot's catalog file: the products (SKUs)
// and service plans a server offers, with the rules the licensing evaluation
// applies (docs/RULES.md §2.2): availableIn, provisionsMailbox, conflictsWith and
// dependsOn. It also ships a small demo catalog modelled on real Microsoft 365
// products, and imports Microsoft's published CSV of products and service
// plans. The format is documented in docs/CATALOG.md.
//
// Every error it returns is an *allot.Error with code allot.EINVALID and a
// message that names the offending entry and field, for example
//
//	catalog: skus[2] "ENTERPRISEPACK": plans[1]: plan "FOO" is not defined
package catalog

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/allot-dev/allot"
)

// filePlan is one element of "plans" in a catalog file.
type filePlan struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	FriendlyName      string     `json:"friendlyName"`
	Service           *string    `json:"service"` // nil: absent, so guessed from the name
	ProvisionsMailbox bool       `json:"provisionsMailbox"`
	AvailableIn       []string   `json:"availableIn"`
	ConflictsWith     []string   `json:"conflictsWith"`
	DependsOn         [][]string `json:"dependsOn"`
}

// fileSKU is one element of "skus" in a catalog file.
type fileSKU struct {
	ID          string   `json:"id"`
	PartNumber  string   `json:"partNumber"`
	DisplayName string   `json:"displayName"`
	AppliesTo   string   `json:"appliesTo"`
	Plans       []string `json:"plans"`
}

// The field names of each object, exactly as they must be spelled.
var (
	topFields  = []string{"plans", "skus"}
	planFields = []string{"id", "name", "friendlyName", "service", "provisionsMailbox", "availableIn", "conflictsWith", "dependsOn"}
	skuFields  = []string{"id", "partNumber", "displayName", "appliesTo", "plans"}
)

// Values of SKU.AppliesTo (Graph's subscribedSku.appliesTo).
const (
	AppliesToUser    = "User"
	AppliesToCompany = "Company"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

func invalidf(format string, args ...any) error {
	return allot.Errorf(allot.EINVALID, "catalog: "+format, args...)
}

// Parse reads a catalog file (JSON, see docs/CATALOG.md) and validates it
// whole. Decoding is strict: unknown or misspelt fields, fields given twice,
// values of the wrong type and data after the catalog object are refused; a
// UTF-8 byte order mark is tolerated. In the result every GUID is lower case,
// every country code upper case, and every plan reference a plan id.
// Any error is an *allot.Error with code allot.EINVALID.
func Parse(r io.Reader) (*allot.Catalog, error) {
	if r == nil {
		return nil, invalidf("no catalog to read")
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, invalidf("reading the catalog: %v", err)
	}
	plans, skus, err := decode(data)
	if err != nil {
		return nil, err
	}
	return build(plans, skus)
}

// decode checks the syntax and shape of a catalog file and decodes it.
func decode(data []byte) ([]filePlan, []fileSKU, error) {
	data = bytes.TrimPrefix(data, bom)
	if !utf8.Valid(data) {
		return nil, nil, invalidf("the file is not valid UTF-8")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, invalidf(`the file is empty; want a JSON object {"plans": [...], "skus": [...]}`)
	}
	if err := checkShape(data); err != nil {
		return nil, nil, err
	}
	var top struct {
		Plans []json.RawMessage `json:"plans"`
		SKUs  []json.RawMessage `json:"skus"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, invalidf("%v", err) // checkShape has seen to this
	}
	plans := make([]filePlan, len(top.Plans))
	for i, raw := range top.Plans {
		if err := decodeStrict(raw, &plans[i]); err != nil {
			return nil, nil, typeError(fmt.Sprintf("plans[%d]", i), &plans[i], err)
		}
	}
	skus := make([]fileSKU, len(top.SKUs))
	for i, raw := range top.SKUs {
		if err := decodeStrict(raw, &skus[i]); err != nil {
			return nil, nil, typeError(fmt.Sprintf("skus[%d]", i), &skus[i], err)
		}
	}
	return plans, skus, nil
}

func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// typeError words a decoding error of one plan or SKU object; v points to
// the struct being decoded.
func typeError(where string, v any, err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return invalidf("%s: %v", where, err)
	}
	field := te.Field
	if i := strings.IndexByte(field, '.'); i >= 0 {
		field = field[:i]
	}
	// The error names the type that met the wrong value; when that is the
	// type of a list's element, say what the whole field must be.
	want := te.Type
	t := reflect.TypeOf(v).Elem()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("json") == field {
			want = t.Field(i).Type
		}
	}
	if want != te.Type && te.Type != nil && want.Kind() != reflect.Pointer {
		return invalidf("%s: field %q must be %s; it holds a JSON %s", where, field, describeType(want), te.Value)
	}
	return invalidf("%s: field %q must be %s, not a JSON %s", where, field, describeType(want), te.Value)
}

func describeType(t reflect.Type) string {
	switch {
	case t == nil:
		return "a value of another type"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Pointer:
		return describeType(t.Elem())
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Slice:
		return "a list of lists of strings"
	case t.Kind() == reflect.Slice:
		return "a list of strings"
	}
	return t.String()
}

// build validates decoded plans and SKUs and makes the domain catalog. Plan
// references may be plan names or plan GUIDs (any case).
func build(plans []filePlan, skus []fileSKU) (*allot.Catalog, error) {
	b := &builder{plans: plans, ids: make([]string, len(plans)),
		byID: make(map[string]int, len(plans)), byName: make(map[string]int, len(plans))}
	if err := b.indexPlans(); err != nil {
		return nil, err
	}
	out := make([]*allot.ServicePlan, len(plans))
	for i := range plans {
		sp, err := b.plan(i)
		if err != nil {
			return nil, err
		}
		out[i] = sp
	}
	outSKUs, err := b.skus(skus)
	if err != nil {
		return nil, err
	}
	return allot.NewCatalog(out, outSKUs), nil
}

// builder checks a catalog file's plans and SKUs, which name plans by id
// or by name.
type builder struct {
	plans  []filePlan
	ids    []string       // the plans' ids, lower case
	byID   map[string]int // plan id → index
	byName map[string]int // plan name → index
}

func (b *builder) planAt(i int) string { return where("plans", i, b.plans[i].Name) }

// indexPlans checks the plans' ids and names, which must be unique.
func (b *builder) indexPlans() error {
	for i := range b.plans {
		p := &b.plans[i]
		at := b.planAt(i)
		id, err := checkGUID(at, p.ID)
		if err != nil {
			return err
		}
		if j, dup := b.byID[id]; dup {
			return invalidf("%s: id %s is already the id of %s", at, id, b.planAt(j))
		}
		b.byID[id], b.ids[i] = i, id
		if err := checkName(at, "name", p.Name); err != nil {
			return err
		}
		if allot.IsID(p.Name) {
			return invalidf("%s: name %q is a GUID; a plan name must not look like a plan id", at, p.Name)
		}
		if j, dup := b.byName[p.Name]; dup {
			return invalidf("%s: name %q is already the name of %s", at, p.Name, b.planAt(j))
		}
		b.byName[p.Name] = i
	}
	return nil
}

// resolve turns a plan reference (a name or a GUID) into a plan id.
func (b *builder) resolve(ref string) (string, bool) {
	if id, ok := allot.ParseID(ref); ok {
		_, found := b.byID[id]
		return id, found
	}
	if j, ok := b.byName[ref]; ok {
		return b.ids[j], true
	}
	return "", false
}

// plan is the i-th plan with its rules checked.
func (b *builder) plan(i int) (*allot.ServicePlan, error) {
	p := &b.plans[i]
	at := b.planAt(i)
	sp := &allot.ServicePlan{
		ID:                b.ids[i],
		Name:              p.Name,
		FriendlyName:      p.FriendlyName,
		ProvisionsMailbox: p.ProvisionsMailbox,
	}
	if p.Service != nil {
		sp.Service = *p.Service
	} else {
		sp.Service = GuessService(p.Name)
	}
	for k, code := range p.AvailableIn {
		up := strings.ToUpper(code)
		if !isCountryCode(up) {
			return nil, invalidf("%s: availableIn[%d]: %q is not a two-letter country code (ISO 3166-1 alpha-2, e.g. \"US\")", at, k, code)
		}
		if slices.Contains(sp.AvailableIn, up) {
			return nil, invalidf("%s: availableIn[%d]: country %q is listed twice", at, k, up)
		}
		sp.AvailableIn = append(sp.AvailableIn, up)
	}
	for k, ref := range p.ConflictsWith {
		id, ok := b.resolve(ref)
		switch {
		case !ok:
			return nil, invalidf("%s: conflictsWith[%d]: plan %q is not defined", at, k, ref)
		case id == sp.ID:
			return nil, invalidf("%s: conflictsWith[%d]: a plan cannot conflict with itself", at, k)
		case slices.Contains(sp.ConflictsWith, id):
			return nil, invalidf("%s: conflictsWith[%d]: plan %q is listed twice", at, k, ref)
		}
		sp.ConflictsWith = append(sp.ConflictsWith, id)
	}
	for g, group := range p.DependsOn {
		ids, err := b.dependsGroup(at, sp.ID, g, group)
		if err != nil {
			return nil, err
		}
		sp.DependsOn = append(sp.DependsOn, ids)
	}
	return sp, nil
}

// dependsGroup checks the g-th group of plan id's dependsOn: at least one
// of them must be enabled beside it.
func (b *builder) dependsGroup(at, id string, g int, group []string) ([]string, error) {
	if len(group) == 0 {
		return nil, invalidf("%s: dependsOn[%d] is an empty group; a group lists the plans of which at least one must be enabled", at, g)
	}
	var ids []string
	for k, ref := range group {
		dep, found := b.resolve(ref)
		switch {
		case !found:
			return nil, invalidf("%s: dependsOn[%d][%d]: plan %q is not defined", at, g, k, ref)
		case dep == id:
			return nil, invalidf("%s: dependsOn[%d][%d]: a plan cannot depend on itself", at, g, k)
		case slices.Contains(ids, dep):
			return nil, invalidf("%s: dependsOn[%d][%d]: plan %q is listed twice in the group", at, g, k, ref)
		}
		ids = append(ids, dep)
	}
	return ids, nil
}

// skus checks the SKUs, whose ids and part numbers must be unique.
func (b *builder) skus(skus []fileSKU) ([]*allot.SKU, error) {
	skuAt := func(i int) string { return where("skus", i, skus[i].PartNumber) }
	byID := make(map[string]int, len(skus))
	byPart := make(map[string]int, len(skus))
	out := make([]*allot.SKU, len(skus))
	for i := range skus {
		s := &skus[i]
		at := skuAt(i)
		id, err := checkGUID(at, s.ID)
		if err != nil {
			return nil, err
		}
		if j, dup := byID[id]; dup {
			return nil, invalidf("%s: id %s is already the id of %s", at, id, skuAt(j))
		}
		byID[id] = i
		if err := checkName(at, "partNumber", s.PartNumber); err != nil {
			return nil, err
		}
		if j, dup := byPart[s.PartNumber]; dup {
			return nil, invalidf("%s: partNumber %q is already the partNumber of %s", at, s.PartNumber, skuAt(j))
		}
		byPart[s.PartNumber] = i
		if out[i], err = b.sku(at, id, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (b *builder) sku(at, id string, s *fileSKU) (*allot.SKU, error) {
	sku := &allot.SKU{ID: id, PartNumber: s.PartNumber, DisplayName: s.DisplayName}
	switch {
	case s.AppliesTo == "" || strings.EqualFold(s.AppliesTo, AppliesToUser):
		sku.AppliesTo = AppliesToUser
	case strings.EqualFold(s.AppliesTo, AppliesToCompany):
		sku.AppliesTo = AppliesToCompany
	default:
		return nil, invalidf("%s: appliesTo %q must be \"User\" or \"Company\"", at, s.AppliesTo)
	}
	if len(s.Plans) == 0 {
		return nil, invalidf("%s: plans is missing or empty; a SKU has at least one plan", at)
	}
	for k, ref := range s.Plans {
		pid, ok := b.resolve(ref)
		switch {
		case !ok:
			return nil, invalidf("%s: plans[%d]: plan %q is not defined", at, k, ref)
		case slices.Contains(sku.Plans, pid):
			return nil, invalidf("%s: plans[%d]: plan %q is listed twice", at, k, ref)
		}
		sku.Plans = append(sku.Plans, pid)
	}
	return sku, nil
}

// where names the i-th element of list, with its name when it has one.
func where(list string, i int, name string) string {
	if name == "" {
		return fmt.Sprintf("%s[%d]", list, i)
	}
	return fmt.Sprintf("%s[%d] %q", list, i, name)
}

func checkGUID(at, s string) (string, error) {
	if s == "" {
		return "", invalidf("%s: id is required", at)
	}
	id, ok := allot.ParseID(s)
	if !ok {
		return "", invalidf("%s: id %q is not a GUID (want 32 hex digits as 8-4-4-4-12, e.g. \"9aaf7827-d63c-4b61-89c3-182f06f82e5c\")", at, s)
	}
	return id, nil
}

// checkName checks a plan name or a SKU part number: present, without
// surrounding spaces or control characters.
func checkName(at, field, s string) error {
	switch {
	case s == "":
		return invalidf("%s: %s is required", at, field)
	case strings.TrimSpace(s) != s:
		return invalidf("%s: %s %q has leading or trailing spaces", at, field, s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return invalidf("%s: %s %q contains a control character", at, field, s)
	}
	return nil
}

func isCountryCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// GuessService returns the workload Graph reports in assignedPlans.service
// for a plan name, from its well-known prefix ("EXCHANGE_S_STANDARD" →
// "exchange"), or "" when the name is not recognised. Parse uses it when a
// plan has no "service" field; ParseMicrosoftCSV uses it for every plan.
func GuessService(planName string) string {
	n := strings.ToUpper(planName)
	for _, g := range serviceGuesses {
		if strings.HasPrefix(n, g.prefix) {
			return g.service
		}
	}
	return ""
}

// serviceGuesses maps plan-name prefixes to Graph's service names, most
// specific first. The service names are those seen in real assignedPlans.
var serviceGuesses = []struct{ prefix, service string }{
	{"EXCHANGE", "exchange"},
	{"SHAREPOINT", "SharePoint"},
	{"ONEDRIVE", "SharePoint"},
	{"MCO", "MicrosoftCommunicationsOnline"},
	{"TEAMS", "TeamspaceAPI"},
	{"OFFICESUBSCRIPTION", "MicrosoftOffice"},
	{"FORMS_", "OfficeForms"},
	{"BPOS_S_TODO", "To-Do"},
	{"INTUNE", "SCO"},
	{"PROJECTWORKMANAGEMENT", "ProjectWorkManagement"},
	{"YAMMER", "YammerEnterprise"},
	{"SWAY", "Sway"},
	{"AAD_PREMIUM", "AADPremiumService"},
	{"RMS_S_", "RMSOnline"},
	{"MFA_PREMIUM", "MultiFactorService"},
	{"POWERAPPS", "PowerAppsService"},
	{"FLOW_", "ProcessSimple"},
	{"BI_AZURE", "PowerBI"},
	{"STREAM_", "MicrosoftStream"},
	{"WHITEBOARD", "WhiteboardServices"},
	{"ADALLOM", "Adallom"},
}

// Marshal writes c in the catalog file format: indented, plans ordered by
// name, SKUs by part number, plan references written as plan names; lists
// inside a plan or SKU keep their order. For any catalog returned by Parse,
// Demo or ParseMicrosoftCSV, Parse(Marshal(c)) is equal to c. A catalog that
// Parse would refuse (a dangling plan id, two plans with one name, …) is an
// *allot.Error with code allot.EINVALID, so what Marshal writes always parses.
func Marshal(c *allot.Catalog) ([]byte, error) {
	if c == nil {
		return nil, invalidf("no catalog to write")
	}
	plans, skus, err := sortedContents(c)
	if err != nil {
		return nil, err
	}
	m := marshaler{names: make(map[string]string, len(plans))}
	for _, p := range plans {
		m.names[p.ID] = p.Name
	}
	var b bytes.Buffer
	b.WriteString("{\n  \"plans\": [")
	writeObjects(&b, len(plans), func(i int) []field { return m.planFields(plans[i]) })
	b.WriteString("],\n  \"skus\": [")
	writeObjects(&b, len(skus), func(i int) []field { return m.skuFields(skus[i]) })
	b.WriteString("]\n}\n")
	if m.bad != nil {
		return nil, m.bad
	}
	out := b.Bytes()
	// What Marshal writes must be a catalog Parse accepts.
	if _, err := Parse(bytes.NewReader(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// sortedContents are c's plans by name and its SKUs by part number (then
// by id), the order of a catalog file, so that a file changes only where
// the catalog does.
func sortedContents(c *allot.Catalog) ([]*allot.ServicePlan, []*allot.SKU, error) {
	plans := make([]*allot.ServicePlan, 0, len(c.Plans))
	for id, p := range c.Plans {
		if p == nil {
			return nil, nil, invalidf("plan %q is nil", id)
		}
		plans = append(plans, p)
	}
	slices.SortFunc(plans, func(x, y *allot.ServicePlan) int {
		return cmp.Or(strings.Compare(x.Name, y.Name), strings.Compare(x.ID, y.ID))
	})
	skus := make([]*allot.SKU, 0, len(c.SKUs))
	for id, s := range c.SKUs {
		if s == nil {
			return nil, nil, invalidf("SKU %q is nil", id)
		}
		skus = append(skus, s)
	}
	slices.SortFunc(skus, func(x, y *allot.SKU) int {
		return cmp.Or(strings.Compare(x.PartNumber, y.PartNumber), strings.Compare(x.ID, y.ID))
	})
	return plans, skus, nil
}

// marshaler writes plan references by name; bad is the first reference
// to a plan the catalog lacks.
type marshaler struct {
	names map[string]string // plan id → name
	bad   error
}

func (m *marshaler) refs(owner string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		n, ok := m.names[id]
		if !ok && m.bad == nil {
			m.bad = invalidf("%s refers to plan id %q, which is not in the catalog", owner, id)
		}
		out[i] = n
	}
	return out
}

func (m *marshaler) planFields(p *allot.ServicePlan) []field {
	owner := fmt.Sprintf("plan %q", p.Name)
	f := []field{
		{"id", quote(p.ID)},
		{"name", quote(p.Name)},
	}
	if p.FriendlyName != "" {
		f = append(f, field{"friendlyName", quote(p.FriendlyName)})
	}
	f = append(f, field{"service", quote(p.Service)})
	if p.ProvisionsMailbox {
		f = append(f, field{"provisionsMailbox", "true"})
	}
	if len(p.AvailableIn) > 0 {
		f = append(f, field{"availableIn", stringList(p.AvailableIn, "      ")})
	}
	if len(p.ConflictsWith) > 0 {
		f = append(f, field{"conflictsWith", stringList(m.refs(owner, p.ConflictsWith), "      ")})
	}
	if len(p.DependsOn) > 0 {
		groups := make([]string, len(p.DependsOn))
		for g, group := range p.DependsOn {
			groups[g] = stringList(m.refs(owner, group), "")
		}
		f = append(f, field{"dependsOn", list(groups, "      ")})
	}
	return f
}

func (m *marshaler) skuFields(s *allot.SKU) []field {
	f := []field{
		{"id", quote(s.ID)},
		{"partNumber", quote(s.PartNumber)},
	}
	if s.DisplayName != "" {
		f = append(f, field{"displayName", quote(s.DisplayName)})
	}
	if s.AppliesTo != "" {
		f = append(f, field{"appliesTo", quote(s.AppliesTo)})
	}
	return append(f, field{"plans", stringList(m.refs(fmt.Sprintf("SKU %q", s.PartNumber), s.Plans), "      ")})
}

// writeObjects writes the n objects of an array, one field list each,
// between its brackets.
func writeObjects(b *bytes.Buffer, n int, fields func(int) []field) {
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n")
		writeObject(b, "    ", fields(i))
	}
	if n > 0 {
		b.WriteString("\n  ")
	}
}

type field struct{ key, value string }

func writeObject(b *bytes.Buffer, indent string, fields []field) {
	b.WriteString(indent + "{\n")
	for i, f := range fields {
		b.WriteString(indent + "  " + quote(f.key) + ": " + f.value)
		if i < len(fields)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(indent + "}")
}

// stringList writes a list of strings, on one line when it is short.
func stringList(xs []string, indent string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = quote(x)
	}
	return list(q, indent)
}

// maxLine is the width up to which a list is written on one line.
const maxLine = 100

// list writes already encoded JSON values as a list: on one line when it
// fits (or when indent is empty), else one value a line.
func list(values []string, indent string) string {
	inline := "[" + strings.Join(values, ", ") + "]"
	if indent == "" || len(indent)+len(inline) <= maxLine {
		return inline
	}
	return "[\n" + indent + "  " + strings.Join(values, ",\n"+indent+"  ") + "\n" + indent + "]"
}

// quote encodes s as a JSON string without escaping <, > and &.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

//go:embed demo.json
var demoFile []byte

var demo = sync.OnceValue(func() *allot.Catalog {
	c, err := Parse(bytes.NewReader(demoFile))
	if err != nil {
		panic("catalog: the embedded demo.json is invalid: " + err.Error())
	}
	return c
})

// Demo returns the demo catalog (catalog/demo.json, embedded), parsed once.
// The catalog is shared: callers must not modify it. The table of its SKUs
// and rules is in docs/CATALOG.md.
func Demo() *allot.Catalog { return demo() }
