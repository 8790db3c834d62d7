package storage

// A case a seventh review of the rebuild tracking (ddb92eb) found; it
// failed before its fix.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	if err := os.RemoveAll(dirs[5]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dirs[5], 0o700); err != nil {
		t.Fatal(err)
	}
	s.checkDrives(ctx)
	s.checkDrives(ctx) // formatted in place, rebuilding
	if !s.beingRebuilt(dirs[5]) {
		t.Fatal("drive 5 not rebuilding after its format")
	}
	fd := newFaultDrive(s.sets[0].drives()[5])
	fd.set(func(f *faultDrive) { f.fail["stage"] = fmt.Errorf("injected: %w", syscall.EMFILE) })
	s.sets[0].replace(5, fd)
	body := randBytes(7, 300_000)
	pr, pw := io.Pipe()
	type res struct {
		pi  PartInfo
		err error
	}
	done := make(chan res, 1)
	go func() {
		pi, err := s.PutObjectPart(ctx, "b", "big", up, 1, pr, PutOptions{Size: int64(len(body)),
			Finish: func() (string, map[string]string, error) { return md5hex(body), nil, nil }})
		done <- res{pi, err}
	}()
	pw.Write(body[:1000]) // staged; drive 5's staging failed
	fd.clear()
	for {
		if _, err := s.Heal(ctx, HealOptions{}); err != ErrHealRunning {
			break
		}
	}
	t.Logf("drive 5 rebuilding after the pass (before commit): %v", s.beingRebuilt(dirs[5]))
	pw.Write(body[1000:])
	pw.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("drive 5 rebuilding after commit: %v", s.beingRebuilt(dirs[5]))
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
	for {
		if _, err := s.Heal(ctx, HealOptions{}); err != ErrHealRunning {
			break
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remount()
	s = openManual(t, dirs)
	defer s.Close()
	if _, err := s.CompleteMultipartUpload(ctx, "b", "big", up, []CompletePart{{Number: 1, ETag: r.pi.ETag}}, CompleteOptions{}); err != nil {
		t.Fatalf("acknowledged part lost: %v", err)
	}
}
