package storage

// A case a fifth review of the rebuild tracking (342eaab) found; it failed
// before its fix.
// The comments tell each defect as it was before the fix.

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestInterruptedFormatIsFinished: a replacement folder whose
// format was cut short (the rebuild mark written first, then
// formatDrive's tmp/format-*.json written, killed before the rename:
// drive's own "interrupted format" case, which drive.Open formats) must
// be formatted on the next start, as before 342eaab.
func TestInterruptedFormatIsFinished(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openManual(t, dirs)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	put(t, s, "b", "o", randBytes(1, 200_000))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	unmount(t, dirs, 5) // an empty folder in place of a failed drive
	// What an interrupted start-up format leaves: mark, tmp/, data/, and
	// the staged format file.
	for _, d := range []string{"tmp", "data"} {
		if err := os.Mkdir(filepath.Join(dirs[5], d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dirs[5], rebuildingFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs[5], "tmp", "format-x.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dirs, nil) // watcher every 20 ms
	defer s.Close()
	time.Sleep(300 * time.Millisecond) // many watcher rounds
	st := s.DriveStates(ctx)[0][5]
	t.Logf("drive 5: %+v", st)
	if _, err := os.Stat(filepath.Join(dirs[5], "format.json")); err != nil {
		t.Fatalf("interrupted format never resumed (start and watcher both refuse): %s / %s", st.State, st.Reason)
	}
}
