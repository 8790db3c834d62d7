package storage

// A case a sixth review of the rebuild tracking (3d8ec47) found; it failed
// before its fix.

import (
	"context"
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
	if err := os.RemoveAll(dirs[5]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dirs[5], 0o700); err != nil {
		t.Fatal(err)
	}
	s.checkDrives(ctx) // offline, empty folder seen once
	// A part upload starts now (drive 5 offline), its body still coming.
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
	pw.Write(body[:1000])
	s.checkDrives(ctx) // formatted in place, rebuilding
	if !s.beingRebuilt(dirs[5]) {
		t.Fatal("drive 5 not rebuilding after its format")
	}
	for { // the pass the format requested
		if _, err := s.Heal(ctx, HealOptions{}); err != ErrHealRunning {
			break
		}
	}
	pw.Write(body[1000:])
	pw.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := s.drivesAt(5).Get(ctx, partKey(up, 1)); err == nil {
		t.Log("drive 5 holds the part")
	}
	t.Logf("drive 5 rebuilding after the pass: %v", s.beingRebuilt(dirs[5]))
	// Disks 3 and 4 do not mount.
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

func (s *Store) drivesAt(p int) Drive { return s.sets[0].drives()[p] }
