package drive

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// Errors returned by the drive. Callers match them with errors.Is; the
// object layer treats ErrOffline and ErrDiskFull as "this drive failed this
// operation" and keeps going on the others while quorum allows.
var (
	// ErrNotFound: the key or the data file does not exist.
	ErrNotFound = errors.New("drive: not found")
	// ErrOffline: the drive's folder or format file is gone, replaced, or
	// the device reports a hard error (EIO, EROFS...). I/O errors of that
	// kind are wrapped so that errors.Is(err, ErrOffline) holds and the
	// original errno stays reachable with errors.Is/As as well.
	ErrOffline = errors.New("drive: offline")
	// ErrClosed: the Drive was closed. It wraps ErrOffline, because a
	// closed drive is as unusable as a missing one.
	ErrClosed = fmt.Errorf("drive: closed: %w", ErrOffline)
	// ErrUnformatted: the folder is missing, empty, or has no format.json.
	ErrUnformatted = errors.New("drive: unformatted")
	// ErrBadFormat: format.json exists but cannot be used (not JSON, an
	// unknown version, missing fields), or the Format given to Open is
	// itself invalid.
	ErrBadFormat = errors.New("drive: bad format")
	// ErrForeignDrive: the drive belongs to another cluster.
	ErrForeignDrive = errors.New("drive: drive belongs to another cluster")
	// ErrWrongPosition: the drive belongs to this cluster but to another
	// set or position (drives swapped between slots).
	ErrWrongPosition = errors.New("drive: drive is formatted for another set position")
	// ErrDiskFull: the device is out of space (ENOSPC) or quota (EDQUOT).
	ErrDiskFull = errors.New("drive: disk full")
	// ErrMetadataFailed: the metadata store hit a fatal error (a log
	// write or sync that failed, corruption) and the drive refuses every
	// call until it is closed and opened again. It comes wrapped with
	// ErrOffline, and with ErrDiskFull when the disk filled.
	ErrMetadataFailed = errors.New("drive: metadata store failed")
	// ErrInvalidName: a data id or file name that is not in the safe
	// alphabet (see NewDataID and StagingFile.Commit). Such a name never
	// reaches the file system.
	ErrInvalidName = errors.New("drive: invalid name")
	// ErrExists: Commit found a committed file with that name already.
	// Committed files are immutable and never overwritten.
	ErrExists = errors.New("drive: data file already exists")
)

// ioError wraps err, returned by the operation op, with the drive class it
// belongs to: ErrDiskFull for out-of-space errors, ErrOffline for errors
// that mean the device or file system failed. Other errors (a missing file,
// a permission problem) are wrapped unchanged. The text is prefixed with the
// package name; paths may appear, contents never do.
func ioError(op string, err error) error {
	if err == nil {
		return nil
	}
	// Already classified by this package: add context only.
	if errors.Is(err, ErrOffline) || errors.Is(err, ErrDiskFull) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidName) || errors.Is(err, ErrExists) {
		return fmt.Errorf("drive: %s: %w", op, err)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch {
		case isFullErrno(errno):
			return fmt.Errorf("drive: %s: %w: %w", op, ErrDiskFull, err)
		case isFailedErrno(errno):
			return fmt.Errorf("drive: %s: %w: %w", op, ErrOffline, err)
		}
	}
	return fmt.Errorf("drive: %s: %w", op, err)
}

// isFullErrno reports errors that mean "no space left".
func isFullErrno(e syscall.Errno) bool {
	return e == syscall.ENOSPC || e == syscall.EDQUOT
}

// isNotExist reports a missing file or directory.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
