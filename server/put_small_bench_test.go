package server

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"
)

// BenchmarkHTTPPutSmall is issue 5's small-write figure in one process:
// 4 KiB PUTs from 32 minio-go clients through HTTP on loopback into the
// default server (encryption on, 4+2 over six drive folders), every
// acknowledged object synced. Client and server share the cores, as
// with `objstore bench s3`; profile it with -cpuprofile.
func BenchmarkHTTPPutSmall(b *testing.B) {
	_, c := startServerWith(b, Config{})
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "bench", minio.MakeBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	body := randBody(1, 4<<10)
	var n atomic.Int64
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("k%d", n.Add(1))
			if _, err := c.PutObject(ctx, "bench", key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
