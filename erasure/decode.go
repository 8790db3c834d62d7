package erasure

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// DecodeResult reports the health of the shards a Decode looked at.
type DecodeResult struct {
	// Errs holds, per shard, nil when the shard was healthy or not read,
	// else the first fault seen: ErrShardMissing for a nil reader, a
	// *BlockError for a bad header, block, read error or short stream.
	Errs []error
}

// Decode writes bytes [offset, offset+length) of the original input (whose
// total size is size) to w. rs[i] reads shard stream i (nil = unavailable).
//
// When the data shards holding the range are healthy it reads only those
// shards, only the blocks the range needs, and does no Reed-Solomon decode.
// A missing shard, a read error, a short read, or a block whose checksum
// fails makes it read further shards for that block and reconstruct. Bad
// shards are reported in DecodeResult.Errs (for healing) even when the read
// succeeds. If fewer than k shards of a block are good, it fails with a
// *ReadQuorumError (errors.Is(err, ErrReadQuorum)) naming the block and each
// shard's *BlockError. A block is verified before any of its bytes go to w,
// so nothing wrong is ever written; on failure w holds a correct prefix.
//
// Readers and w are called from the calling goroutine while they are
// quick; once one call is slow, the rest of the call reads a block's shards
// in parallel from per-shard goroutines (never one reader twice at a time)
// and reads the next block while the current one is written to w, which is
// still called from the calling goroutine only. Readers are not called after
// Decode returns.
func (c *Codec) Decode(ctx context.Context, w io.Writer, rs []io.ReaderAt, offset, length, size int64) (DecodeResult, error) {
	res := DecodeResult{Errs: make([]error, c.n)}
	if len(rs) != c.n || w == nil {
		return res, fmt.Errorf("%w: decode: %d readers (want %d), writer nil: %t", ErrInvalidArgument, len(rs), c.n, w == nil)
	}
	if err := c.checkSize(size); err != nil {
		return res, err
	}
	if offset < 0 || length < 0 || offset > size || length > size-offset {
		return res, fmt.Errorf("%w: decode: range [%d, +%d) of a %d-byte object", ErrInvalidArgument, offset, length, size)
	}
	f := c.newFetcher(rs, size)
	if length == 0 {
		copy(res.Errs, f.errs)
		return res, nil
	}
	bs := int64(c.blockSize)
	firstBlock, lastBlock := offset/bs, (offset+length-1)/bs
	// span returns the part [lo, hi) of block b the range covers, and the
	// block's shard length.
	span := func(b int64) (lo, hi, sb int) {
		start := b * bs
		lo = int(max(offset, start) - start)
		hi = int(min(offset+length, start+bs) - start)
		return lo, hi, c.shardLen(c.blockLen(b, size))
	}
	need := make([]bool, c.n)
	produce := func(buf *blockBuf, b int64) error {
		lo, hi, sb := span(b)
		clear(need)
		for i := lo / sb; i <= (hi-1)/sb; i++ {
			need[i] = true
		}
		return f.fetch(buf, b, need)
	}
	consume := func(buf *blockBuf, b int64) error {
		lo, hi, sb := span(b)
		for i := lo / sb; i <= (hi-1)/sb; i++ {
			from, to := max(lo, i*sb)-i*sb, min(hi, (i+1)*sb)-i*sb
			p := buf.slots[i][slotPrefix+from : slotPrefix+to]
			t := time.Now()
			n, err := w.Write(p)
			if !f.concurrent && slowIO(time.Since(t), len(p)) {
				f.slow = true
			}
			if err == nil && n != len(p) {
				err = io.ErrShortWrite
			}
			if err != nil {
				return fmt.Errorf("erasure: decode: write output: %w", err)
			}
		}
		return nil
	}
	err := f.run(ctx, firstBlock, lastBlock, produce, consume)
	f.close()
	copy(res.Errs, f.errs) // the producer has stopped
	return res, err
}

// Reconstruct rebuilds whole shard streams: for every non-nil ws[i] it
// writes shard i's full stream, computed from the healthy shards in rs (rs[i]
// itself may be given; it is used only if it verifies). Every block read is
// verified. It stops at the first write error, returning a *BlockError that
// names the shard, or at the first block with fewer than k good shards
// (*ReadQuorumError). Writers are called from the calling goroutine, in
// shard order within each block; readers as in Decode.
func (c *Codec) Reconstruct(ctx context.Context, rs []io.ReaderAt, ws []io.Writer, size int64) error {
	if len(rs) != c.n || len(ws) != c.n {
		return fmt.Errorf("%w: reconstruct: %d readers and %d writers, want %d", ErrInvalidArgument, len(rs), len(ws), c.n)
	}
	if err := c.checkSize(size); err != nil {
		return err
	}
	need := make([]bool, c.n)
	anyTarget := false
	for i, w := range ws {
		need[i] = w != nil
		anyTarget = anyTarget || need[i]
	}
	if !anyTarget {
		return nil
	}
	var f *fetcher
	write := func(i int, b int64, p []byte) error {
		t := time.Now()
		n, err := ws[i].Write(p)
		if f != nil && !f.concurrent && slowIO(time.Since(t), len(p)) {
			f.slow = true
		}
		if err == nil && n != len(p) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return fmt.Errorf("erasure: reconstruct: %w", &BlockError{Shard: i, Block: b, Err: err})
		}
		return nil
	}
	if size == 0 {
		var hdr [headerSize]byte
		for i := range ws {
			if need[i] {
				c.putHeader(hdr[:], i)
				if err := write(i, HeaderBlock, hdr[:]); err != nil {
					return err
				}
			}
		}
		return nil
	}

	f = c.newFetcher(rs, size)
	produce := func(buf *blockBuf, b int64) error {
		if err := f.fetch(buf, b, need); err != nil {
			return err
		}
		sb := c.shardLen(c.blockLen(b, size))
		for i, s := range buf.slots {
			if !need[i] {
				continue
			}
			if b == 0 {
				c.putHeader(s[slotHdr:slotCS], i)
			}
			binary.LittleEndian.PutUint64(s[slotCS:slotPrefix], blockSum(s[slotPrefix:slotPrefix+sb], i, b))
		}
		return nil
	}
	consume := func(buf *blockBuf, b int64) error {
		start := slotCS
		if b == 0 {
			start = slotHdr
		}
		sb := c.shardLen(c.blockLen(b, size))
		for i, s := range buf.slots {
			if need[i] {
				if err := write(i, b, s[start:slotPrefix+sb]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	defer f.close()
	return f.run(ctx, 0, c.numBlocks(size)-1, produce, consume)
}

// Verify checks the header and every block checksum of shard stream r, the
// stream of shard index shard for an object of size bytes, and that the
// stream ends where ShardSize says. It returns a *BlockError naming the first
// bad block (HeaderBlock for the header), or nil. The scanner uses it on
// parity shards too, which reads never check when data is healthy.
func (c *Codec) Verify(ctx context.Context, r io.ReaderAt, shard int, size int64) error {
	if shard < 0 || shard >= c.n || r == nil {
		return fmt.Errorf("%w: verify: shard %d of %d (reader nil: %t)", ErrInvalidArgument, shard, c.n, r == nil)
	}
	if err := c.checkSize(size); err != nil {
		return err
	}
	buf := c.getBuf()
	defer c.putBuf(buf)
	slot := buf.slots[0]
	if err := readAt(r, slot[slotHdr:slotCS], 0); err != nil {
		return &BlockError{Shard: shard, Block: HeaderBlock, Err: err}
	}
	if err := c.checkHeader(slot[slotHdr:slotCS], shard); err != nil {
		return &BlockError{Shard: shard, Block: HeaderBlock, Err: err}
	}
	nb := c.numBlocks(size)
	for b := range nb {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("erasure: verify: %w", err)
		}
		end := slotPrefix + c.shardLen(c.blockLen(b, size))
		if err := readAt(r, slot[slotCS:end], c.blockOffset(b)); err != nil {
			return &BlockError{Shard: shard, Block: b, Err: err}
		}
		if binary.LittleEndian.Uint64(slot[slotCS:slotPrefix]) != blockSum(slot[slotPrefix:end], shard, b) {
			return &BlockError{Shard: shard, Block: b, Err: ErrChecksum}
		}
	}
	var one [1]byte
	if n, _ := r.ReadAt(one[:], c.ShardSize(size)); n > 0 {
		return &BlockError{Shard: shard, Block: nb, Err: ErrTrailingData}
	}
	return nil
}
