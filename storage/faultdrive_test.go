package storage

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// faultDrive wraps a real drive and injects faults: errors per kind of
// operation, a read-only or full disk, a drive gone offline, corrupt
// reads, read errors on chosen data ids. The zero faults pass everything
// through.
type faultDrive struct {
	Drive
	mu       sync.Mutex
	offline  bool
	readOnly bool             // writes fail with EROFS (wrapped in ErrOffline)
	full     bool             // writes fail with ErrDiskFull
	corrupt  bool             // every data read and inline shard comes back with a bit flipped
	badIDs   map[string]bool  // reads of these data ids fail with EIO until rewritten
	fail     map[string]error // per operation name: inject this error
	allow    map[string]int   // per operation name: calls that pass before fail applies
	calls    map[string]int   // per operation name: how often called
	// failOps, when set, fails the metadata batches it returns an error
	// for: a fault of one kind of write, whoever makes it.
	failOps func(ops []drive.Op) error
	// settle waits for the store's commits still reaching their last
	// drives (Store.settle): a fault a test sets applies to what it does
	// next, not to the tail of a write it already saw acknowledged.
	settle func()
}

func newFaultDrive(d Drive) *faultDrive {
	return &faultDrive{Drive: d, badIDs: map[string]bool{}, fail: map[string]error{}, allow: map[string]int{}, calls: map[string]int{}}
}

// set changes the faults under the lock.
func (f *faultDrive) set(fn func(f *faultDrive)) {
	if f.settle != nil {
		f.settle()
	}
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

// clear removes every fault.
func (f *faultDrive) clear() {
	f.set(func(f *faultDrive) {
		f.offline, f.readOnly, f.full, f.corrupt = false, false, false, false
		f.badIDs = map[string]bool{}
		f.fail = map[string]error{}
		f.allow = map[string]int{}
		f.failOps = nil
	})
}

var (
	errInjectedIO       = fmt.Errorf("%w: injected: %w", drive.ErrOffline, syscall.EIO)
	errInjectedReadOnly = fmt.Errorf("%w: injected: %w", drive.ErrOffline, syscall.EROFS)
	errInjectedFull     = fmt.Errorf("%w: injected: %w", drive.ErrDiskFull, syscall.ENOSPC)
)

// check returns the injected error of op, if any; write ops also fail on
// a read-only or full drive.
func (f *faultDrive) check(op string, write bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	switch {
	case f.offline:
		return fmt.Errorf("faultdrive %s: %w", op, drive.ErrOffline)
	case f.fail[op] != nil && f.allow[op] > 0:
		f.allow[op]--
	case f.fail[op] != nil:
		return fmt.Errorf("faultdrive %s: %w", op, f.fail[op])
	case write && f.readOnly:
		return fmt.Errorf("faultdrive %s: %w", op, errInjectedReadOnly)
	case write && f.full:
		return fmt.Errorf("faultdrive %s: %w", op, errInjectedFull)
	}
	return nil
}

func (f *faultDrive) isCorrupt() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.corrupt
}

func (f *faultDrive) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := f.check("get", false); err != nil {
		return nil, err
	}
	v, err := f.Drive.Get(ctx, key)
	if err == nil && len(key) > 0 && key[0] == prefixInline && f.isCorrupt() && len(v) > 0 {
		v[len(v)/2] ^= 0x10
	}
	return v, err
}

func (f *faultDrive) Apply(ctx context.Context, ops []drive.Op) error {
	if err := f.checkOps(ops); err != nil {
		return err
	}
	return f.Drive.Apply(ctx, ops)
}

func (f *faultDrive) ApplyLazy(ctx context.Context, ops []drive.Op) error {
	if err := f.checkOps(ops); err != nil {
		return err
	}
	return f.Drive.ApplyLazy(ctx, ops)
}

// checkOps is check for a metadata batch, with failOps.
func (f *faultDrive) checkOps(ops []drive.Op) error {
	if err := f.check("apply", true); err != nil {
		return err
	}
	f.mu.Lock()
	fn := f.failOps
	f.mu.Unlock()
	if fn != nil {
		if err := fn(ops); err != nil {
			return fmt.Errorf("faultdrive apply: %w", err)
		}
	}
	return nil
}

func (f *faultDrive) NewIter(ctx context.Context, lower, upper []byte) (drive.Iter, error) {
	if err := f.check("iter", false); err != nil {
		return nil, err
	}
	return f.Drive.NewIter(ctx, lower, upper)
}

func (f *faultDrive) CreateStaging(ctx context.Context) (drive.StagingFile, error) {
	if err := f.check("stage", true); err != nil {
		return nil, err
	}
	sf, err := f.Drive.CreateStaging(ctx)
	if err != nil {
		return nil, err
	}
	return &faultStaging{StagingFile: sf, f: f}, nil
}

type faultStaging struct {
	drive.StagingFile
	f *faultDrive
}

func (s *faultStaging) Write(p []byte) (int, error) {
	if err := s.f.check("write", true); err != nil {
		return 0, err
	}
	return s.StagingFile.Write(p)
}

func (s *faultStaging) Commit(ctx context.Context, dataID, name string) error {
	if err := s.f.check("commit", true); err != nil {
		return err
	}
	if err := s.StagingFile.Commit(ctx, dataID, name); err != nil {
		return err
	}
	s.f.mu.Lock()
	delete(s.f.badIDs, dataID) // new file, new sectors
	s.f.mu.Unlock()
	return nil
}

func (f *faultDrive) OpenData(ctx context.Context, dataID, name string) (drive.DataFile, error) {
	if err := f.check("open", false); err != nil {
		return nil, err
	}
	df, err := f.Drive.OpenData(ctx, dataID, name)
	if err != nil {
		return nil, err
	}
	return &faultData{DataFile: df, f: f, id: dataID}, nil
}

type faultData struct {
	drive.DataFile
	f  *faultDrive
	id string
}

func (d *faultData) ReadAt(p []byte, off int64) (int, error) {
	if err := d.f.check("read", false); err != nil {
		return 0, err
	}
	d.f.mu.Lock()
	bad, corrupt := d.f.badIDs[d.id], d.f.corrupt
	d.f.mu.Unlock()
	if bad {
		return 0, fmt.Errorf("faultdrive read %s: %w", d.id, errInjectedIO)
	}
	n, err := d.DataFile.ReadAt(p, off)
	if corrupt && n > 0 {
		p[n/2] ^= 0x01
	}
	return n, err
}

func (f *faultDrive) RemoveData(ctx context.Context, dataID string) error {
	if err := f.check("remove", true); err != nil {
		return err
	}
	return f.Drive.RemoveData(ctx, dataID)
}

func (f *faultDrive) WalkData(ctx context.Context, fn func(string) error) error {
	if err := f.check("walk", false); err != nil {
		return err
	}
	return f.Drive.WalkData(ctx, fn)
}

func (f *faultDrive) DataModTime(ctx context.Context, dataID string) (time.Time, error) {
	if err := f.check("modtime", false); err != nil {
		return time.Time{}, err
	}
	return f.Drive.DataModTime(ctx, dataID)
}

func (f *faultDrive) CleanStaging(ctx context.Context, before time.Time) (int, error) {
	if err := f.check("cleanstaging", true); err != nil {
		return 0, err
	}
	return f.Drive.CleanStaging(ctx, before)
}

func (f *faultDrive) Check(ctx context.Context) error {
	if err := f.check("check", true); err != nil {
		return err
	}
	return f.Drive.Check(ctx)
}

// faultStore opens a 4+2 store over six real drives wrapped in fault
// drives, with small blocks and inline limit so that tests cross them.
func faultStore(t testing.TB, mod func(*Config)) (*Store, []*faultDrive, []string) {
	t.Helper()
	root := t.TempDir()
	cfg := Config{DataShards: 4, ParityShards: 2, BlockSize: 64 << 10, InlineLimit: 16 << 10, ScanInterval: -1,
		ScanObjectsPerSecond: -1, ScanBytesPerSecond: -1, Logger: testLogger(t)}
	if mod != nil {
		mod(&cfg)
	}
	n := cfg.DataShards + cfg.ParityShards
	var fds []*faultDrive
	var dirs []string
	var ds []Drive
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("drive%d", i))
		d, err := drive.Open(dir, drive.Format{ClusterID: "test-cluster", Set: 0, Position: i, Zone: fmt.Sprintf("z%d", i/2)}, drive.Options{})
		if err != nil {
			t.Fatal(err)
		}
		fd := newFaultDrive(d)
		fds = append(fds, fd)
		dirs = append(dirs, dir)
		ds = append(ds, fd)
	}
	s, err := New(cfg, [][]Drive{ds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, fd := range fds {
		fd.settle = s.settle
	}
	return s, fds, dirs
}

// checkFullRedundancy fails the test unless every drive of every set
// holds the same record of every object, upload, part and bucket, and
// every shard of every part of every version verifies on every drive.
func checkFullRedundancy(t testing.TB, s *Store) {
	t.Helper()
	checkRedundancy(t, s, false)
}

// checkRedundancy is checkFullRedundancy, optionally skipping the shards
// of empty parts: no read ever looks at them, so only a pass heals them.
func checkRedundancy(t testing.TB, s *Store, skipEmpty bool) {
	t.Helper()
	ctx := context.Background()
	for _, st := range s.sets {
		for _, prefix := range []byte{prefixBucket, prefixObject, prefixUpload, prefixPart} {
			m := newMergeIter(ctx, st.drives(), []byte{prefix}, []byte{prefix + 1})
			for i, e := range m.errs {
				if e != nil {
					t.Fatalf("drive %d cannot be listed: %v", i, e)
				}
			}
			for ok := m.seek(nil); ok; ok = m.next() {
				for p, v := range m.values {
					if v == nil || !bytes.Equal(v, m.values[0]) {
						t.Errorf("key %q: drive %d holds %d bytes, drive 0 %d (not the same record)", m.key, p, len(v), len(m.values[0]))
					}
				}
				if prefix != prefixObject || m.values[0] == nil {
					continue
				}
				rec, err := decodeObject(m.values[0], true)
				if err != nil {
					t.Fatalf("key %q: %v", m.key, err)
				}
				for _, v := range rec.Versions {
					for _, part := range v.Parts {
						if skipEmpty && part.Size == 0 {
							continue
						}
						checkShards(t, s, st, string(m.key), v, part)
					}
				}
			}
			m.close()
		}
	}
}

func checkShards(t testing.TB, s *Store, st *set, name string, v versionRecord, part partEntry) {
	t.Helper()
	ctx := context.Background()
	codec, err := s.codec(v.DataShards, v.ParityShards, v.BlockSize)
	if err != nil {
		t.Fatal(err)
	}
	ss := s.versionShards(st, "", "", v, part)
	for p, d := range st.drives() {
		r, closer, err := openShard(ctx, d, &ss)
		if err != nil {
			t.Errorf("%q part %d drive %d: %v", name, part.Number, p, err)
			continue
		}
		if err := codec.Verify(ctx, r, shardOf(p, v.Rotation, len(st.drives())), part.Size); err != nil {
			t.Errorf("%q part %d drive %d: %v", name, part.Number, p, err)
		}
		closer()
	}
}
