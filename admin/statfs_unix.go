//go:build linux || darwin || freebsd

package admin

import (
	"fmt"
	"syscall"
)

// diskUsage reports the size and free space of the file system holding
// path (free: what an unprivileged writer can still use).
func diskUsage(path string) (total, free uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("admin: statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return uint64(st.Blocks) * bs, uint64(st.Bavail) * bs, nil
}
