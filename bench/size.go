package bench

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrSize means a size string is not a non-negative number of bytes with an
// optional unit, or does not fit in an int64.
var ErrSize = errors.New("bench: invalid size")

// sizeUnit is a lower-cased unit and its multiplier.
type sizeUnit struct {
	name string
	mult int64
}

// sizeUnits lists the units ParseSize knows. IEC units (KiB) are powers of
// 1024, SI units (KB) powers of 1000; the single letters K, M, G, T are read
// as IEC, because that is what people mean by "64M" of data. Longer names
// come first, so that "kib" is not read as "b".
func sizeUnits() []sizeUnit {
	return []sizeUnit{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
		{"b", 1},
	}
}

// ParseSize parses a byte count: a non-negative decimal number, optionally
// with a fraction, and an optional unit (case-insensitive, space allowed):
//
//	"100" = 100, "4KiB" = 4096, "64MiB" = 67108864, "1GiB" = 1073741824,
//	"1.5MiB" = 1572864, "10MB" = 10000000, "64m" = 67108864, "7B" = 7
//
// A fractional result is rounded down to whole bytes.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits() {
		if strings.HasSuffix(t, u.name) {
			t = strings.TrimSpace(t[:len(t)-len(u.name)])
			mult = u.mult
			break
		}
	}
	if t == "" || t[0] == '+' || t[0] == '-' {
		return 0, fmt.Errorf("%w: %q", ErrSize, s)
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n > math.MaxInt64/mult {
			return 0, fmt.Errorf("%w: %q overflows int64", ErrSize, s)
		}
		return n * mult, nil
	}
	// A fraction: only plain decimal notation, no exponents, hex or NaN.
	if strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }) >= 0 {
		return 0, fmt.Errorf("%w: %q", ErrSize, s)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrSize, s)
	}
	v := f * float64(mult)
	// 2^63 is exactly representable; anything at or above it overflows.
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%w: %q overflows int64", ErrSize, s)
	}
	return int64(v), nil
}

// FormatSize is ParseSize's inverse: the exact byte count with the largest
// IEC unit that divides it ("64MiB", "4KiB", "100"), so that
// ParseSize(FormatSize(n)) == n for every n >= 0.
func FormatSize(n int64) string {
	if n <= 0 {
		return strconv.FormatInt(n, 10)
	}
	for _, u := range []sizeUnit{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
