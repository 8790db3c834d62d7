package erasure

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// EncodeResult reports what Encode did.
type EncodeResult struct {
	Size int64   // input bytes consumed
	Errs []error // per shard; nil = written fully
}

// writeJob is one piece of one shard stream, checksummed already. Jobs live
// in their blockBuf and are reused once the buffer's WaitGroup says every
// job on it is done.
type writeJob struct {
	out   []byte // [header] checksum shard-bytes, or a bare header
	block int64
	wg    *sync.WaitGroup
}

// shardWriter owns one shard's writer for the duration of an Encode. With
// concurrent I/O it runs on its own goroutine, receiving its stream's pieces
// in block order on jobs.
type shardWriter struct {
	shard int
	w     io.Writer
	jobs  chan *writeJob // nil until concurrent I/O starts
	dead  atomic.Bool    // set after the first failed write; later pieces are skipped
	err   error          // written before dead is set; read once no write can run
}

// write sends one piece, recording the first failure.
func (sw *shardWriter) write(p []byte, block int64) {
	n, err := sw.w.Write(p)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		sw.err = &BlockError{Shard: sw.shard, Block: block, Err: err}
		sw.dead.Store(true)
	}
}

func (sw *shardWriter) run(exited *sync.WaitGroup) {
	defer exited.Done()
	for j := range sw.jobs {
		if !sw.dead.Load() {
			sw.write(j.out, j.block)
		}
		j.wg.Done()
	}
}

// Encode reads r to EOF in blocks of BlockSize, encodes each block into k+m
// shard blocks, and writes shard i's stream to ws[i]. len(ws) must be k+m
// and k <= writeQuorum <= k+m. A nil ws[i] is skipped (a drive already known
// to be offline) and reported as ErrShardMissing in Errs[i].
//
// When a writer returns an error it is dropped (recorded in Errs[i] as a
// *BlockError) and encoding continues while at least writeQuorum writers
// remain; below that Encode stops and returns an error wrapping
// ErrWriteQuorum. A read error from r is returned wrapped, so errors.Is finds
// it. Cancelling ctx stops Encode between blocks.
//
// Writers are called from the calling goroutine while they are quick; once
// one Write is slow (a drive or a network stream that blocks), each writer
// gets its own goroutine for the rest of the call, so the block's writes
// proceed in parallel while the next block is read (see ioMode). Each
// writer receives its stream in order, and none is called after Encode
// returns. Encode waits for Write calls in progress, so a writer that can
// block forever must be unblocked by the caller (for example by closing it
// when ctx is done).
func (c *Codec) Encode(ctx context.Context, r io.Reader, ws []io.Writer, writeQuorum int) (EncodeResult, error) {
	res := EncodeResult{Errs: make([]error, c.n)}
	if len(ws) != c.n || r == nil {
		return res, fmt.Errorf("%w: encode: %d writers (want %d), reader nil: %t", ErrInvalidArgument, len(ws), c.n, r == nil)
	}
	if writeQuorum < c.k || writeQuorum > c.n {
		return res, fmt.Errorf("%w: encode: write quorum %d, want %d..%d", ErrInvalidArgument, writeQuorum, c.k, c.n)
	}
	e := &encoder{c: c, r: r, quorum: writeQuorum, writers: make([]*shardWriter, 0, c.n)}
	for i, w := range ws {
		if w == nil {
			res.Errs[i] = missingErr(i)
			continue
		}
		e.writers = append(e.writers, &shardWriter{shard: i, w: w})
	}
	if len(e.writers) < writeQuorum {
		return res, fmt.Errorf("%w: %d of %d shard writers available, need %d", ErrWriteQuorum, len(e.writers), c.n, writeQuorum)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("erasure: encode: %w", err)
	}

	e.bufs = append(e.bufs, c.getBuf())
	if c.cfg.io == ioConcurrent {
		e.goConcurrent()
	}
	size, err := e.run(ctx)
	e.finish()
	res.Size = size
	for _, sw := range e.writers {
		res.Errs[sw.shard] = sw.err
	}
	if err == nil {
		if live := e.live(); live < writeQuorum {
			err = fmt.Errorf("%w: %d of %d shard writers left, need %d", ErrWriteQuorum, live, c.n, writeQuorum)
		}
	}
	return res, err
}

// encoder is the state of one Encode call.
type encoder struct {
	c          *Codec
	r          io.Reader
	quorum     int
	writers    []*shardWriter // one per non-nil writer
	bufs       []*blockBuf    // one with serial I/O, depth with concurrent
	concurrent bool
	exited     sync.WaitGroup
}

// run is Encode's main loop: read a block into a free buffer, lay it out,
// compute parity and checksums, write. Checksums are computed here, not by
// the writer goroutines: the block was just copied in by this core, and
// moving it to another costs more than hashing it (xxh3, 72 GB/s).
func (e *encoder) run(ctx context.Context) (int64, error) {
	c := e.c
	var size int64
	for b := int64(0); ; b++ {
		buf := e.bufs[b%int64(len(e.bufs))]
		buf.wg.Wait() // its previous block is written
		if err := ctx.Err(); err != nil {
			return size, fmt.Errorf("erasure: encode: %w", err)
		}
		if live := e.live(); live < e.quorum {
			return size, fmt.Errorf("%w: %d of %d shard writers left, need %d", ErrWriteQuorum, live, c.n, e.quorum)
		}
		n, eof, err := c.readBlock(e.r, buf)
		if err != nil {
			return size + int64(n), fmt.Errorf("erasure: read input at offset %d: %w", size+int64(n), err)
		}
		if n == 0 {
			if b == 0 {
				e.write(buf, HeaderBlock, 0)
			}
			return size, nil
		}
		sb := c.shardLen(n)
		c.layout(buf, n, sb)
		buf.setShardLen(sb)
		if err := c.rs.Encode(buf.shards); err != nil {
			return size, fmt.Errorf("erasure: encode block %d: %w", b, err)
		}
		for _, sw := range e.writers {
			if sw.dead.Load() {
				continue
			}
			s := buf.slots[sw.shard]
			binary.LittleEndian.PutUint64(s[slotCS:slotPrefix], blockSum(s[slotPrefix:slotPrefix+sb], sw.shard, b))
		}
		e.write(buf, b, sb)
		size += int64(n)
		if eof || n < c.blockSize {
			return size, nil
		}
	}
}

// write sends block b (sb shard bytes each; HeaderBlock for the header-only
// stream of an empty input) to every live writer: serially, switching to
// concurrent I/O if a write was slow, or by queueing it to the writer
// goroutines.
func (e *encoder) write(buf *blockBuf, b int64, sb int) {
	start, end := slotCS, slotPrefix+sb
	if b <= 0 {
		start = slotHdr
		for _, sw := range e.writers {
			e.c.putHeader(buf.slots[sw.shard][slotHdr:slotCS], sw.shard)
		}
	}
	if b == HeaderBlock {
		end = slotCS
	}
	slow := false
	for _, sw := range e.writers {
		if sw.dead.Load() {
			continue
		}
		out := buf.slots[sw.shard][start:end]
		if e.concurrent {
			j := &buf.jobs[sw.shard]
			*j = writeJob{out: out, block: b, wg: &buf.wg}
			buf.wg.Add(1)
			sw.jobs <- j // never blocks: the channel holds depth jobs
			continue
		}
		t := time.Now()
		sw.write(out, b)
		slow = slow || slowIO(time.Since(t), len(out))
	}
	if slow && e.c.cfg.io == ioAuto {
		e.goConcurrent()
	}
}

// goConcurrent switches the rest of the call to concurrent I/O: a goroutine
// per live writer and depth block buffers.
func (e *encoder) goConcurrent() {
	e.concurrent = true
	for _, sw := range e.writers {
		if sw.dead.Load() {
			continue
		}
		sw.jobs = make(chan *writeJob, e.c.cfg.depth)
		e.exited.Add(1)
		go sw.run(&e.exited)
	}
	for len(e.bufs) < e.c.cfg.depth {
		e.bufs = append(e.bufs, e.c.getBuf())
	}
}

// finish waits for every queued write, stops the writer goroutines and
// returns the buffers. Afterwards no writer is called and sw.err is safe
// to read.
func (e *encoder) finish() {
	for _, b := range e.bufs {
		b.wg.Wait()
	}
	for _, sw := range e.writers {
		if sw.jobs != nil {
			close(sw.jobs)
		}
	}
	e.exited.Wait()
	for _, b := range e.bufs {
		e.c.putBuf(b)
	}
}

func (e *encoder) live() int {
	n := 0
	for _, sw := range e.writers {
		if !sw.dead.Load() {
			n++
		}
	}
	return n
}

func missingErr(shard int) error {
	return fmt.Errorf("%w: shard %d", ErrShardMissing, shard)
}
