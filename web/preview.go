package web

import (
	"fmt"
	"net/http"

	"github.com/allot-dev/allot"
)

// The Preview step of the Assign licenses panel (docs/PREVIEW.md): what
// assigning the product to the selected groups would do, computed by the
// store with the real processing and rolled back.

type previewData struct {
	Seats        []previewSeatRow
	Users        []previewUserRow
	Totals       allot.PreviewTotals
	Evaluated    int
	QueuedBefore int
	Truncated    bool
}

type previewSeatRow struct {
	Product                  string
	Before, After, Delta     int
	Enabled, Available, Over int
}

type previewUserRow struct {
	Name, UPN                    string
	Gains, Losses, Errors, Fixed []string
}

// assignPreview fills a.Preview, or a.Error when the preview is refused.
// The caller has checked the role (the panel's, to manage licenses).
func (s *server) assignPreview(r *http.Request, a *assignData, sku string, off []string) error {
	switch {
	case len(a.Selected) == 0:
		a.Error = "Select at least one group from the Suggested groups list, then select Preview."
		return nil
	case len(a.Selected) > allot.MaxBatch:
		a.Error = fmt.Sprintf("You can preview at most %d groups at a time, and %d are selected.", allot.MaxBatch, len(a.Selected))
		return nil
	}
	nested := a.IncludeNested
	var changes []allot.PreviewChange
	for _, g := range a.Selected {
		changes = append(changes, allot.PreviewChange{Op: allot.PreviewAssignLicense, GroupID: g.ID,
			AddLicenses: []allot.AssignedLicense{{SkuID: sku, DisabledPlans: append([]string{}, off...), IncludeNestedGroups: &nested}}, RemoveLicenses: []string{}})
	}
	p, err := s.svc.Preview.Preview(r.Context(), changes)
	if err != nil {
		if code := allot.ErrorCode(err); code == allot.EINVALID || code == allot.ECONFLICT || code == allot.ENOTFOUND {
			a.Error = "No preview: " + plainMessage(err)
			return nil
		}
		return err
	}
	a.Preview = s.previewRows(r, p)
	return nil
}

func (s *server) previewRows(r *http.Request, p *allot.Preview) *previewData {
	cat := s.svc.Subscriptions.Catalog()
	groupName := s.groupNames(r)
	d := &previewData{Totals: p.Totals, Evaluated: p.UsersEvaluated, QueuedBefore: p.QueuedBefore, Truncated: p.Truncated}
	for _, x := range p.Seats {
		d.Seats = append(d.Seats, previewSeatRow{Product: skuName(cat, x.SkuID), Before: x.ConsumedBefore, After: x.ConsumedAfter, Delta: x.Delta(),
			Enabled: x.EnabledAfter, Available: max(0, x.EnabledAfter-x.ConsumedAfter), Over: max(0, x.ConsumedAfter-x.EnabledAfter)})
	}
	unit := func(e allot.PreviewError) string {
		via := "direct"
		if e.Source != "" {
			via = groupName(e.Source)
		}
		return fmt.Sprintf("%s — %s (%s)", skuName(cat, e.SkuID), errorWords(e.Error, false), via)
	}
	for _, u := range p.Users {
		row := previewUserRow{Name: u.DisplayName, UPN: u.UserPrincipalName}
		for _, id := range u.Gained {
			row.Gains = append(row.Gains, skuName(cat, id))
		}
		for _, id := range u.Lost {
			row.Losses = append(row.Losses, skuName(cat, id))
		}
		for _, e := range u.IntoError {
			row.Errors = append(row.Errors, unit(e))
		}
		for _, e := range u.OutOfError {
			row.Fixed = append(row.Fixed, unit(e))
		}
		d.Users = append(d.Users, row)
	}
	return d
}
