package allot_test

import (
	"math/big"
	"testing"

	"github.com/allot-dev/allot"
)

func TestParsePrice(t *testing.T) {
	for in, want := range map[string]int64{"8": 80000, "8.00": 80000, "8.5": 85000, "0.0001": 1, " 12.3456 ": 123456, "1000000": 10_000_000_000, "0": 0} {
		if got, err := allot.ParsePrice(in); err != nil || got != want {
			t.Errorf("ParsePrice(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".5", "8.", "8.00001", "-1", "1e3", "8,00", "1000000.0001", "abc", "12345678"} {
		if _, err := allot.ParsePrice(in); allot.ErrorCode(err) != allot.EINVALID {
			t.Errorf("ParsePrice(%q) = %v, want invalid", in, err)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for units, want := range map[int64]string{0: "0.00", 1: "0.0001", 80000: "8.00", 85000: "8.50", 123456: "12.3456", 123450: "12.345", -5000: "-0.50"} {
		if got := allot.FormatAmount(big.NewInt(units)); got != want {
			t.Errorf("FormatAmount(%d) = %s, want %s", units, got, want)
		}
	}
	if !allot.ValidCurrency("EUR") || allot.ValidCurrency("eur") || allot.ValidCurrency("ABC") {
		t.Error("currency validation")
	}
}
