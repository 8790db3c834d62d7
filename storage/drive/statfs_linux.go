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
