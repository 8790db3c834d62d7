package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/server"
)

// The HTTP benchmarks are the "through HTTP on loopback" figures: a real
// server (server.Start, default 4+2 over six drive folders in a temp dir)
// and minio-go clients in the same process, sharing the machine's cores.
//
//	go test -run '^$' -bench 'HTTP' -benchtime 20x ./bench/

// httpBench is one server, one client and one bucket for a benchmark.
type httpBench struct {
	client  *minio.Client
	core    minio.Core
	bucket  string
	payload payload
}

func newHTTPBench(b *testing.B, clients int) *httpBench {
	b.Helper()
	ctx := context.Background()
	srv, err := server.Start(ctx, server.Config{Address: "127.0.0.1:0", DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Close(cctx)
	})
	user, secret := srv.Credentials()
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		b.Fatal(err)
	}
	tr.MaxIdleConnsPerHost = clients + 4
	c, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""),
		Region: "us-east-1", MaxRetries: 1, Transport: tr, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "bench", minio.MakeBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	return &httpBench{client: c, core: minio.Core{Client: c}, bucket: "bench", payload: newPayload(1, payloadSize)}
}

func (h *httpBench) put(ctx context.Context, body *bodyReader, key string, start, size int64, unsigned bool) error {
	body.reset(h.payload, start, size)
	_, err := h.client.PutObject(ctx, h.bucket, key, body, size,
		minio.PutObjectOptions{DisableMultipart: true, DisableContentSha256: unsigned})
	return err
}

func (h *httpBench) get(ctx context.Context, key string, buf []byte) (int64, error) {
	rc, _, _, err := h.core.GetObject(ctx, h.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	var n int64
	for {
		m, err := rc.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// parallel runs b.N operations over clients goroutines, each calling op
// with its own index and the operation number, and reports ops/s and the
// p50 and p99 latency in milliseconds.
func parallel(b *testing.B, clients int, op func(client int, i int64) error) {
	var next atomic.Int64
	hists := make([]Histogram, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := op(c, i); err != nil {
					errs[c] = err
					return
				}
				hists[c].RecordDuration(time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	var h Histogram
	for i := range hists {
		h.Merge(&hists[i])
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(h.Quantile(0.5))/1e6, "p50-ms")
	b.ReportMetric(float64(h.Quantile(0.99))/1e6, "p99-ms")
}

// BenchmarkHTTPPut: single-request PUTs through minio-go. Payloads are
// signed (aws-chunked streaming SigV4, minio-go's default over HTTP) unless
// the name says unsigned. Large objects overwrite one key, so the disk does
// not fill; small ones are new keys.
func BenchmarkHTTPPut(b *testing.B) {
	ctx := context.Background()
	h := newHTTPBench(b, 32)
	for _, c := range []struct {
		name     string
		unsigned bool
		clients  int
	}{
		{"64MiB", false, 1},
		{"64MiB-unsigned", true, 1},
		{"64MiB-4clients", false, 4},
	} {
		b.Run(c.name, func(b *testing.B) {
			const size = 64 << 20
			bodies := make([]bodyReader, c.clients)
			b.SetBytes(size)
			b.ReportAllocs()
			parallel(b, c.clients, func(client int, i int64) error {
				// One key per client: each overwrites its own object.
				return h.put(ctx, &bodies[client], fmt.Sprintf("big/%d", client), h.payload.startFor(uint64(i)), size, c.unsigned)
			})
		})
	}
	round := 0 // b.Run calls the function once per b.N tried: new keys each time
	b.Run("4KiB-32clients", func(b *testing.B) {
		const size, clients = 4 << 10, 32
		bodies := make([]bodyReader, clients)
		round++
		r := round
		b.SetBytes(size)
		b.ReportAllocs()
		parallel(b, clients, func(c int, i int64) error {
			return h.put(ctx, &bodies[c], fmt.Sprintf("small/%d/%d", r, i), h.payload.startFor(uint64(i)), size, false)
		})
	})
}

// BenchmarkHTTPGet: GETs of existing objects, bodies read to the end.
func BenchmarkHTTPGet(b *testing.B) {
	ctx := context.Background()
	h := newHTTPBench(b, 32)
	var body bodyReader
	if err := h.put(ctx, &body, "big", 0, 64<<20, true); err != nil {
		b.Fatal(err)
	}
	const small = 1000
	for i := range small {
		if err := h.put(ctx, &body, fmt.Sprintf("small/%d", i), int64(i), 4<<10, true); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("64MiB", func(b *testing.B) {
		buf := make([]byte, 256<<10)
		b.SetBytes(64 << 20)
		b.ReportAllocs()
		parallel(b, 1, func(_ int, _ int64) error {
			n, err := h.get(ctx, "big", buf)
			if err == nil && n != 64<<20 {
				err = fmt.Errorf("got %d bytes", n)
			}
			return err
		})
	})
	b.Run("4KiB-32clients", func(b *testing.B) {
		const clients = 32
		bufs := make([][]byte, clients)
		for i := range bufs {
			bufs[i] = make([]byte, 32<<10)
		}
		b.SetBytes(4 << 10)
		b.ReportAllocs()
		parallel(b, clients, func(c int, i int64) error {
			n, err := h.get(ctx, fmt.Sprintf("small/%d", (i*7919)%small), bufs[c])
			if err == nil && n != 4<<10 {
				err = fmt.Errorf("got %d bytes", n)
			}
			return err
		})
	})
}
