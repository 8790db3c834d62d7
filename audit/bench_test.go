package audit

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend measures appends per second with concurrent writers,
// including the background writes and fsyncs (Close is inside the timed
// region so that every record is on disk).
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			l, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			e := entry(1)
			e.Key = "photos/2025/06/15/IMG_0001.jpg"
			line := appendLine(nil, &Record{Entry: e})
			b.SetBytes(int64(len(line) + 1))
			b.ReportAllocs()
			b.SetParallelism((writers + 1) / 2) // GOMAXPROCS is 2 here
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := l.Append(context.Background(), e); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			})
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "appends/s")
		})
	}
}

// BenchmarkAppendSync is the cost when each caller waits for its record
// to be durable: concurrent Syncs share fsyncs.
func BenchmarkAppendSync(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			l, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			e := entry(1)
			b.ReportAllocs()
			b.SetParallelism((writers + 1) / 2)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := l.Append(context.Background(), e)
					if err != nil {
						b.Error(err)
						return
					}
					if err := l.Sync(context.Background(), r); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	dir := b.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		l.Append(context.Background(), entry(i))
	}
	l.Close()
	size := int64(0)
	files, _, _ := listFiles(dir)
	for _, f := range files {
		if info, err := osStat(filePath(dir, f)); err == nil {
			size += info
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Verify(context.Background(), dir, VerifyOptions{})
		if err != nil || !rep.OK() {
			b.Fatal(err)
		}
	}
}

func osStat(path string) (int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}
