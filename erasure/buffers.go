package erasure

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// blockBuf holds one block's worth of shard slots (see the slot layout in
// format.go). Buffers are pooled per codec: steady-state encoding and
// decoding allocate nothing per block.
type blockBuf struct {
	slots  [][]byte // n slots, each c.stride bytes, contiguous and 64-byte aligned
	shards [][]byte // per-block views of the shard bytes, handed to reedsolomon

	// Encode only: one write job per shard, and the count of jobs still
	// using this buffer.
	jobs []writeJob
	wg   sync.WaitGroup
}

func (c *Codec) getBuf() *blockBuf {
	if b, ok := c.pool.Get().(*blockBuf); ok {
		return b
	}
	return &blockBuf{
		slots:  reedsolomon.AllocAligned(c.n, c.stride),
		shards: make([][]byte, c.n),
		jobs:   make([]writeJob, c.n),
	}
}

func (c *Codec) putBuf(b *blockBuf) { c.pool.Put(b) }

// region is shard i's byte area, sized for a full block.
func (b *blockBuf) region(i, full int) []byte {
	return b.slots[i][slotPrefix : slotPrefix+full : slotPrefix+full]
}

// setShardLen points every shards[i] at the first sb bytes of its region.
func (b *blockBuf) setShardLen(sb int) {
	for i, s := range b.slots {
		b.shards[i] = s[slotPrefix : slotPrefix+sb : slotPrefix+sb]
	}
}

// maxEmptyReads bounds how often a reader may return 0 bytes and no error in
// a row before we call it broken (io.ErrNoProgress), as bufio does.
const maxEmptyReads = 100

// errBadCount reports a Reader or ReaderAt that returned a byte count outside
// [0, len(p)], which would otherwise make us slice out of range.
var errBadCount = errors.New("erasure: reader returned an invalid byte count")

// fill reads into p until it is full or r returns an error. Unlike
// io.ReadFull it never drops an error that arrives together with the last
// bytes (a verifying reader may report a mismatch exactly there).
func fill(r io.Reader, p []byte) (int, error) {
	n, empty := 0, 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		if m < 0 || m > len(p)-n {
			return n, errBadCount
		}
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			if empty++; empty >= maxEmptyReads {
				return n, io.ErrNoProgress
			}
		} else {
			empty = 0
		}
	}
	return n, nil
}

// readBlock reads up to one block of input straight into the data regions of
// buf, region by region with the full-block shard length, and returns the
// byte count and whether the input ended. The input ending exactly at a
// block boundary may be seen only by the next call (which returns 0, true).
func (c *Codec) readBlock(r io.Reader, buf *blockBuf) (int, bool, error) {
	n := 0
	for i := 0; i < c.k && n < c.blockSize; i++ {
		want := min(c.shardBlock, c.blockSize-n)
		got, err := fill(r, buf.region(i, c.shardBlock)[:want])
		n += got
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// layout turns the n bytes readBlock left in buf into the k data shards of
// sb bytes each that reedsolomon's Split semantics give: shard i holds input
// bytes [i*sb, (i+1)*sb), zero padded. readBlock placed input byte x at
// region x/S offset x%S (S = full shard length); for a short last block
// (sb < S) every byte moves to the same or a higher address, so moving them
// from the highest down, with memmove, never overwrites a byte not yet moved.
func (c *Codec) layout(buf *blockBuf, n, sb int) {
	full := c.shardBlock
	if sb != full {
		for i := c.k - 1; i >= 0; i-- {
			start := i * sb
			end := min(start+sb, n)
			dst := buf.region(i, full)
			for end > start {
				src := (end - 1) / full
				from := max(start, src*full)
				copy(dst[from-start:end-start], buf.region(src, full)[from-src*full:end-src*full])
				end = from
			}
		}
	}
	for i := range c.k {
		used := min(max(n-i*sb, 0), sb)
		clear(buf.region(i, full)[used:sb])
	}
}

// readAt fills p from r at off. A full read succeeds whatever error comes
// with it (io.EOF at the very end is normal); a short one is ErrShortShard
// when the stream simply ended, else the reader's error.
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	switch {
	case n < 0 || n > len(p):
		return errBadCount
	case n == len(p):
		return nil
	case err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %d of %d bytes at offset %d", ErrShortShard, n, len(p), off)
	default:
		return fmt.Errorf("read %d bytes at offset %d: %w", len(p), off, err)
	}
}
