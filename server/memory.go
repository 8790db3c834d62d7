package server

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
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

// cgroupMemoryLimit reads the memory limit of the process's own cgroup
// (a systemd unit's, a container's), 0 if there is none or it cannot be
// read.
func cgroupMemoryLimit() uint64 {
	var files []string
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for line := range strings.Lines(string(b)) {
			// v2: "0::/system.slice/objstore.service"
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok && filepath.IsAbs(rest) {
				files = append(files, filepath.Join("/sys/fs/cgroup", filepath.Clean(rest), "memory.max"))
			}
		}
	}
	files = append(files, "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
	for _, f := range files {
		if v := readLimitFile(f); v > 0 {
			return v
		}
	}
	return 0
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
