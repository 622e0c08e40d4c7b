package allot

import (
	"context"
	"math/big"
	"strings"
	"time"
)

// BeyondService serves three features that the reference system
// lacks: the waiting room, the cost report and the direct-assignment
// policy (docs/WAITING-ROOM-COST-POLICY.md). The store implements it; it
// stays out of Service so that Service's fakes need not.
type BeyondService interface {
	// WaitingRoom lists the users in CountViolation for a subscribed SKU in
	// the order they will get seats, skipping skip and returning at most top.
	WaitingRoom(ctx context.Context, skuID string, skip, top int) (*WaitingRoom, error)
	// SetPrice sets the price per seat of a subscription (PermPurchase).
	SetPrice(ctx context.Context, skuID string, price Price) (*Price, error)
	// ClearPrice removes a subscription's price.
	ClearPrice(ctx context.Context, skuID string) error
	// CostReport reports spend per product and group, and idle seats.
	CostReport(ctx context.Context) (*CostReport, error)
	// Policy returns the tenant's licensing policy.
	Policy(ctx context.Context) (*Policy, error)
	// SetPolicy replaces the list of SKUs whose direct assignment is blocked
	// (PermManageTenant).
	SetPolicy(ctx context.Context, blockedDirect []string) (*Policy, error)
}

// WaitingRoom is a page of a SKU's waiting room (docs/RULES.md §2.3.4).
type WaitingRoom struct {
	SkuID     string
	Total     int // users waiting, all pages
	Available int // seats free now; non-zero only until processing catches up
	Users     []WaitingUser
}

// WaitingUser is one place in a waiting room.
type WaitingUser struct {
	Position          int // 1 gets the next free seat
	UserID            string
	UserPrincipalName string
	DisplayName       string
	Direct            bool       // waits through a direct assignment
	Groups            []GroupRef // groups whose assignment waits for the seat
	WaitingSince      time.Time
}

// GroupRef names a group.
type GroupRef struct {
	ID          string
	DisplayName string
}

// PriceScale is how many units of a Price make one of its currency: prices
// are exact integers of ten-thousandths, so sums never round.
const PriceScale = 10_000

// MaxPrice bounds a price per seat (in currency units) so that spend,
// at most MaxSeats of the store times this, fits an int64 per product.
const MaxPrice = 1_000_000

// Price is a subscription's price per seat.
type Price struct {
	SkuID     string
	Units     int64  // ten-thousandths of the currency (PriceScale)
	Currency  string // ISO 4217, upper case
	UpdatedAt time.Time
}

// ParsePrice reads a decimal amount ("8", "8.5", "8.0000") with at most
// four decimals into units of 1/PriceScale.
func ParsePrice(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, dot := strings.Cut(s, ".")
	bad := Errorf(EINVALID, "Invalid value '%s' for pricePerSeat: give a decimal amount such as 8.00, with at most 4 decimals, from 0 to %d.", clipText(s), MaxPrice)
	if whole == "" || len(whole) > 7 || len(frac) > 4 || (dot && frac == "") {
		return 0, bad
	}
	var units int64
	for _, r := range whole + frac + strings.Repeat("0", 4-len(frac)) {
		if r < '0' || r > '9' {
			return 0, bad
		}
		units = units*10 + int64(r-'0')
	}
	if units > MaxPrice*PriceScale {
		return 0, bad
	}
	return units, nil
}

// FormatAmount writes units of 1/PriceScale as a decimal with at least two
// decimals: 80000 is "8.00", 12345 is "1.2345".
func FormatAmount(units *big.Int) string {
	neg := units.Sign() < 0
	s := new(big.Int).Abs(units).String()
	for len(s) < 5 {
		s = "0" + s
	}
	whole, frac := s[:len(s)-4], strings.TrimRight(s[len(s)-4:], "0")
	for len(frac) < 2 {
		frac += "0"
	}
	if neg {
		whole = "-" + whole
	}
	return whole + "." + frac
}

// String is the price per seat as a decimal.
func (p Price) String() string { return FormatAmount(big.NewInt(p.Units)) }

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ValidCurrency reports whether c is an active ISO 4217 currency code.
func ValidCurrency(c string) bool { return isoCurrencies[c] }

var isoCurrencies = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB
		BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF
		DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR
		ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
		MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR
		PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS
		SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW
		UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL`) {
		m[c] = true
	}
	return m
}()

// CostReport is the tenant's spend on seats. Amounts are decimals of their
// own currency and are never summed across currencies.
type CostReport struct {
	Products []ProductCost
	Groups   []GroupCost
	Totals   []CurrencyTotal // one per currency, by currency
}

// ProductCost is one subscription's seats and spend. Without a price,
// Currency and the amounts are empty.
type ProductCost struct {
	SkuID, PartNumber, DisplayName string
	Bought, Consumed, Idle         int // Idle: bought and not held by anyone
	PricePerSeat, Currency         string
	Spend, IdleSpend               string // Bought and Idle times the price
}

// GroupCost is the seats held through one group's assignments. A user
// licensed for a SKU through two groups counts in both, so group rows do
// not add up to the products' consumption.
type GroupCost struct {
	GroupID, DisplayName string
	Products             []GroupProductCost
	Totals               []CurrencyTotal // the group's spend per currency
}

// GroupProductCost is the seats of one SKU held through a group.
type GroupProductCost struct {
	SkuID, PartNumber      string
	Seats                  int
	PricePerSeat, Currency string
	Spend                  string
}

// CurrencyTotal sums amounts of one currency.
type CurrencyTotal struct {
	Currency         string
	Spend, IdleSpend string
}

// Policy is a tenant's licensing policy.
type Policy struct {
	// BlockedDirectSKUs are SKUs that may not be newly assigned to a user
	// directly: groups are the only way. Existing direct assignments stay
	// and may be removed.
	BlockedDirectSKUs []string
}
