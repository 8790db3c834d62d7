package storage

import (
	"fmt"
	"strings"
	"testing"
)

// TestConfigValidateErasure checks the erasure layouts a store accepts:
// parity at most data, so that the k drives (k+1 when k == m) a write
// commits to meet any k drives a read asks.
func TestConfigValidateErasure(t *testing.T) {
	for _, tc := range []struct {
		k, m int
		want string // "" for valid, else a part of the error
	}{
		{4, 2, ""},
		{2, 1, ""},
		{1, 1, ""},
		{3, 3, ""},
		{12, 4, ""},
		{2, 4, "exceeds DataShards"},
		{1, 2, "exceeds DataShards"},
		{4, 5, "exceeds DataShards"},
		{0, 2, "at least 1"},
		{2, 0, "at least 1"},
	} {
		t.Run(fmt.Sprintf("%d+%d", tc.k, tc.m), func(t *testing.T) {
			var drives []DriveConfig
			for i := range max(1, tc.k+tc.m) {
				drives = append(drives, DriveConfig{Path: fmt.Sprintf("/d%d", i), Zone: "z"})
			}
			cfg := Config{Drives: drives, DataShards: tc.k, ParityShards: tc.m}
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
