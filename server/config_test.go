package server

import (
	"fmt"
	"strings"
	"testing"
)

// TestConfigValidateErasure checks that the server refuses, before
// opening a drive, a layout with more parity than data shards (whose
// write quorum need not meet a read's), and takes the others.
func TestConfigValidateErasure(t *testing.T) {
	for _, tc := range []struct {
		k, m int
		want string
	}{
		{4, 2, ""},
		{2, 2, ""},
		{8, 4, ""},
		{2, 4, "more parity than data"},
		{1, 2, "more parity than data"},
		{0, 2, "at least 1"},
	} {
		t.Run(fmt.Sprintf("%d+%d", tc.k, tc.m), func(t *testing.T) {
			cfg := Config{DataDir: t.TempDir(), DataShards: tc.k, ParityShards: tc.m, Zones: 1}
			cfg.ensureDefaults()
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
