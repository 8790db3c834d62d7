package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

// TestReconstructProperty loses up to m shards (some to rebuild, the rest
// damaged but not rebuilt) and checks that Reconstruct writes byte-identical
// streams, which then verify.
func TestReconstructProperty(t *testing.T) {
	rng := newRand(t)
	for _, g := range geometries {
		k, m := g[0], g[1]
		t.Run(fmt.Sprintf("%d+%d", k, m), func(t *testing.T) {
			for _, cfg := range ioConfigs {
				bs := testBlockSize(rng, k)
				c := mustCodec(t, k, m, bs, cfg)
				for _, size := range testSizes(rng, bs) {
					data := randBytes(rng, size)
					shards := encodeAll(t, c, data)
					bad := 1 + rng.Intn(m)
					perm := rng.Perm(c.n)
					rebuild := 1 + rng.Intn(bad)
					rs := readersOf(shards)
					ws := make([]io.Writer, c.n)
					outs := make([]bytes.Buffer, c.n)
					for j, i := range perm[:bad] {
						kind := faultKind(rng.Intn(int(numFaults)))
						rs[i], _ = damage(rng, c, shards[i], kind, 0)
						if j < rebuild {
							ws[i] = &outs[i]
						}
					}
					if err := c.Reconstruct(context.Background(), rs, ws, int64(size)); err != nil {
						t.Fatalf("bs %d size %d: Reconstruct: %v", bs, size, err)
					}
					for i, w := range ws {
						if w == nil {
							continue
						}
						if !bytes.Equal(outs[i].Bytes(), shards[i]) {
							t.Fatalf("bs %d size %d: rebuilt shard %d differs from the original", bs, size, i)
						}
						if err := c.Verify(context.Background(), bytes.NewReader(outs[i].Bytes()), i, int64(size)); err != nil {
							t.Fatalf("rebuilt shard %d does not verify: %v", i, err)
						}
					}
				}
			}
		})
	}
}

func TestReconstructQuorumLost(t *testing.T) {
	c := mustCodec(t, 4, 2, 64, config{})
	rng := newRand(t)
	data := randBytes(rng, 300)
	shards := encodeAll(t, c, data)
	rs := readersOf(shards)
	rs[0], rs[1], rs[5] = nil, nil, nil
	var out bytes.Buffer
	ws := make([]io.Writer, c.n)
	ws[0] = &out
	err := c.Reconstruct(context.Background(), rs, ws, 300)
	if !errors.Is(err, ErrReadQuorum) || !errors.Is(err, ErrShardMissing) {
		t.Fatalf("err = %v, want ErrReadQuorum naming missing shards", err)
	}
}

func TestReconstructWriteError(t *testing.T) {
	c := mustCodec(t, 4, 2, 64, config{})
	shards := encodeAll(t, c, make([]byte, 300))
	ws := make([]io.Writer, c.n)
	ws[3] = &failWriter{ok: 100}
	err := c.Reconstruct(context.Background(), readersOf(shards), ws, 300)
	var be *BlockError
	if !errors.As(err, &be) || be.Shard != 3 || !errors.Is(err, errDisk) {
		t.Fatalf("err = %v, want a *BlockError for shard 3", err)
	}
}

// TestVerify flips one bit anywhere in one shard stream (parity included)
// and checks that Verify names the block; truncated and over-long streams
// are caught too.
func TestVerify(t *testing.T) {
	rng := newRand(t)
	c := mustCodec(t, 4, 2, 100, config{})
	size := 1234
	shards := encodeAll(t, c, randBytes(rng, size))
	ctx := context.Background()
	for i, s := range shards {
		if err := c.Verify(ctx, bytes.NewReader(s), i, int64(size)); err != nil {
			t.Fatalf("healthy shard %d: %v", i, err)
		}
	}
	tests := []struct {
		name  string
		shard int
		r     func(s []byte) io.ReaderAt
		block int64
		want  error
	}{
		{"parity bit in data", 5, flipAt(32 + 3*(8+25) + 8 + 7), 3, ErrChecksum},
		{"parity bit in checksum", 4, flipAt(32 + 12*(8+25) + 2), 12, ErrChecksum},
		{"data bit in last block", 0, flipAt(32 + 12*(8+25) + 8), 12, ErrChecksum},
		{"header reserved byte", 2, flipAt(20), HeaderBlock, ErrChecksum},
		{"header magic", 2, flipAt(0), HeaderBlock, ErrHeader},
		{"wrong shard's stream", 1, func([]byte) io.ReaderAt { return bytes.NewReader(shards[2]) }, HeaderBlock, ErrChecksum},
		{"truncated", 3, func(s []byte) io.ReaderAt { return bytes.NewReader(s[:len(s)-1]) }, 12, ErrShortShard},
		{"truncated header", 3, func(s []byte) io.ReaderAt { return bytes.NewReader(s[:31]) }, HeaderBlock, ErrShortShard},
		{"trailing data", 4, func(s []byte) io.ReaderAt { return bytes.NewReader(append(bytes.Clone(s), 0)) }, 13, ErrTrailingData},
		{"read error", 5, func(s []byte) io.ReaderAt { return errReaderAt{data: s, from: 300} }, (300 - 32) / 33, errDisk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Verify(ctx, tt.r(shards[tt.shard]), tt.shard, int64(size))
			var be *BlockError
			if !errors.As(err, &be) || be.Shard != tt.shard || be.Block != tt.block || !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want shard %d block %d: %v", err, tt.shard, tt.block, tt.want)
			}
		})
	}
	t.Run("misplaced block", func(t *testing.T) {
		// Block 2 copied over block 1 with its checksum: intact bytes in
		// the wrong place must not verify.
		s := bytes.Clone(shards[0])
		copy(s[c.blockOffset(1):c.blockOffset(2)], s[c.blockOffset(2):c.blockOffset(3)])
		err := c.Verify(ctx, bytes.NewReader(s), 0, int64(size))
		var be *BlockError
		if !errors.As(err, &be) || be.Block != 1 || !errors.Is(err, ErrChecksum) {
			t.Fatalf("Verify = %v, want block 1 checksum failure", err)
		}
	})
}

func flipAt(pos int) func(s []byte) io.ReaderAt {
	return func(s []byte) io.ReaderAt {
		s = bytes.Clone(s)
		s[pos] ^= 0x10
		return bytes.NewReader(s)
	}
}

// TestHealthyReadTouchesOnlyNeeded checks the fast path: a healthy range
// read calls only the data shards holding the range, only at the blocks the
// range covers (plus each shard's header once).
func TestHealthyReadTouchesOnlyNeeded(t *testing.T) {
	c := mustCodec(t, 4, 2, 400, config{}) // shard block 100
	rng := newRand(t)
	size := int64(4000)
	shards := encodeAll(t, c, randBytes(rng, int(size)))
	tests := []struct {
		name       string
		off, n     int64
		wantShards []int
		wantBlocks []int64
	}{
		{"one byte", 1250, 1, []int{0}, []int64{3}},
		{"one byte in shard 2", 1455, 1, []int{2}, []int64{3}},
		{"within one shard block", 2410, 80, []int{0}, []int64{6}},
		{"across shards", 1290, 20, []int{0, 1}, []int64{3}},
		{"across blocks", 1590, 20, []int{0, 3}, []int64{3, 4}},
		{"first block", 0, 400, []int{0, 1, 2, 3}, []int64{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counters := make([]*countingReaderAt, c.n)
			rs := make([]io.ReaderAt, c.n)
			for i := range rs {
				counters[i] = &countingReaderAt{r: bytes.NewReader(shards[i])}
				rs[i] = counters[i]
			}
			if _, _, err := decodeRange(c, rs, tt.off, tt.n, size); err != nil {
				t.Fatal(err)
			}
			for i, cr := range counters {
				want := map[int64]bool{}
				if contains(tt.wantShards, i) {
					for _, b := range tt.wantBlocks {
						if shardHoldsRange(c, i, b, tt.off, tt.n) {
							want[c.blockOffset(b)] = true
						}
					}
				}
				for _, off := range cr.offs {
					if off == 0 {
						continue // header (merged with block 0 when it is read)
					}
					if !want[off] {
						t.Fatalf("shard %d read at offset %d (block %d)", i, off, c.blockAt(off))
					}
				}
				if len(want) > 0 && len(cr.offs) == 0 || len(want) == 0 && len(cr.offs) > 0 {
					t.Fatalf("shard %d: reads %v, want blocks at %v", i, cr.offs, want)
				}
			}
		})
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// shardHoldsRange says whether shard i's slice of block b overlaps
// [off, off+n) of the object.
func shardHoldsRange(c *Codec, i int, b, off, n int64) bool {
	bs := int64(c.blockSize)
	sb := int64(c.shardBlock)
	start := b*bs + int64(i)*sb
	return start < off+n && off < start+sb
}
