package drive

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// blockingHandler is a slog handler whose output is stuck until release
// is closed, like a full stderr pipe; it keeps the records it wrote.
type blockingHandler struct {
	release chan struct{}
	mu      sync.Mutex
	records []slog.Record
}

func (h *blockingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *blockingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *blockingHandler) WithGroup(string) slog.Handler            { return h }
func (h *blockingHandler) Handle(_ context.Context, r slog.Record) error {
	<-h.release
	h.mu.Lock()
	h.records = append(h.records, r)
	h.mu.Unlock()
	return nil
}

func (h *blockingHandler) written() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.records...)
}

// TestSlowDiskLogNeverBlocks: pebble's disk-health watcher calls DiskSlow
// and must get control back at once, even when the log output is stuck;
// events that arrive while one is being logged are counted and reported
// with the next.
func TestSlowDiskLogNeverBlocks(t *testing.T) {
	h := &blockingHandler{release: make(chan struct{})}
	l := &slowDiskLog{log: slog.New(h)}
	info := pebble.DiskSlowInfo{OpType: vfs.OpTypeSync, Duration: 6 * time.Second}
	returned := make(chan struct{})
	go func() {
		for range 3 {
			l.report(info)
		}
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("DiskSlow blocked while the log output was stuck")
	}
	close(h.release)
	deadline := time.Now().Add(10 * time.Second)
	for len(h.written()) < 1 || l.busy.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the first event was never logged")
		}
		time.Sleep(time.Millisecond)
	}
	if got := len(h.written()); got != 1 {
		t.Fatalf("%d lines logged for three events while the first was stuck, want 1", got)
	}
	l.report(info)
	for len(h.written()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the fourth event was never logged")
		}
		time.Sleep(time.Millisecond)
	}
	var unlogged int64
	h.written()[1].Attrs(func(a slog.Attr) bool {
		if a.Key == "unlogged_before" {
			unlogged = a.Value.Int64()
		}
		return true
	})
	if unlogged != 2 {
		t.Errorf("the next line reports %d unlogged events, want 2", unlogged)
	}
}
