//go:build !linux

package drive

import "syscall"

// isFailedErrno reports errno values that mean the device or its file
// system is no longer usable for this operation.
func isFailedErrno(e syscall.Errno) bool {
	switch e {
	case syscall.EIO, syscall.EROFS, syscall.ENODEV, syscall.ENXIO,
		syscall.ESTALE, syscall.ENOTCONN:
		return true
	}
	return false
}
