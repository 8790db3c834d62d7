//go:build unix

package server

import (
	"log/slog"
	"syscall"
)

// minOpenFiles is the file-descriptor limit below which the server
// warns. Idle it holds 60-80; under load each drive's metadata store
// opens new files as it works, and pebble stops the whole process when
// it cannot create one (an audit saw that at a limit of 128).
const minOpenFiles = 4096

// checkFileLimit warns when the process may open fewer than
// minOpenFiles files. (Go raises the soft limit to the hard one at
// start, so what is left is the hard limit.)
func checkFileLimit(log *slog.Logger) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < minOpenFiles {
		log.Warn("server: the process may open few files (ulimit -n); under load a drive's metadata store may fail to create one, which stops the server",
			"limit", rl.Cur, "want_at_least", minOpenFiles)
	}
}
