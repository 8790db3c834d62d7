package erasure

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/reedsolomon"
)

var (
	seedFlag = flag.Int64("seed", 0, "seed for property tests (0 = time based)")
	simdFlag = flag.String("simd", "all", `SIMD paths for property tests: "all", or one path name (auto, avx512, avx2-gfni, avx2, ssse3, generic)`)
)

// simdPath is one reedsolomon code path. Options only switch paths off, so
// on a CPU without a feature two paths may be the same one.
type simdPath struct {
	name string
	opts []reedsolomon.Option
}

var allSIMDPaths = []simdPath{
	{"auto", nil},
	{"avx512", []reedsolomon.Option{reedsolomon.WithGFNI(false), reedsolomon.WithAVXGFNI(false)}},
	{"avx2-gfni", []reedsolomon.Option{reedsolomon.WithAVX512(false)}},
	{"avx2", []reedsolomon.Option{reedsolomon.WithAVX512(false), reedsolomon.WithAVXGFNI(false)}},
	{"ssse3", []reedsolomon.Option{reedsolomon.WithAVX512(false), reedsolomon.WithAVXGFNI(false), reedsolomon.WithAVX2(false)}},
	{"generic", []reedsolomon.Option{reedsolomon.WithAVX512(false), reedsolomon.WithAVXGFNI(false), reedsolomon.WithAVX2(false),
		reedsolomon.WithSSSE3(false), reedsolomon.WithSSE2(false)}},
}

func simdPaths(t testing.TB) []simdPath {
	if *simdFlag == "all" {
		return allSIMDPaths
	}
	for _, p := range allSIMDPaths {
		if p.name == *simdFlag {
			return []simdPath{p}
		}
	}
	t.Fatalf("unknown -simd path %q", *simdFlag)
	return nil
}

// newRand returns a seeded source and logs the seed so a failure can be
// replayed with -seed.
func newRand(t testing.TB) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (replay with -seed=%d)", seed, seed)
	return rand.New(rand.NewSource(seed))
}

// ioConfigs are the I/O strategies every property test runs under: serial,
// concurrent one block at a time, and concurrent with read-ahead.
var ioConfigs = []config{
	{io: ioSerial},
	{io: ioConcurrent, depth: 1},
	{io: ioConcurrent, depth: 2},
}

func (cfg config) String() string {
	return fmt.Sprintf("io=%s/depth=%d", [...]string{"auto", "serial", "concurrent"}[cfg.io], cfg.depth)
}

func mustCodec(t testing.TB, k, m, bs int, cfg config) *Codec {
	t.Helper()
	c, err := newCodec(k, m, bs, cfg)
	if err != nil {
		t.Fatalf("newCodec(%d, %d, %d): %v", k, m, bs, err)
	}
	return c
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	rng.Read(b)
	return b
}

// encodeAll encodes data and returns the k+m shard streams.
func encodeAll(t testing.TB, c *Codec, data []byte) [][]byte {
	t.Helper()
	bufs := make([]bytes.Buffer, c.n)
	ws := make([]io.Writer, c.n)
	for i := range bufs {
		ws[i] = &bufs[i]
	}
	res, err := c.Encode(context.Background(), bytes.NewReader(data), ws, c.n)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if res.Size != int64(len(data)) {
		t.Fatalf("Encode size %d, want %d", res.Size, len(data))
	}
	shards := make([][]byte, c.n)
	for i := range bufs {
		shards[i] = bufs[i].Bytes()
		if got, want := int64(len(shards[i])), c.ShardSize(int64(len(data))); got != want {
			t.Fatalf("shard %d is %d bytes, ShardSize says %d", i, got, want)
		}
		if res.Errs[i] != nil {
			t.Fatalf("Encode Errs[%d] = %v", i, res.Errs[i])
		}
	}
	return shards
}

func readersOf(shards [][]byte) []io.ReaderAt {
	rs := make([]io.ReaderAt, len(shards))
	for i, s := range shards {
		if s != nil {
			rs[i] = bytes.NewReader(s)
		}
	}
	return rs
}

func clone2(shards [][]byte) [][]byte {
	out := make([][]byte, len(shards))
	for i, s := range shards {
		out[i] = bytes.Clone(s)
	}
	return out
}

var errDisk = errors.New("test: disk failure")

// errReaderAt fails every read that touches [from, ∞), returning the bytes
// before from (a partial read) with the error.
type errReaderAt struct {
	data []byte
	from int64
}

func (r errReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r.data)) {
		return 0, io.EOF
	}
	if off+int64(len(p)) <= r.from {
		return copy(p, r.data[off:]), nil
	}
	n := 0
	if off < r.from {
		n = copy(p, r.data[off:min(r.from, int64(len(r.data)))])
	}
	return n, errDisk
}

// countingReaderAt records the offsets it is read at.
type countingReaderAt struct {
	r    io.ReaderAt
	mu   sync.Mutex
	offs []int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	c.offs = append(c.offs, off)
	c.mu.Unlock()
	return c.r.ReadAt(p, off)
}

// failWriter accepts ok bytes, then fails (or, with short set, reports a
// short write without an error).
type failWriter struct {
	ok    int
	short bool
	buf   bytes.Buffer
}

func (w *failWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) <= w.ok {
		return w.buf.Write(p)
	}
	if w.short {
		n := w.ok - w.buf.Len()
		w.buf.Write(p[:n])
		return n, nil
	}
	return 0, errDisk
}

// faultKind is a way a shard can be bad.
type faultKind int

const (
	faultNil       faultKind = iota // reader is nil
	faultErr                        // reads fail from some offset on
	faultTruncate                   // stream cut short
	faultFlip                       // one bit flipped
	faultFlipBlock                  // one bit flipped inside a given block
	numFaults      = faultFlipBlock
)

func (k faultKind) String() string {
	return [...]string{"nil", "err", "truncate", "flip", "flip-block"}[k]
}

// fault describes the damage done to one shard and where a reader should
// first notice it.
type fault struct {
	kind  faultKind
	pos   int64 // byte position the damage starts at
	block int64 // block whose read notices it first (HeaderBlock for the header)
}

// blockAt is the block containing stream byte pos.
func (c *Codec) blockAt(pos int64) int64 {
	if pos < headerSize {
		return HeaderBlock
	}
	return (pos - headerSize) / int64(checksumSize+c.shardBlock)
}

// damage applies a random fault of kind to shard i and returns the reader
// for it; block is the target block for faultFlipBlock.
func damage(rng *rand.Rand, c *Codec, shard []byte, kind faultKind, block int64) (io.ReaderAt, fault) {
	n := int64(len(shard))
	switch kind {
	case faultNil:
		return nil, fault{kind: kind, block: HeaderBlock}
	case faultErr:
		pos := rng.Int63n(n)
		return errReaderAt{data: shard, from: pos}, fault{kind, pos, c.blockAt(pos)}
	case faultTruncate:
		pos := rng.Int63n(n)
		return bytes.NewReader(shard[:pos]), fault{kind, pos, c.blockAt(pos)}
	case faultFlip:
		s := bytes.Clone(shard)
		pos := rng.Int63n(n)
		s[pos] ^= 1 << rng.Intn(8)
		return bytes.NewReader(s), fault{kind, pos, c.blockAt(pos)}
	default: // faultFlipBlock
		s := bytes.Clone(shard)
		start := c.blockOffset(block)
		end := min(start+int64(checksumSize+c.shardBlock), n)
		pos := start + rng.Int63n(end-start)
		s[pos] ^= 1 << rng.Intn(8)
		return bytes.NewReader(s), fault{faultFlip, pos, block}
	}
}
