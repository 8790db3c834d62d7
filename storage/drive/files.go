package drive

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// StagingFile is a new data file being written in the drive's staging area
// (tmp/). Nothing reads it until Commit moves it into data/. It is not safe
// for concurrent use.
type StagingFile interface {
	io.Writer
	// Commit fsyncs the file, moves it to data/<dataID[:2]>/<dataID>/<name>
	// (creating the directories; failing with ErrExists if that file
	// already exists) and fsyncs every directory it changed, so once Commit
	// returns the file survives a power loss. dataID and name must be
	// valid (ValidDataID, ValidName), else ErrInvalidName. Commit may be
	// called once; after a failure only Abort is useful.
	Commit(ctx context.Context, dataID, name string) error
	// Abort removes the staging file. It is safe after a failed Commit
	// and a no-op after a successful one, so `defer f.Abort()` is the
	// usual pattern.
	Abort() error
}

// DataFile is an immutable committed data file. ReadAt may be called
// concurrently, as io.ReaderAt allows.
type DataFile interface {
	io.ReaderAt
	// Size is the file's length in bytes.
	Size() int64
	// Close releases the file.
	Close() error
}

// CreateStaging creates a new, empty staging file with a random name in
// tmp/.
func (d *Drive) CreateStaging(ctx context.Context) (StagingFile, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.ready(true); err != nil {
		return nil, fmt.Errorf("drive: create staging: %w", err)
	}
	if err := d.room(); err != nil {
		return nil, fmt.Errorf("drive: create staging: %w", err)
	}
	path := filepath.Join(d.dir, dirTmp, NewDataID())
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, d.pathError("create staging", err)
	}
	return &stagingFile{d: d, f: f, path: path}, nil
}

// stagingSyncEvery is how many bytes of a staging file may be written
// before a background fsync starts on it.
//
// Without it a 64 MiB object's six shard files held 96 MiB that the
// device persisted only when Commit synced them: about 90 ms, a third of
// a PUT from one client, with nothing else to do meanwhile (O_DIRECT
// writes measured the same: the device persists on the flush, not on the
// write). Syncing in the background every 4 MiB lets the device persist
// the shards while the body still arrives; Commit's own sync then has
// the last few MiB left (docs/architecture.md, "Decision: staging files
// are synced as they are written"). Files under 4 MiB (objects under
// 16 MiB in 4+2) are synced once, at Commit, as before; and no
// background sync starts while Options.SyncAhead says no (asked each time
// 4 MiB are unsynced; the store says no while other writes are in
// progress, as the extra flushes would cost them more than it gains).
const stagingSyncEvery = 4 << 20

// syncFile is how a staging file is synced; tests replace it.
var syncFile = (*os.File).Sync

// stagingFile implements StagingFile. f is nil once the file was closed
// (by Commit or Abort); done is set once it left tmp/ for good.
type stagingFile struct {
	d    *Drive
	f    *os.File
	path string
	done bool
	// unsynced counts the bytes written since the last background sync
	// began; syncing is that sync's result, nil when none is in flight.
	unsynced int64
	syncing  chan error
	// syncErr is the first failed background sync. Linux reports a lost
	// write-back to one fsync only, so it fails the Commit whatever the
	// Commit's own sync says: the file is never declared durable after
	// it. Writes go on (a heal writing several drives' shards stops at
	// the first write error, and must not lose the others for this one),
	// but no further background sync is started.
	syncErr error
}

func (s *stagingFile) Write(p []byte) (int, error) {
	if s.f == nil {
		return 0, fmt.Errorf("drive: write staging: %w", os.ErrClosed)
	}
	if err := s.d.spend(len(p)); err != nil {
		return 0, fmt.Errorf("drive: write staging: %w", err)
	}
	n, err := s.f.Write(p)
	if err != nil {
		return n, s.d.pathError("write staging", err)
	}
	s.unsynced += int64(n)
	if s.unsynced >= stagingSyncEvery && s.d.syncAhead() && s.syncDone(false) && s.syncErr == nil {
		s.unsynced = 0
		ch := make(chan error, 1)
		s.syncing = ch
		go func(f *os.File) { ch <- syncFile(f) }(s.f)
	}
	return n, nil
}

// syncDone collects the background sync's result once it finished (or,
// with wait, waits for it) and reports whether none is in flight.
func (s *stagingFile) syncDone(wait bool) bool {
	if s.syncing == nil {
		return true
	}
	var err error
	if wait {
		err = <-s.syncing
	} else {
		select {
		case err = <-s.syncing:
		default:
			return false
		}
	}
	s.syncing = nil
	if err != nil && s.syncErr == nil {
		s.syncErr = err
	}
	return true
}

// close waits for the background sync, which uses the file, and closes
// it.
func (s *stagingFile) close() error {
	s.syncDone(true)
	err := s.f.Close()
	s.f = nil
	return err
}

func (s *stagingFile) Commit(ctx context.Context, dataID, name string) error {
	if s.done || s.f == nil {
		return fmt.Errorf("drive: commit: %w", os.ErrClosed)
	}
	if err := checkNames(dataID, name, true); err != nil {
		return fmt.Errorf("drive: commit: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d := s.d
	if err := d.ready(true); err != nil {
		return fmt.Errorf("drive: commit: %w", err)
	}
	// From here on the file is closed whatever happens; Abort removes it.
	if s.syncDone(true); s.syncErr != nil {
		_ = s.close()
		return d.pathError("commit: background sync", s.syncErr)
	}
	if err := syncFile(s.f); err != nil {
		_ = s.close()
		return d.pathError("commit: sync", err)
	}
	if err := s.close(); err != nil {
		return d.pathError("commit: close", err)
	}
	prefix := dataID[:2]
	if _, err := d.ensureDir(filepath.Join(d.dir, dirData), prefix); err != nil {
		return d.pathError("commit: create directory", err)
	}
	idDir := filepath.Join(d.dir, dirData, prefix)
	if _, err := d.ensureDir(idDir, dataID); err != nil {
		return d.pathError("commit: create directory", err)
	}
	dir := filepath.Join(idDir, dataID)
	final := filepath.Join(dir, name)
	// A hard link fails with EEXIST instead of replacing, which rename
	// would do silently: committed files are never overwritten.
	if err := os.Link(s.path, final); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("drive: commit %s/%s: %w", dataID, name, ErrExists)
		}
		return d.pathError("commit: link", err)
	}
	if err := syncDir(dir); err != nil {
		// Not durable: take the new name away again so that a retry can
		// commit under it; a leftover is an orphan the scanner removes.
		_ = os.Remove(final)
		return d.pathError("commit: sync directory", err)
	}
	s.done = true
	// The staging name is garbage now. Its removal need not be durable:
	// Open empties tmp/ anyway.
	if err := os.Remove(s.path); err != nil && !isNotExist(err) {
		d.log.Warn("drive: remove committed staging file", "err", err)
	}
	// The fsyncs above went to whatever the path named at the time; if
	// the drive folder vanished meanwhile they went to unlinked files.
	if err := d.ready(false); err != nil {
		return fmt.Errorf("drive: commit %s/%s: %w", dataID, name, err)
	}
	return nil
}

func (s *stagingFile) Abort() error {
	if s.done {
		return nil
	}
	var cerr error
	if s.f != nil {
		cerr = s.close()
	}
	s.done = true
	if err := os.Remove(s.path); err != nil && !isNotExist(err) {
		return ioError("abort staging", err)
	}
	if cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		return ioError("abort staging", cerr)
	}
	return nil
}

// ensureDir creates parent/name unless it exists and reports whether it
// did. A new directory's entry is made durable by fsyncing parent before
// the stripe lock is released, so any caller that finds the directory
// existing under the lock may rely on it surviving a power loss.
func (d *Drive) ensureDir(parent, name string) (created bool, err error) {
	path := filepath.Join(parent, name)
	mu := &d.dirLocks[maphash.String(d.lockSeed, path)%uint64(len(d.dirLocks))]
	mu.Lock()
	defer mu.Unlock()
	err = os.Mkdir(path, dirPerm)
	if errors.Is(err, os.ErrExist) {
		fi, serr := os.Stat(path)
		if serr != nil {
			return false, serr
		}
		if !fi.IsDir() {
			return false, &os.PathError{Op: "mkdir", Path: path, Err: syscall.ENOTDIR}
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := syncDir(parent); err != nil {
		// Leave no directory whose durability was not established.
		_ = os.Remove(path)
		return false, err
	}
	return true, nil
}

// OpenData opens the committed file data/<dataID[:2]>/<dataID>/<name>, or
// returns ErrNotFound. A missing file on a drive whose folder is gone is
// ErrOffline, not ErrNotFound.
func (d *Drive) OpenData(ctx context.Context, dataID, name string) (DataFile, error) {
	if err := checkNames(dataID, name, true); err != nil {
		return nil, fmt.Errorf("drive: open data: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.ready(true); err != nil {
		return nil, fmt.Errorf("drive: open data: %w", err)
	}
	f, err := os.Open(filepath.Join(dataDir(d.dir, dataID), name))
	if err != nil {
		if isNotExist(err) {
			if rerr := d.ready(false); rerr != nil {
				return nil, fmt.Errorf("drive: open data: %w", rerr)
			}
			return nil, fmt.Errorf("drive: open data %s/%s: %w", dataID, name, ErrNotFound)
		}
		return nil, ioError("open data", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, ioError("open data", err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("drive: open data %s/%s: not a regular file: %w", dataID, name, ErrNotFound)
	}
	return &dataFile{f: f, size: fi.Size()}, nil
}

// dataFile implements DataFile.
type dataFile struct {
	f    *os.File
	size int64
}

func (f *dataFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.f.ReadAt(p, off)
	if err != nil && err != io.EOF {
		// io.EOF must stay unwrapped: io.ReaderAt callers compare with ==.
		return n, ioError("read data", err)
	}
	return n, err
}

func (f *dataFile) Size() int64 { return f.size }

func (f *dataFile) Close() error {
	if err := f.f.Close(); err != nil {
		return ioError("close data", err)
	}
	return nil
}

// RemoveData removes data/<dataID[:2]>/<dataID> with all its files. An
// absent directory is not an error. The removal is not fsynced: a
// directory that comes back after a power loss is an orphan (no metadata
// names it any more), which the orphan scanner removes.
func (d *Drive) RemoveData(ctx context.Context, dataID string) error {
	if err := checkNames(dataID, "", false); err != nil {
		return fmt.Errorf("drive: remove data: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.ready(true); err != nil {
		return fmt.Errorf("drive: remove data: %w", err)
	}
	if err := os.RemoveAll(dataDir(d.dir, dataID)); err != nil {
		return d.pathError("remove data", err)
	}
	return nil
}

// WalkData calls fn for every committed data id, in lexical order, for the
// orphan scanner. Names in data/ that are not valid data ids are skipped.
// The walk sees the folders as they are while it runs: an id whose files
// are committed but whose metadata is not yet may be reported, so a scanner
// must give young directories a grace period before removing them. An
// error from fn stops the walk and is returned unchanged; ctx is checked
// between ids.
func (d *Drive) WalkData(ctx context.Context, fn func(dataID string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.ready(true); err != nil {
		return fmt.Errorf("drive: walk data: %w", err)
	}
	root := filepath.Join(d.dir, dirData)
	prefixes, err := os.ReadDir(root)
	if err != nil {
		return d.pathError("walk data", err)
	}
	for _, p := range prefixes {
		if !p.IsDir() || len(p.Name()) != 2 || !isLowerHex(p.Name()) {
			continue
		}
		ids, err := os.ReadDir(filepath.Join(root, p.Name()))
		if err != nil {
			if isNotExist(err) {
				continue // removed while we walked
			}
			return d.pathError("walk data", err)
		}
		for _, e := range ids {
			id := e.Name()
			if !e.IsDir() || !ValidDataID(id) || id[:2] != p.Name() {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// DataModTime returns the modification time of the directory
// data/<dataID[:2]>/<dataID>, or ErrNotFound. The directory changes only
// when a file is committed into it, so its time tells a scanner how long
// ago the data was written: a directory no metadata names is taken for an
// orphan only once it is older than a grace period, long enough for the
// write that made it to have committed its metadata.
func (d *Drive) DataModTime(ctx context.Context, dataID string) (time.Time, error) {
	if err := checkNames(dataID, "", false); err != nil {
		return time.Time{}, fmt.Errorf("drive: data time: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	if err := d.ready(true); err != nil {
		return time.Time{}, fmt.Errorf("drive: data time: %w", err)
	}
	fi, err := os.Stat(dataDir(d.dir, dataID))
	if err != nil {
		if isNotExist(err) {
			if rerr := d.ready(false); rerr != nil {
				return time.Time{}, fmt.Errorf("drive: data time: %w", rerr)
			}
			return time.Time{}, fmt.Errorf("drive: data time %s: %w", dataID, ErrNotFound)
		}
		return time.Time{}, ioError("data time", err)
	}
	return fi.ModTime(), nil
}

// CleanStaging removes the staging files in tmp/ last written before
// before, and returns how many it removed. Open empties tmp/ anyway; this
// is for a drive that stays open for months while writes die (a client
// that vanished mid-body whose Abort failed). A staging file's time moves
// with every write, so a live upload is never old.
func (d *Drive) CleanStaging(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := d.ready(true); err != nil {
		return 0, fmt.Errorf("drive: clean staging: %w", err)
	}
	tmp := filepath.Join(d.dir, dirTmp)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return 0, d.pathError("clean staging", err)
	}
	removed := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(before) {
			continue // gone meanwhile, or young
		}
		if err := os.RemoveAll(filepath.Join(tmp, e.Name())); err != nil {
			return removed, d.pathError("clean staging", err)
		}
		removed++
	}
	if removed > 0 {
		d.log.Info("drive: removed stale staging files", "count", removed)
	}
	return removed, nil
}
