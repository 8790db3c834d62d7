package server

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
)

// requestMemory is what one S3 request may hold in buffers while it
// runs: a streaming PUT measured 9.4 MB (erasure blocks, cipher batches,
// the shard writers' queues), a large GET about 8 MB.
const requestMemory = 10 << 20

// Bounds of the automatic Config.MaxRequests.
const (
	minAutoRequests = 32   // what one busy client pool opens
	maxAutoRequests = 4096 // beyond this the drives, not memory, bind
	noLimitRequests = 256  // when the memory limit cannot be read
)

// autoMaxRequests is the default bound on requests served at once: half
// of the memory the process may use, at requestMemory each, so that a
// burst queues instead of growing the process until the kernel kills
// it. The other half is for pebble's caches, the runtime and the page
// cache.
func autoMaxRequests(limit uint64) int {
	if limit == 0 {
		return noLimitRequests
	}
	return int(min(max(limit/2/requestMemory, minAutoRequests), maxAutoRequests))
}

// memoryLimit is the least of the memory limits the process is under:
// GOMEMLIMIT, its cgroup's (v2 or v1) and the machine's memory; 0 when
// none can be read.
func memoryLimit() uint64 {
	var limit uint64
	take := func(v uint64) {
		if v > 0 && (limit == 0 || v < limit) {
			limit = v
		}
	}
	if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
		take(uint64(l))
	}
	take(cgroupMemoryLimit())
	take(meminfoTotal("/proc/meminfo"))
	return limit
}

// cgroupMemoryLimit reads the memory limit the process's cgroups put on
// it (a systemd unit's or slice's, a container's): the least limit of
// its own cgroup and every parent, v2 or v1; 0 if there is none or it
// cannot be read.
func cgroupMemoryLimit() uint64 {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	return cgroupLimit(string(b), "/sys/fs/cgroup")
}

// cgroupLimit finds the least memory limit along the cgroup paths that
// a /proc/self/cgroup file (text) names, under the cgroup mount root.
func cgroupLimit(text, root string) uint64 {
	var limit uint64
	walk := func(dir, top, file string) {
		for {
			if v := readLimitFile(filepath.Join(dir, file)); v > 0 && (limit == 0 || v < limit) {
				limit = v
			}
			if dir == top || !strings.HasPrefix(dir, top) {
				return
			}
			dir = filepath.Dir(dir)
		}
	}
	for line := range strings.Lines(text) {
		// v2: "0::/system.slice/objstore.service"; v1: "4:memory:/path"
		// (the controller list may name others beside memory).
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 || !filepath.IsAbs(parts[2]) {
			continue
		}
		path := filepath.Clean(parts[2])
		switch {
		case parts[0] == "0" && parts[1] == "":
			walk(filepath.Join(root, path), root, "memory.max")
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			top := filepath.Join(root, "memory")
			walk(filepath.Join(top, path), top, "memory.limit_in_bytes")
		}
	}
	return limit
}

// readLimitFile parses a cgroup limit file: a byte count, or "max" (or
// v1's huge number) for none, which reads as 0.
func readLimitFile(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || v >= 1<<60 {
		return 0
	}
	return v
}

// meminfoTotal reads MemTotal from a /proc/meminfo file, 0 if absent.
func meminfoTotal(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
