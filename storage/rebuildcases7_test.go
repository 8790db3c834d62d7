package storage

// A case a seventh review of the rebuild tracking (ddb92eb) found; it
// failed before its fix.
// The comments tell each defect as it was before the fix.

import (
	"context"
	"fmt"
	"syscall"
	"testing"
)

// Drive 5 is already formatted and being rebuilt when a part upload
// begins; its staging fails transiently (EMFILE, which checkDrives does
// not count against the drive). The pass the format requested ends the
// rebuild before the part commits on 0-4. missedWrite then sees neither a
// replaced drive (same id) nor one being rebuilt.
func TestMissWhileRebuildingEndsBeforeCommit(t *testing.T) {
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
	emptyInPlace(t, dirs[5])
	s.checkDrives(ctx)
	s.checkDrives(ctx) // formatted in place, rebuilding
	if !s.beingRebuilt(dirs[5]) {
		t.Fatal("drive 5 not rebuilding after its format")
	}
	fd := newFaultDrive(s.sets[0].drives()[5])
	fd.set(func(f *faultDrive) { f.fail["stage"] = fmt.Errorf("injected: %w", syscall.EMFILE) })
	s.sets[0].replace(5, fd)
	finish := partInFlight(t, s, up) // staged; drive 5's staging failed
	fd.clear()
	healNow(s) // the pass the format requested ends the rebuild
	pi := finish()
	t.Logf("drive 5 rebuilding after the commit: %v", s.beingRebuilt(dirs[5]))
	partSurvivesUnmounts(t, s, dirs, up, pi)
}
