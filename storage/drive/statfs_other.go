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
