//go:build !(linux || darwin || freebsd)

package admin

import "errors"

// diskUsage is not available on this platform; capacity reads as 0.
func diskUsage(string) (total, free uint64, err error) {
	return 0, 0, errors.New("admin: disk usage not supported on this platform")
}
