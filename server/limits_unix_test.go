//go:build unix

package server

import (
	"bytes"
	"log/slog"
	"strings"
	"syscall"
	"testing"
)

// TestFileLimitWarned: a low file-descriptor limit is warned of at start.
func TestFileLimitWarned(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	saved := rl
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &saved) })
	for _, tt := range []struct {
		limit uint64
		warn  bool
	}{{1024, true}, {minOpenFiles, false}} {
		if tt.limit > saved.Max {
			continue // cannot be raised here; the lower limit still is checked
		}
		rl.Cur = tt.limit
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		checkFileLimit(slog.New(slog.NewTextHandler(&buf, nil)))
		if got := strings.Contains(buf.String(), "ulimit -n"); got != tt.warn {
			t.Errorf("limit %d: warned %v, want %v: %s", tt.limit, got, tt.warn, buf.String())
		}
	}
}
