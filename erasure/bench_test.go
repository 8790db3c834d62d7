package erasure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"testing"
	"time"

	"github.com/klauspost/reedsolomon"
)

var benchGeometries = [][2]int{{4, 2}, {8, 4}, {12, 4}}

var benchSizes = []int{1 << 20, 16 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func discardWriters(n int) []io.Writer {
	ws := make([]io.Writer, n)
	for i := range ws {
		ws[i] = io.Discard
	}
	return ws
}

// BenchmarkEncode is the streaming encode, bitrot checksums included, from a
// bytes.Reader to io.Discard writers. Compare with BenchmarkRawEncode.
func BenchmarkEncode(b *testing.B) {
	for _, g := range benchGeometries {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%d+%d/1MiB-blocks/%s", g[0], g[1], sizeName(size)), func(b *testing.B) {
				benchEncode(b, g[0], g[1], size, config{}, discardWriters(g[0]+g[1]))
			})
		}
	}
}

func benchEncode(b *testing.B, k, m, size int, cfg config, ws []io.Writer) {
	c := mustCodec(b, k, m, DefaultBlockSize, cfg)
	data := randBytes(rand.New(rand.NewSource(1)), size)
	r := bytes.NewReader(data)
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		if _, err := c.Encode(ctx, r, ws, k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawEncode is reedsolomon's Encode alone over the same blocks: the
// floor the streaming layer is measured against.
func BenchmarkRawEncode(b *testing.B) {
	for _, g := range benchGeometries {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%d+%d/1MiB-blocks/%s", g[0], g[1], sizeName(size)), func(b *testing.B) {
				k, m := g[0], g[1]
				sb := ceilDiv(DefaultBlockSize, k)
				enc := mustCodec(b, k, m, DefaultBlockSize, config{}).rs // same options as the codec
				shards := reedsolomon.AllocAligned(k+m, sb)
				rand.New(rand.NewSource(1)).Read(shards[0])
				blocks := ceilDiv(size, DefaultBlockSize)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					for range blocks {
						if err := enc.Encode(shards); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// BenchmarkDecode reads whole objects back to io.Discard: healthy (data
// shards only, no RS decode) and with m data shards lost (parity read,
// every block reconstructed).
func BenchmarkDecode(b *testing.B) {
	for _, g := range benchGeometries {
		for _, size := range benchSizes {
			for _, lost := range []string{"healthy", "m-lost"} {
				b.Run(fmt.Sprintf("%d+%d/1MiB-blocks/%s/%s", g[0], g[1], sizeName(size), lost), func(b *testing.B) {
					benchDecode(b, g[0], g[1], size, lost == "m-lost", config{}, io.Discard)
				})
			}
		}
	}
}

func benchDecode(b *testing.B, k, m, size int, lose bool, cfg config, w io.Writer) {
	c := mustCodec(b, k, m, DefaultBlockSize, cfg)
	shards := encodeAll(b, c, randBytes(rand.New(rand.NewSource(1)), size))
	rs := readersOf(shards)
	if lose {
		for i := range m {
			rs[i] = nil
		}
	}
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(ctx, w, rs, 0, int64(size), int64(size)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeRange reads a small range from a large object: the cost of
// a ranged GET is one shard block, not the object.
func BenchmarkDecodeRange(b *testing.B) {
	c := mustCodec(b, 4, 2, DefaultBlockSize, config{})
	size := 16 << 20
	shards := encodeAll(b, c, randBytes(rand.New(rand.NewSource(1)), size))
	rs := readersOf(shards)
	for _, n := range []int{4 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("4+2/1MiB-blocks/16MiB/%s", sizeName(n)), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			off := int64(5<<20 + 12345)
			for b.Loop() {
				if _, err := c.Decode(context.Background(), io.Discard, rs, off, int64(n), int64(size)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// latencyWriter models a device: every Write takes at least d.
type latencyWriter struct{ d time.Duration }

func (w latencyWriter) Write(p []byte) (int, error) {
	time.Sleep(w.d)
	return len(p), nil
}

// copyWriter models a page-cache write: it copies what it is given.
type copyWriter struct{ buf []byte }

func (w *copyWriter) Write(p []byte) (int, error) {
	if len(w.buf) < len(p) {
		w.buf = make([]byte, len(p))
	}
	copy(w.buf, p)
	return len(p), nil
}

type slowReader struct {
	r io.ReaderAt
	d time.Duration
}

func (r slowReader) ReadAt(p []byte, off int64) (int, error) {
	time.Sleep(r.d)
	return r.r.ReadAt(p, off)
}

// BenchmarkIOMode compares the I/O strategies (see ioMode) with fast,
// copying and slow writers and readers: serial, concurrent one block at a
// time, concurrent with read-ahead, and the adaptive default.
func BenchmarkIOMode(b *testing.B) {
	const k, m, size = 4, 2, 16 << 20
	modes := []struct {
		name string
		cfg  config
	}{
		{"serial", config{io: ioSerial}},
		{"concurrent-depth1", config{io: ioConcurrent, depth: 1}},
		{"concurrent-depth2", config{io: ioConcurrent, depth: 2}},
		{"auto", config{}},
	}
	writers := []struct {
		name string
		ws   func() []io.Writer
	}{
		{"discard", func() []io.Writer { return discardWriters(k + m) }},
		{"copy", func() []io.Writer {
			ws := make([]io.Writer, k+m)
			for i := range ws {
				ws[i] = &copyWriter{}
			}
			return ws
		}},
		{"latency-200us", func() []io.Writer {
			ws := make([]io.Writer, k+m)
			for i := range ws {
				ws[i] = latencyWriter{200 * time.Microsecond}
			}
			return ws
		}},
	}
	for _, w := range writers {
		for _, mode := range modes {
			b.Run(fmt.Sprintf("Encode/4+2/16MiB/%s/%s", w.name, mode.name), func(b *testing.B) {
				benchEncode(b, k, m, size, mode.cfg, w.ws())
			})
		}
	}
	c := mustCodec(b, k, m, DefaultBlockSize, config{})
	shards := encodeAll(b, c, randBytes(rand.New(rand.NewSource(1)), size))
	for _, mode := range modes {
		b.Run("Decode/4+2/16MiB/discard/"+mode.name, func(b *testing.B) {
			benchDecode(b, k, m, size, false, mode.cfg, io.Discard)
		})
		b.Run("Decode/4+2/16MiB/latency-200us-output/"+mode.name, func(b *testing.B) {
			benchDecode(b, k, m, size, false, mode.cfg, latencyWriter{200 * time.Microsecond})
		})
		b.Run("Decode/4+2/16MiB/latency-200us-readers/"+mode.name, func(b *testing.B) {
			c := mustCodec(b, k, m, DefaultBlockSize, mode.cfg)
			rs := readersOf(shards)
			for i := range rs {
				rs[i] = slowReader{rs[i], 200 * time.Microsecond}
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Decode(context.Background(), io.Discard, rs, 0, size, size); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
