//go:build !linux

package drive

import (
	"errors"
	"runtime"
)

// statFS is implemented for Linux only, the platform objstore ships for.
func statFS(string) (total, free uint64, err error) {
	return 0, 0, errors.New("disk usage not implemented on " + runtime.GOOS)
}

type space struct {
	totalBytes, freeBytes, totalInodes, freeInodes uint64
}

// statSpace is implemented for Linux only; elsewhere the reserve is not
// kept.
func statSpace(string) (space, error) {
	return space{}, errors.New("disk usage not implemented on " + runtime.GOOS)
}
