package main

import "testing"

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1000", 1000, true},
		{"10B", 10, true},
		{"1KB", 1000, true},
		{"1KiB", 1024, true},
		{"1.5 GiB", 3 << 29, true},
		{"2tb", 2e12, true},
		{"500M", 500e6, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"10XB", 0, false},
		{"1KK", 0, false},
		{"9999999PiB", 0, false},
		{"GiB", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
				t.Fatalf("parseSize(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}
