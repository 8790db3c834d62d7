package drive

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// The space reserve. Writes that add data (new staging files, metadata
// batches that set keys) stop while the drive's file system has less
// than the reserve left, in bytes or in inodes, so that the metadata
// store keeps room to flush, compact and start new log files: pebble
// does not survive failing at those. A log file it cannot create panics
// the process, all drives with it; a flush that cannot finish holds Open
// for ever, retrying. Deletes still pass: they are how space comes back.
const (
	reserveFraction  = 100      // 1% of the file system...
	minReserveBytes  = 64 << 20 // ...but at least 64 MiB
	maxReserveBytes  = 8 << 30  // ...and at most 8 GiB, or a quarter of a small one
	minReserveInodes = 1024     // and 1% of its inodes, at least this many
	// openFloor is the fraction of the reserve below which a drive is
	// not opened at all: pebble's start-up flush of its log may not
	// finish, and Open would wait for it for ever.
	openFloor = 4
	// roomTTL is how long a measure of free space is trusted by writes.
	roomTTL = time.Second
)

// roomCheck caches the last measure of the drive's free space.
type roomCheck struct {
	mu  sync.Mutex
	at  time.Time
	err error
	// left is the bytes above the reserve at the last measure (below
	// zero when under it; unmeasured: no limit), and written the bytes
	// staging files took since: a large upload that began with room
	// must not fill the disk, nor go on once the disk is below it.
	left, written atomic.Int64
}

// unmeasured is roomCheck.left where free space cannot be measured.
const unmeasured = math.MinInt64

// measureSpace measures a file system: statSpace, or a test's stand-in.
var measureSpace = statSpace

// room returns an ErrDiskFull-wrapped error while the drive's file
// system is below its reserve, measured at most every roomTTL.
func (d *Drive) room() error {
	d.roomState.mu.Lock()
	defer d.roomState.mu.Unlock()
	if now := time.Now(); now.Sub(d.roomState.at) >= roomTTL {
		d.roomState.at = now
		d.roomState.err = d.measureRoom(1)
	}
	if d.roomState.err != nil {
		return d.roomState.err
	}
	return d.spend(0)
}

// spend counts n more bytes written to staging files and fails with
// ErrDiskFull once the writes since the last measure would reach into
// the reserve.
func (d *Drive) spend(n int) error {
	w := d.roomState.written.Add(int64(n))
	if left := d.roomState.left.Load(); left != unmeasured && w > left {
		d.roomState.written.Add(-int64(n)) // refused: not written
		return fmt.Errorf("%w: %s: writes since the last measure reach into the space reserve", ErrDiskFull, d.dir)
	}
	return nil
}

// measureRoom compares the free space with the reserve divided by div.
// An unmeasurable file system (not Linux) counts as roomy.
func (d *Drive) measureRoom(div uint64) error {
	st, err := measureSpace(d.dir)
	if err != nil {
		d.roomState.left.Store(unmeasured)
		return nil
	}
	bytes := min(max(st.totalBytes/reserveFraction, minReserveBytes), maxReserveBytes, st.totalBytes/4) / div
	d.roomState.written.Store(0)
	d.roomState.left.Store(int64(st.freeBytes) - int64(bytes))
	inodes := uint64(0)
	if st.totalInodes > 0 { // some file systems have no inode limit and say 0
		inodes = max(st.totalInodes/reserveFraction, minReserveInodes) / div
	}
	if st.freeBytes < bytes || st.freeInodes < inodes {
		return fmt.Errorf("%w: %s: %d bytes and %d inodes free, below the reserve of %d bytes and %d inodes kept for the metadata store",
			ErrDiskFull, d.dir, st.freeBytes, st.freeInodes, bytes, inodes)
	}
	return nil
}

// hasSet reports whether ops set a key (rather than only delete).
func hasSet(ops []Op) bool {
	for _, op := range ops {
		if !op.Delete {
			return true
		}
	}
	return false
}
