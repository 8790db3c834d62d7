package drive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// driveAPI is the interface the object layer declares (package storage);
// *Drive must satisfy it exactly. It is repeated here because drive may
// not import storage.
type driveAPI interface {
	Get(ctx context.Context, key []byte) ([]byte, error)
	Apply(ctx context.Context, ops []Op) error
	NewIter(ctx context.Context, lower, upper []byte) (Iter, error)
	CreateStaging(ctx context.Context) (StagingFile, error)
	OpenData(ctx context.Context, dataID, name string) (DataFile, error)
	RemoveData(ctx context.Context, dataID string) error
	Check(ctx context.Context) error
	Info() Info
	DiskUsage() (total, free uint64, err error)
	Close() error
}

var _ driveAPI = (*Drive)(nil)

// TestOfflineAfterRemoveAll is the fault the project's integration test
// injects: rm -rf of a drive folder while the server runs. Every call that
// writes or reads must fail with ErrOffline, not succeed against pebble's
// unlinked files.
func TestOfflineAfterRemoveAll(t *testing.T) {
	ttls := []struct {
		name string
		ttl  time.Duration
	}{
		// A long TTL proves the uncached check after the sync: the cached
		// pre-check still says "online" when the writes start.
		{"cached pre-check", time.Hour},
		{"uncached", -1},
	}
	for _, tc := range ttls {
		t.Run(tc.name, func(t *testing.T) {
			d, dir := openTest(t, Options{OnlineCheckTTL: tc.ttl, Logger: testLogger(t)})
			ctx := context.Background()
			id := NewDataID()
			commitFile(t, d, id, "part.1", []byte("x"))
			if err := d.Apply(ctx, []Op{{Key: []byte("k"), Value: []byte("v")}}); err != nil {
				t.Fatal(err)
			}
			open, err := d.CreateStaging(ctx) // staging in progress during the removal
			if err != nil {
				t.Fatal(err)
			}
			if _, err := open.Write([]byte("shard")); err != nil {
				t.Fatal(err)
			}

			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}

			// Apply comes first: its uncached check after the sync fails
			// and clears the cache, so every later call fails too, even
			// with the long TTL.
			calls := []struct {
				name string
				fn   func() error
			}{
				{"Apply", func() error { return d.Apply(ctx, []Op{{Key: []byte("k2"), Value: []byte("v")}}) }},
				{"Commit", func() error { return open.Commit(ctx, NewDataID(), "part.1") }},
				{"Check", func() error { return d.Check(ctx) }},
				{"OpenData", func() error { _, err := d.OpenData(ctx, id, "part.1"); return err }},
				{"CreateStaging", func() error { _, err := d.CreateStaging(ctx); return err }},
				{"Get", func() error { _, err := d.Get(ctx, []byte("k")); return err }},
				{"NewIter", func() error { _, err := d.NewIter(ctx, nil, nil); return err }},
				{"RemoveData", func() error { return d.RemoveData(ctx, id) }},
				{"WalkData", func() error { return d.WalkData(ctx, func(string) error { return nil }) }},
			}
			for _, c := range calls {
				t.Run(c.name, func(t *testing.T) {
					if err := c.fn(); !errors.Is(err, ErrOffline) {
						t.Fatalf("%s = %v on a removed drive, want ErrOffline", c.name, err)
					}
				})
			}
			if _, err := d.CreateStaging(ctx); !errors.Is(err, ErrOffline) {
				t.Errorf("CreateStaging after a failed check = %v, want ErrOffline", err)
			}
			if err := d.Apply(ctx, []Op{{Key: []byte("k3")}}); !errors.Is(err, ErrOffline) {
				t.Errorf("Apply = %v, want ErrOffline", err)
			}
			_ = open.Abort()
		})
	}
}

// TestOfflineFirstCallAfterRemoveAll: with the default TTL and a fresh
// positive check cached, the first write-path call after the removal
// already fails. (Get and NewIter may still read pebble's open files for
// up to the TTL; that is the documented price of the cache.)
func TestOfflineFirstCallAfterRemoveAll(t *testing.T) {
	calls := []struct {
		name string
		fn   func(ctx context.Context, d *Drive, sf StagingFile, id string) error
	}{
		{"Apply", func(ctx context.Context, d *Drive, _ StagingFile, _ string) error {
			return d.Apply(ctx, []Op{{Key: []byte("k"), Value: []byte("v")}})
		}},
		{"CreateStaging", func(ctx context.Context, d *Drive, _ StagingFile, _ string) error {
			_, err := d.CreateStaging(ctx)
			return err
		}},
		{"Commit", func(ctx context.Context, _ *Drive, sf StagingFile, _ string) error {
			return sf.Commit(ctx, NewDataID(), "part.1")
		}},
		{"OpenData", func(ctx context.Context, d *Drive, _ StagingFile, id string) error {
			_, err := d.OpenData(ctx, id, "part.1")
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			d, dir := openTest(t, Options{})
			ctx := context.Background()
			id := NewDataID()
			commitFile(t, d, id, "part.1", []byte("x"))
			sf, err := d.CreateStaging(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer sf.Abort()
			if err := d.Check(ctx); err != nil { // a fresh positive check is cached
				t.Fatal(err)
			}
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := c.fn(ctx, d, sf, id); !errors.Is(err, ErrOffline) {
				t.Fatalf("%s = %v right after rm -rf, want ErrOffline", c.name, err)
			}
		})
	}
}

// TestOfflineWhenReplaced: a format.json that is no longer the file seen
// at Open (a new drive formatted into the slot) means this handle's drive
// is gone.
func TestOfflineWhenReplaced(t *testing.T) {
	d, dir := openTest(t, Options{OnlineCheckTTL: -1})
	ctx := context.Background()
	fm := d.Info().Format
	fm.DriveID = "another-drive"
	b, err := marshalFormat(fm)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "format.json.new"), string(b))
	if err := os.Rename(filepath.Join(dir, "format.json.new"), filepath.Join(dir, "format.json")); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, []Op{{Key: []byte("k")}}); !errors.Is(err, ErrOffline) {
		t.Fatalf("Apply on the replaced drive = %v, want ErrOffline", err)
	}
	if err := d.Check(ctx); !errors.Is(err, ErrOffline) {
		t.Fatalf("Check on the replaced drive = %v, want ErrOffline", err)
	}
}

// TestReopenAfterRemoveAll: once the old handle is closed, the slot can
// be formatted and opened again in the same process (pebble refuses a
// second open of a path while the first handle holds its lock).
func TestReopenAfterRemoveAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	d, err := Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Apply(ctx, []Op{{Key: []byte("k")}}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, []Op{{Key: []byte("k")}}); !errors.Is(err, ErrOffline) {
		t.Fatalf("Apply = %v, want ErrOffline", err)
	}
	if err := d.Close(); err != nil {
		t.Logf("Close of a removed drive: %v", err)
	}
	d2, err := Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatalf("Open after Close of the removed drive: %v", err)
	}
	defer d2.Close()
	if _, err := d2.Get(ctx, []byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fresh drive Get = %v, want ErrNotFound", err)
	}
	if err := d2.Apply(ctx, []Op{{Key: []byte("k")}}); err != nil {
		t.Fatalf("Apply on the fresh drive: %v", err)
	}
}

func TestCancelledContext(t *testing.T) {
	d, _ := openTest(t, Options{})
	id := NewDataID()
	commitFile(t, d, id, "part.1", []byte("x"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sf, err := d.CreateStaging(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Abort()
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Get", func() error { _, err := d.Get(ctx, []byte("k")); return err }},
		{"Apply", func() error { return d.Apply(ctx, []Op{{Key: []byte("k")}}) }},
		{"NewIter", func() error { _, err := d.NewIter(ctx, nil, nil); return err }},
		{"CreateStaging", func() error { _, err := d.CreateStaging(ctx); return err }},
		{"Commit", func() error { return sf.Commit(ctx, NewDataID(), "a") }},
		{"OpenData", func() error { _, err := d.OpenData(ctx, id, "part.1"); return err }},
		{"RemoveData", func() error { return d.RemoveData(ctx, id) }},
		{"WalkData", func() error { return d.WalkData(ctx, func(string) error { return nil }) }},
		{"Check", func() error { return d.Check(ctx) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.fn(); !errors.Is(err, context.Canceled) {
				t.Fatalf("%s = %v, want context.Canceled", c.name, err)
			}
		})
	}
	// Nothing happened: the key is absent, the data is still there.
	if _, err := d.Get(context.Background(), []byte("k")); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancelled Apply wrote: Get = %v", err)
	}
	if got := readAll(t, d, id, "part.1"); string(got) != "x" {
		t.Errorf("cancelled RemoveData removed the data")
	}
	// The staging file survived the cancelled Commit and still commits.
	if err := sf.Commit(context.Background(), id, "part.2"); err != nil {
		t.Errorf("Commit after a cancelled Commit: %v", err)
	}
}

// TestPoisoned: a fatal pebble error (failed WAL write or sync) takes the
// drive offline for every later call; ENOSPC is also ErrDiskFull.
func TestPoisoned(t *testing.T) {
	tests := []struct {
		name     string
		arg      error
		diskFull bool
	}{
		{"io error", &fs.PathError{Op: "write", Path: "000001.log", Err: syscall.EIO}, false},
		{"no space", &fs.PathError{Op: "write", Path: "000001.log", Err: syscall.ENOSPC}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, dir := openTest(t, Options{})
			ctx := context.Background()
			if err := d.Apply(ctx, []Op{{Key: []byte("k"), Value: []byte("v")}}); err != nil {
				t.Fatal(err)
			}
			// What pebble's commit path calls when the WAL fails.
			(&pebbleLogger{log: d.log, poison: d.poison}).Fatalf("pebble: fatal commit error: %v", tt.arg)
			for name, fn := range map[string]func() error{
				"Apply": func() error { return d.Apply(ctx, []Op{{Key: []byte("k")}}) },
				"Get":   func() error { _, err := d.Get(ctx, []byte("k")); return err },
				"Check": func() error { return d.Check(ctx) },
			} {
				err := fn()
				if !errors.Is(err, ErrOffline) {
					t.Errorf("%s after a fatal error = %v, want ErrOffline", name, err)
				}
				if errors.Is(err, ErrDiskFull) != tt.diskFull || !errors.Is(err, ErrMetadataFailed) {
					t.Errorf("%s = %v, ErrDiskFull=%v, want %v, and ErrMetadataFailed", name, err, !tt.diskFull, tt.diskFull)
				}
			}
			if err := d.Close(); !errors.Is(err, ErrOffline) {
				t.Errorf("Close of a poisoned drive = %v, want the fatal error", err)
			}
			// The close released the folder: it opens again in this
			// process (pebble refuses a second open of a folder it holds)
			// and holds what was written.
			d2, err := Open(dir, testFormat(), Options{NoCreate: true})
			if err != nil {
				t.Fatalf("reopen after the fatal error: %v", err)
			}
			defer d2.Close()
			if v, err := d2.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
				t.Fatalf("after reopening: %q, %v", v, err)
			}
		})
	}
}

func TestIOErrorClasses(t *testing.T) {
	pe := func(e syscall.Errno) error { return &fs.PathError{Op: "write", Path: "/d/x", Err: e} }
	tests := []struct {
		name      string
		err       error
		offline   bool
		full      bool
		errnoKept syscall.Errno
	}{
		{"ENOSPC", pe(syscall.ENOSPC), false, true, syscall.ENOSPC},
		{"EDQUOT", pe(syscall.EDQUOT), false, true, syscall.EDQUOT},
		{"EIO", pe(syscall.EIO), true, false, syscall.EIO},
		{"EROFS", pe(syscall.EROFS), true, false, syscall.EROFS},
		{"ENODEV", pe(syscall.ENODEV), true, false, syscall.ENODEV},
		{"EACCES", pe(syscall.EACCES), false, false, syscall.EACCES},
		{"wrapped EIO", fmt.Errorf("pebble: %w", pe(syscall.EIO)), true, false, syscall.EIO},
		{"plain", errors.New("x"), false, false, 0},
		{"EOF", io.ErrUnexpectedEOF, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ioError("op", tt.err)
			if errors.Is(err, ErrOffline) != tt.offline || errors.Is(err, ErrDiskFull) != tt.full {
				t.Fatalf("ioError(%v) = %v: offline=%v full=%v, want %v %v", tt.err, err,
					errors.Is(err, ErrOffline), errors.Is(err, ErrDiskFull), tt.offline, tt.full)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("the original error is not reachable from %v", err)
			}
			if tt.errnoKept != 0 && !errors.Is(err, tt.errnoKept) {
				t.Errorf("errno %v not reachable from %v", tt.errnoKept, err)
			}
			if got := err.Error(); len(got) < 7 || got[:7] != "drive: " {
				t.Errorf("text %q lacks the package prefix", got)
			}
		})
	}
	if ioError("op", nil) != nil {
		t.Error("ioError(nil) != nil")
	}
}

// TestReadOnlyDrive: a drive whose folder cannot be written (standing in
// for a read-only remount) fails Check and CreateStaging. Skipped as root,
// for whom permissions do not apply.
func TestReadOnlyDrive(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	d, dir := openTest(t, Options{})
	tmp := filepath.Join(dir, "tmp")
	if err := os.Chmod(tmp, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(tmp, 0o700)
	if err := d.Check(context.Background()); err == nil {
		t.Error("Check passed on a drive that cannot create files")
	}
	if _, err := d.CreateStaging(context.Background()); err == nil {
		t.Error("CreateStaging passed on a drive that cannot create files")
	}
}
