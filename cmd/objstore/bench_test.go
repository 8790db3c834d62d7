package main

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/bench"
	"github.com/objstore/objstore/server"
)

func TestRunBenchDispatch(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"none", nil, false},
		{"unknown", []string{"disk"}, false},
		{"help", []string{"-h"}, true},
		{"s3-help", []string{"s3", "-h"}, true},
		{"pipeline-help", []string{"pipeline", "-h"}, true},
		{"s3-extra-arg", []string{"s3", "extra"}, false},
		{"s3-bad-size", []string{"s3", "--size", "lots"}, false},
		{"s3-bad-mix", []string{"s3", "--mix", "1:2"}, false},
		{"pipeline-bad-erasure", []string{"pipeline", "--erasure", "4"}, false},
		{"pipeline-bad-time", []string{"pipeline", "--time", "0s"}, false},
		{"s3-zero-concurrency", []string{"s3", "--concurrency", "0"}, false},
		{"s3-zero-page-size", []string{"s3", "--page-size", "0"}, false},
		{"s3-small-parts", []string{"s3", "--workload", "multipart", "--part-size", "1KiB"}, false},
		{"s3-http-with-tls", []string{"s3", "--endpoint", "http://127.0.0.1:1", "--tls"}, false},
		{"pipeline-zero-block", []string{"pipeline", "--block-size", "0"}, false},
		{"pipeline-bad-checksum", []string{"pipeline", "--checksums", "crc32,md4"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runBench(tc.args, &out, &errOut)
			if (err == nil) != tc.ok {
				t.Fatalf("runBench(%q) = %v\n%s", tc.args, err, errOut.String())
			}
		})
	}
}

// TestBenchPipelineCommand: `objstore bench pipeline --time 50ms` prints
// every stage and chain, as a table and as JSON.
func TestBenchPipelineCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := runBench([]string{"pipeline", "--time", "50ms", "--object-size", "4MiB"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	rows := []string{"memory copy", "Reed-Solomon encode 4+2", "erasure encode 4+2", "erasure decode 4+2, healthy",
		"erasure decode 4+2, 2 shards lost", "xxh3-64", "AES-256-GCM seal", "AES-256-GCM open",
		"ChaCha20-Poly1305 seal", "ChaCha20-Poly1305 open", "MD5", "SHA-256", "CRC32C", "CRC64NVME",
		"PUT: MD5 + AES-256-GCM seal + erasure encode", "PUT, signed payload", "GET: erasure decode",
		"GET, 2 shards lost", "PUT + CRC32C checksum", "PUT + CRC64NVME checksum",
		"serial, 1 core: 1 / (", "one stream, stages pipelined", "streams, one per core"}
	for _, r := range rows {
		if !strings.Contains(out.String(), r) {
			t.Errorf("output lacks %q:\n%s", r, out.String())
		}
	}

	out.Reset()
	if err := runBench([]string{"pipeline", "--time", "20ms", "--object-size", "2MiB", "--erasure", "2+1", "--checksums", "CRC32", "--json"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var res bench.PipelineResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if res.Geometry != "2+1" || len(res.Stages) != 13 || len(res.Chains) != 5 || res.Stage("crc32") == nil {
		t.Fatalf("json: %s, %d stages, %d chains", res.Geometry, len(res.Stages), len(res.Chains))
	}
}

// startBenchServer starts a default in-process server on a loopback port,
// closed when the test ends.
func startBenchServer(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.Start(context.Background(), server.Config{Address: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	return srv
}

// TestBenchS3Command runs `objstore bench s3` against an in-process server,
// with the credentials from the environment as an operator would.
func TestBenchS3Command(t *testing.T) {
	srv := startBenchServer(t)
	user, secret := srv.Credentials()
	t.Setenv("OBJSTORE_ROOT_USER", user)
	t.Setenv("OBJSTORE_ROOT_PASSWORD", secret)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")

	var out, errOut bytes.Buffer
	args := []string{"s3", "--endpoint", "http://" + srv.Addr(), "--workload", "get", "--size", "4KiB",
		"--ops", "20", "--objects", "5", "--concurrency", "2", "--json"}
	if err := runBench(args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var res bench.S3Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if row := res.Row("get"); row == nil || row.Ops != 20 || row.Errors != 0 || row.Bytes != 20*4096 {
		t.Fatalf("get row %+v", row)
	}
	if !res.Cleanup.BucketRemoved || res.Cleanup.ObjectsRemoved != 5 {
		t.Fatalf("clean-up %+v", res.Cleanup)
	}
	if strings.Contains(out.String()+errOut.String(), secret) {
		t.Fatal("the secret key was printed")
	}

	out.Reset()
	args = []string{"s3", "--endpoint", srv.Addr(), "--workload", "put", "--size", "1KiB", "--ops", "5"}
	if err := runBench(args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, want := range []string{"operation", "p99", "put", "clean-up: removed 5 objects and bucket objstore-bench-"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, out.String())
		}
	}

	// A run whose operations fail ends with a failure status, after its
	// table: here every PUT is over the server's 5 GiB limit.
	out.Reset()
	errOut.Reset()
	err := runBench([]string{"s3", "--endpoint", srv.Addr(), "--size", "6GiB", "--ops", "2", "--concurrency", "1"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "2 operations failed") || !strings.Contains(out.String(), "first put error") {
		t.Fatalf("failed operations: %v\n%s", err, out.String())
	}
	// A run that ends by itself is never reported as interrupted.
	if strings.Contains(errOut.String(), "interrupted") {
		t.Fatalf("stray interruption message: %s", errOut.String())
	}

	// A listing's objects are 1 KiB unless told otherwise.
	out.Reset()
	if err := runBench([]string{"s3", "--endpoint", srv.Addr(), "--workload", "list", "--objects", "3", "--ops", "1", "--json"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var lres bench.S3Result
	if err := json.Unmarshal(out.Bytes(), &lres); err != nil || lres.Size != 1024 {
		t.Fatalf("list default size: %d, %v", lres.Size, err)
	}

	// A wrong secret fails before measuring, without printing it.
	out.Reset()
	errOut.Reset()
	err = runBench([]string{"s3", "--endpoint", srv.Addr(), "--secret-key", "wrong-secret-x", "--ops", "1"}, &out, &errOut)
	if err == nil || strings.Contains(err.Error()+out.String()+errOut.String(), "wrong-secret-x") {
		t.Fatalf("wrong secret: %v", err)
	}
}

// TestTuneGC checks that only the list workload raises the collector's
// target, never over a GOGC the user set, and that restore puts the
// previous target back.
func TestTuneGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	tests := []struct {
		workload bench.Workload
		gogcSet  bool
		want     int
	}{
		{bench.WorkloadList, false, listGCPercent},
		{bench.WorkloadList, true, 100},
		{bench.WorkloadPut, false, 100},
		{bench.WorkloadGet, false, 100},
		{bench.WorkloadMixed, false, 100},
	}
	for _, tt := range tests {
		debug.SetGCPercent(100)
		restore := tuneGC(tt.workload, tt.gogcSet)
		if got := debug.SetGCPercent(-1); got != tt.want {
			t.Errorf("tuneGC(%s, GOGC set %v): GC percent %d, want %d", tt.workload, tt.gogcSet, got, tt.want)
		}
		debug.SetGCPercent(tt.want)
		restore()
		if got := debug.SetGCPercent(100); got != 100 {
			t.Errorf("tuneGC(%s, GOGC set %v): %d after restore, want 100", tt.workload, tt.gogcSet, got)
		}
	}
}

// TestBenchListTunesGC runs the list workload through the command and
// sees it raise the collector's target for the run and put it back,
// unless GOGC is set.
func TestBenchListTunesGC(t *testing.T) {
	srv := startBenchServer(t)
	user, secret := srv.Credentials()
	var calls []int
	setGCPercent = func(p int) int {
		calls = append(calls, p)
		return 77
	}
	t.Cleanup(func() { setGCPercent = debug.SetGCPercent })
	args := []string{"s3", "--endpoint", srv.Addr(), "--access-key", user, "--secret-key", secret,
		"--workload", "list", "--size", "1KiB", "--objects", "3", "--ops", "2", "--json"}
	for _, tt := range []struct {
		gogc string
		want []int
	}{
		{"", []int{listGCPercent, 77}},
		{"200", nil},
	} {
		t.Setenv("GOGC", tt.gogc)
		calls = nil
		var out, errOut bytes.Buffer
		if err := runBench(args, &out, &errOut); err != nil {
			t.Fatalf("GOGC=%q: %v\n%s", tt.gogc, err, errOut.String())
		}
		if !slices.Equal(calls, tt.want) {
			t.Errorf("GOGC=%q: collector targets set %v, want %v", tt.gogc, calls, tt.want)
		}
	}
}
