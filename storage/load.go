package storage

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// How long a drive's write-ahead log waits after a sync before the next
// one, by the number of writes in progress (writeLoad.syncDelay). A lone
// writer never waits: it would pay the whole pause on every commit. With
// two or more, the drive's default gap (500 µs) lets commits that arrive
// close together share a sync; above syncFreeWriters every further
// writer adds syncDelayPerWriter, up to maxSyncDelay. Measured with the
// default six drive folders on one disk and 32 clients of 4 KiB PUTs
// (docs/benchmarks.md): a 4 ms pause halved the fdatasyncs per PUT, each
// of which costs kernel CPU and scheduler hand-offs, and the server's CPU
// per PUT dropped by about a fifth; 250 µs per writer (7.5 ms at 32)
// took another tenth off and raised the rate by about as much, with p99
// unchanged (~70 ms: a PUT there waits mostly for CPU, not for its sync)
// and no change with 1 or 8 clients.
const (
	syncFreeWriters    = 4
	syncDelayPerWriter = 250 * time.Microsecond
	maxSyncDelay       = 8 * time.Millisecond
)

// writeLoad counts the client writes in progress (PUTs, parts,
// completes, deletes, metadata updates; not heal) so the drives' logs can
// batch more commits per sync when there are many of them, and staging
// files sync ahead only for a lone writer.
type writeLoad struct{ n atomic.Int64 }

// begin counts one write until the returned function is called.
func (l *writeLoad) begin() func() {
	l.n.Add(1)
	return func() { l.n.Add(-1) }
}

// syncDelay is drive.Options.SyncDelay for the store's drives.
func (l *writeLoad) syncDelay() time.Duration {
	w := l.n.Load()
	if w <= 1 {
		return 0
	}
	extra := max(0, w-syncFreeWriters)
	return min(maxSyncDelay, drive.DefaultSyncGap+time.Duration(extra)*syncDelayPerWriter)
}

// alone is drive.Options.SyncAhead for the store's drives: staging files
// are synced in the background as they grow only while this is the one
// client write in progress (a heal is not counted; a multipart upload
// with parts in parallel is several). Measured with the default six
// drive folders on one disk (docs/benchmarks.md): one single-stream
// 64 MiB PUT at a time gains ~7% from the syncs, while 32 clients of
// small PUTs beside two large ones lost ~12% (and the large ones ~6% in
// one of two sets), the flushes taking the device from them.
func (l *writeLoad) alone() bool { return l.n.Load() <= 1 }

// driveOptions are the options the store opens every drive with, at
// start and when a replaced drive comes back: logs to log, and the WAL
// sync pause and the staging files' sync-ahead follow load.
func driveOptions(log *slog.Logger, load *writeLoad) drive.Options {
	return drive.Options{Logger: log, SyncDelay: load.syncDelay, SyncAhead: load.alone}
}
