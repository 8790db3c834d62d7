package storage

// Cases a third review of the rebuild tracking (35228bc) found. Each
// failed before its fix.
// The comments tell each defect as it was before the fix.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// TestRebuildMarkHonouredAtRunTime: the watcher formats an empty folder
// (mark, then format.json) but the open fails after the format (pebble,
// measureRoom, cleanTmp, the Check after the open...). The next check
// finds a formatted folder, takes the "drive back online" branch, and
// never looks at the rebuild mark in it: the empty drive counts as a
// holder at run time, two unmounted disks are then formatted, and the
// heal rolls every object back.
func TestRebuildMarkHonouredAtRunTime(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openManual(t, dirs)
	bodies := fillBucket(t, s, 4, 60_000) // inline and not
	failed := false
	s.reopen = func(path string, want drive.Format, opts drive.Options) (Drive, error) {
		if path == dirs[5] && !failed {
			failed = true
			d, err := openDrive(path, want, opts) // formats the folder
			if err == nil {
				d.Close()
			}
			return nil, errors.New("injected: open failed after the format")
		}
		return openDrive(path, want, opts)
	}
	unmount(t, dirs, 5) // drive 5 failed: an empty folder in its place
	for range 4 {
		s.checkDrives(ctx)
	}
	if _, err := os.Stat(filepath.Join(dirs[5], "format.json")); err != nil {
		t.Fatal("setup: folder not formatted")
	}
	if _, off := s.sets[0].drives()[5].(offlineDrive); off {
		t.Fatal("setup: drive 5 not reopened")
	}
	t.Logf("on disk marked: %v, in memory rebuilding: %v, holders besides 3: %d",
		isRebuilding(dirs[5]), s.beingRebuilt(dirs[5]), s.holdersBesides(s.sets[0], 3))
	// Two disks of the set now unmounted (not failed).
	remount := unmount(t, dirs, 3, 4)
	for range 6 {
		s.checkDrives(ctx)
	}
	formatted := 0
	for _, p := range []int{3, 4} {
		if _, err := os.Stat(filepath.Join(dirs[p], "format.json")); err == nil {
			formatted++
		}
	}
	s.Heal(ctx, HealOptions{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remount()
	s = openManual(t, dirs)
	defer s.Close()
	lost := 0
	for key, want := range bodies {
		got, err := get(t, s, "b", key, 0, -1)
		if err != nil || !bytes.Equal(got, want) {
			lost++
			t.Logf("%s: %v", key, err)
		}
	}
	if formatted > 0 || lost > 0 {
		t.Fatalf("the marked-but-empty drive 5 counted as a holder: %d unmounted disks formatted, %d of %d objects lost", formatted, lost, len(bodies))
	}
}

// TestStartMarksOnlyEmptyFolders: at start, a folder whose format.json
// is missing (or unreadable) gets the rebuild mark before drive.Open
// looks at it, though it holds meta/ and data/: a used drive is written
// to, and once its format.json is back it counts as rebuilding after the
// next restart.
func TestStartMarksOnlyEmptyFolders(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openManual(t, dirs)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	put(t, s, "b", "k", randBytes(1, 200_000))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	format := filepath.Join(dirs[2], "format.json")
	if err := os.Rename(format, format+".aside"); err != nil {
		t.Fatal(err)
	}
	s = openManual(t, dirs)
	marked := isRebuilding(dirs[2])
	s.Close()
	os.Rename(format+".aside", format)
	s = openManual(t, dirs)
	defer s.Close()
	st := s.DriveStates(ctx)[0][2]
	if marked {
		t.Fatalf("a used drive without its format.json got the rebuild mark at start; with format.json back it is %q (holders besides 0: %d)", st.State, s.holdersBesides(s.sets[0], 0))
	}
}

// TestRebuildGoesOnWhenTheQueueRollsBack: a completion cut half-way (its
// version on three drives, the upload's records on two) of an upload
// whose parts the drive being rebuilt lacks. The pass's upload step
// leaves it to the object heal (no drive short); a GET queues a heal,
// which rolls the completion back before the object step reaches the
// key: restoreUpload gives drive 5 the part records, without shards, and
// marks it short in a HealResult the heal queue throws away. The pass
// ends drive 5's rebuild though it holds part records without shards.
func TestRebuildGoesOnWhenTheQueueRollsBack(t *testing.T) {
	ctx := context.Background()
	s, fds, dirs := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		put(t, s, "b", fmt.Sprintf("a%d", i), randBytes(uint64(i), 1000))
	}
	fds[5].set(func(f *faultDrive) { f.offline = true })
	up, pi := startUpload(t, s, "b", "mp")
	// The upload's records as drives 3 and 4 hold them before the completion.
	ukey, pkey := uploadKey("b", "mp", up), partKey(up, 1)
	uval, err := fds[3].Drive.Get(ctx, ukey)
	if err != nil {
		t.Fatal(err)
	}
	pval, err := fds[3].Drive.Get(ctx, pkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteMultipartUpload(ctx, "b", "mp", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to settle", func() bool { q, h, f, _ := s.healq.stats(); return q == 0 && h+f > 0 })
	time.Sleep(50 * time.Millisecond)
	// Cut half-way: drives 3 and 4 never applied the completion.
	for _, p := range []int{3, 4} {
		if err := fds[p].Drive.Apply(ctx, []drive.Op{{Key: objectKey("b", "mp"), Delete: true},
			{Key: ukey, Value: uval}, {Key: pkey, Value: pval}}); err != nil {
			t.Fatal(err)
		}
	}
	fds[5].set(func(f *faultDrive) { f.offline = false })
	s.markRebuilding(dirs[5])
	done := slowPass(t, s, 5, 1)
	if r, err := s.OpenObject(ctx, "b", "mp", GetOptions{}); err == nil { // queues the heal
		r.Close()
	}
	waitFor(t, "the queued heal", func() bool { q, h, f, _ := s.healq.stats(); return q == 0 && h+f > 1 })
	q, h, f, _ := s.healq.stats()
	t.Logf("queue: %d queued %d healed %d failed; scanned %d", q, h, f, s.HealStatus().ObjectsScanned)
	for p := range fds {
		_, e1 := fds[p].Drive.Get(ctx, objectKey("b", "mp"))
		_, e2 := fds[p].Drive.Get(ctx, pkey)
		t.Logf("drive %d: object %v part %v", p, e1, e2)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	raw, err := fds[5].Drive.Get(ctx, pkey)
	if err != nil {
		t.Fatalf("setup: drive 5 was not given the part record: %v", err)
	}
	part, err := decodePart(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fds[5].Drive.OpenData(ctx, part.DataID, part.File); err != nil && !s.beingRebuilt(dirs[5]) {
		t.Fatalf("drive 5's rebuild ended though it holds a part record without its shard: %v", err)
	}
}

// TestMarkFailureLeavesAnOfflineDrive: the new "cannot mark" refusal
// comes after d.Close() and, unlike the reopen failure below it, does not
// put an offlineDrive in the position: a closed *drive.Drive stays in the
// set and DriveStates does not give the refusal's reason.
func TestMarkFailureLeavesAnOfflineDrive(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openManual(t, dirs)
	defer s.Close()
	unmount(t, dirs, 5)
	// The mark cannot be written (as on a read-only root under a mount
	// point); a directory in its name does it here, and emptyFolder takes
	// the folder as empty all the same.
	if err := os.Mkdir(filepath.Join(dirs[5], rebuildingFile), 0o700); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		s.checkDrives(ctx)
	}
	d := s.sets[0].drives()[5]
	st := s.DriveStates(ctx)[0][5]
	t.Logf("position 5: %T state %q error %q", d, st.State, st.Reason)
	if _, off := d.(offlineDrive); !off {
		t.Fatalf("a closed drive stays in the set after the mark could not be written: %T, state %q, error %q", d, st.State, st.Reason)
	}
}
