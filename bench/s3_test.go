package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/server"
)

// testServer starts objstore in-process on a loopback port, as the binary
// does, and returns a config pointing at it and a client to inspect it.
func testServer(t testing.TB) (S3Config, *minio.Client) {
	t.Helper()
	ctx := context.Background()
	srv, err := server.Start(ctx, server.Config{Address: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(cctx)
	})
	user, secret := srv.Credentials()
	c, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""), Region: "us-east-1", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return S3Config{Endpoint: srv.Addr(), AccessKey: user, SecretKey: secret, Seed: 42}, c
}

// checkGone fails unless the run's bucket was removed.
func checkGone(t *testing.T, c *minio.Client, res *S3Result) {
	t.Helper()
	if !res.Cleanup.BucketRemoved || res.Cleanup.Error != "" {
		t.Fatalf("clean-up: %+v", res.Cleanup)
	}
	ok, err := c.BucketExists(context.Background(), res.Bucket)
	if err != nil || ok {
		t.Fatalf("bucket %s still exists (%v, %v)", res.Bucket, ok, err)
	}
}

// countObjects lists every object under prefix.
func countObjects(t *testing.T, c *minio.Client, bucket, prefix string) int {
	t.Helper()
	n := 0
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	return n
}

// TestRunS3Workloads runs every workload for a few operations against a
// real server and checks the counts and the clean-up.
func TestRunS3Workloads(t *testing.T) {
	base, c := testServer(t)
	tests := []struct {
		name  string
		cfg   func(S3Config) S3Config
		check func(t *testing.T, res *S3Result)
	}{
		{"put", func(s S3Config) S3Config {
			s.Workload, s.Size, s.Concurrency, s.Ops = WorkloadPut, 10_000, 4, 20
			return s
		}, func(t *testing.T, res *S3Result) {
			row := res.Row(opPut)
			if row == nil || row.Ops != 20 || row.Errors != 0 || row.Bytes != 20*10_000 {
				t.Fatalf("put row %+v", row)
			}
			if res.Cleanup.ObjectsRemoved != 20 {
				t.Fatalf("removed %d objects, want 20", res.Cleanup.ObjectsRemoved)
			}
			if row.Latency.P50 <= 0 || row.Latency.P99 < row.Latency.P50 || row.Latency.Max < row.Latency.P99 {
				t.Fatalf("latency %+v", row.Latency)
			}
		}},
		{"put-unsigned-empty", func(s S3Config) S3Config {
			s.Workload, s.Size, s.Concurrency, s.Ops, s.UnsignedPayload = WorkloadPut, 0, 2, 6, true
			return s
		}, func(t *testing.T, res *S3Result) {
			if row := res.Row(opPut); row.Ops != 6 || row.Errors != 0 || row.Bytes != 0 {
				t.Fatalf("put row %+v", row)
			}
		}},
		{"get", func(s S3Config) S3Config {
			s.Workload, s.Size, s.Concurrency, s.Ops, s.Objects = WorkloadGet, 200_000, 3, 30, 10
			return s
		}, func(t *testing.T, res *S3Result) {
			if res.Objects != 10 || res.Prepare == nil || res.Prepare.Ops != 10 {
				t.Fatalf("prepare: %d objects, %+v", res.Objects, res.Prepare)
			}
			row := res.Row(opGet)
			if row.Ops != 30 || row.Errors != 0 || row.Bytes != 30*200_000 {
				t.Fatalf("get row %+v", row)
			}
			if res.Cleanup.ObjectsRemoved != 10 {
				t.Fatalf("removed %d, want 10", res.Cleanup.ObjectsRemoved)
			}
		}},
		{"mixed", func(s S3Config) S3Config {
			s.Workload, s.Size, s.Concurrency, s.Ops, s.Objects = WorkloadMixed, 5000, 4, 60, 8
			s.Mix = Mix{Get: 5, Put: 3, Delete: 2}
			return s
		}, func(t *testing.T, res *S3Result) {
			g, p, d := res.Row(opGet), res.Row(opPut), res.Row(opDelete)
			if g.Ops+p.Ops+d.Ops != 60 || g.Errors+p.Errors+d.Errors != 0 {
				t.Fatalf("mixed rows %+v %+v %+v", g, p, d)
			}
			if g.Ops == 0 || p.Ops == 0 || d.Ops == 0 {
				t.Fatalf("an operation never ran: get %d put %d delete %d", g.Ops, p.Ops, d.Ops)
			}
			// What is left is what the clean-up removed.
			if left := int64(8) + p.Ops - d.Ops; res.Cleanup.ObjectsRemoved != left {
				t.Fatalf("removed %d, want 8 + %d - %d = %d", res.Cleanup.ObjectsRemoved, p.Ops, d.Ops, left)
			}
			if res.Mix != "5:3:2" {
				t.Fatalf("mix %q", res.Mix)
			}
		}},
		{"list", func(s S3Config) S3Config {
			s.Workload, s.Size, s.Concurrency, s.Ops, s.Objects, s.PageSize = WorkloadList, 100, 1, 12, 25, 10
			return s
		}, func(t *testing.T, res *S3Result) {
			row := res.Row(opList)
			if row.Ops != 12 || row.Errors != 0 {
				t.Fatalf("list row %+v (first error %q)", row, row.FirstError)
			}
			// A walk is pages of 10 + 10 + 5: 12 pages are 4 walks.
			if row.Objects != 100 || row.ObjectsPerSec <= 0 {
				t.Fatalf("listed %d objects, want 100", row.Objects)
			}
		}},
		{"list-settled", func(s S3Config) S3Config {
			s.Workload, s.Size, s.Concurrency, s.Ops, s.Objects, s.PageSize = WorkloadList, 10, 1, 3, 25, 10
			s.Settle = 300 * time.Millisecond
			return s
		}, func(t *testing.T, res *S3Result) {
			// The pause lies between the phases: neither counts it, and
			// it was taken.
			row := res.Row(opList)
			if row.Ops != 3 || row.Errors != 0 || res.Seconds >= 0.3 || res.Prepare == nil || res.Prepare.Seconds >= 0.3 {
				t.Fatalf("list row %+v, measured %.3fs, prepare %+v", row, res.Seconds, res.Prepare)
			}
			if res.Settled < 0.3 {
				t.Fatalf("settled %.3fs, want the 0.3s asked for", res.Settled)
			}
		}},
		{"list-concurrent", func(s S3Config) S3Config {
			s.Workload, s.Size, s.Concurrency, s.Ops, s.Objects, s.PageSize = WorkloadList, 0, 3, 30, 25, 10
			return s
		}, func(t *testing.T, res *S3Result) {
			// Every completed walk is checked for all 25 keys; a short
			// one would be an error.
			row := res.Row(opList)
			if row.Ops != 30 || row.Errors != 0 || row.Objects < 30*5 || row.Objects > 30*10 {
				t.Fatalf("list row %+v (first error %q)", row, row.FirstError)
			}
		}},
		{"mixed-runs-dry", func(s S3Config) S3Config {
			// Every draw is a DELETE, so after the 2 objects only PUTs
			// (and DELETEs of what they wrote) are left: said, not hidden.
			s.Workload, s.Size, s.Concurrency, s.Ops, s.Objects = WorkloadMixed, 100, 1, 10, 2
			s.Mix = Mix{Delete: 1}
			return s
		}, func(t *testing.T, res *S3Result) {
			p, d := res.Row(opPut), res.Row(opDelete)
			if p.Ops == 0 || res.StandInPuts != p.Ops || p.Ops+d.Ops != 10 {
				t.Fatalf("put %+v delete %+v, stand-ins %d", p, d, res.StandInPuts)
			}
		}},
		{"delete-runs-out", func(s S3Config) S3Config {
			s.Workload, s.Size, s.Concurrency, s.Duration, s.Objects = WorkloadDelete, 10, 2, time.Minute, 6
			return s
		}, func(t *testing.T, res *S3Result) {
			if row := res.Row(opDelete); row.Ops != 6 || !res.RanOut || res.Seconds > 30 {
				t.Fatalf("delete row %+v, ran out %v after %.1fs", row, res.RanOut, res.Seconds)
			}
		}},
		{"delete", func(s S3Config) S3Config {
			s.Workload, s.Size, s.Concurrency, s.Ops = WorkloadDelete, 1000, 3, 15
			return s
		}, func(t *testing.T, res *S3Result) {
			if res.RanOut {
				t.Fatal("a delete run bounded by --ops reported running out")
			}
			if res.Objects != 15 {
				t.Fatalf("pre-created %d, want 15", res.Objects)
			}
			if row := res.Row(opDelete); row.Ops != 15 || row.Errors != 0 {
				t.Fatalf("delete row %+v", row)
			}
			if res.Cleanup.ObjectsRemoved != 0 {
				t.Fatalf("clean-up found %d objects after deleting them all", res.Cleanup.ObjectsRemoved)
			}
		}},
		{"multipart", func(s S3Config) S3Config {
			s.Workload, s.Size, s.PartSize, s.Concurrency, s.Ops = WorkloadMultipart, 6<<20, 5<<20, 2, 2
			return s
		}, func(t *testing.T, res *S3Result) {
			mp, part := res.Row(opMultipart), res.Row(opPart)
			if mp.Ops != 2 || mp.Errors != 0 || mp.Bytes != 12<<20 {
				t.Fatalf("multipart row %+v", mp)
			}
			if part.Ops != 4 || part.Errors != 0 || part.Bytes != 12<<20 {
				t.Fatalf("part row %+v", part)
			}
			if res.Cleanup.ObjectsRemoved != 2 || res.Cleanup.UploadsAborted != 0 {
				t.Fatalf("clean-up %+v", res.Cleanup)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := RunS3(context.Background(), tc.cfg(base))
			if err != nil {
				t.Fatal(err)
			}
			if res.Interrupted {
				t.Fatal("interrupted")
			}
			tc.check(t, res)
			checkGone(t, c, res)
			var table bytes.Buffer
			if err := WriteS3Table(&table, res); err != nil {
				t.Fatal(err)
			}
			for _, op := range res.Ops {
				if !strings.Contains(table.String(), op.Op) {
					t.Fatalf("table lacks row %s:\n%s", op.Op, table.String())
				}
			}
			if _, err := json.Marshal(res); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRunS3OwnBucket: a named bucket is used and kept; only the run's own
// prefix is cleaned, other keys survive.
func TestRunS3OwnBucket(t *testing.T) {
	cfg, c := testServer(t)
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "mine", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "mine", "bench/precious", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg.Bucket, cfg.Workload, cfg.Size, cfg.Ops = "mine", WorkloadPut, 100, 5
	res, err := RunS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cleanup.BucketRemoved || res.Cleanup.ObjectsRemoved != 5 || res.Cleanup.Error != "" {
		t.Fatalf("clean-up %+v", res.Cleanup)
	}
	if n := countObjects(t, c, "mine", ""); n != 1 {
		t.Fatalf("%d objects left in the bucket, want the 1 that was there", n)
	}

	t.Run("keep", func(t *testing.T) {
		cfg.Keep = true
		res, err := RunS3(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Cleanup.Kept {
			t.Fatalf("clean-up %+v", res.Cleanup)
		}
		if n := countObjects(t, c, "mine", res.Prefix); n != 5 {
			t.Fatalf("%d objects kept under %s, want 5", n, res.Prefix)
		}
	})
	t.Run("created-if-missing", func(t *testing.T) {
		cfg.Bucket, cfg.Keep = "fresh", false
		res, err := RunS3(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := c.BucketExists(ctx, "fresh"); !ok || res.Cleanup.BucketRemoved {
			t.Fatalf("named bucket removed: %+v", res.Cleanup)
		}
	})
}

// TestRunS3Interrupted: cancelling the context ends the run early, marks it
// interrupted, and still cleans up.
func TestRunS3Interrupted(t *testing.T) {
	cfg, c := testServer(t)
	var progress bytes.Buffer
	cfg.Workload, cfg.Size, cfg.Concurrency, cfg.Duration = WorkloadPut, 1000, 2, time.Hour
	// The progress goroutine has stopped when RunS3 returns.
	cfg.Progress, cfg.ProgressInterval = &progress, 20*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(400*time.Millisecond, cancel)
	start := time.Now()
	res, err := RunS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > time.Minute || !res.Interrupted {
		t.Fatalf("interrupted %v after %v", res.Interrupted, time.Since(start))
	}
	row := res.Row(opPut)
	if row.Ops == 0 || row.Errors != 0 {
		t.Fatalf("put row %+v: the interruption must not count as errors", row)
	}
	checkGone(t, c, res)
	// A PUT abandoned by the interruption may still have completed on
	// the server: at most one per client.
	if n := res.Cleanup.ObjectsRemoved; n < row.Ops || n > row.Ops+int64(cfg.Concurrency) {
		t.Fatalf("removed %d objects, wrote %d with %d clients", n, row.Ops, cfg.Concurrency)
	}
	if !strings.Contains(progress.String(), "put ") || !strings.Contains(progress.String(), "MiB/s") {
		t.Fatalf("no progress line: %q", progress.String())
	}
}

// TestRunS3Duration: a duration-bounded run stops near its duration.
func TestRunS3Duration(t *testing.T) {
	cfg, c := testServer(t)
	cfg.Workload, cfg.Size, cfg.Concurrency, cfg.Duration = WorkloadGet, 1000, 2, 300*time.Millisecond
	cfg.Objects = 3
	res, err := RunS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Seconds < 0.3 || res.Seconds > 10 {
		t.Fatalf("measured %.2fs for a 300ms run", res.Seconds)
	}
	if row := res.Row(opGet); row.Ops == 0 || row.Errors != 0 {
		t.Fatalf("get row %+v", row)
	}
	checkGone(t, c, res)
}

func TestRunS3Errors(t *testing.T) {
	cfg, _ := testServer(t)
	t.Run("bad-secret", func(t *testing.T) {
		bad := cfg
		bad.SecretKey = "not-the-secret"
		bad.Ops = 1
		res, err := RunS3(context.Background(), bad)
		if err == nil || res != nil {
			t.Fatalf("RunS3 with a wrong secret: %v, %v", res, err)
		}
		if strings.Contains(err.Error(), "not-the-secret") {
			t.Fatalf("error text contains the secret: %v", err)
		}
	})
	configs := []struct {
		name string
		mod  func(*S3Config)
	}{
		{"no-endpoint", func(c *S3Config) { c.Endpoint = "" }},
		{"endpoint-path", func(c *S3Config) { c.Endpoint = "http://h:1/path" }},
		{"endpoint-scheme", func(c *S3Config) { c.Endpoint = "ftp://h:1" }},
		{"no-keys", func(c *S3Config) { c.AccessKey = "" }},
		{"workload", func(c *S3Config) { c.Workload = "nap" }},
		{"size", func(c *S3Config) { c.Size = -1 }},
		{"concurrency", func(c *S3Config) { c.Concurrency = -3 }},
		{"ops", func(c *S3Config) { c.Ops = -1 }},
		{"page-size", func(c *S3Config) { c.PageSize = 5000 }},
		{"settle", func(c *S3Config) { c.Settle = -time.Second }},
		{"parts", func(c *S3Config) { c.Workload, c.Size, c.PartSize = WorkloadMultipart, 1<<30, 1000 }},
	}
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			bad := cfg
			tc.mod(&bad)
			if _, err := RunS3(context.Background(), bad); !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in, host string
		tls, ok  bool
	}{
		{"127.0.0.1:9000", "127.0.0.1:9000", false, true},
		{"http://127.0.0.1:9000", "127.0.0.1:9000", false, true},
		{"https://s3.example.com", "s3.example.com", true, true},
		{"https://s3.example.com/", "s3.example.com", true, true},
		{"http://h:1/x", "", false, false},
		{"http://user:pw@h:1", "", false, false},
		{"h:1/x", "", false, false},
		{"", "", false, false},
	}
	for _, tc := range tests {
		host, secure, err := parseEndpoint(tc.in, false)
		if (err == nil) != tc.ok || host != tc.host || secure != tc.tls {
			t.Errorf("parseEndpoint(%q) = %q, %v, %v", tc.in, host, secure, err)
		}
	}
}

// TestRunS3PartSizeRefused: parts under S3's 5 MiB minimum are refused
// up front; every upload of such a run would fail at completion.
func TestRunS3PartSizeRefused(t *testing.T) {
	cfg := S3Config{Endpoint: "127.0.0.1:1", AccessKey: "a", SecretKey: "b", Workload: WorkloadMultipart, Size: 3000, PartSize: 1000}
	if _, err := RunS3(context.Background(), cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "PartSize") {
		t.Fatalf("RunS3 with 1000-byte parts: %v", err)
	}
}

// TestRunS3Stalled: a server that stops answering does not stretch a
// --duration run without bound: what still runs after the grace is
// cancelled and counted as failed, and the clean-up still runs.
func TestRunS3Stalled(t *testing.T) {
	defer func(g time.Duration) { minOverrunGrace = g }(minOverrunGrace)
	minOverrunGrace = 200 * time.Millisecond
	base, c := testServer(t)
	target, err := url.Parse("http://" + base.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var stall atomic.Bool
	release := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stall.Load() && r.Method == http.MethodPut && strings.Count(strings.Trim(r.URL.Path, "/"), "/") > 0 {
			// An object PUT that never gets an answer (net/http does not
			// see the client go while the body is unread).
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Cleanup(func() { close(release) }) // runs first
	stall.Store(true)
	// A multipart upload whose part is cut off fails as an upload too:
	// it was started, so it counts once (doc.go).
	for _, w := range []struct {
		workload Workload
		row      string
	}{{WorkloadPut, opPut}, {WorkloadMultipart, opMultipart}} {
		cfg := base
		cfg.Endpoint = front.Listener.Addr().String()
		cfg.Workload, cfg.Size, cfg.Concurrency, cfg.Duration = w.workload, 1000, 2, 300*time.Millisecond
		start := time.Now()
		res, err := RunS3(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("%s: the run took %v against a stalled server", w.workload, took)
		}
		row := res.Row(w.row)
		if row.Ops != 0 || row.Errors != 2 || !strings.Contains(row.FirstError, "stalled") || res.Failed() != 2 {
			t.Fatalf("%s row %+v, failed %d", w.row, row, res.Failed())
		}
		checkGone(t, c, res)
	}
}
