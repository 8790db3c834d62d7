package bench

import (
	"errors"
	"math"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"100", 100, true},
		{"0", 0, true},
		{"4KiB", 4096, true},
		{"64MiB", 64 << 20, true},
		{"1GiB", 1 << 30, true},
		{"2TiB", 2 << 40, true},
		{"4kib", 4096, true},
		{" 64 MiB ", 64 << 20, true},
		{"1.5MiB", 3 << 19, true},
		{"0.5KiB", 512, true},
		{"10MB", 10_000_000, true},
		{"4KB", 4000, true},
		{"64M", 64 << 20, true},
		{"4k", 4096, true},
		{"7B", 7, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"8388607TiB", 8388607 << 40, true},
		{"", 0, false},
		{"KiB", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"1.2.3", 0, false},
		{".", 0, false},
		{"4 XiB", 0, false},
		{"8388608TiB", 0, false},
		{"9223372036854775808", 0, false},
		{"9223372036854775808.5", 0, false},
		{"1ib", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.ok {
				if err != nil || got != tc.want {
					t.Fatalf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
				}
				return
			}
			if !errors.Is(err, ErrSize) {
				t.Fatalf("ParseSize(%q) = %d, %v; want ErrSize", tc.in, got, err)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"}, {100, "100"}, {4096, "4KiB"}, {64 << 20, "64MiB"}, {1 << 30, "1GiB"},
		{3 << 19, "1536KiB"}, {5<<20 + 1, "5242881"}, {1 << 50, "1024TiB"},
	}
	for _, tc := range tests {
		if got := FormatSize(tc.in); got != tc.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := ParseSize(FormatSize(tc.in)); err != nil || back != tc.in {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", tc.in, back, err)
		}
	}
}

// FuzzParseSize: no input panics; what parses is non-negative and survives
// FormatSize and back unchanged.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"100", "4KiB", "64MiB", "1GiB", "1.5MiB", "10MB", "7B", "", "-1", "1e3", "9223372036854775807", "8388608TiB", "0.0000001TiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if !errors.Is(err, ErrSize) {
				t.Fatalf("ParseSize(%q): error %v does not wrap ErrSize", s, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d < 0", s, n)
		}
		if back, err := ParseSize(FormatSize(n)); err != nil || back != n {
			t.Fatalf("ParseSize(FormatSize(%d)) = %d, %v", n, back, err)
		}
	})
}

func TestParseMix(t *testing.T) {
	tests := []struct {
		in   string
		want Mix
		ok   bool
	}{
		{"60:30:10", Mix{60, 30, 10}, true},
		{"1:0:0", Mix{1, 0, 0}, true},
		{" 5 : 5 : 0 ", Mix{5, 5, 0}, true},
		{"0:0:0", Mix{}, false},
		{"60:30", Mix{}, false},
		{"a:b:c", Mix{}, false},
		{"-1:2:3", Mix{}, false},
		{"1:2:3:4", Mix{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseMix(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseMix(%q) = %v, %v", tc.in, got, err)
			}
			if tc.ok && got.String() != tc.want.String() {
				t.Fatalf("String() = %q", got.String())
			}
			if !tc.ok && !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
		})
	}
}
