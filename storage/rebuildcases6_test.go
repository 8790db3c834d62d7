package storage

// A case a sixth review of the rebuild tracking (3d8ec47) found; it failed
// before its fix.
// The comments tell each defect as it was before the fix.

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// A part whose write began while drive 5 was offline commits on drives
// 0-4 only, after the pass started for the drive formatted in place of
// drive 5 visited the upload. The pass ends drive 5's rebuild; drive 5
// counts as a holder without the part, two unmounted disks get
// formatted, and the next pass rolls back the acknowledged part.
func TestInFlightPartAcrossReplacement(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openManual(t, dirs)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	up, err := s.NewMultipartUpload(ctx, "b", "big", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Drive 5 dies; an empty folder is put in its place.
	emptyInPlace(t, dirs[5])
	s.checkDrives(ctx) // offline, empty folder seen once
	// A part upload starts now (drive 5 offline), its body still coming.
	finish := partInFlight(t, s, up)
	s.checkDrives(ctx) // formatted in place, rebuilding
	if !s.beingRebuilt(dirs[5]) {
		t.Fatal("drive 5 not rebuilding after its format")
	}
	healNow(s) // the pass the format requested
	pi := finish()
	t.Logf("drive 5 rebuilding after the commit: %v", s.beingRebuilt(dirs[5]))
	partSurvivesUnmounts(t, s, dirs, up, pi)
}

// emptyInPlace replaces the drive folder dir by an empty one, as a
// failed drive's replacement.
func emptyInPlace(t *testing.T, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

// partInFlight starts part 1 of upload up of b/big, sending its first
// 1,000 bytes; finish sends the rest and returns the acknowledged part.
func partInFlight(t *testing.T, s *Store, up string) (finish func() PartInfo) {
	t.Helper()
	body := randBytes(7, 300_000)
	pr, pw := io.Pipe()
	type result struct {
		pi  PartInfo
		err error
	}
	done := make(chan result, 1)
	go func() {
		pi, err := s.PutObjectPart(context.Background(), "b", "big", up, 1, pr, PutOptions{Size: int64(len(body)),
			Finish: func() (string, map[string]string, error) { return md5hex(body), nil, nil }})
		done <- result{pi, err}
	}()
	if _, err := pw.Write(body[:1000]); err != nil {
		t.Fatal(err)
	}
	return func() PartInfo {
		t.Helper()
		if _, err := pw.Write(body[1000:]); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.pi
	}
}

// healNow runs a heal pass once the running one, if any, is over.
func healNow(s *Store) {
	for {
		if _, err := s.Heal(context.Background(), HealOptions{}); !errors.Is(err, ErrHealRunning) {
			return
		}
	}
}

// partSurvivesUnmounts has disks 3 and 4 not mounted while the watcher
// runs and a pass heals, then mounts them back and completes the upload
// with part pi: an acknowledged part must still be there. It closes s.
func partSurvivesUnmounts(t *testing.T, s *Store, dirs []string, up string, pi PartInfo) {
	t.Helper()
	ctx := context.Background()
	remount := unmount(t, dirs, 3, 4)
	for range 4 {
		s.checkDrives(ctx)
	}
	formatted := 0
	for _, p := range []int{3, 4} {
		if _, err := os.Stat(filepath.Join(dirs[p], "format.json")); err == nil {
			formatted++
		}
	}
	t.Logf("empty mount points formatted: %d", formatted)
	healNow(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remount()
	s = openManual(t, dirs)
	defer s.Close()
	if _, err := s.CompleteMultipartUpload(ctx, "b", "big", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); err != nil {
		t.Fatalf("acknowledged part lost: %v", err)
	}
}
