package drive

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchDrive opens a drive for a benchmark. Set OBJSTORE_BENCH_DIR to
// measure a particular disk; the default temporary folder may be tmpfs,
// where fsync costs nothing and the numbers mean little.
func benchDrive(b *testing.B) *Drive {
	b.Helper()
	base := os.Getenv("OBJSTORE_BENCH_DIR")
	if base == "" {
		base = b.TempDir()
	} else {
		var err error
		if base, err = os.MkdirTemp(base, "drive-bench-"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(base) })
	}
	d, err := Open(filepath.Join(base, "d"), testFormat(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkApply measures synced metadata batches of one small record (the
// shape of an inline-object PUT on one drive). With many writers pebble's
// group commit shares one WAL fsync among them; ops/s is the figure to read.
func BenchmarkApply(b *testing.B) {
	const valueSize = 512
	for _, writers := range []int{1, 32} {
		name := "serial"
		if writers > 1 {
			name = fmt.Sprintf("concurrent-%d", writers)
		}
		b.Run(name, func(b *testing.B) {
			d := benchDrive(b)
			value := make([]byte, valueSize)
			b.SetBytes(valueSize)
			b.ReportAllocs()
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := context.Background()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						key := fmt.Appendf(nil, "bucket/object-%09d", i)
						if err := d.Apply(ctx, []Op{{Key: key, Value: value}}); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
		})
	}
}

// BenchmarkStagingCommit measures writing one small data file and
// committing it (fsync of the file and of up to three directories): the
// cost a small object would pay per drive if it were not stored inline.
func BenchmarkStagingCommit(b *testing.B) {
	for _, size := range []int{4 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			d := benchDrive(b)
			ctx := context.Background()
			data := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				sf, err := d.CreateStaging(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := sf.Write(data); err != nil {
					b.Fatal(err)
				}
				if err := sf.Commit(ctx, NewDataID(), "part.1"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
	}
}

// BenchmarkGet measures point reads of metadata records.
func BenchmarkGet(b *testing.B) {
	d := benchDrive(b)
	ctx := context.Background()
	const n = 10000
	value := make([]byte, 512)
	ops := make([]Op, 0, n)
	for i := 0; i < n; i++ {
		ops = append(ops, Op{Key: fmt.Appendf(nil, "bucket/object-%09d", i), Value: value})
	}
	if err := d.Apply(ctx, ops); err != nil {
		b.Fatal(err)
	}
	b.Run("512B", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := d.Get(ctx, ops[i%n].Key); err != nil {
				b.Fatal(err)
			}
		}
	})
}
