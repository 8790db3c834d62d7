package drive

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// testFormat is the identity tests format drives with.
func testFormat() Format {
	return Format{ClusterID: "c0ffee00-0000-4000-8000-000000000001", Set: 1, Position: 2, Zone: "z1"}
}

// testLogger writes the drive's log to the test log at debug level.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// openTest opens a fresh drive in a temporary folder and closes it at the
// end of the test.
func openTest(t testing.TB, opts Options) (*Drive, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "d0")
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := Open(dir, testFormat(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d, dir
}

// commitFile writes content to a new staging file and commits it.
func commitFile(t testing.TB, d *Drive, dataID, name string, content []byte) {
	t.Helper()
	ctx := context.Background()
	sf, err := d.CreateStaging(ctx)
	if err != nil {
		t.Fatalf("CreateStaging: %v", err)
	}
	if _, err := sf.Write(content); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := sf.Commit(ctx, dataID, name); err != nil {
		t.Fatalf("Commit(%s, %s): %v", dataID, name, err)
	}
}

// readAll reads a committed file whole.
func readAll(t testing.TB, d *Drive, dataID, name string) []byte {
	t.Helper()
	f, err := d.OpenData(context.Background(), dataID, name)
	if err != nil {
		t.Fatalf("OpenData(%s, %s): %v", dataID, name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if err != nil {
		t.Fatalf("read %s/%s: %v", dataID, name, err)
	}
	return b
}

// entries lists the names in dir ("" entries if it is missing).
func entries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadDir %s: %v", dir, err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
