package storage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// TestDriveStates: operators see a drive as the store counts it, not as
// its folder looks.
func TestDriveStates(t *testing.T) {
	ctx := context.Background()
	s, fds, dirs := faultStore(t, nil)
	want := func(states ...string) {
		t.Helper()
		got := s.DriveStates(ctx)
		if len(got) != 1 || len(got[0]) != len(states) {
			t.Fatalf("states %+v", got)
		}
		for p, d := range got[0] {
			if d.State != states[p] || (d.State == DriveOnline) != (d.Reason == "") || d.Format.Position != p {
				t.Errorf("position %d: state %q (%q), want %q", p, d.State, d.Reason, states[p])
			}
		}
	}
	want(DriveOnline, DriveOnline, DriveOnline, DriveOnline, DriveOnline, DriveOnline)

	fds[1].set(func(f *faultDrive) { f.full = true })
	fds[2].set(func(f *faultDrive) { f.fail["check"] = errInjectedIO })
	s.markRebuilding(dirs[3])
	s.sets[0].replace(4, offlineDrive{info: fds[4].Info(), why: "drive folder missing"})
	want(DriveOnline, DriveFull, DriveFaulty, DriveRebuilding, DriveOffline, DriveOnline)
	if r := s.DriveStates(ctx)[0][4].Reason; !strings.Contains(r, "drive folder missing") {
		t.Fatalf("offline reason %q", r)
	}
	s.sets[0].replace(4, fds[4])
}

// TestDriveStatesOpen: a drive left offline at start, or refused later,
// says why.
func TestDriveStatesOpen(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openWatched(t, dirs, &logBuffer{})
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remount := unmount(t, dirs, 0, 1, 2)
	s = openWatched(t, dirs, &logBuffer{})
	for p, d := range s.DriveStates(ctx)[0] {
		offline := p < 3
		if offline != (d.State == DriveOffline) || offline && !strings.Contains(d.Reason, "too few of the set's other drives") {
			t.Errorf("position %d: %q (%q)", p, d.State, d.Reason)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remount()

	// At run time: an offline drive whose folder is refused by the
	// watcher carries the refusal.
	s = openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	d0 := s.sets[0].drives()[0]
	if err := d0.Close(); err != nil {
		t.Fatal(err)
	}
	s.sets[0].replace(0, offlineDrive{info: d0.Info()})
	format := filepath.Join(dirs[0], "format.json")
	if err := os.Rename(format, format+".aside"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher to refuse the folder", func() bool {
		return strings.Contains(s.DriveStates(ctx)[0][0].Reason, "holds files but no format")
	})
	if err := os.Rename(format+".aside", format); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher to reopen the drive", func() bool { return s.DriveStates(ctx)[0][0].State == DriveOnline })
}

// TestPoisonedDriveReopened: a drive whose metadata store failed (its
// disk filled by another process, say) serves nothing until reopened;
// the watcher reopens it, as soon as the folder opens again.
func TestPoisonedDriveReopened(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	body := randBytes(7, 100_000)
	put(t, s, "b", "k", body)
	fd := newFaultDrive(s.sets[0].drives()[2])
	poisoned := fmt.Errorf("%w: %w: %w: injected", drive.ErrDiskFull, drive.ErrOffline, drive.ErrMetadataFailed)
	fd.set(func(f *faultDrive) { f.fail["check"] = poisoned })
	s.sets[0].replace(2, fd)
	waitFor(t, "the watcher to reopen the failed drive", func() bool {
		_, reopened := s.sets[0].drives()[2].(*drive.Drive)
		return reopened && s.DriveStates(ctx)[0][2].State == DriveOnline
	})
	if got, err := get(t, s, "b", "k", 0, -1); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read after the reopen: %v", err)
	}
}

// TestReopenedFullDriveKept: a failed drive whose disk is just below its
// reserve opens (Open refuses only a disk far below it) but fails its
// check as full. It is kept as a full drive, not closed and reopened at
// every check, and counts as online again once space is freed.
func TestReopenedFullDriveKept(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	var opens atomic.Int32
	var reopened atomic.Pointer[faultDrive]
	s.reopen = func(path string, want drive.Format, opts drive.Options) (Drive, error) {
		d, err := openDrive(path, want, opts)
		if err != nil {
			return nil, err
		}
		opens.Add(1)
		fd := newFaultDrive(d)
		fd.full = true
		reopened.Store(fd)
		return fd, nil
	}
	fd := newFaultDrive(s.sets[0].drives()[2])
	fd.set(func(f *faultDrive) {
		f.fail["check"] = fmt.Errorf("%w: %w: %w: injected", drive.ErrDiskFull, drive.ErrOffline, drive.ErrMetadataFailed)
	})
	s.sets[0].replace(2, fd)
	waitFor(t, "the watcher to reopen the failed drive", func() bool { return opens.Load() > 0 })
	time.Sleep(200 * time.Millisecond) // ten checks
	if n := opens.Load(); n != 1 {
		t.Fatalf("opened %d times, want once", n)
	}
	if st := s.DriveStates(ctx)[0][2]; st.State != DriveFull {
		t.Fatalf("reopened full drive: %q (%s)", st.State, st.Reason)
	}
	reopened.Load().clear()
	waitFor(t, "the drive to be online", func() bool { return s.DriveStates(ctx)[0][2].State == DriveOnline })
}

// TestDriveStatesWhileReplaced: DriveStates checks and reports one
// snapshot of the drives, however the watcher swaps them meanwhile.
func TestDriveStatesWhileReplaced(t *testing.T) {
	ctx := context.Background()
	s, fds, _ := faultStore(t, nil)
	off := offlineDrive{info: fds[4].Info(), why: "test"}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			s.sets[0].replace(4, off)
			s.sets[0].replace(4, fds[4])
		}
	}()
	for range 500 {
		st := s.DriveStates(ctx)[0][4]
		if st.State != DriveOnline && (st.State != DriveOffline || !strings.Contains(st.Reason, "test")) {
			t.Fatalf("state %q (%s)", st.State, st.Reason)
		}
	}
	stop.Store(true)
	<-done
}

// TestOfflineReasonKept: a drive the watcher keeps failing to open says
// why at every check, not only at the first (the log says it once).
func TestOfflineReasonKept(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	d0 := s.sets[0].drives()[0]
	defer d0.Close() // left open, its lock makes every Open of the folder fail
	s.sets[0].replace(0, offlineDrive{info: d0.Info()})
	refused := func() bool { return strings.Contains(s.DriveStates(ctx)[0][0].Reason, "drive refused") }
	waitFor(t, "the refusal", refused)
	time.Sleep(100 * time.Millisecond) // five more checks
	if !refused() {
		t.Fatalf("reason lost: %q", s.DriveStates(ctx)[0][0].Reason)
	}
}

// TestFDShortageIsNotADriveFault: a drive check that fails because the
// process is out of file descriptors does not count the drive as failed,
// so descriptors coming back do not start a heal pass over everything.
func TestFDShortageIsNotADriveFault(t *testing.T) {
	dirs := driveDirs(t.TempDir())
	s := openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	before := s.HealStatus().Pass
	fd := newFaultDrive(s.sets[0].drives()[2])
	fd.set(func(f *faultDrive) {
		f.fail["check"] = &os.PathError{Op: "open", Path: dirs[2], Err: syscall.EMFILE}
	})
	s.sets[0].replace(2, fd)
	waitFor(t, "checks to see the shortage", func() bool {
		fd.mu.Lock()
		defer fd.mu.Unlock()
		return fd.calls["check"] >= 3
	})
	fd.clear()
	time.Sleep(200 * time.Millisecond) // ten more checks
	if st := s.HealStatus(); st.Pass != before || st.Running {
		t.Fatalf("a heal pass ran after a descriptor shortage: pass %d, was %d", st.Pass, before)
	}
}
