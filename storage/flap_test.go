package storage

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestFlappingDriveIsTriedLessOften: a drive that fails again soon after
// each return is tried again after a wait that doubles, not at every
// check: each return starts a heal pass over everything and logs, and a
// drive whose metadata store is corrupt where only some reads reach came
// back every few seconds for ever (an audit measured 3.5 KB/s of log).
func TestFlappingDriveIsTriedLessOften(t *testing.T) {
	dirs := driveDirs(t.TempDir())
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := openStore(t, dirs, func(c *Config) {
		c.DriveCheckInterval = time.Hour // the test runs the checks
		c.Now = clock
	})
	defer s.Close()
	ctx := context.Background()
	format := filepath.Join(dirs[0], "format.json")
	fail := func() {
		t.Helper()
		if err := os.Rename(format, format+".away"); err != nil {
			t.Fatal(err)
		}
		if n := s.checkDrives(ctx); n != 0 {
			t.Fatalf("%d drives back while one lacks its format", n)
		}
		if err := os.Rename(format+".away", format); err != nil {
			t.Fatal(err)
		}
	}
	back := func(want int, when string) {
		t.Helper()
		if n := s.checkDrives(ctx); n != want {
			t.Fatalf("%s: %d drives back, want %d", when, n, want)
		}
	}
	fail()
	back(1, "the first return") // never back before: no wait
	fail()                      // soon after its return: 5 s
	back(0, "at once after a quick failure")
	advance(4 * time.Second)
	back(0, "4 s after the first quick failure")
	advance(2 * time.Second)
	back(1, "6 s after the first quick failure")
	fail() // again: 10 s
	advance(6 * time.Second)
	back(0, "6 s after the second quick failure")
	advance(5 * time.Second)
	back(1, "11 s after the second quick failure")
	// A failure long after the last return starts the count again.
	advance(flapWindow + time.Second)
	fail()
	back(1, "a failure long after the last return")
}
