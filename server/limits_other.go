//go:build !unix

package server

import "log/slog"

// checkFileLimit does nothing where there is no RLIMIT_NOFILE.
func checkFileLimit(*slog.Logger) {}
