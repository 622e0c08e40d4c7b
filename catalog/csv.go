package catalog

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

// csvHeader is the header of Microsoft's "Product names and service plan
// identifiers for licensing" CSV.
var csvHeader = []string{"Product_Display_Name", "String_Id", "GUID", "Service_Plan_Name", "Service_Plan_Id", "Service_Plans_Included_Friendly_Names"}

// ParseMicrosoftCSV reads Microsoft's published CSV of products and service
// plans (one row per product and plan, UTF-8, a byte order mark tolerated,
// header checked) into a catalog without rules: no availableIn, conflicts,
// dependencies or mailbox flags. A plan appears once per id; its name and
// friendly name are the spellings most rows use; runs of white space in
// names are folded to one space; SKUs keep their plans in file order, each
// once. The list has a few names used by two ids (plan PROJECT_ESSENTIALS,
// SKU MCOPSTN5): the id with the most rows (then the first) keeps the name,
// the other gets "_" and the first 8 hex digits of its id appended, so that
// the result is a valid catalog file once marshalled. Services are guessed
// from plan names (GuessService). Errors are *allot.Error with code
// allot.EINVALID and name the line.
func ParseMicrosoftCSV(r io.Reader) (*allot.Catalog, error) {
	return parseMicrosoftCSV("", r)
}

// csvPlace words where in the list a problem is: "plans.csv:12" when the
// file has a name (the form editors and compilers use), else "csv: line 12".
type csvPlace string

func (name csvPlace) file() string {
	if name == "" {
		return "csv"
	}
	return string(name)
}

func (name csvPlace) line(n int) string {
	if name == "" {
		return fmt.Sprintf("csv: line %d", n)
	}
	return fmt.Sprintf("%s:%d", name, n)
}

// parseMicrosoftCSV is ParseMicrosoftCSV with errors placed in the file
// called name ("" for the anonymous form).
func parseMicrosoftCSV(place csvPlace, r io.Reader) (*allot.Catalog, error) {
	if r == nil {
		return nil, invalidf("%s: nothing to read", place.file())
	}
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(bom)); err == nil && bytes.Equal(b, bom) {
		_, _ = br.Discard(len(bom))
	}
	cr := csv.NewReader(br)
	if err := readCSVHeader(place, cr); err != nil {
		return nil, err
	}
	plans, skus, err := tallyCSV(place, cr)
	if err != nil {
		return nil, err
	}
	planNames, planOrder := nameTallies(plans)
	fps := make([]filePlan, len(planOrder))
	for i, t := range planOrder {
		service := GuessService(planNames[t.id])
		fps[i] = filePlan{
			ID:           t.id,
			Name:         planNames[t.id],
			FriendlyName: mostUsed(t.forder, t.friends),
			Service:      &service,
		}
	}
	skuNames, skuOrder := nameTallies(skus)
	fss := make([]fileSKU, len(skuOrder))
	for i, t := range skuOrder {
		fss[i] = fileSKU{
			ID:          t.id,
			PartNumber:  skuNames[t.id],
			DisplayName: t.display,
			AppliesTo:   AppliesToUser,
			Plans:       t.plans,
		}
	}
	return build(fps, fss)
}

func readCSVHeader(place csvPlace, cr *csv.Reader) error {
	header, err := cr.Read()
	if err == io.EOF {
		return invalidf("%s: the file is empty", place.file())
	} else if err != nil {
		return csvError(place, err)
	}
	if len(header) != len(csvHeader) {
		return invalidf("%s: the header has %d columns, want %d: %s", place.line(1), len(header), len(csvHeader), strings.Join(csvHeader, ","))
	}
	for i, h := range header {
		if !strings.EqualFold(strings.TrimSpace(h), csvHeader[i]) {
			return invalidf("%s: column %d of the header is %q, want %q (the header must be %s)", place.line(1), i+1, h, csvHeader[i], strings.Join(csvHeader, ","))
		}
	}
	return nil
}

// tally counts the rows of one plan or SKU id and the spellings they give
// its name, from which its name is chosen.
type tally struct {
	id      string
	first   int // order of first appearance
	rows    int
	names   map[string]int
	friends map[string]int
	order   []string // spellings in order of first appearance, for ties
	forder  []string
	display string
	plans   []string // SKUs only
}

func newTally(id string, first int) *tally {
	return &tally{id: id, first: first, names: map[string]int{}, friends: map[string]int{}}
}

func (t *tally) count(name, friendly string) {
	t.rows++
	if t.names[name] == 0 {
		t.order = append(t.order, name)
	}
	t.names[name]++
	if friendly != "" {
		if t.friends[friendly] == 0 {
			t.forder = append(t.forder, friendly)
		}
		t.friends[friendly]++
	}
}

// tallyCSV reads the rows after the header into tallies of plans and
// SKUs, by id.
func tallyCSV(place csvPlace, cr *csv.Reader) (plans, skus map[string]*tally, err error) {
	plans, skus = map[string]*tally{}, map[string]*tally{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return plans, skus, nil
		} else if err != nil {
			return nil, nil, csvError(place, err)
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = fold(rec[i])
		}
		product, part, skuID, planName, planID, friendly := rec[0], rec[1], rec[2], rec[3], rec[4], rec[5]
		sid, ok := allot.ParseID(skuID)
		if !ok {
			return nil, nil, invalidf("%s: the SKU id (column GUID) %q is not a GUID", place.line(line), skuID)
		}
		pid, ok := allot.ParseID(planID)
		if !ok {
			return nil, nil, invalidf("%s: the plan id (column Service_Plan_Id) %q is not a GUID", place.line(line), planID)
		}
		if part == "" {
			return nil, nil, invalidf("%s: the SKU part number (column String_Id) is empty", place.line(line))
		}
		if planName == "" {
			return nil, nil, invalidf("%s: the plan name (column Service_Plan_Name) is empty", place.line(line))
		}
		s := skus[sid]
		if s == nil {
			s = newTally(sid, len(skus))
			s.display = product
			skus[sid] = s
		}
		s.count(part, "")
		if !slices.Contains(s.plans, pid) {
			s.plans = append(s.plans, pid)
		}
		p := plans[pid]
		if p == nil {
			p = newTally(pid, len(plans))
			plans[pid] = p
		}
		p.count(planName, friendly)
	}
}

// nameTallies picks each tally's most used spelling (the first on a tie),
// then makes it unique among names already given out; tallies with more
// rows choose first. It returns the names by id, and the tallies in the
// order of the file.
func nameTallies(all map[string]*tally) (map[string]string, []*tally) {
	ts := slices.SortedFunc(maps.Values(all), func(x, y *tally) int {
		return cmp.Or(cmp.Compare(y.rows, x.rows), cmp.Compare(x.first, y.first))
	})
	taken := map[string]bool{}
	names := make(map[string]string, len(ts))
	for _, t := range ts {
		n := mostUsed(t.order, t.names)
		if taken[n] {
			n += "_" + t.id[:8]
			if taken[n] {
				n += t.id[8:]
			}
		}
		taken[n] = true
		names[t.id] = n
	}
	slices.SortFunc(ts, func(x, y *tally) int { return cmp.Compare(x.first, y.first) })
	return names, ts
}

// mostUsed returns the spelling with the highest count, the first on a tie.
func mostUsed(order []string, counts map[string]int) string {
	best := ""
	for _, s := range order {
		if best == "" || counts[s] > counts[best] {
			best = s
		}
	}
	return best
}

// fold trims s and folds each run of white space (tabs and no-break spaces
// included, which the published list has) to one space.
func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

func csvError(name csvPlace, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if name == "" {
			return invalidf("csv: line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
		}
		return invalidf("%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
	}
	return invalidf("%s: %v", name.file(), err)
}
