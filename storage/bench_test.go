package storage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkPutObject measures the object layer without HTTP: erasure
// coding, bitrot hashing, staging files, fsync and metadata commit.
func BenchmarkPutObject(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 20} {
		b.Run(fmt.Sprintf("4+2/%s", sizeName(size)), func(b *testing.B) {
			s, _ := testStoreDefault(b)
			ctx := context.Background()
			s.MakeBucket(ctx, "bench", "")
			body := randBytes(1, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := fmt.Sprintf("k%d", n.Add(1))
					if _, err := s.PutObject(ctx, "bench", key, bytes.NewReader(body), PutOptions{Size: int64(size)}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkPutSmallConcurrent is the 4 KiB PUT of issue 5 without HTTP:
// 32 writers (16 per core on two), each PUT an inline object whose
// record commits with a synced pebble batch on all six drives. It shows
// how far group commit carries small writes.
func BenchmarkPutSmallConcurrent(b *testing.B) {
	for _, writers := range []int{1, 32} {
		b.Run(fmt.Sprintf("4+2/4KiB/writers=%d", writers), func(b *testing.B) {
			s, _ := testStoreDefault(b)
			ctx := context.Background()
			s.MakeBucket(ctx, "bench", "")
			body := randBytes(1, 4<<10)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var n atomic.Int64
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := fmt.Sprintf("k%d", n.Add(1))
					if _, err := s.PutObject(ctx, "bench", key, bytes.NewReader(body), PutOptions{Size: int64(len(body))}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkGetObject reads whole objects back through the codec.
func BenchmarkGetObject(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 20} {
		b.Run(fmt.Sprintf("4+2/%s", sizeName(size)), func(b *testing.B) {
			s, _ := testStoreDefault(b)
			ctx := context.Background()
			s.MakeBucket(ctx, "bench", "")
			body := randBytes(1, size)
			if _, err := s.PutObject(ctx, "bench", "k", bytes.NewReader(body), PutOptions{Size: int64(size)}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := s.OpenObject(ctx, "bench", "k", GetOptions{})
					if err == nil {
						err = r.WriteRange(ctx, io.Discard, 0, int64(size))
						r.Close()
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}
