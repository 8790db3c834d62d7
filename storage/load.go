package storage

import (
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
// (docs/benchmarks.md): the 4 ms pause halves the fdatasyncs per PUT,
// each of which costs kernel CPU and a scheduler hand-off, and the
// server's CPU per PUT drops by about a fifth, while a PUT there takes
// ~20 ms anyway.
const (
	syncFreeWriters    = 4
	syncDelayPerWriter = 125 * time.Microsecond
	maxSyncDelay       = 4 * time.Millisecond
)

// writeLoad counts the writes in progress (PUTs, parts, completes,
// deletes, metadata updates) so the drives' logs can batch more commits
// per sync when there are many of them.
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
