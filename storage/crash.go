//go:build !crashpoints

package storage

import "log/slog"

// crashPoints marks the places where a test build (tag crashpoints, see
// crash_points.go) can kill the process on purpose. In every other build
// the type is empty and its methods are empty, so the calls compile to
// nothing.
type crashPoints struct{}

func newCrashPoints(*slog.Logger) crashPoints { return crashPoints{} }

// at is a crash point reached once per operation.
func (crashPoints) at(string) {}

// counter starts counting the drives that committed one operation.
func (crashPoints) counter(string) crashCounter { return crashCounter{} }

// crashCounter counts per-drive commits of one operation.
type crashCounter struct{}

// step records that one more drive committed.
func (crashCounter) step() {}
