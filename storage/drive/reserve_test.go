package drive

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// fakeSpace makes the drives' file systems report sp until the test ends.
func fakeSpace(t *testing.T, sp *space) {
	t.Helper()
	old := measureSpace
	measureSpace = func(string) (space, error) { return *sp, nil }
	t.Cleanup(func() { measureSpace = old })
}

// TestSpaceReserve: below the reserve, in bytes or in inodes, writes that
// add data are refused with ErrDiskFull (the metadata store must keep
// room to flush and start new log files: pebble panics the process when
// it cannot), deletes pass, Check reports it, and a drive far below it is
// not opened at all; with room again, all is as before.
func TestSpaceReserve(t *testing.T) {
	ctx := context.Background()
	roomy := space{totalBytes: 100 << 30, freeBytes: 50 << 30, totalInodes: 1 << 20, freeInodes: 1 << 19}
	sp := roomy
	fakeSpace(t, &sp)
	dir := filepath.Join(t.TempDir(), "d")
	d, err := Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	set := []Op{{Key: []byte("k"), Value: []byte("v")}}
	if err := d.Apply(ctx, set); err != nil {
		t.Fatal(err)
	}
	for _, low := range []space{
		{totalBytes: 100 << 30, freeBytes: 900 << 20, totalInodes: 1 << 20, freeInodes: 1 << 19}, // under 1% of the bytes
		{totalBytes: 100 << 30, freeBytes: 50 << 30, totalInodes: 1 << 20, freeInodes: 5000},     // under 1% of the inodes
		{totalBytes: 1 << 30, freeBytes: 60 << 20, totalInodes: 0},                               // under the 64 MiB floor; no inode limit
	} {
		sp = low
		if err := d.Check(ctx); !errors.Is(err, ErrDiskFull) {
			t.Fatalf("%+v: Check = %v, want ErrDiskFull", low, err)
		}
		if err := d.Apply(ctx, set); !errors.Is(err, ErrDiskFull) {
			t.Fatalf("%+v: a set = %v, want ErrDiskFull", low, err)
		}
		if _, err := d.CreateStaging(ctx); !errors.Is(err, ErrDiskFull) {
			t.Fatalf("%+v: CreateStaging = %v, want ErrDiskFull", low, err)
		}
		if err := d.Apply(ctx, []Op{{Key: []byte("k"), Delete: true}}); err != nil {
			t.Fatalf("%+v: a delete = %v", low, err)
		}
		sp = roomy
		if err := d.Check(ctx); err != nil {
			t.Fatalf("room again: Check = %v", err)
		}
		if err := d.Apply(ctx, set); err != nil {
			t.Fatalf("room again: a set = %v", err)
		}
	}
	// A write that began with room stops before it reaches the reserve
	// (a large upload must not fill the disk under the metadata store).
	sp = space{totalBytes: 100 << 30, freeBytes: 1<<30 + 1<<20, totalInodes: 1 << 20, freeInodes: 1 << 19} // 1 MiB above the reserve
	if err := d.Check(ctx); err != nil {
		t.Fatal(err)
	}
	sf, err := d.CreateStaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sf.Write(make([]byte, 512<<10)); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.Write(make([]byte, 1<<20)); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("a write into the reserve = %v, want ErrDiskFull", err)
	}
	sf.Abort()
	// A write going on when the disk falls below the reserve stops.
	if sf, err = d.CreateStaging(ctx); err != nil {
		t.Fatal(err)
	}
	sp = space{totalBytes: 100 << 30, freeBytes: 900 << 20, totalInodes: 1 << 20, freeInodes: 1 << 19}
	if err := d.Check(ctx); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Check under the reserve = %v", err)
	}
	if _, err := sf.Write(make([]byte, 1)); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("a write under the reserve = %v, want ErrDiskFull", err)
	}
	sf.Abort()
	// A small file system keeps a quarter of itself, not 64 MiB.
	sp = space{totalBytes: 48 << 20, freeBytes: 40 << 20, totalInodes: 1 << 20, freeInodes: 1 << 19}
	if err := d.Check(ctx); err != nil {
		t.Fatalf("a 48 MiB drive with 40 MiB free: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	sp = space{totalBytes: 100 << 30, freeBytes: 100 << 20, totalInodes: 1 << 20, freeInodes: 1 << 19} // under a quarter of the reserve
	if _, err := Open(dir, testFormat(), Options{}); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Open far below the reserve = %v, want ErrDiskFull", err)
	}
	sp = roomy
	d, err = Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}

func TestEveryLog(t *testing.T) {
	l := &everyLog{every: time.Hour}
	if n, ok := l.due(); !ok || n != 0 {
		t.Fatalf("first: %d, %v", n, ok)
	}
	for range 5 {
		if _, ok := l.due(); ok {
			t.Fatal("a repeat within the period was due")
		}
	}
	l.last = l.last.Add(-2 * time.Hour)
	if n, ok := l.due(); !ok || n != 5 {
		t.Fatalf("after the period: %d, %v; want 5 held back", n, ok)
	}
}
