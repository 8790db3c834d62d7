package drive

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Names inside the drive folder (see the layout in doc.go).
const (
	fileFormat = "format.json"
	dirMeta    = "meta"
	dirTmp     = "tmp"
	dirData    = "data"
	// lost+found sits at the root of every fresh ext* file system; a drive
	// folder that is a mount point must still count as empty.
	dirLostFound = "lost+found"
)

// RebuildMark names a file the layer above writes in a folder before the
// folder is formatted in place of a failed drive, and removes once the
// drive holds the set's data again. Written before format.json, it leaves
// no moment in which a formatted but empty drive looks like one holding
// data; a folder holding it (and nothing else) is still formattable.
const RebuildMark = "rebuilding"

// Permissions of what the drive creates: only the server's user reads
// shards and metadata.
const (
	filePerm = 0o600
	dirPerm  = 0o700
)

// Defaults of Options.
const (
	// DefaultCacheSize is the pebble block cache per drive.
	DefaultCacheSize = 64 << 20
	// DefaultOnlineCheckTTL is how long a successful stat of format.json is
	// trusted before the next write-path call stats it again.
	DefaultOnlineCheckTTL = 250 * time.Millisecond
	// DefaultSyncGap is the least time between two fsyncs of the
	// metadata write-ahead log (pebble's WALMinSyncInterval).
	DefaultSyncGap = 500 * time.Microsecond
)

// Options tunes a Drive. The zero value is ready to use.
type Options struct {
	// Logger receives the drive's events; pebble's own messages go to it at
	// debug level (warnings and errors at their level). nil discards.
	Logger *slog.Logger
	// CacheSize is the pebble block cache in bytes. 0 means
	// DefaultCacheSize (64 MiB); the cache fills only with blocks actually
	// read, so it is an upper bound.
	CacheSize int64
	// MemTableSize is pebble's memtable size in bytes. 0 keeps pebble's
	// default (4 MiB), plenty for metadata records.
	MemTableSize uint64
	// OnlineCheckTTL is how long a positive stat of format.json is cached
	// by the pre-checks of Get, Apply, NewIter, CreateStaging, OpenData and
	// RemoveData. 0 means DefaultOnlineCheckTTL; negative stats every time.
	// Apply and Commit additionally stat, uncached, after their fsync: a
	// write is never reported durable if the folder vanished under it.
	OnlineCheckTTL time.Duration
	// SyncGap is the least time between two fsyncs of the metadata
	// write-ahead log: commits that arrive meanwhile wait and share the
	// next one. 0 means DefaultSyncGap; negative syncs at once. Without
	// a gap the log syncs as soon as one commit waits, so under many
	// small concurrent writes nearly every commit pays an fsync of its
	// own, and the syncs, not the disk's bandwidth, bound the rate.
	SyncGap time.Duration
	// SyncDelay, when set, replaces SyncGap: pebble calls it after each
	// WAL sync and waits what it returns (0: no wait) before the next.
	// The store sets it to follow its load: waiting costs a lone writer
	// its whole length, while under many concurrent writes each sync
	// saved is CPU (an fdatasync is a system call, block requests and
	// a scheduler hand-off) given back to the writes.
	SyncDelay func() time.Duration
	// SyncAhead, when set, reports whether a staging file may start a
	// background fsync as it grows (see stagingSyncEvery); nil means
	// always. The store lets only a lone writer do it: its commit has
	// nothing else to overlap, while under concurrent writes the extra
	// flushes only take the device's time from the others.
	SyncAhead func() bool
	// NoCreate makes Open fail with ErrUnformatted instead of creating a
	// missing folder: a drive put in place at run time must be a folder
	// someone made, not one that vanished a moment ago.
	NoCreate bool
}

// Info describes an open drive. It is fixed at Open.
type Info struct {
	// Path is the drive's folder, cleaned.
	Path string
	// Format is the identity read from (or written to) format.json.
	Format Format
}

// Drive is one drive folder: a pebble database for metadata and immutable
// data files. All methods are safe for concurrent use.
type Drive struct {
	dir  string
	info Info
	log  *slog.Logger
	db   *pebble.DB
	// fsCloser stops the disk-health checks under db (see pebbleOptions).
	fsCloser io.Closer
	// syncAhead is Options.SyncAhead, never nil.
	syncAhead func() bool

	// Offline detection: the FileInfo of format.json taken at Open, the
	// time of the last successful stat (nanoseconds since epoch plus one, 0
	// for never) and how long it is trusted.
	formatPath string
	formatStat os.FileInfo
	epoch      time.Time
	lastOK     atomic.Int64
	ttl        time.Duration
	// formatCheck lets concurrent uncached checks share one stat.
	formatCheck freshCheck

	// roomState caches whether the file system is below the space
	// reserve (reserve.go).
	roomState roomCheck

	// fatal holds the first fatal pebble error. pebble assumes Fatalf never
	// returns; ours does, so from then on the database is in an undefined
	// state and every operation fails with this error (it wraps
	// ErrOffline and ErrMetadataFailed) until the drive is closed and
	// opened again.
	fatal atomic.Pointer[error]

	// inflight counts calls that are using db; Close waits for them. A
	// counter instead of a RWMutex keeps concurrent Apply calls free of a
	// shared lock and lets Close give up waiting on a poisoned database.
	inflight atomic.Int64
	closed   atomic.Bool

	iterMu sync.Mutex
	iters  map[*iter]struct{}

	// dirLocks make "mkdir, then fsync the parent" atomic per directory
	// (striped by name), so a Commit that finds a directory already there
	// knows the entry is durable (see ensureDir).
	dirLocks [64]sync.Mutex
	lockSeed maphash.Seed
}

// Open opens (creating if needed) the drive at dir.
//
// If dir has no format (missing folder, empty folder, or a folder holding
// only an empty tmp/ or data/ from an interrupted format, or lost+found),
// it is formatted with want, with a fresh DriveID when want.DriveID is empty.
// A folder with other content but no format.json is refused with
// ErrUnformatted rather than formatted over.
//
// If dir has a format, its ClusterID must equal want.ClusterID
// (ErrForeignDrive) and its Set and Position must equal want's
// (ErrWrongPosition); the errors name both values. A differing Zone or
// DriveID is only logged: Info reports what is on disk.
//
// Open removes everything left in tmp/: it belongs to writes that never
// committed. It does so after the database is open, whose lock file keeps a
// second process from opening the same drive and wiping the first one's
// staging files.
func Open(dir string, want Format, opts Options) (*Drive, error) {
	if dir == "" {
		return nil, errors.New("drive: open: empty path")
	}
	dir = filepath.Clean(dir)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("drive", dir)

	fm, err := ReadFormat(dir)
	switch {
	case errors.Is(err, ErrUnformatted):
		if opts.NoCreate {
			if _, serr := os.Stat(dir); serr != nil {
				return nil, fmt.Errorf("drive: open %s: %w: the folder is missing", dir, ErrUnformatted)
			}
		}
		if fm, err = formatDrive(dir, want, log); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("drive: open %s: %w", dir, err)
	default:
		if err := matchFormat(fm, want); err != nil {
			return nil, fmt.Errorf("drive: open %s: %w", dir, err)
		}
		if want.Zone != "" && want.Zone != fm.Zone {
			log.Warn("drive: zone on disk differs from the expected one; keeping the one on disk",
				"disk_zone", fm.Zone, "want_zone", want.Zone)
		}
		if want.DriveID != "" && want.DriveID != fm.DriveID {
			log.Warn("drive: drive id on disk differs from the expected one",
				"disk_drive_id", fm.DriveID, "want_drive_id", want.DriveID)
		}
	}

	d := &Drive{
		dir:        dir,
		info:       Info{Path: dir, Format: fm},
		log:        log,
		formatPath: filepath.Join(dir, fileFormat),
		epoch:      time.Now(),
		ttl:        opts.OnlineCheckTTL,
		iters:      make(map[*iter]struct{}),
		lockSeed:   maphash.MakeSeed(),
		syncAhead:  opts.SyncAhead,
	}
	if d.syncAhead == nil {
		d.syncAhead = func() bool { return true }
	}
	if d.ttl == 0 {
		d.ttl = DefaultOnlineCheckTTL
	}
	for _, sub := range []string{dirTmp, dirData} {
		if _, err := d.ensureDir(dir, sub); err != nil {
			return nil, ioError("open "+dir, err)
		}
	}
	if err := d.measureRoom(openFloor); err != nil {
		return nil, fmt.Errorf("drive: open %s: %w", dir, err)
	}
	if d.db, err = pebble.Open(filepath.Join(dir, dirMeta), d.pebbleOptions(opts)); err != nil {
		_ = d.fsCloser.Close()
		return nil, ioError("open metadata in "+dir, err)
	}
	if ferr := d.fatal.Load(); ferr != nil {
		// pebble hit a fatal error while opening and cannot be trusted;
		// it is closed as a failed database is, so that the folder may
		// be opened again.
		d.closePoisoned()
		return nil, fmt.Errorf("drive: open %s: %w", dir, *ferr)
	}
	if err := d.cleanTmp(); err != nil {
		_ = d.db.Close()
		_ = d.fsCloser.Close()
		return nil, ioError("open "+dir+": clean tmp", err)
	}
	if d.formatStat, err = os.Stat(d.formatPath); err != nil {
		_ = d.db.Close()
		_ = d.fsCloser.Close()
		return nil, ioError("open "+dir, err)
	}
	d.lastOK.Store(int64(time.Since(d.epoch)) + 1)
	log.Debug("drive: opened", "cluster_id", fm.ClusterID, "drive_id", fm.DriveID,
		"set", fm.Set, "position", fm.Position, "zone", fm.Zone)
	return d, nil
}

// matchFormat checks an existing format against the expected identity.
func matchFormat(disk, want Format) error {
	if disk.ClusterID != want.ClusterID {
		return fmt.Errorf("%w: cluster id on disk %q, expected %q", ErrForeignDrive, disk.ClusterID, want.ClusterID)
	}
	if disk.Set != want.Set || disk.Position != want.Position {
		return fmt.Errorf("%w: on disk set %d position %d, expected set %d position %d",
			ErrWrongPosition, disk.Set, disk.Position, want.Set, want.Position)
	}
	return nil
}

// formatDrive lays out a fresh drive in dir and writes format.json last.
func formatDrive(dir string, want Format, log *slog.Logger) (Format, error) {
	if err := checkFormattable(dir); err != nil {
		return Format{}, err
	}
	fm := want
	if fm.Version == 0 {
		fm.Version = FormatVersion
	}
	if fm.DriveID == "" {
		fm.DriveID = newUUID()
	}
	if fm.Version != FormatVersion {
		return Format{}, fmt.Errorf("drive: format %s: %w: can only write version %d, got %d",
			dir, ErrBadFormat, FormatVersion, fm.Version)
	}
	if err := fm.validate(); err != nil {
		return Format{}, fmt.Errorf("drive: format %s: %w", dir, err)
	}
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return Format{}, ioError("format "+dir, err)
	}
	if isNotExist(statErr) {
		// The folder itself is new: make its entry durable too.
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return Format{}, ioError("format "+dir, err)
		}
	}
	for _, sub := range []string{dirTmp, dirData} {
		if err := os.Mkdir(filepath.Join(dir, sub), dirPerm); err != nil && !os.IsExist(err) {
			return Format{}, ioError("format "+dir, err)
		}
	}
	// writeFormat fsyncs dir after its rename, which also covers tmp/ and
	// data/ created above.
	if err := writeFormat(dir, fm); err != nil {
		return Format{}, fmt.Errorf("drive: format %s: %w", dir, err)
	}
	log.Info("drive: formatted", "cluster_id", fm.ClusterID, "drive_id", fm.DriveID,
		"set", fm.Set, "position", fm.Position, "zone", fm.Zone)
	return fm, nil
}

// checkFormattable returns nil if dir may be formatted: it is missing, or
// holds nothing but lost+found, tmp/ (garbage by definition), an empty
// data/ and the RebuildMark. meta/ without format.json means the identity of a used drive was
// lost; formatting it would silently adopt foreign metadata.
func checkFormattable(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return ioError("format "+dir, err)
	}
	for _, e := range entries {
		switch e.Name() {
		case dirLostFound, dirTmp, RebuildMark:
			continue
		case dirData:
			sub, err := os.ReadDir(filepath.Join(dir, dirData))
			if err == nil && len(sub) == 0 {
				continue
			}
		}
		return fmt.Errorf("drive: open %s: %w: the folder holds %q but no %s; refusing to format it",
			dir, ErrUnformatted, e.Name(), fileFormat)
	}
	return nil
}

// cleanTmp removes every entry of tmp/.
func (d *Drive) cleanTmp() error {
	tmp := filepath.Join(d.dir, dirTmp)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(tmp, e.Name())); err != nil {
			return err
		}
	}
	if len(entries) > 0 {
		d.log.Info("drive: removed uncommitted staging files", "count", len(entries))
	}
	return nil
}

// Info returns the drive's path and format. It does no I/O.
func (d *Drive) Info() Info { return d.info }

// Check returns nil if the drive is usable: not closed, no fatal metadata
// error, format.json still the file found at Open, and a small file can be
// created and written in tmp/ (which catches read-only remounts and a full
// disk). It fails with an ErrOffline-wrapped error when the folder or its
// format file is gone, or ErrDiskFull.
func (d *Drive) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.ready(false); err != nil {
		return fmt.Errorf("drive: check: %w", err)
	}
	d.roomState.mu.Lock()
	d.roomState.at, d.roomState.err = time.Now(), d.measureRoom(1)
	roomErr := d.roomState.err
	d.roomState.mu.Unlock()
	if roomErr != nil {
		return fmt.Errorf("drive: check: %w", roomErr)
	}
	probe := filepath.Join(d.dir, dirTmp, "check-"+NewDataID())
	f, err := os.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return d.pathError("check", err)
	}
	_, werr := f.Write([]byte("ok\n"))
	cerr := f.Close()
	rerr := os.Remove(probe)
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return d.pathError("check", err)
	}
	return nil
}

// DiskUsage reports the size of the file system holding the drive and the
// bytes available to this process.
func (d *Drive) DiskUsage() (total, free uint64, err error) {
	total, free, err = statFS(d.dir)
	if err != nil {
		return 0, 0, d.pathError("disk usage", err)
	}
	return total, free, nil
}

// Close closes the metadata database. It waits for Get, Apply and NewIter
// calls in progress, then closes iterators still open (their next call
// reports ErrClosed) and the database. Staging and data files stay usable
// for reading and aborting; Commit fails with ErrClosed. Close is
// idempotent. After a fatal pebble error it returns that error, and
// closes the database only as closePoisoned can.
func (d *Drive) Close() error {
	if !d.closed.CompareAndSwap(false, true) {
		return nil
	}
	for d.inflight.Load() > 0 {
		if d.fatal.Load() != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if ferr := d.fatal.Load(); ferr != nil {
		d.closePoisoned()
		return fmt.Errorf("drive: close: %w", *ferr)
	}
	return d.closeDB()
}

// closeDB closes iterators left open, then the database.
func (d *Drive) closeDB() error {
	d.iterMu.Lock()
	leaked := make([]*iter, 0, len(d.iters))
	for it := range d.iters {
		leaked = append(leaked, it)
	}
	d.iterMu.Unlock()
	for _, it := range leaked {
		it.forceClose()
	}
	if len(leaked) > 0 {
		d.log.Warn("drive: closed iterators left open at Close", "count", len(leaked))
	}
	err := d.db.Close()
	_ = d.fsCloser.Close()
	if err != nil {
		return ioError("close", err)
	}
	return nil
}

// poisonedCloseWait is how long closePoisoned waits for the calls still
// inside a failed database before it gives the close up.
const poisonedCloseWait = 10 * time.Second

// closePoisoned tries to close a database after a fatal error. pebble
// lets a folder be opened only once per process, so a database left
// open keeps its drive offline until a restart, even once the cause is
// gone (a disk another process filled, with room again). But pebble's
// state after a fatal error is undefined, so the close runs aside, once
// the calls still inside pebble are out; if they are not within
// poisonedCloseWait, the database is left open (logged). The caller
// waits a second at most: a close that takes longer goes on alone, and
// an Open of the folder meanwhile fails (and is retried by the store).
func (d *Drive) closePoisoned() {
	const stuck = "drive: the failed metadata store did not close; the drive may open again only after a restart"
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil { // pebble asserts its invariants by panicking
				d.log.Warn(stuck, "err", fmt.Sprintf("close panicked: %v", p))
			}
		}()
		deadline := time.Now().Add(poisonedCloseWait)
		for d.inflight.Load() > 0 {
			if time.Now().After(deadline) {
				d.log.Warn(stuck, "err", "calls are still blocked inside it")
				return
			}
			time.Sleep(time.Millisecond)
		}
		if err := d.closeDB(); err != nil {
			d.log.Warn("drive: closing the failed metadata store", "err", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}

// enter registers a call that uses the database; leave must follow.
func (d *Drive) enter() error {
	d.inflight.Add(1)
	if d.closed.Load() {
		d.inflight.Add(-1)
		return ErrClosed
	}
	return nil
}

func (d *Drive) leave() { d.inflight.Add(-1) }

// ready returns nil if the drive may be used: not closed, not poisoned by a
// fatal pebble error, and format.json still present and the same file as at
// Open. With cached set, a stat that succeeded less than the TTL ago is
// trusted; otherwise the answer comes from a stat begun after the call,
// shared with concurrent callers (see freshCheck).
// pebble keeps writing to unlinked files after an rm -rf and would report
// success; this stat is what turns that into ErrOffline.
func (d *Drive) ready(cached bool) error {
	if d.closed.Load() {
		return ErrClosed
	}
	if ferr := d.fatal.Load(); ferr != nil {
		return *ferr
	}
	if cached && d.ttl > 0 {
		if last := d.lastOK.Load(); last > 0 && time.Duration(int64(time.Since(d.epoch))+1-last) < d.ttl {
			return nil
		}
	}
	return d.formatCheck.run(d.statFormat)
}

// statFormat stats format.json and compares it with the file found at
// Open, recording the time of a success for cached checks.
func (d *Drive) statFormat() error {
	fi, err := os.Stat(d.formatPath)
	if err != nil {
		// Forget the last success so cached checks look again at once.
		d.lastOK.Store(0)
		return fmt.Errorf("%w: %s: %w", ErrOffline, d.dir, err)
	}
	// Same inode and same modification time: a format.json removed and
	// another one created may get the freed inode number back, but not
	// its time.
	if d.formatStat != nil && (!os.SameFile(fi, d.formatStat) || !fi.ModTime().Equal(d.formatStat.ModTime())) {
		d.lastOK.Store(0)
		return fmt.Errorf("%w: %s: %s was replaced since the drive was opened", ErrOffline, d.dir, fileFormat)
	}
	d.lastOK.Store(int64(time.Since(d.epoch)) + 1)
	return nil
}

// pathError classifies a file-system error of op. A missing path is first
// checked against the drive itself: if the drive folder is gone, the
// answer is ErrOffline, not "not found".
func (d *Drive) pathError(op string, err error) error {
	if isNotExist(err) {
		if rerr := d.ready(false); rerr != nil {
			return fmt.Errorf("drive: %s: %w", op, rerr)
		}
	}
	return ioError(op, err)
}

// poison records the first fatal pebble error.
func (d *Drive) poison(err error) {
	if d.fatal.CompareAndSwap(nil, &err) {
		d.log.Error("drive: metadata store failed; the drive is offline until reopened", "err", err)
	}
}
