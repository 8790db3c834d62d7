package drive

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// blockingHandler is a slog handler whose output is stuck until release
// is closed, like a full stderr pipe. It keeps the records it wrote and
// counts the callers stuck in it at once.
type blockingHandler struct {
	release chan struct{}
	entered chan struct{} // closed when the first record arrives
	once    sync.Once
	inside  atomic.Int32
	most    atomic.Int32
	mu      sync.Mutex
	records []slog.Record
}

func newBlockingHandler() *blockingHandler {
	return &blockingHandler{release: make(chan struct{}), entered: make(chan struct{})}
}

func (h *blockingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *blockingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *blockingHandler) WithGroup(string) slog.Handler            { return h }
func (h *blockingHandler) Handle(_ context.Context, r slog.Record) error {
	n := h.inside.Add(1)
	for m := h.most.Load(); n > m && !h.most.CompareAndSwap(m, n); m = h.most.Load() {
	}
	h.once.Do(func() { close(h.entered) })
	<-h.release
	h.mu.Lock()
	h.records = append(h.records, r)
	h.mu.Unlock()
	h.inside.Add(-1)
	return nil
}

func (h *blockingHandler) written() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.records...)
}

// unlogged is a record's unlogged_before count, 0 without one.
func unlogged(r slog.Record) int64 {
	var n int64
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "unlogged_before" {
			n = a.Value.Int64()
		}
		return true
	})
	return n
}

// TestSlowDiskLogNeverBlocks: pebble's disk-health watcher calls DiskSlow
// and must get control back at once, even when the log output is stuck;
// one line is logged at a time, and the events arriving meanwhile are
// counted into the next line (once). wait, which the drive's Close runs,
// returns only after the line being logged is out.
func TestSlowDiskLogNeverBlocks(t *testing.T) {
	h := newBlockingHandler()
	l := &slowDiskLog{log: slog.New(h)}
	info := pebble.DiskSlowInfo{OpType: vfs.OpTypeSync, Duration: 6 * time.Second}
	within := func(what string, done <-chan struct{}) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal(what)
		}
	}
	l.report(info)
	within("the first event never reached the log output", h.entered)
	returned := make(chan struct{})
	go func() {
		for range 100 {
			l.report(info)
		}
		close(returned)
	}()
	within("DiskSlow blocked while the log output was stuck", returned)
	waited := make(chan struct{})
	go func() { l.wait(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("wait returned while a line was still being logged")
	case <-time.After(30 * time.Millisecond):
	}
	close(h.release)
	within("wait did not return once the line was out", waited)
	if n := h.most.Load(); n != 1 {
		t.Fatalf("%d logging goroutines were stuck in the output at once, want 1", n)
	}
	if got := len(h.written()); got != 1 {
		t.Fatalf("%d lines logged for 101 events while the first was stuck, want 1", got)
	}
	for i, want := range []int64{100, 0} {
		l.report(info)
		l.wait()
		recs := h.written()
		if len(recs) != i+2 {
			t.Fatalf("%d lines after %d more events, want %d", len(recs), i+1, i+2)
		}
		if got := unlogged(recs[i+1]); got != want {
			t.Errorf("line %d reports %d unlogged events, want %d", i+2, got, want)
		}
	}
}
