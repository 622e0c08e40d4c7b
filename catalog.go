package allot

import "sort"

// Catalog is the server's set of SKUs and service plans with their rules.
// It is immutable once built: replace it whole rather than edit it, so a
// reader never sees half an update.
type Catalog struct {
	Plans map[string]*ServicePlan
	SKUs  map[string]*SKU

	conflicts map[string]map[string]bool // symmetric closure of ConflictsWith
}

// NewCatalog indexes plans and SKUs. The caller (the catalog parser) has
// already validated references; NewCatalog only builds lookups.
func NewCatalog(plans []*ServicePlan, skus []*SKU) *Catalog {
	c := &Catalog{
		Plans:     make(map[string]*ServicePlan, len(plans)),
		SKUs:      make(map[string]*SKU, len(skus)),
		conflicts: make(map[string]map[string]bool),
	}
	for _, p := range plans {
		c.Plans[p.ID] = p
	}
	for _, s := range skus {
		c.SKUs[s.ID] = s
	}
	add := func(a, b string) {
		if c.conflicts[a] == nil {
			c.conflicts[a] = make(map[string]bool)
		}
		c.conflicts[a][b] = true
	}
	for _, p := range plans {
		for _, q := range p.ConflictsWith {
			add(p.ID, q)
			add(q, p.ID)
		}
	}
	return c
}

// Conflicts reports whether plans a and b may not be enabled together.
func (c *Catalog) Conflicts(a, b string) bool { return c.conflicts[a][b] }

// SKUByPartNumber finds a SKU by its skuPartNumber.
func (c *Catalog) SKUByPartNumber(part string) *SKU {
	for _, s := range c.SKUs {
		if s.PartNumber == part {
			return s
		}
	}
	return nil
}

// SortedSKUs returns the SKUs ordered by part number, for stable listings.
func (c *Catalog) SortedSKUs() []*SKU {
	out := make([]*SKU, 0, len(c.SKUs))
	for _, s := range c.SKUs {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PartNumber < out[j].PartNumber })
	return out
}

// EnabledPlans returns the plans of sku minus disabled, in catalog order.
// The result may be the catalog's own slice: callers must not modify it.
func (c *Catalog) EnabledPlans(skuID string, disabled []string) []string {
	s := c.SKUs[skuID]
	if s == nil {
		return nil
	}
	if len(disabled) == 0 {
		return s.Plans
	}
	out := make([]string, 0, len(s.Plans))
	for _, p := range s.Plans {
		if !contains(disabled, p) {
			out = append(out, p)
		}
	}
	return out
}

// HasPlan reports whether plan belongs to sku.
func (c *Catalog) HasPlan(skuID, planID string) bool {
	s := c.SKUs[skuID]
	return s != nil && contains(s.Plans, planID)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
