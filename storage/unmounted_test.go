package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unmount empties the drive folders of positions ps as an unmounted disk
// leaves its mount point: the contents move aside, an empty folder
// stays. It returns the function that mounts them back.
func unmount(t *testing.T, dirs []string, ps ...int) (remount func()) {
	t.Helper()
	for _, p := range ps {
		if err := os.Rename(dirs[p], dirs[p]+".disk"); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dirs[p], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		t.Helper()
		for _, p := range ps {
			if err := os.RemoveAll(dirs[p]); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(dirs[p]+".disk", dirs[p]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestUnmountedDisksNotFormatted: more empty folders in a set than its
// parity are disks that are not mounted, not failed drives to replace.
// Formatted, their "no record" made a heal pass roll back every object
// as an unfinished write, on the drives that still held it. They stay
// offline, at run time and at start, and nothing is lost once the disks
// are back.
func TestUnmountedDisksNotFormatted(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	log := &logBuffer{}
	s := openWatched(t, dirs, log)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{}
	for i := range 6 {
		key := fmt.Sprintf("k%d", i)
		bodies[key] = randBytes(uint64(i), 100+i*60_000) // inline and not
		put(t, s, "b", key, bodies[key])
	}
	checkAll := func(s *Store) {
		t.Helper()
		for key, want := range bodies {
			got, err := get(t, s, "b", key, 0, -1)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s after the disks came back: %d bytes, %v", key, len(got), err)
			}
		}
	}

	// At run time.
	remount := unmount(t, dirs, 3, 4, 5)
	waitFor(t, "the empty folders to be seen", func() bool {
		l := log.String()
		// Log lines (msg=), not the reasons other errors quote.
		return strings.Count(l, `msg="storage: empty drive folder not formatted`)+strings.Count(l, "formatted in place of a failed drive") >= 3
	})
	if _, err := s.Heal(ctx, HealOptions{}); err == nil {
		t.Log("heal pass without errors")
	}
	formatted := 0
	for _, p := range []int{3, 4, 5} {
		if _, err := os.Stat(filepath.Join(dirs[p], "format.json")); err == nil {
			formatted++
		}
	}
	_, getErr := get(t, s, "b", "k1", 0, -1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remount()
	s = openWatched(t, dirs, &logBuffer{})
	checkAll(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if formatted > 0 {
		t.Fatalf("%d of the empty folders formatted", formatted)
	}
	if getErr == nil || strings.Contains(getErr.Error(), "not found") {
		t.Fatalf("GET with half the set's disks gone: %v, want a quorum error", getErr)
	}

	// At start.
	remount = unmount(t, dirs, 0, 2, 5)
	log = &logBuffer{}
	s = openWatched(t, dirs, log)
	if _, err := s.Heal(ctx, HealOptions{}); err == nil {
		t.Log("heal pass without errors")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remount()
	s = openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	checkAll(s)
	if n := strings.Count(log.String(), `msg="storage: empty drive folder not formatted`); n != 3 {
		t.Fatalf("%d empty folders refused at start, want 3:\n%s", n, log.String())
	}

	// Parity's worth of empty folders are failed drives: formatted and
	// rebuilt.
	unmount(t, dirs, 1, 4)
	waitFor(t, "the replacements", func() bool {
		return s.sets[0].drives()[1].Check(ctx) == nil && s.sets[0].drives()[4].Check(ctx) == nil
	})
	checkAll(s)
}

// TestRebuildingDrivesHoldNothing: a drive formatted in place of a
// failed one does not count as holding the set's data until a heal pass
// that started after its format has finished.
func TestRebuildingDrivesHoldNothing(t *testing.T) {
	dirs := driveDirs(t.TempDir())
	s := openWatched(t, dirs, &logBuffer{})
	if n := s.holdersBesides(s.sets[0], 5); n != 5 {
		t.Fatalf("holders besides position 5: %d, want 5", n)
	}
	s.markRebuilding(dirs[0])
	s.markRebuilding(dirs[1])
	if n := s.holdersBesides(s.sets[0], 5); n != 3 {
		t.Fatalf("with two drives rebuilding: %d, want 3", n)
	}
	// The mark outlives a restart before the heal pass: with two drives
	// being rebuilt and a third folder empty, only three hold the data,
	// and the empty folder is not formatted at start.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remount := unmount(t, dirs, 5)
	log := &logBuffer{}
	s = openWatched(t, dirs, log)
	if !strings.Contains(log.String(), `msg="storage: empty drive folder not formatted`) {
		t.Fatalf("an empty folder formatted with two drives still being rebuilt:\n%s", log.String())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remount()
	// A restart requests a pass for the marked drives; once it ends they
	// hold the data.
	s = openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	waitFor(t, "the rebuild to end", func() bool { return s.holdersBesides(s.sets[0], 5) == 5 })
	for _, d := range dirs[:2] {
		if isRebuilding(d) {
			t.Fatalf("%s still marked as being rebuilt", d)
		}
	}
}

// TestRebuildEndsWithACleanLaterPass: the rebuild of a drive ends with a
// pass that started after its format (or its last time offline) and left
// that drive short of nothing, whatever it left on other drives.
func TestRebuildEndsWithACleanLaterPass(t *testing.T) {
	dirs := driveDirs(t.TempDir())
	s := openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	rebuilding := func() bool {
		s.scan.mu.Lock()
		defer s.scan.mu.Unlock()
		_, ok := s.scan.rebuilding[dirs[0]]
		return ok
	}
	pass := func(shortOn int) {
		t.Helper()
		_, cancel, err := s.claimPass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer cancel()
		s.scan.mu.Lock()
		s.noteShort(s.sets[0], map[int]bool{shortOn: true}, nil)
		s.scan.status.ObjectsDegraded = 1
		s.scan.walked = true
		s.scan.mu.Unlock()
		s.finishPass(nil)
	}
	_, cancel, err := s.claimPass(context.Background()) // a pass is running
	if err != nil {
		t.Fatal(err)
	}
	s.markRebuilding(dirs[0])
	s.scan.mu.Lock()
	s.scan.walked = true // the pass went through everything
	s.scan.mu.Unlock()
	s.finishPass(nil)
	cancel()
	if !rebuilding() {
		t.Fatal("a pass that began before the format ended the rebuild")
	}
	pass(0)
	if !rebuilding() {
		t.Fatal("a pass that left the drive short ended its rebuild")
	}
	_, cancel, err = s.claimPass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.rebuildAgain(dirs[0]) // offline during the pass
	s.scan.mu.Lock()
	s.scan.walked = true
	s.scan.mu.Unlock()
	s.finishPass(nil)
	cancel()
	if !rebuilding() {
		t.Fatal("a pass during which the drive went offline ended the rebuild")
	}
	pass(1) // another drive left short: offline, say
	if rebuilding() || isRebuilding(dirs[0]) {
		t.Fatal("a later pass that gave the drive everything did not end the rebuild")
	}
}

// TestRebuildBesideADeadDrive: a drive replaced while another of its set
// is dead is rebuilt by a pass that leaves the set degraded (the dead
// drive gets nothing), and once the second drive is replaced too, the set
// is whole again. Before, a rebuild ended only with a pass that degraded
// nothing: the replacement stayed "rebuilding", so with a third drive
// lost only three counted as holding data, and neither empty folder was
// formatted although four drives held every shard.
func TestRebuildBesideADeadDrive(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openWatched(t, dirs, &logBuffer{})
	bodies := fillBucket(t, s, 4, 70_000) // inline and not
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Drive 4 dies (its folder gone), drive 5 is replaced by an empty one.
	if err := os.Rename(dirs[4], dirs[4]+".dead"); err != nil {
		t.Fatal(err)
	}
	unmount(t, dirs, 5)
	// heal runs a pass of its own once the one a start requests is over.
	heal := func(s *Store) HealStatus {
		t.Helper()
		for {
			st, err := s.Heal(ctx, HealOptions{})
			if errors.Is(err, ErrHealRunning) {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if err != nil {
				t.Fatalf("heal pass: %v", err)
			}
			return st
		}
	}
	s = openWatched(t, dirs, &logBuffer{})
	if _, err := os.Stat(filepath.Join(dirs[5], "format.json")); err != nil {
		t.Fatalf("the replacement of drive 5 was not formatted: %v", err)
	}
	if st := heal(s); st.ObjectsDegraded == 0 {
		t.Fatal("a pass with a dead drive reported nothing degraded")
	}
	if s.beingRebuilt(dirs[5]) || isRebuilding(dirs[5]) {
		t.Fatal("drive 5 still rebuilding after a pass that gave it every shard")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Drive 3 dies too; both dead drives get empty replacements.
	if err := os.Rename(dirs[3], dirs[3]+".dead"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{3, 4} {
		if err := os.Mkdir(dirs[p], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	s = openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	for _, p := range []int{3, 4} {
		if _, err := os.Stat(filepath.Join(dirs[p], "format.json")); err != nil {
			t.Fatalf("the replacement of drive %d was not formatted: %v", p, err)
		}
	}
	if st := heal(s); st.ObjectsDegraded != 0 || st.ObjectsFailed != 0 {
		t.Fatalf("heal pass over the replacements: %+v", st)
	}
	for _, p := range []int{3, 4} {
		if s.beingRebuilt(dirs[p]) {
			t.Fatalf("drive %d still rebuilding", p)
		}
	}
	// Every object reads back from the drives that were replaced.
	for key, want := range bodies {
		got, err := get(t, s, "b", key, 0, -1)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %d bytes, %v", key, len(got), err)
		}
	}
}

// TestFullDrivesAreStorageFull: a write that loses its quorum to drives
// out of space says so (ErrStorageFull, which s3api answers with a 507
// clients do not retry), unlike one that loses it to drives gone.
func TestFullDrivesAreStorageFull(t *testing.T) {
	ctx := context.Background()
	s, fds, _ := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{1, 3, 5} {
		fds[p].set(func(f *faultDrive) { f.full = true })
	}
	_, err := s.PutObject(ctx, "b", "k", bytes.NewReader(randBytes(1, 300_000)), PutOptions{Size: 300_000})
	if !errors.Is(err, ErrStorageFull) || !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("PUT with three full drives: %v, want ErrStorageFull and ErrWriteQuorum", err)
	}
	// Full drives still serve reads and deletes: the store stays ready.
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready with three full drives: %v", err)
	}
	// With one of them offline instead, a retry may succeed once it is
	// back: not storage full.
	fds[5].set(func(f *faultDrive) { f.full, f.offline = false, true })
	_, err = s.PutObject(ctx, "b", "k", bytes.NewReader(randBytes(1, 300_000)), PutOptions{Size: 300_000})
	if !errors.Is(err, ErrWriteQuorum) || errors.Is(err, ErrStorageFull) {
		t.Fatalf("PUT with two drives full and one offline: %v, want ErrWriteQuorum only", err)
	}
	fds[5].set(func(f *faultDrive) { f.full, f.offline = true, false })
	// Room on the full drives would not have made the quorum here.
	for _, p := range []int{0, 2, 4} {
		fds[p].set(func(f *faultDrive) { f.offline = true })
	}
	fds[1].set(func(f *faultDrive) { f.full = false })
	fds[3].set(func(f *faultDrive) { f.full = false })
	_, err = s.PutObject(ctx, "b", "k", bytes.NewReader(randBytes(1, 300_000)), PutOptions{Size: 300_000})
	if !errors.Is(err, ErrWriteQuorum) || errors.Is(err, ErrStorageFull) {
		t.Fatalf("PUT with three drives offline and one full: %v, want ErrWriteQuorum only", err)
	}
}

// TestRebuildGoesOnWhileTheDriveIsShort: a pass that could not give a
// drive being rebuilt what it lacks (here its rebuilt shard's write fails)
// does not end the rebuild, though the pass ends without error.
func TestRebuildGoesOnWhileTheDriveIsShort(t *testing.T) {
	ctx := context.Background()
	s, fds, dirs := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	put(t, s, "b", "k", randBytes(3, 300_000))
	s.markRebuilding(dirs[0])
	fds[0].set(func(f *faultDrive) { f.corrupt, f.full = true, true })
	st, err := s.Heal(ctx, HealOptions{})
	if err != nil || st.ObjectsDegraded == 0 {
		t.Fatalf("pass with drive 0 unwritable: %+v, %v", st, err)
	}
	if !s.beingRebuilt(dirs[0]) || !isRebuilding(dirs[0]) {
		t.Fatal("the rebuild ended though drive 0 did not get its shard")
	}
	fds[0].set(func(f *faultDrive) { f.corrupt, f.full = false, false })
	if _, err := s.Heal(ctx, HealOptions{}); err != nil {
		t.Fatal(err)
	}
	if s.beingRebuilt(dirs[0]) {
		t.Fatal("the rebuild did not end once drive 0 took its shard")
	}
}
