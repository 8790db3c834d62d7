package erasure

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// shardState is what a fetcher has learnt about one shard stream so far.
type shardState uint8

const (
	stateUnchecked shardState = iota // header not read yet
	stateOK                          // header verified
	// stateSuspect: the header was bad, or a read failed or came up short.
	// Such a shard is read only when the others cannot make up k; its blocks
	// carry their own position-keyed checksums, so using it stays safe.
	stateSuspect
	stateMissing // nil reader
)

// fetcher reads verified shard blocks of one object, falling back to parity
// and reconstruction block by block. It is used by one goroutine at a time
// (Decode's or Reconstruct's producer); within a block it reads shards in
// parallel, each goroutine touching only its own shard's entries.
type fetcher struct {
	c     *Codec
	rs    []io.ReaderAt
	size  int64
	state []shardState
	errs  []error // first error per shard, for the caller's healing

	// per-block scratch, indexed by shard
	good      []bool
	tried     []bool
	blockErrs []error
	required  []bool
	batch     []int

	// concurrent switches readBatch from serial reads to one worker
	// goroutine per shard; slow records that an I/O call (a read here, a
	// write in the caller's consume) was slow, which makes run switch.
	// Both change only while run is serial, on the calling goroutine.
	concurrent bool
	slow       bool

	// workers[i] reads shard i for readBatch; started on first use and
	// reused for every block, so steady-state reads allocate nothing.
	workers []chan readReq
	wg      sync.WaitGroup
}

type readReq struct {
	buf *blockBuf
	b   int64
	sb  int
}

func (c *Codec) newFetcher(rs []io.ReaderAt, size int64) *fetcher {
	f := &fetcher{
		c: c, rs: rs, size: size,
		state:     make([]shardState, c.n),
		errs:      make([]error, c.n),
		good:      make([]bool, c.n),
		tried:     make([]bool, c.n),
		blockErrs: make([]error, c.n),
		required:  make([]bool, c.n),
		batch:     make([]int, 0, c.n),
		workers:   make([]chan readReq, c.n),
	}
	for i, r := range rs {
		if r == nil {
			f.state[i] = stateMissing
			f.errs[i] = missingErr(i)
		}
	}
	return f
}

// fetch fills buf with verified bytes of block b for every shard in need.
// First it reads just the needed shards; if any of them fails it reads more
// shards (healthy data, then healthy parity, then suspects) until k are good,
// and reconstructs the needed ones. It fails with a *ReadQuorumError when
// fewer than k shards of the block can be verified.
func (f *fetcher) fetch(buf *blockBuf, b int64, need []bool) error {
	c := f.c
	sb := c.shardLen(c.blockLen(b, f.size))
	buf.setShardLen(sb)
	clear(f.good)
	clear(f.tried)
	clear(f.blockErrs)

	f.batch = f.batch[:0]
	missing := false
	for i, nd := range need {
		if !nd {
			continue
		}
		if s := f.state[i]; s == stateOK || s == stateUnchecked {
			f.batch = append(f.batch, i)
		} else {
			missing = true
		}
	}
	f.readBatch(buf, b, sb)
	for i, nd := range need {
		if nd && !f.good[i] {
			missing = true
		}
	}
	if !missing {
		return nil
	}

	good := f.countGood()
	for good < c.k {
		f.pickCandidates(c.k - good)
		if len(f.batch) == 0 {
			break
		}
		f.readBatch(buf, b, sb)
		good = f.countGood()
	}
	if good < c.k {
		qe := &ReadQuorumError{Block: b, Good: good, Need: c.k, Errs: make([]error, c.n)}
		for i := range qe.Errs {
			switch {
			case f.good[i]:
			case f.blockErrs[i] != nil:
				qe.Errs[i] = f.blockErrs[i]
			case f.state[i] == stateMissing:
				qe.Errs[i] = f.errs[i]
			}
		}
		return qe
	}
	for i := range buf.shards {
		if !f.good[i] {
			buf.shards[i] = buf.shards[i][:0] // reedsolomon reuses the capacity
		}
		f.required[i] = need[i] && !f.good[i]
	}
	if err := c.rs.ReconstructSome(buf.shards, f.required); err != nil {
		return fmt.Errorf("erasure: reconstruct block %d: %w", b, err)
	}
	return nil
}

func (f *fetcher) countGood() int {
	n := 0
	for _, g := range f.good {
		if g {
			n++
		}
	}
	return n
}

// pickCandidates puts up to want untried shards into f.batch, healthy data
// shards first (decoding from data is cheapest), then healthy parity, then
// suspects.
func (f *fetcher) pickCandidates(want int) {
	f.batch = f.batch[:0]
	add := func(ok func(i int) bool) {
		for i := 0; i < f.c.n && len(f.batch) < want; i++ {
			if !f.tried[i] && ok(i) {
				f.batch = append(f.batch, i)
				f.tried[i] = true
			}
		}
	}
	healthy := func(i int) bool { return f.state[i] == stateOK || f.state[i] == stateUnchecked }
	add(func(i int) bool { return i < f.c.k && healthy(i) })
	add(healthy)
	add(func(i int) bool { return f.state[i] == stateSuspect })
}

// readBatch reads and verifies block b of every shard in f.batch: one after
// the other, or, with concurrent I/O, in parallel (different drives; the
// verification spreads over cores too).
func (f *fetcher) readBatch(buf *blockBuf, b int64, sb int) {
	if len(f.batch) == 0 {
		return
	}
	if !f.concurrent {
		for _, i := range f.batch {
			t := time.Now()
			f.readShard(buf, i, b, sb)
			f.slow = f.slow || slowIO(time.Since(t), checksumSize+sb)
		}
		return
	}
	last := len(f.batch) - 1
	for _, i := range f.batch[:last] {
		if f.workers[i] == nil {
			f.workers[i] = make(chan readReq, 1)
			go f.work(i, f.workers[i])
		}
		f.wg.Add(1)
		f.workers[i] <- readReq{buf, b, sb}
	}
	f.readShard(buf, f.batch[last], b, sb)
	f.wg.Wait()
}

func (f *fetcher) work(i int, reqs <-chan readReq) {
	for r := range reqs {
		f.readShard(r.buf, i, r.b, r.sb)
		f.wg.Done()
	}
}

// close stops the fetcher's worker goroutines. No fetch may run after it.
func (f *fetcher) close() {
	for _, w := range f.workers {
		if w != nil {
			close(w)
		}
	}
}

// readShard reads and verifies shard i's block b into its slot, recording
// the outcome in f's per-shard entries for i.
func (f *fetcher) readShard(buf *blockBuf, i int, b int64, sb int) {
	f.tried[i] = true
	err := f.readVerify(buf.slots[i], i, b, sb)
	if err == nil {
		f.good[i] = true
		return
	}
	f.blockErrs[i] = err
	if f.errs[i] == nil {
		f.errs[i] = err
	}
	// A checksum failure in one block is local bitrot: the shard's other
	// blocks are likely fine. Anything else (I/O errors, a short stream, a
	// bad header) probably repeats, so stop preferring the shard.
	var be *BlockError
	if !errors.Is(err, ErrChecksum) || (errors.As(err, &be) && be.Block == HeaderBlock) {
		f.state[i] = stateSuspect
	}
}

// readVerify reads block b of shard i (and the header, the first time) into
// slot and checks them.
func (f *fetcher) readVerify(slot []byte, i int, b int64, sb int) error {
	r := f.rs[i]
	c := f.c
	end := slotPrefix + sb
	off := c.blockOffset(b)
	haveBlock := false
	if f.state[i] == stateUnchecked {
		// Header and block 0 are adjacent: try one read. If it fails, read
		// them apart so the error names the right one.
		haveBlock = b == 0 && readAt(r, slot[slotHdr:end], 0) == nil
		var err error
		if !haveBlock {
			err = readAt(r, slot[slotHdr:slotCS], 0)
		}
		if err == nil {
			err = c.checkHeader(slot[slotHdr:slotCS], i)
		}
		if err != nil {
			return &BlockError{Shard: i, Block: HeaderBlock, Err: err}
		}
		f.state[i] = stateOK
	}
	if !haveBlock {
		if err := readAt(r, slot[slotCS:end], off); err != nil {
			return &BlockError{Shard: i, Block: b, Err: err}
		}
	}
	if binary.LittleEndian.Uint64(slot[slotCS:slotPrefix]) != blockSum(slot[slotPrefix:end], i, b) {
		return &BlockError{Shard: i, Block: b, Err: ErrChecksum}
	}
	return nil
}

// run calls produce for blocks first..last and hands each filled buffer to
// consume, in order, returning the first error of either, and only once
// nothing runs any more. It starts serial, all on the calling goroutine;
// with concurrent I/O (from the start, or once f.slow says an I/O call was
// slow) produce reads shards in parallel and, with depth > 1, runs on its
// own goroutine up to depth blocks ahead, so reading block b+1 overlaps
// consuming block b.
func (f *fetcher) run(ctx context.Context, first, last int64, produce, consume func(buf *blockBuf, b int64) error) error {
	c := f.c
	f.concurrent = c.cfg.io == ioConcurrent
	b := first
	if !f.concurrent || c.cfg.depth < 2 {
		buf := c.getBuf()
		defer c.putBuf(buf)
		for b <= last {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("erasure: stopped before block %d: %w", b, err)
			}
			if err := produce(buf, b); err != nil {
				return err
			}
			if err := consume(buf, b); err != nil {
				return err
			}
			b++
			if !f.concurrent && f.slow && c.cfg.io == ioAuto {
				f.concurrent = true
				if c.cfg.depth >= 2 {
					break
				}
			}
		}
		if b > last {
			return nil
		}
	}

	type item struct {
		buf *blockBuf
		b   int64
		err error
	}
	depth := c.cfg.depth
	full := make(chan item, depth)
	free := make(chan *blockBuf, depth)
	for range depth {
		free <- c.getBuf()
	}
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for b := b; b <= last; b++ {
			var buf *blockBuf
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			select {
			case <-stop:
				free <- buf
				return
			default:
			}
			err := ctx.Err()
			if err != nil {
				err = fmt.Errorf("erasure: stopped before block %d: %w", b, err)
			} else {
				err = produce(buf, b)
			}
			full <- item{buf, b, err} // never blocks: at most depth buffers exist
			if err != nil {
				return
			}
		}
	}()
	var err error
	for it := range full {
		if err == nil {
			err = it.err
			if err == nil {
				err = consume(it.buf, it.b)
			}
			if err != nil {
				close(stop)
			}
		}
		free <- it.buf
	}
	for range depth {
		c.putBuf(<-free)
	}
	return err
}
