package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// Cases a second review of the rebuild tracking found. Each failed before
// its fix.
// The comments tell each defect as it was before the fix.

// TestRebuildMarkPrecedesFormat: an empty folder is marked as being
// rebuilt before it is formatted, at run time and at start, and a folder
// holding only the mark (a crash between the two) is still formatted as
// a replacement. Marked after the format, a crash between the two left an
// empty drive a restart counted as holding the set's data.
func TestRebuildMarkPrecedesFormat(t *testing.T) {
	dirs := driveDirs(t.TempDir())
	s := openManual(t, dirs)
	var marked atomic.Int32 // 1: marked when opened, 2: not
	s.reopen = func(path string, want drive.Format, opts drive.Options) (Drive, error) {
		if path == dirs[5] {
			if isRebuilding(path) {
				marked.CompareAndSwap(0, 1)
			} else {
				marked.CompareAndSwap(0, 2)
			}
		}
		return openDrive(path, want, opts)
	}
	unmount(t, dirs, 5) // an empty folder in the failed drive's place
	for range 3 {       // failed; the empty folder seen; seen again: formatted
		s.checkDrives(context.Background())
	}
	if marked.Load() != 1 {
		t.Fatal("the empty folder was formatted before it was marked as being rebuilt")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// At start: a folder holding only the mark, as a crash between the
	// mark and the format leaves it.
	unmount(t, dirs, 4)
	if err := writeSynced(filepath.Join(dirs[4], rebuildingFile)); err != nil {
		t.Fatal(err)
	}
	s = openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dirs[4], "format.json")); err != nil {
		t.Fatalf("a folder holding only the rebuild mark was not formatted: %v", err)
	}
	if !isRebuilding(dirs[4]) {
		t.Fatal("the replacement formatted at start is not marked as being rebuilt")
	}
}

// TestRebuildWaitsForUploadsCompletedDuringThePass: an upload the drive
// being rebuilt lacks, completed while the pass walks the objects, past
// the object's key. The pass healed objects, then uploads: the drive got
// the object's record from the completion, none of its shards, and the
// upload step found no upload left; the rebuild ended. Uploads now come
// first.
func TestRebuildWaitsForUploadsCompletedDuringThePass(t *testing.T) {
	ctx := context.Background()
	s, fds, dirs := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		put(t, s, "b", fmt.Sprintf("a%d", i), randBytes(uint64(i), 1000))
	}
	fds[5].set(func(f *faultDrive) { f.offline = true }) // as an empty replacement
	up, pi := startUpload(t, s, "b", "mp")
	fds[5].set(func(f *faultDrive) { f.offline = false })
	s.markRebuilding(dirs[5])
	done := slowPass(t, s, 10, 2)
	if _, err := s.CompleteMultipartUpload(ctx, "b", "mp", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	raw, err := fds[5].Drive.Get(ctx, objectKey("b", "mp"))
	if err != nil {
		t.Fatalf("drive 5 lacks the completed object's record: %v", err)
	}
	rec, err := decodeObject(raw, true)
	if err != nil || len(rec.Versions) != 1 {
		t.Fatalf("record: %+v, %v", rec, err)
	}
	v := rec.Versions[0]
	if _, err := fds[5].Drive.OpenData(ctx, v.partDataID(&v.Parts[0]), v.Parts[0].File); err != nil && !s.beingRebuilt(dirs[5]) {
		t.Fatalf("drive 5's rebuild ended though it lacks the completed upload's shard: %v", err)
	}
}

// TestOrphanOnAReadOnlyDriveDoesNotFailThePass: garbage a read-only
// drive cannot drop is reported, but does not fail the pass: it failed
// every pass, so no rebuild in the store could end.
func TestOrphanOnAReadOnlyDriveDoesNotFailThePass(t *testing.T) {
	ctx := context.Background()
	s, fds, dirs := faultStore(t, func(c *Config) { c.OrphanGrace = time.Nanosecond })
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	put(t, s, "b", "k", randBytes(1, 200_000))
	f, err := fds[0].Drive.CreateStaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("orphan")); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(ctx, newID(), "part.1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	fds[0].set(func(f *faultDrive) { f.readOnly = true })
	s.markRebuilding(dirs[5])
	st, err := s.Heal(ctx, HealOptions{})
	if err != nil {
		t.Fatalf("the pass failed on an orphan it cannot remove: %v", err)
	}
	if st.LastError == "" {
		t.Fatal("the orphan that could not be removed was not reported")
	}
	if s.beingRebuilt(dirs[5]) {
		t.Fatal("drive 5 still rebuilding after a pass that failed on nothing it holds")
	}
}
