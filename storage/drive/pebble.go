package drive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// pebbleFormat pins the on-disk format of the metadata database. pebble
// recommends an explicit version because its default moves between
// releases; raising this constant ratchets existing drives forward (and
// makes them unreadable by older binaries), so it changes deliberately.
const pebbleFormat = pebble.FormatValueSeparation

// metaBlockSize is the target size of the metadata tables' data blocks,
// four times pebble's 4 KiB default. A record is ~0.7-2 KB (more with
// inline data), so a 4 KiB block held one or two: a listing read a block,
// a cache lookup and often a pread per key or two, and compactions wrote
// every block with its own system call. With 16 KiB blocks a 100,000-key
// storage walk went from 530,000-620,000 to 840,000-880,000 objects/s
// and 4 KiB PUTs under load made ~15% fewer system calls, while a point
// read that misses the cache decompresses at most 16 KiB (storage
// BenchmarkGetObject unchanged). Tables written before keep their
// blocks until compacted; the size is per table, not a format change.
const metaBlockSize = 16 << 10

// metaFilterBitsPerKey sizes the metadata tables' bloom filters (about 1%
// false positives). Every PUT first reads the key's record on each drive,
// and a new key's record is in no table: without filters that read
// searched an index and a data block in every L0 table whose key range
// covered the key and in one table per lower level, on each of the six
// drives; with them it mostly stops at the filters. Listings do not use the filters; HEAD and GET of a missing key
// (rclone and restic ask before they write) gain like PUT.
const metaFilterBitsPerKey = 10

// diskSlowThreshold is how long a metadata disk operation may take before
// pebble's health check reports it (DiskSlow), pebble's own default.
const diskSlowThreshold = 5 * time.Second

// pebbleOptions returns the database options for this drive: a modest block
// cache, pebble's default memtable, 16 KiB table blocks with bloom
// filters, a short gap between WAL syncs so concurrent commits share
// them, tables written through a larger buffer (tableFS), and pebble's
// logging and events routed to the drive's logger.
func (d *Drive) pebbleOptions(opts Options) *pebble.Options {
	cacheSize := opts.CacheSize
	if cacheSize <= 0 {
		cacheSize = DefaultCacheSize
	}
	log := d.log
	slow := &slowDiskLog{log: log}
	bgErrs := &everyLog{every: time.Minute}
	po := &pebble.Options{
		CacheSize:          cacheSize,
		MemTableSize:       opts.MemTableSize,
		FormatMajorVersion: pebbleFormat,
		Logger:             &pebbleLogger{log: log, poison: d.poison},
		EventListener: &pebble.EventListener{
			BackgroundError: func(err error) {
				// pebble retries a failed flush at once: on a full disk
				// that was a line (with a stack trace) a millisecond.
				if n, ok := bgErrs.due(); ok {
					log.Warn("drive: metadata background error", "err", err, "unlogged_before", n)
				}
			},
			DiskSlow: slow.report,
			WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
				log.Warn("drive: metadata writes stalled", "reason", info.Reason)
			},
			WriteStallEnd: func() {
				log.Info("drive: metadata writes resumed")
			},
			LowDiskSpace: func(info pebble.LowDiskSpaceInfo) {
				log.Warn("drive: low disk space", "avail_bytes", info.AvailBytes,
					"total_bytes", info.TotalBytes, "below_percent", info.PercentThreshold)
			},
			// DataCorruption is left to pebble's default, which calls
			// Logger.Fatalf: a corrupt metadata store takes the drive
			// offline (see pebbleLogger.Fatalf).
		},
	}
	gap := opts.SyncGap
	if gap == 0 {
		gap = DefaultSyncGap
	}
	switch {
	case opts.SyncDelay != nil:
		po.WALMinSyncInterval = opts.SyncDelay
	case gap > 0:
		po.WALMinSyncInterval = func() time.Duration { return gap }
	}
	// Later levels inherit both from L0.
	po.Levels[0].BlockSize = metaBlockSize
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(metaFilterBitsPerKey)
	// pebble adds its disk-health checks (the DiskSlow events above) only
	// to a file system it defaults itself, so they are added here, under
	// tableFS: a table whose write-out fails closes its health-checked
	// file, which stops that file's ticker (pebble's syncingFile never
	// closes a file whose last sync failed). The closer stops the file
	// system's ticker and then waits for a slow-disk line being logged,
	// so that none is written after the drive closed: Open calls it when
	// pebble.Open fails, Close after the database is closed.
	hfs, closer := vfs.WithDiskHealthChecks(vfs.Default, diskSlowThreshold, nil, func(info vfs.DiskSlowInfo) {
		po.EventListener.DiskSlow(info)
	})
	po.FS = tableFS{hfs}
	d.fsCloser = closerFunc(func() error {
		err := closer.Close()
		slow.wait()
		return err
	})
	po.EnsureDefaults()
	return po
}

// pebbleLogger routes pebble's messages to slog: informational ones at
// debug level, errors as warnings. Fatalf does not exit the process, as
// pebble's default logger does: one failed drive must not take the server
// down. It logs and poisons the drive instead, so every later call fails
// with ErrOffline; a commit whose WAL write or sync failed calls Fatalf
// before returning, so Apply sees the poison and never reports it durable.
type pebbleLogger struct {
	log    *slog.Logger
	poison func(error)
}

func (l *pebbleLogger) Infof(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("pebble: " + fmt.Sprintf(format, args...))
	}
}

func (l *pebbleLogger) Errorf(format string, args ...any) {
	l.log.Warn("pebble: " + fmt.Sprintf(format, args...))
}

func (l *pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	err := fmt.Errorf("%w: %w: %s", ErrOffline, ErrMetadataFailed, msg)
	for _, a := range args {
		if e, ok := a.(error); ok && (errors.Is(e, syscall.ENOSPC) || errors.Is(e, syscall.EDQUOT)) {
			err = fmt.Errorf("%w: %w", ErrDiskFull, err)
			break
		}
	}
	l.poison(err)
}

// slowDiskLog logs pebble's DiskSlow events. pebble calls DiskSlow on the
// goroutine that watches for stuck disk operations and requires it to
// return without doing I/O, or that watch stops; a log line is I/O (and
// stderr may itself be stuck), so each event is logged by a goroutine of
// its own. At most one runs at a time: events arriving meanwhile are
// counted and the count logged with the next one, so a stuck log output
// cannot pile up goroutines.
type slowDiskLog struct {
	log     *slog.Logger
	busy    atomic.Bool
	dropped atomic.Int64
	logging sync.WaitGroup // the goroutine logging a line, if any
}

// wait returns once no line is being logged. Call it only after pebble
// can report no more events (the health checks' closer has returned).
func (l *slowDiskLog) wait() { l.logging.Wait() }

func (l *slowDiskLog) report(info pebble.DiskSlowInfo) {
	if !l.busy.CompareAndSwap(false, true) {
		l.dropped.Add(1)
		return
	}
	args := []any{"op", info.OpType.String(), "duration", info.Duration, "bytes", info.WriteSize}
	if n := l.dropped.Swap(0); n > 0 {
		args = append(args, "unlogged_before", n)
	}
	l.logging.Add(1)
	go func() {
		defer l.logging.Done()
		defer l.busy.Store(false)
		l.log.Warn("drive: slow metadata disk operation", args...)
	}()
}

// everyLog lets a repeated event be logged at most once per every,
// counting the repeats it held back.
type everyLog struct {
	every   time.Duration
	mu      sync.Mutex
	last    time.Time
	dropped int64
}

// due reports whether the event is to be logged now, and how many were
// not logged since the last that was.
func (l *everyLog) due() (dropped int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); l.last.IsZero() || now.Sub(l.last) >= l.every {
		l.last, dropped, l.dropped = now, l.dropped, 0
		return dropped, true
	}
	l.dropped++
	return 0, false
}

// closerFunc is an io.Closer made of a function.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }
