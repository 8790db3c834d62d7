package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"testing"
)

var geometries = [][2]int{{1, 1}, {2, 1}, {2, 2}, {4, 2}, {5, 3}, {8, 4}, {12, 4}}

// testSizes are the object sizes every geometry is tried with.
func testSizes(rng *rand.Rand, bs int) []int {
	return []int{0, 1, bs - 1, bs, bs + 1, 3*bs + bs/3 + 1, rng.Intn(8*bs + 1)}
}

// testBlockSize picks a block size: the minimum (one byte per shard), one
// not divisible by k, or a roomier one.
func testBlockSize(rng *rand.Rand, k int) int {
	switch rng.Intn(4) {
	case 0:
		return k
	case 1:
		return 3*k + 1
	case 2:
		return 64 * k
	default:
		return k + rng.Intn(1000)
	}
}

// testRanges returns ranges to read: the whole object, empty ones at both
// ends, single bytes, one across a block boundary, and random ones.
func testRanges(rng *rand.Rand, size, bs int64) [][2]int64 {
	rs := [][2]int64{{0, size}, {size, 0}, {0, 0}}
	if size > 0 {
		rs = append(rs, [2]int64{0, 1}, [2]int64{size - 1, 1})
	}
	if size > bs {
		rs = append(rs, [2]int64{bs - 1, 2})
	}
	for range 3 {
		off := rng.Int63n(size + 1)
		rs = append(rs, [2]int64{off, rng.Int63n(size - off + 1)})
	}
	return rs
}

func decodeRange(c *Codec, rs []io.ReaderAt, off, n, size int64) ([]byte, DecodeResult, error) {
	var out bytes.Buffer
	res, err := c.Decode(context.Background(), &out, rs, off, n, size)
	return out.Bytes(), res, err
}

// TestRoundTripProperty encodes random inputs for every geometry and SIMD
// path, damages up to m shards in random ways, and checks that every range
// reads back exactly and that DecodeResult.Errs names exactly the damaged
// shards it noticed, with the right block.
func TestRoundTripProperty(t *testing.T) {
	rng := newRand(t)
	for _, path := range simdPaths(t) {
		t.Run(path.name, func(t *testing.T) {
			for _, g := range geometries {
				k, m := g[0], g[1]
				t.Run(fmt.Sprintf("%d+%d", k, m), func(t *testing.T) {
					for _, cfg := range ioConfigs {
						bs := testBlockSize(rng, k)
						cfg.rsOpts = path.opts
						c := mustCodec(t, k, m, bs, cfg)
						for _, size := range testSizes(rng, bs) {
							roundTripOne(t, rng, c, size)
						}
					}
				})
			}
		})
	}
}

func roundTripOne(t *testing.T, rng *rand.Rand, c *Codec, size int) {
	t.Helper()
	data := randBytes(rng, size)
	shards := encodeAll(t, c, data)
	sz := int64(size)
	ctx := fmt.Sprintf("%d+%d bs=%d %v size=%d", c.k, c.m, c.blockSize, c.cfg, size)

	// Healthy: every range, no errors reported.
	for _, r := range testRanges(rng, sz, int64(c.blockSize)) {
		got, res, err := decodeRange(c, readersOf(shards), r[0], r[1], sz)
		if err != nil {
			t.Fatalf("%s healthy range %v: %v", ctx, r, err)
		}
		if !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
			t.Fatalf("%s healthy range %v: wrong bytes", ctx, r)
		}
		for i, e := range res.Errs {
			if e != nil {
				t.Fatalf("%s healthy range %v: Errs[%d] = %v", ctx, r, i, e)
			}
		}
	}

	// Up to m damaged shards, several rounds.
	for round := range 4 {
		rs := readersOf(shards)
		faults := map[int]fault{}
		bad := 1 + rng.Intn(c.m)
		for _, i := range rng.Perm(c.n)[:bad] {
			kind := faultKind(rng.Intn(int(numFaults))) // not faultFlipBlock
			rs[i], faults[i] = damage(rng, c, shards[i], kind, 0)
		}
		for _, r := range testRanges(rng, sz, int64(c.blockSize)) {
			got, res, err := decodeRange(c, rs, r[0], r[1], sz)
			if err != nil {
				t.Fatalf("%s round %d faults %v range %v: %v", ctx, round, faults, r, err)
			}
			if !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
				t.Fatalf("%s round %d faults %v range %v: wrong bytes", ctx, round, faults, r)
			}
			full := r[0] == 0 && r[1] == sz
			checkErrs(t, c, ctx, res.Errs, faults, sz, full && sz > 0)
		}
	}

	// m+1 shards bad in the same block: that block is lost. The output must
	// be exactly the blocks before it, and the error must say which block.
	if size == 0 {
		return
	}
	nb := c.numBlocks(sz)
	lost := rng.Int63n(nb)
	rs := readersOf(shards)
	// Shard 0 holds data in every block, so the read cannot avoid the loss.
	victims := []int{0}
	for _, i := range rng.Perm(c.n - 1)[:c.m] {
		victims = append(victims, i+1)
	}
	for _, i := range victims {
		rs[i], _ = damage(rng, c, shards[i], faultFlipBlock, lost)
	}
	got, _, err := decodeRange(c, rs, 0, sz, sz)
	if !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("%s: %d shards bad in block %d: err = %v, want ErrReadQuorum", ctx, c.m+1, lost, err)
	}
	var qe *ReadQuorumError
	var be *BlockError
	if !errors.As(err, &qe) || qe.Block != lost || !errors.As(err, &be) || be.Block != lost || !errors.Is(err, ErrChecksum) {
		t.Fatalf("%s: quorum error %v does not name block %d and its checksum failures", ctx, err, lost)
	}
	if want := lost * int64(c.blockSize); int64(len(got)) != want || !bytes.Equal(got, data[:want]) {
		t.Fatalf("%s: wrote %d bytes before the lost block %d, want the %d correct ones", ctx, len(got), lost, want)
	}
}

// checkErrs asserts that Errs blames only damaged shards, each with the
// block where its damage is visible, and, after a whole-object read, that
// every damaged shard the read must have looked at was blamed. A read that
// starts past the damage of a persistent fault (read error, truncation)
// meets it at a later block; a flipped bit only in its own block.
func checkErrs(t *testing.T, c *Codec, ctx string, errs []error, faults map[int]fault, size int64, full bool) {
	t.Helper()
	for i, e := range errs {
		f, damaged := faults[i]
		if e == nil {
			if damaged && (f.kind == faultNil || full && fullReadSees(c, i, f, size)) {
				t.Fatalf("%s: shard %d damaged (%v at %d) but not reported", ctx, i, f.kind, f.pos)
			}
			continue
		}
		if !damaged {
			t.Fatalf("%s: healthy shard %d reported: %v", ctx, i, e)
		}
		if f.kind == faultNil {
			if !errors.Is(e, ErrShardMissing) {
				t.Fatalf("%s: shard %d nil, reported %v", ctx, i, e)
			}
			continue
		}
		var be *BlockError
		if !errors.As(e, &be) || be.Shard != i {
			t.Fatalf("%s: shard %d %v at byte %d, reported %v", ctx, i, f.kind, f.pos, e)
		}
		blockOK := be.Block == f.block
		if f.kind != faultFlip && f.block != HeaderBlock {
			blockOK = be.Block >= f.block
		}
		if !blockOK {
			t.Fatalf("%s: shard %d %v at byte %d (block %d), reported %v", ctx, i, f.kind, f.pos, f.block, e)
		}
		want := map[faultKind]error{faultErr: errDisk, faultTruncate: ErrShortShard}[f.kind]
		if want == nil {
			if !errors.Is(e, ErrChecksum) && !errors.Is(e, ErrHeader) {
				t.Fatalf("%s: shard %d bit flip at %d reported as %v", ctx, i, f.pos, e)
			}
		} else if !errors.Is(e, want) {
			t.Fatalf("%s: shard %d %v reported as %v, want %v", ctx, i, f.kind, e, want)
		}
	}
}

// fullReadSees says whether a healthy-path read of the whole object reads
// shard i where fault f shows: data shard i is read at every block in which
// it holds input bytes.
func fullReadSees(c *Codec, i int, f fault, size int64) bool {
	if i >= c.k {
		return false
	}
	holds := func(b int64) bool { return i*c.shardLen(c.blockLen(b, size)) < c.blockLen(b, size) }
	if f.kind == faultFlip && f.block != HeaderBlock {
		return holds(f.block)
	}
	for b := max(f.block, 0); b < c.numBlocks(size); b++ {
		if holds(b) {
			return true
		}
	}
	return false
}
