//go:build crashpoints

package storage

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Crash points, for the crash tests only: a binary built with the tag
// crashpoints kills itself with SIGKILL where the environment says.
//
//	OBJSTORE_CRASH_POINT=<name>       at a point reached once per operation
//	OBJSTORE_CRASH_POINT=<name>:<N>   once N drives committed one operation
//	OBJSTORE_CRASH_AFTER=<K>          on the K-th time the point is reached (default 1)
//
// Points:
//
//	after-data         a PUT's or part's shard files committed, no metadata yet
//	data-commits:N     N drives committed their shard file of one write
//	meta-commits:N     N drives committed a version's record (PUT, completion)
//	before-drop        a version committed, the data it replaced not yet removed
//	delete-commits:N   N drives committed a delete
//	part-commits:N     N drives committed a part record
//	heal-swap          a heal removed a bad shard directory, the rebuilt one not yet in
type crashPoints struct{ st *crashState }

type crashState struct {
	name  string
	n     int64
	after int64
	hits  atomic.Int64
	log   *slog.Logger
}

func newCrashPoints(log *slog.Logger) crashPoints {
	spec := os.Getenv("OBJSTORE_CRASH_POINT")
	if spec == "" {
		return crashPoints{}
	}
	st := &crashState{name: spec, n: 1, after: 1, log: log}
	if name, n, ok := strings.Cut(spec, ":"); ok {
		st.name = name
		if v, err := strconv.ParseInt(n, 10, 64); err == nil && v > 0 {
			st.n = v
		}
	}
	if v, err := strconv.ParseInt(os.Getenv("OBJSTORE_CRASH_AFTER"), 10, 64); err == nil && v > 0 {
		st.after = v
	}
	log.Warn("storage: crash point armed", "point", st.name, "n", st.n, "after", st.after)
	return crashPoints{st: st}
}

func (c crashPoints) at(name string) {
	if c.st != nil && c.st.name == name && c.st.hits.Add(1) == c.st.after {
		c.st.die()
	}
}

func (c crashPoints) counter(name string) crashCounter {
	if c.st == nil || c.st.name != name {
		return crashCounter{}
	}
	return crashCounter{st: c.st, count: new(atomic.Int64)}
}

type crashCounter struct {
	st    *crashState
	count *atomic.Int64
}

func (cc crashCounter) step() {
	if cc.st != nil && cc.count.Add(1) == cc.st.n && cc.st.hits.Add(1) == cc.st.after {
		cc.st.die()
	}
}

func (st *crashState) die() {
	os.Stderr.WriteString("objstore: crash point " + st.name + " reached; killing the process\n")
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
	time.Sleep(time.Hour) // SIGKILL is on its way
}
