package storage

import (
	"context"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// Drive is what the object layer needs of one drive. *drive.Drive is the
// local implementation; a remote drive (another node's, over the internode
// protocol) and the fault-injecting drive of the tests implement it too,
// so the object layer never knows which it holds.
//
// All methods are safe for concurrent use. Errors wrap drive.ErrNotFound
// for an absent key or file and drive.ErrOffline when the drive cannot be
// used at all; the object layer counts any other error as a failure of
// that drive for that operation.
type Drive interface {
	// Get returns a copy of the value stored under key.
	Get(ctx context.Context, key []byte) ([]byte, error)
	// Apply commits ops atomically and durably (synced) before returning.
	Apply(ctx context.Context, ops []drive.Op) error
	// ApplyLazy commits ops atomically without waiting for them to be
	// durable: for changes a crash may lose harmlessly.
	ApplyLazy(ctx context.Context, ops []drive.Op) error
	// Compact rewrites the metadata files holding [lower, upper), so
	// deleted and replaced values there are gone from them.
	Compact(ctx context.Context, lower, upper []byte) error
	// NewIter iterates the keys in [lower, upper); nil upper is unbounded.
	NewIter(ctx context.Context, lower, upper []byte) (drive.Iter, error)
	// CreateStaging starts a new data file in the drive's staging area.
	CreateStaging(ctx context.Context) (drive.StagingFile, error)
	// OpenData opens a committed data file.
	OpenData(ctx context.Context, dataID, name string) (drive.DataFile, error)
	// RemoveData removes a data directory and its files; absent is fine.
	RemoveData(ctx context.Context, dataID string) error
	// WalkData calls fn for every committed data id.
	WalkData(ctx context.Context, fn func(dataID string) error) error
	// DataModTime is when a data directory last changed: the orphan scan
	// leaves directories younger than its grace period alone.
	DataModTime(ctx context.Context, dataID string) (time.Time, error)
	// CleanStaging removes staging files last written before before.
	CleanStaging(ctx context.Context, before time.Time) (int, error)
	// Check reports whether the drive is usable now.
	Check(ctx context.Context) error
	// Info is the drive's path and identity; it does no I/O.
	Info() drive.Info
	// Close releases the drive.
	Close() error
}
