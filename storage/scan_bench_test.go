package storage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// benchStore opens a 4+2 store with production block size and inline
// limit and the given scanner settings, holding count objects of size
// bytes in bucket "bench".
func benchStore(b *testing.B, count, size int, mod func(*Config)) *Store {
	b.Helper()
	root := b.TempDir()
	var drives []DriveConfig
	for i := range 6 {
		drives = append(drives, DriveConfig{Path: fmt.Sprintf("%s/drive%d", root, i), Zone: fmt.Sprintf("z%d", i/2)})
	}
	cfg := Config{Drives: drives, DataShards: 4, ParityShards: 2, ScanInterval: -1, DriveCheckInterval: -1}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "bench", ""); err != nil {
		b.Fatal(err)
	}
	body := randBytes(1, size)
	for i := range count {
		if _, err := s.PutObject(ctx, "bench", fmt.Sprintf("obj-%05d", i), bytes.NewReader(body), PutOptions{Size: int64(size)}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkScan measures an unthrottled heal pass over a healthy store:
// every record read from every drive, every shard (parity included)
// read and verified. MB/s counts object bytes; the shards read are 1.5x
// that at 4+2. objects/s is reported beside it.
func BenchmarkScan(b *testing.B) {
	for _, c := range []struct{ count, size int }{{2000, 4 << 10}, {200, 1 << 20}, {8, 16 << 20}} {
		b.Run(fmt.Sprintf("4+2/%dx%s", c.count, sizeName(c.size)), func(b *testing.B) {
			s := benchStore(b, c.count, c.size, nil)
			ctx := context.Background()
			b.SetBytes(int64(c.count) * int64(c.size))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				st, err := s.Heal(ctx, HealOptions{ObjectsPerSecond: -1, BytesPerSecond: -1})
				if err != nil || st.ObjectsScanned != int64(c.count) {
					b.Fatalf("pass: %+v %v", st, err)
				}
			}
			b.ReportMetric(float64(c.count)*float64(b.N)/time.Since(start).Seconds(), "objects/s")
		})
	}
}

// BenchmarkForeground measures PUT and GET of one object size with the
// scanner off and with passes running back to back at the default rate
// (100 objects/s, 50 MiB/s) over a store of 300 objects of 1 MiB: the
// difference is the scanner's cost to the foreground.
func BenchmarkForeground(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		for _, scanner := range []string{"off", "default"} {
			mod := func(c *Config) {}
			if scanner == "default" {
				mod = func(c *Config) { c.ScanInterval = time.Nanosecond }
			}
			b.Run(fmt.Sprintf("PUT/4+2/%s/scanner=%s", sizeName(size), scanner), func(b *testing.B) {
				s := benchStore(b, 300, 1<<20, mod)
				waitScanning(b, s, scanner)
				body := randBytes(2, size)
				ctx := context.Background()
				var n atomic.Int64
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					key := fmt.Sprintf("fg-%d", n.Add(1))
					if _, err := s.PutObject(ctx, "bench", key, bytes.NewReader(body), PutOptions{Size: int64(size)}); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				checkScanned(b, s, scanner)
			})
			b.Run(fmt.Sprintf("GET/4+2/%s/scanner=%s", sizeName(size), scanner), func(b *testing.B) {
				s := benchStore(b, 300, 1<<20, mod)
				ctx := context.Background()
				if _, err := s.PutObject(ctx, "bench", "fg", bytes.NewReader(randBytes(2, size)), PutOptions{Size: int64(size)}); err != nil {
					b.Fatal(err)
				}
				waitScanning(b, s, scanner)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					r, err := s.OpenObject(ctx, "bench", "fg", GetOptions{})
					if err == nil {
						err = r.WriteRange(ctx, io.Discard, 0, int64(size))
						r.Close()
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				checkScanned(b, s, scanner)
			})
		}
	}
}

func waitScanning(b *testing.B, s *Store, scanner string) {
	if scanner == "off" {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for !s.HealStatus().Running {
		if time.Now().After(deadline) {
			b.Fatal("the scanner did not start")
		}
		time.Sleep(time.Millisecond)
	}
}

func checkScanned(b *testing.B, s *Store, scanner string) {
	if st := s.HealStatus(); scanner != "off" && st.ObjectsScanned == 0 && st.Pass < 2 {
		b.Logf("the scanner scanned nothing during the run: %+v", st)
	}
}
