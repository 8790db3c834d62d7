package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// openWatched opens a 4+2 Store over folders with a fast drive watcher
// and periodic passes off; log collects its log lines.
func openWatched(t *testing.T, dirs []string, log *logBuffer) *Store {
	t.Helper()
	return openStore(t, dirs, func(c *Config) { c.Logger = slogTo(log) })
}

// openManual opens a Store over dirs whose drive checks the test runs
// (checkDrives): its watcher would race with hooks the test sets.
func openManual(t *testing.T, dirs []string) *Store {
	t.Helper()
	return openStore(t, dirs, func(c *Config) { c.DriveCheckInterval = time.Hour })
}

// openStore opens a 4+2 Store over the folders dirs (zones of two), its
// scanner off and its drives checked every 20 ms, with mod applied.
func openStore(t *testing.T, dirs []string, mod func(*Config)) *Store {
	t.Helper()
	var drives []DriveConfig
	for i, d := range dirs {
		drives = append(drives, DriveConfig{Path: d, Zone: fmt.Sprintf("zone-%d", i/2)})
	}
	cfg := Config{
		Drives: drives, DataShards: 4, ParityShards: 2, BlockSize: 64 << 10, InlineLimit: 16 << 10,
		ScanInterval: -1, ScanObjectsPerSecond: -1, ScanBytesPerSecond: -1,
		DriveCheckInterval: 20 * time.Millisecond,
		Logger:             testLogger(t),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// driveDirs names six drive folders under root.
func driveDirs(root string) []string {
	var dirs []string
	for i := range 6 {
		dirs = append(dirs, filepath.Join(root, fmt.Sprintf("drive%d", i)))
	}
	return dirs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDriveReplacement: a drive folder removed at run time makes the drive
// offline; an empty folder put in its place is formatted into the same
// position and healed back to full redundancy; a foreign drive put there
// is refused with a log line.
func TestDriveReplacement(t *testing.T) {
	root := t.TempDir()
	dirs := driveDirs(root)
	log := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("store log:\n%s", log.String())
		}
	})
	s := openWatched(t, dirs, log)
	defer s.Close()
	ctx := context.Background()
	want := fill(t, s, false)
	oldID := s.sets[0].drives()[2].Info().Format.DriveID

	// A foreign drive in the folder: refused.
	if err := os.RemoveAll(dirs[2]); err != nil {
		t.Fatal(err)
	}
	// (Made elsewhere and moved in: pebble refuses to open a path this
	// process still has open.)
	elsewhere := filepath.Join(root, "foreign")
	foreign, err := drive.Open(elsewhere, drive.Format{ClusterID: "another-cluster", Set: 0, Position: 2}, drive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foreign.Close()
	if err := os.Rename(elsewhere, dirs[2]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refusal", func() bool { return strings.Contains(log.String(), "refusing a drive of another cluster") })
	if err := s.sets[0].drives()[2].Check(ctx); !errors.Is(err, drive.ErrOffline) {
		t.Fatalf("foreign drive in use: %v", err)
	}
	// Writes go on meanwhile.
	want["while-offline"] = randBytes(11, 70<<10)
	put(t, s, "b", "while-offline", want["while-offline"])
	verify(t, s, want)

	// An empty folder: formatted and healed.
	if err := os.RemoveAll(dirs[2]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dirs[2], 0o700); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replacement", func() bool { return s.sets[0].drives()[2].Check(ctx) == nil })
	info := s.sets[0].drives()[2].Info()
	if info.Format.DriveID == oldID || info.Format.Position != 2 || info.Format.ClusterID != s.clusterID {
		t.Fatalf("replacement formatted as %+v", info.Format)
	}
	waitFor(t, "the heal pass", func() bool {
		st := s.HealStatus()
		return !st.Running && st.Pass >= 1 && !st.Finished.IsZero() && st.ObjectsScanned > 0
	})
	checkFullRedundancy(t, s)
	verify(t, s, want)

	// A restart with drive 0 gone and an empty folder in place of drive
	// 1: the bucket exists only if the replaced drive 2 got its record
	// (four of six drives must hold it), drive 1 gets it before the
	// first request, and a pass starts at once to fill drive 1.
	s.Close()
	os.RemoveAll(dirs[0])
	os.RemoveAll(dirs[1])
	os.Mkdir(dirs[1], 0o700)
	s2 := openWatched(t, dirs, log)
	defer s2.Close()
	waitFor(t, "the pass after start", func() bool {
		st := s2.HealStatus()
		return !st.Running && st.Pass >= 2
	})
	if st := s2.HealStatus(); st.ObjectsHealed != int64(len(want)) {
		t.Errorf("the pass healed %d objects, want %d", st.ObjectsHealed, len(want))
	}
	verify(t, s2, want)
}

// TestDriveBackOnline: a drive that went offline (its folder unmounted,
// here: moved away) and comes back is reopened and caught up.
func TestDriveBackOnline(t *testing.T) {
	root := t.TempDir()
	dirs := driveDirs(root)
	log := &logBuffer{}
	s := openWatched(t, dirs, log)
	defer s.Close()
	ctx := context.Background()
	want := fill(t, s, false)
	moved := filepath.Join(root, "unmounted")
	if err := os.Rename(dirs[4], moved); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher to see the drive offline", func() bool { return strings.Contains(log.String(), "drive failed its check") })
	want["one-block"] = randBytes(12, 33<<10)
	put(t, s, "b", "one-block", want["one-block"])
	if err := s.DeleteObject(ctx, "b", "inline", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	delete(want, "inline")
	if err := os.Rename(moved, dirs[4]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the drive back", func() bool { return s.sets[0].drives()[4].Check(ctx) == nil })
	waitFor(t, "the heal pass", func() bool {
		st := s.HealStatus()
		return !st.Running && st.ObjectsScanned > 0
	})
	checkFullRedundancy(t, s)
	verify(t, s, want)
	if !strings.Contains(log.String(), "drive back online") {
		t.Errorf("no log line for the drive's return")
	}
}

// TestHealStatusStartStop: a throttled pass reports progress and an ETA,
// refuses a second start, and stops on StopHeal.
func TestHealStatusStartStop(t *testing.T) {
	s, _, _ := faultStore(t, nil)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	for i := range 30 {
		put(t, s, "b", fmt.Sprint("k", i), []byte("x"))
	}
	if err := s.StartHeal(HealOptions{ObjectsPerSecond: 20}); err != nil {
		t.Fatal(err)
	}
	if err := s.StartHeal(HealOptions{}); !errors.Is(err, ErrHealRunning) {
		t.Fatalf("second start: %v", err)
	}
	if _, err := s.Heal(ctx, HealOptions{}); !errors.Is(err, ErrHealRunning) {
		t.Fatalf("Heal during a pass: %v", err)
	}
	waitFor(t, "progress", func() bool { return s.HealStatus().ObjectsScanned >= 3 })
	st := s.HealStatus()
	if !st.Running || st.ObjectsTotal != 30 || st.ETA <= 0 || st.Pass != 1 {
		t.Fatalf("status during the pass: %+v", st)
	}
	s.StopHeal()
	waitFor(t, "the stop", func() bool { return !s.HealStatus().Running })
	st = s.HealStatus()
	if st.ObjectsScanned >= 30 || !st.Stopped || st.LastError != "" {
		t.Fatalf("status after stop: %+v", st)
	}
	st, err := s.Heal(ctx, HealOptions{})
	if err != nil || st.ObjectsScanned != 30 || st.Pass != 2 || st.Running {
		t.Fatalf("full pass: %+v %v", st, err)
	}
}

// TestHealRate: a pass bounded to r objects per second over n objects
// takes at least (n-1)/r.
func TestHealRate(t *testing.T) {
	s, _, _ := faultStore(t, nil)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	for i := range 21 {
		put(t, s, "b", fmt.Sprint("k", i), []byte("x"))
	}
	start := time.Now()
	if _, err := s.Heal(ctx, HealOptions{ObjectsPerSecond: 100}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 190*time.Millisecond {
		t.Fatalf("21 objects at 100/s took %v", took)
	}
	start = time.Now()
	body := randBytes(1, 200<<10)
	put(t, s, "b", "big", body)
	// 1.5x 200 KiB of shards (plus 22 tiny ones) at 1 MiB/s.
	if _, err := s.Heal(ctx, HealOptions{BytesPerSecond: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("300 KiB at 1 MiB/s took %v", took)
	}
}

// TestScanStatePersists: the pass number and the end of the last pass
// survive a restart, so a restart does not start a pass early.
func TestScanStatePersists(t *testing.T) {
	s, dirs := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	put(t, s, "b", "k", []byte("v"))
	for range 2 {
		if _, err := s.Heal(ctx, HealOptions{ObjectsPerSecond: -1, BytesPerSecond: -1}); err != nil {
			t.Fatal(err)
		}
	}
	end := s.HealStatus().Finished
	s.Close()
	var drives []DriveConfig
	for _, d := range dirs {
		drives = append(drives, DriveConfig{Path: d})
	}
	s2, err := Open(ctx, Config{Drives: drives, DataShards: 4, ParityShards: 2, ScanInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	st := s2.HealStatus()
	if st.Pass != 2 || !st.Finished.Equal(end) || !st.NextPass.Equal(end.Add(time.Hour)) || st.Running {
		t.Fatalf("status after restart: %+v (last pass ended %v)", st, end)
	}
}

// TestScannerRunsOnSchedule: with a short interval, passes start by
// themselves and heal what they find.
func TestScannerRunsOnSchedule(t *testing.T) {
	s, _, _ := faultStore(t, func(c *Config) { c.ScanInterval = 50 * time.Millisecond })
	want := fill(t, s, false)
	damageShards(t, s, want, 5, func(path string) { flipByte(t, path) }, nil)
	p0 := s.HealStatus().Pass // may be running, and past the damage
	waitFor(t, "a pass that started after the damage", func() bool {
		st := s.HealStatus()
		return st.Pass > p0+1 || (st.Pass == p0+1 && !st.Running)
	})
	// Later passes run on while we look, but find nothing to change.
	checkFullRedundancy(t, s)
}
