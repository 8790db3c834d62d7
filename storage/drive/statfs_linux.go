package drive

import "syscall"

// statFS returns the size of the file system holding path and the bytes
// an unprivileged process may still use on it.
func statFS(path string) (total, free uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	bs := uint64(st.Bsize)
	return st.Blocks * bs, st.Bavail * bs, nil
}

// space is what statSpace measures of a file system.
type space struct {
	totalBytes, freeBytes, totalInodes, freeInodes uint64
}

// statSpace measures the file system holding path: the bytes and inodes
// an unprivileged process may still use, and the totals.
func statSpace(path string) (space, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return space{}, err
	}
	bs := uint64(st.Bsize)
	return space{totalBytes: st.Blocks * bs, freeBytes: st.Bavail * bs, totalInodes: st.Files, freeInodes: st.Ffree}, nil
}
