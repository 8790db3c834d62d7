package drive

import "syscall"

// isFailedErrno reports errno values that mean the device or its file
// system is no longer usable for this operation: a read-only remount after
// an error, a vanished device, a corrupted file system (EUCLEAN is what ext4
// and xfs return for EFSCORRUPTED), a stale network mount.
func isFailedErrno(e syscall.Errno) bool {
	switch e {
	case syscall.EIO, syscall.EROFS, syscall.ENODEV, syscall.ENXIO,
		syscall.ESTALE, syscall.ENOTCONN, syscall.EUCLEAN, syscall.EREMOTEIO:
		return true
	}
	return false
}
