package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// patternReader yields n bytes of a cheap repeating pattern without
// holding them in memory.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := len(b)
	if int64(n) > p.left {
		n = int(p.left)
	}
	for i := range n {
		b[i] = byte(i*7 + int(p.left))
	}
	p.left -= int64(n)
	return n, nil
}

// peakRSS reads a process's high-water resident set in KiB.
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no VmHWM")
	}
	v, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return v
}

// TestUploadMemory uploads OBJSTORE_MEMTEST_GIB GiB (default 5) to the
// real binary, as one multipart object and as single 1 GiB PUTs, and
// checks the server's peak RSS grows by no more than 256 MiB. It writes
// 1.5x the size to disk, so it runs only when OBJSTORE_MEMTEST=1.
func TestUploadMemory(t *testing.T) {
	if os.Getenv("OBJSTORE_MEMTEST") != "1" {
		t.Skip("set OBJSTORE_MEMTEST=1 to upload 5 GiB and measure the server's memory")
	}
	gib := int64(5)
	if v, err := strconv.ParseInt(os.Getenv("OBJSTORE_MEMTEST_GIB"), 10, 64); err == nil && v > 0 {
		gib = v
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "objstore")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "server", "--address", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "OBJSTORE_ROOT_USER=memtest", "OBJSTORE_ROOT_PASSWORD=memtest-secret")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	addr := ""
	for sc.Scan() {
		if m := regexp.MustCompile(`S3 endpoint http://(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4("memtest", "memtest-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "mem", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	base := peakRSS(t, cmd.Process.Pid)
	start := time.Now()
	size := gib << 30
	if _, err := c.PutObject(ctx, "mem", "big", &patternReader{left: size}, size, minio.PutObjectOptions{PartSize: 64 << 20, NumThreads: 4}); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	multipart := peakRSS(t, cmd.Process.Pid)
	if _, err := c.PutObject(ctx, "mem", "single", &patternReader{left: 1 << 30}, 1<<30, minio.PutObjectOptions{DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	single := peakRSS(t, cmd.Process.Pid)
	o, err := c.GetObject(ctx, "mem", "big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, o)
	if err != nil || n != size {
		t.Fatalf("read back %d bytes: %v", n, err)
	}
	read := peakRSS(t, cmd.Process.Pid)
	t.Logf("server peak RSS: %d MiB at start, %d MiB after %d GiB multipart (%.0f MiB/s), %d MiB after 1 GiB single PUT, %d MiB after reading back",
		base>>10, multipart>>10, gib, float64(size>>20)/elapsed.Seconds(), single>>10, read>>10)
	if grow := (read - base) >> 10; grow > 256 {
		t.Fatalf("server RSS grew by %d MiB, more than 256 MiB", grow)
	}
}
