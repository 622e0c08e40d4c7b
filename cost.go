package allot

import (
	"context"
	"math/big"
	"strings"
	"time"
)

// CostService prices seats and reports spend (docs/WAITING-ROOM-COST-POLICY.md).
type CostService interface {
	// SetPrice sets the price per seat of a subscription (PermPurchase).
	// ENOTFOUND without a subscription, EINVALID for a bad amount or
	// currency.
	SetPrice(ctx context.Context, skuID string, price Price) (*Price, error)
	// ClearPrice removes a subscription's price (PermPurchase); ENOTFOUND
	// without a subscription.
	ClearPrice(ctx context.Context, skuID string) error
	// CostReport reports spend per product and group, and idle seats
	// (PermRead).
	CostReport(ctx context.Context) (*CostReport, error)
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
