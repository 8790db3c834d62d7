package server

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestAutoMaxRequests(t *testing.T) {
	for _, tc := range []struct {
		limit uint64
		want  int
	}{
		{0, noLimitRequests},         // unknown
		{256 << 20, minAutoRequests}, // a small container
		{2 << 30, 102},               // 1 GiB for requests at 10 MiB
		{24 << 30, 1228},             // this machine
		{1 << 40, maxAutoRequests},   // a large host: the drives bind first
	} {
		if got := autoMaxRequests(tc.limit); got != tc.want {
			t.Errorf("autoMaxRequests(%d) = %d, want %d", tc.limit, got, tc.want)
		}
	}
}

func TestMemoryFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		text string
		want uint64
	}{
		{"1073741824\n", 1 << 30},
		{"max\n", 0},                 // cgroup v2: no limit
		{"9223372036854771712\n", 0}, // cgroup v1: no limit
		{"", 0},
	} {
		if got := readLimitFile(write("limit", tc.text)); got != tc.want {
			t.Errorf("readLimitFile(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
	if got := readLimitFile(filepath.Join(dir, "absent")); got != 0 {
		t.Errorf("absent file: %d", got)
	}
	meminfo := write("meminfo", "MemFree:         1000 kB\nMemTotal:       24576000 kB\n")
	if got := meminfoTotal(meminfo); got != 24576000<<10 {
		t.Errorf("meminfoTotal = %d", got)
	}
	if got := meminfoTotal(write("bad", "MemTotal: lots\n")); got != 0 {
		t.Errorf("meminfoTotal of junk = %d", got)
	}
	// On Linux something must be readable, and no more than what the
	// machine has.
	if l := memoryLimit(); runtime.GOOS == "linux" && l == 0 || (meminfoTotal("/proc/meminfo") > 0 && l > meminfoTotal("/proc/meminfo")) {
		t.Errorf("memoryLimit() = %d, MemTotal %d", l, meminfoTotal("/proc/meminfo"))
	}
}

// TestCgroupLimit: the least limit along the process's cgroup and its
// parents counts (a slice's MemoryMax binds the units inside it).
func TestCgroupLimit(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("memory.max", "max\n")
	write("storage.slice/memory.max", "4294967296\n")
	write("storage.slice/objstore.service/memory.max", "max\n")
	write("memory/a/memory.limit_in_bytes", "2147483648\n")
	write("memory/a/b/memory.limit_in_bytes", "9223372036854771712\n")
	for _, tc := range []struct {
		text string
		want uint64
	}{
		{"0::/storage.slice/objstore.service\n", 4 << 30},
		{"0::/\n", 0},
		{"5:cpu,memory:/a/b\n1:name=systemd:/a/b\n", 2 << 30},
		{"0::/storage.slice/objstore.service\n5:memory:/a/b\n", 2 << 30},
		{"0::relative\n", 0},
		{"", 0},
	} {
		if got := cgroupLimit(tc.text, root); got != tc.want {
			t.Errorf("cgroupLimit(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}
