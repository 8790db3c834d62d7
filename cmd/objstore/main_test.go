package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func TestParseErasure(t *testing.T) {
	tests := []struct {
		in   string
		k, m int
		ok   bool
	}{
		{"4+2", 4, 2, true}, {"12+4", 12, 4, true}, {"1+1", 1, 1, true},
		{"4", 0, 0, false}, {"0+2", 0, 0, false}, {"4+0", 0, 0, false}, {"a+b", 0, 0, false}, {"-1+2", 0, 0, false},
	}
	for _, tc := range tests {
		k, m, err := parseErasure(tc.in)
		if (err == nil) != tc.ok || k != tc.k || m != tc.m {
			t.Errorf("parseErasure(%q) = %d, %d, %v", tc.in, k, m, err)
		}
	}
}

// TestServerFlags: the server command's flags reach server.Config;
// /metrics is authenticated unless --metrics-public says otherwise.
func TestServerFlags(t *testing.T) {
	tests := []struct {
		name          string
		args          []string
		metricsPublic bool
	}{
		{"default", nil, false},
		{"metrics public", []string{"--metrics-public"}, true},
		{"metrics public off", []string{"--metrics-public=false"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := serverConfig(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MetricsPublic != tt.metricsPublic {
				t.Fatalf("MetricsPublic %v, want %v", cfg.MetricsPublic, tt.metricsPublic)
			}
		})
	}
	if _, err := serverConfig([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}

// TestKMIPTimeoutFromEnv: OBJSTORE_KMS_KMIP_TIMEOUT sets the KMIP
// backend's per-call timeout; a value that is no duration, or out of
// 100ms..5m, stops the start with the variable's name.
func TestKMIPTimeoutFromEnv(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration // 0: the backend's default
		ok    bool
	}{
		{"", 0, true},
		{"3s", 3 * time.Second, true},
		{"1m30s", 90 * time.Second, true},
		{"10", 0, false},
		{"50ms", 0, false},
		{"1h", 0, false},
		{"-5s", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Setenv("OBJSTORE_KMS_KMIP_TIMEOUT", tt.value)
			cfg, err := serverConfig([]string{"--kms", "kmip"}, io.Discard)
			switch {
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), "OBJSTORE_KMS_KMIP_TIMEOUT")):
				t.Fatalf("err %v, want one naming OBJSTORE_KMS_KMIP_TIMEOUT", err)
			case tt.ok && err != nil:
				t.Fatal(err)
			case tt.ok && cfg.KMIP.Timeout != tt.want:
				t.Fatalf("Timeout %v, want %v", cfg.KMIP.Timeout, tt.want)
			}
		})
	}
}

// TestBinary builds the real binary, starts it with no configuration but
// a data folder and a free port, uses it, and stops it with SIGTERM.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "objstore")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	run := func() (*exec.Cmd, string, []string) {
		cmd := exec.Command(bin, "server", "--address", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
		cmd.Env = append(os.Environ(), "OBJSTORE_ROOT_USER=", "OBJSTORE_ROOT_PASSWORD=")
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		sc := bufio.NewScanner(stdout)
		lineCh := make(chan string)
		go func() {
			for sc.Scan() {
				lineCh <- sc.Text()
			}
			close(lineCh)
		}()
		re := regexp.MustCompile(`S3 endpoint http://(127\.0\.0\.1:\d+)`)
		var lines []string
		deadline := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lineCh:
				if !ok {
					t.Fatalf("server exited:\n%s", strings.Join(lines, "\n"))
				}
				lines = append(lines, l)
				if m := re.FindStringSubmatch(l); m != nil {
					go func() {
						for range lineCh {
						}
					}()
					return cmd, m[1], lines
				}
			case <-deadline:
				t.Fatal("server did not start")
			}
		}
	}
	cmd, addr, lines := run()
	out := strings.Join(lines, "\n")
	keyRe := regexp.MustCompile(`access key: (\S+)\n\s+secret key: (\S+)`)
	m := keyRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no generated credentials printed:\n%s", out)
	}
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(m[1], m[2], "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "first", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	// Second start: same credentials, not printed again; data kept.
	cmd, addr, lines = run()
	if strings.Contains(strings.Join(lines, "\n"), "secret key") {
		t.Fatal("credentials printed twice")
	}
	c, _ = minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(m[1], m[2], "")})
	if ok, err := c.BucketExists(ctx, "first"); err != nil || !ok {
		t.Fatalf("bucket after restart: %v %v", ok, err)
	}

	// A start-up that hangs on a disk (here: opening a drive's
	// format.json, made a FIFO no one writes) still ends on SIGTERM.
	cmd.Process.Kill()
	cmd.Wait()
	format := filepath.Join(dir, "data", "drive1", "format.json")
	if err := os.Rename(format, format+".aside"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(format, 0o600); err != nil {
		t.Fatal(err)
	}
	hung := exec.Command(bin, "server", "--address", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	var stderr bytes.Buffer
	hung.Stderr = &stderr
	if err := hung.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.Process.Kill() })
	go func() { done <- hung.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("start-up did not hang on the FIFO: %v\n%s", err, stderr.String())
	case <-time.After(time.Second):
	}
	hung.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(stderr.String(), "interrupted during start-up") {
			t.Fatalf("exit after SIGTERM in start-up: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM during start-up")
	}
}

// TestServerRegionFlag: --region reaches the server's configuration,
// which refuses a name no region could have before anything starts.
func TestServerRegionFlag(t *testing.T) {
	for _, bad := range []string{"EU-DE-1", "eu_de", "eu-", strings.Repeat("a", 64)} {
		done := make(chan error, 1)
		go func() {
			done <- runServer([]string{"--region", bad, "--address", "127.0.0.1:0", "--data", t.TempDir()}, io.Discard, io.Discard)
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "Region") || !strings.Contains(err.Error(), bad) {
				t.Errorf("--region %q: %v, want an error naming the region", bad, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("--region %q: the server started", bad)
		}
	}
}
