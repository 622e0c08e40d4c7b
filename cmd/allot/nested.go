package main

import "strconv"

// optionalBool is a boolean flag that tells "not given" from false:
// `allot assign --include-nested=false` switches nesting off, while
// leaving the flag out keeps an existing assignment's setting.
type optionalBool struct {
	set, v bool
}

func (b *optionalBool) String() string {
	if b == nil || !b.set {
		return ""
	}
	return strconv.FormatBool(b.v)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.v = true, v
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }
