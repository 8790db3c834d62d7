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
)

// TestReturnedDriveHealSurvivesRestart: a drive that was away while
// writes went on comes back; its heal pass starts; the server is
// restarted (SIGTERM, an upgrade) before the pass ends. The restarted
// store must still know the drive lacks those writes and start a pass
// at once, not leave the objects one shard short until the scheduled
// pass up to 24 h later (a replaced drive keeps its rebuild mark across
// a restart the same way).
func TestReturnedDriveHealSurvivesRestart(t *testing.T) {
	root := t.TempDir()
	dirs := driveDirs(root)
	log := &logBuffer{}
	slow := func(c *Config) {
		c.Logger = slogTo(log)
		c.ScanInterval = 24 * time.Hour // the server's default
		c.ScanObjectsPerSecond = 2      // so the restart lands mid-pass
	}
	s := openStore(t, dirs, slow)
	ctx := context.Background()
	want := fill(t, s, false)
	moved := filepath.Join(root, "away")
	if err := os.Rename(dirs[4], moved); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher to see the drive offline", func() bool { return strings.Contains(log.String(), "drive failed its check") })
	for i := range 20 {
		k := fmt.Sprintf("missed-%02d", i)
		want[k] = randBytes(uint64(100+i), 2<<10)
		put(t, s, "b", k, want[k])
	}
	if err := os.Rename(moved, dirs[4]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the heal pass the drive's return starts", func() bool { return s.HealStatus().Running })
	s.Close() // a restart before the pass ends
	restarted := time.Now()

	s2 := openStore(t, dirs, func(c *Config) {
		c.Logger = slogTo(log)
		c.ScanInterval = 24 * time.Hour
	})
	defer s2.Close()
	for p, st := range s2.DriveStates(ctx)[0] {
		if st.State != DriveOnline {
			t.Fatalf("drive %d after the restart: %s (%s)", p, st.State, st.Reason)
		}
	}
	// Give the restarted store ample time to finish what it started.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st := s2.HealStatus(); !st.Running && st.Finished.After(restarted) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := s2.HealStatus(); st.Running || !st.Finished.After(restarted) {
		t.Fatalf("10 s after the restart no heal pass has caught the returned drive up: %+v (next pass %v away)",
			st, time.Until(st.NextPass).Round(time.Minute))
	}
	checkFullRedundancy(t, s2)
	verify(t, s2, want)
}

// TestBucketsWhenDrivesComeLate: the server starts while three of the
// six drive folders are missing (disks not yet mounted at boot, or all
// of them below the space reserve), so the bucket list cannot be read
// from a read quorum. Until the disks come back a bucket is unknown,
// not missing (503, never NoSuchBucket, which would have clients create
// it again), and no bucket can be created; once they are back the
// buckets are served again. CreateBucket never replaces a bucket's
// record, which holds the bucket key: with the real server every
// object of the bucket would fail for good.
func TestBucketsWhenDrivesComeLate(t *testing.T) {
	root := t.TempDir()
	dirs := driveDirs(root)
	ctx := context.Background()
	s := openStore(t, dirs, nil)
	if err := s.MakeBucket(ctx, "records", "eu"); err != nil {
		t.Fatal(err)
	}
	body := randBytes(7, 100<<10)
	put(t, s, "records", "patient-1", body)
	created, err := s.BucketInfo(ctx, "records")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	away := filepath.Join(root, "unmounted")
	if err := os.Mkdir(away, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs[3:] {
		if err := os.Rename(d, filepath.Join(away, filepath.Base(d))); err != nil {
			t.Fatal(err)
		}
	}
	s2 := openStore(t, dirs, nil) // boot with three disks not mounted
	defer s2.Close()
	// Unknown meanwhile, not missing: no NoSuchBucket, no create.
	if _, err := s2.BucketInfo(ctx, "records"); !errors.Is(err, ErrReadQuorum) {
		t.Errorf("bucket while its records cannot be read: %v, want ErrReadQuorum", err)
	}
	if _, err := s2.ListBuckets(ctx); !errors.Is(err, ErrReadQuorum) {
		t.Errorf("bucket list while records cannot be read: %v, want ErrReadQuorum", err)
	}
	for _, name := range []string{"records", "fresh"} {
		if err := s2.MakeBucket(ctx, name, ""); err == nil || errors.Is(err, ErrBucketExists) {
			t.Errorf("MakeBucket(%s) while the bucket records cannot be read: %v, want a quorum error", name, err)
		}
	}
	for _, d := range dirs[3:] { // the disks are mounted
		if err := os.Rename(filepath.Join(away, filepath.Base(d)), d); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every drive back online", func() bool {
		for _, st := range s2.DriveStates(ctx)[0] {
			if st.State != DriveOnline {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond)
	if _, err := s2.BucketInfo(ctx, "records"); err != nil {
		t.Errorf("bucket after the disks came back: %v", err)
	}
	if err := s2.MakeBucket(ctx, "records", ""); err == nil {
		t.Errorf("CreateBucket of an existing bucket succeeded: its record (bucket key) was overwritten")
	}
	if bi, err := s2.BucketInfo(ctx, "records"); err == nil && !bi.Created.Equal(created.Created) {
		t.Errorf("bucket record replaced: created %v, was %v; location %q, was %q", bi.Created, created.Created, bi.Location, created.Location)
	}
}

// TestRebuildLogsNoLinePerObject: replacing a failed drive heals every
// object of its set; the pass's start, progress and end are logged at
// info, not one line per healed object (a 50-million-object set would
// write ~10 GiB of them, burying the lines an operator needs and naming
// every key), as successful requests are logged at debug.
func TestRebuildLogsNoLinePerObject(t *testing.T) {
	root := t.TempDir()
	dirs := driveDirs(root)
	log := &logBuffer{}
	s := openWatched(t, dirs, log)
	defer s.Close()
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		put(t, s, "b", fmt.Sprintf("k%03d", i), []byte("small"))
	}
	if err := os.RemoveAll(dirs[2]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher to see the drive gone", func() bool { return strings.Contains(log.String(), "drive failed its check") })
	if err := os.Mkdir(dirs[2], 0o700); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rebuild", func() bool { return strings.Contains(log.String(), "heal pass finished") })
	lines := strings.Count(log.String(), "\n")
	healed := strings.Count(log.String(), `msg="storage: healed"`)
	if healed > 10 {
		t.Errorf("rebuilding one drive of %d objects logged %d info lines, %d of them one per healed object", n, lines, healed)
	}
}
