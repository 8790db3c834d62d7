package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReplacementKeepsZoneOnDisk: a drive formatted in place of a failed
// one joins the zone its place has on disk, not the one of a changed
// --zones configuration, which would put more shards in one zone than
// parity covers; a layout that does so is warned of.
func TestReplacementKeepsZoneOnDisk(t *testing.T) {
	dirs := driveDirs(t.TempDir())
	first := openWatched(t, dirs, &logBuffer{}) // zone-0, zone-0, zone-1, zone-1, zone-2, zone-2
	if err := first.MakeBucket(context.Background(), "b", ""); err != nil {
		t.Fatal(err)
	}
	put(t, first, "b", "k", randBytes(3, 1000))
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	log := &logBuffer{}
	var oneZone []DriveConfig
	for _, d := range dirs {
		oneZone = append(oneZone, DriveConfig{Path: d, Zone: "zone-0"})
	}
	s, err := Open(context.Background(), Config{
		Drives: oneZone, DataShards: 4, ParityShards: 2, BlockSize: 64 << 10, InlineLimit: 16 << 10,
		ScanInterval: -1, ScanObjectsPerSecond: -1, ScanBytesPerSecond: -1,
		DriveCheckInterval: 20 * time.Millisecond, Logger: slogTo(log),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.RemoveAll(dirs[5]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dirs[5], 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	waitFor(t, "the replacement", func() bool { return s.sets[0].drives()[5].Check(ctx) == nil })
	if z := s.sets[0].drives()[5].Info().Format.Zone; z != "zone-2" {
		t.Fatalf("replacement formatted into %q, want the zone on disk, zone-2", z)
	}
	if strings.Contains(log.String(), "holds more shards") {
		t.Fatalf("zones warned of though the layout on disk is sound:\n%s", log.String())
	}

	// A layout with one zone is warned of (a zone's loss loses data).
	openOneZone(t, t.TempDir(), "only")
}

// openOneZone opens and closes a fresh store of six drives under root,
// all in zone, and checks that the layout was warned of.
func openOneZone(t *testing.T, root, zone string) {
	t.Helper()
	log := &logBuffer{}
	var drives []DriveConfig
	for i := range 6 {
		drives = append(drives, DriveConfig{Path: filepath.Join(root, fmt.Sprintf("d%d", i)), Zone: zone})
	}
	s, err := Open(context.Background(), Config{
		Drives: drives, DataShards: 4, ParityShards: 2, BlockSize: 64 << 10,
		ScanInterval: -1, ScanObjectsPerSecond: -1, ScanBytesPerSecond: -1, Logger: slogTo(log),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !strings.Contains(log.String(), "holds more shards") {
		t.Fatalf("a one-zone layout was not warned of:\n%s", log.String())
	}
}

// TestReplacementZoneWarned: a drive that was offline when the server
// started has no zone on disk to keep, so its replacement takes the
// configured one (a gap until the set's layout is recorded on every
// drive); when that overloads a zone, the replacement is warned of.
func TestReplacementZoneWarned(t *testing.T) {
	dirs := driveDirs(t.TempDir())
	first := openWatched(t, dirs, &logBuffer{})
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dirs[5]); err != nil {
		t.Fatal(err)
	}
	log := &logBuffer{}
	var oneZone []DriveConfig
	for _, d := range dirs {
		oneZone = append(oneZone, DriveConfig{Path: d, Zone: "zone-0"})
	}
	s, err := Open(context.Background(), Config{
		Drives: oneZone, DataShards: 4, ParityShards: 2, BlockSize: 64 << 10,
		ScanInterval: -1, ScanObjectsPerSecond: -1, ScanBytesPerSecond: -1,
		DriveCheckInterval: 20 * time.Millisecond, Logger: slogTo(log),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := strings.Count(log.String(), "holds more shards")
	if err := os.Mkdir(dirs[5], 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	waitFor(t, "the replacement", func() bool { return s.sets[0].drives()[5].Check(ctx) == nil })
	waitFor(t, "the warning after the replacement", func() bool {
		return strings.Count(log.String(), "holds more shards") > before
	})
}
