package checksum

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by a ParallelReader's Read after Close, and by its
// digest checks when the body was not read to its end.
var ErrClosed = errors.New("checksum: reader closed before the end of the body")

// DefaultBlockSize is the block a ParallelReader reads and hashes at a
// time when its BlockPool does not say otherwise: large enough that the
// hand-over between goroutines costs nothing measurable, small enough
// that a few blocks in flight bound a request's memory.
const DefaultBlockSize = 1 << 20

// defaultBlocks is ParallelOptions.Blocks' default: one block being read,
// one being hashed, one being consumed and one of slack for the stage
// that runs ahead.
const defaultBlocks = 4

// BlockPool recycles the blocks of ParallelReaders across requests, so a
// steady stream of large PUTs allocates nothing per request. The zero
// value is ready for use with DefaultBlockSize; it is safe for concurrent
// use and must not be copied after first use.
type BlockPool struct {
	size int
	pool sync.Pool // *block with len(buf) == blockSize()
}

// NewBlockPool returns a pool of blocks of size bytes (DefaultBlockSize if
// size < 1).
func NewBlockPool(size int) *BlockPool { return &BlockPool{size: size} }

func (p *BlockPool) blockSize() int {
	if p.size < 1 {
		return DefaultBlockSize
	}
	return p.size
}

func (p *BlockPool) get() *block {
	if b, ok := p.pool.Get().(*block); ok {
		b.n, b.err = 0, nil
		return b
	}
	return &block{buf: make([]byte, p.blockSize())}
}

func (p *BlockPool) put(b *block) { p.pool.Put(b) }

// block is one piece of the body on its way to the hashes and the reader.
// refs counts the stages still using it: each hash goroutine and the
// consumer; the last one hands it back for refilling.
type block struct {
	buf  []byte
	n    int
	err  error // the source's error after these n bytes; io.EOF at the end
	refs atomic.Int32
}

// ParallelOptions tune a ParallelReader; the zero value is the default.
type ParallelOptions struct {
	// Pool supplies the blocks and sets their size. Nil: a pool of
	// DefaultBlockSize private to the reader (nothing is shared).
	Pool *BlockPool
	// Blocks bounds the blocks in flight, and with them the reader's
	// memory (Blocks × the block size) and how far the fastest stage may
	// run ahead of the slowest; default 4, at least 2.
	Blocks int
}

// ParallelReader computes what Reader computes (MD5 plus the requested
// algorithms), off the goroutine that reads it. One goroutine reads the
// source in blocks; MD5 runs on a second, the other algorithms on a
// third; Read hands out the blocks as they arrive, without waiting for
// the hashes. So a body's network read (and the sigv4 signature checks
// inside it), its MD5 and whatever the caller does with the bytes run on
// different cores instead of one after the other.
//
// Because Read runs ahead of the hashes, bytes come out before their
// digests are known: a caller must not act on the data as verified until
// it has checked the digests after io.EOF, exactly as with Reader, whose
// digests are also only complete at the end. The digest accessors wait
// for the hashes to catch up.
//
// Read must not be called concurrently with itself; Close and the digest
// accessors may be called from any goroutine. Close must be called once
// the reader is no longer needed: it stops the goroutines and waits until
// none of them touches the source any more.
type ParallelReader struct {
	src    io.Reader
	pool   *BlockPool
	blocks int

	md5    hash.Hash
	hashes [numAlgorithms]hash.Hash // indexed by Algorithm; nil = not requested

	free    chan *block   // blocks every stage is done with
	out     chan *block   // filled blocks for Read, in order
	work    []chan *block // filled blocks for each hash goroutine, in order
	stop    chan struct{} // closed by Close (or a premature digest access)
	filled  chan struct{} // closed when the reading goroutine has returned
	hashing sync.WaitGroup

	stopOnce, settleOnce, closeOnce sync.Once
	sawEOF                          atomic.Bool  // Read returned io.EOF
	size                            atomic.Int64 // bytes returned by Read
	srcErr                          error        // written by fill before filled closes

	// Read's own state.
	cur *block
	off int
	err error
}

// NewParallelReader starts reading r in the background, computing MD5 and
// algs (None and duplicates are ignored). Call Close when done with it.
func NewParallelReader(r io.Reader, opts ParallelOptions, algs ...Algorithm) *ParallelReader {
	pr := &ParallelReader{
		src:    r,
		pool:   opts.Pool,
		blocks: opts.Blocks,
		md5:    md5.New(),
		stop:   make(chan struct{}),
		filled: make(chan struct{}),
	}
	if pr.pool == nil {
		pr.pool = &BlockPool{}
	}
	switch {
	case pr.blocks == 0:
		pr.blocks = defaultBlocks
	case pr.blocks < 2:
		pr.blocks = 2 // one for the consumer, one being filled
	}
	var extra []hash.Hash
	for _, a := range algs {
		switch {
		case !a.valid() || pr.hashes[a] != nil:
		case a == MD5:
			// The ETag's MD5 is the MD5 checksum: hash the body once.
			pr.hashes[a] = pr.md5
		default:
			pr.hashes[a] = a.New()
			extra = append(extra, pr.hashes[a])
		}
	}
	// Every channel holds all the blocks there are, so sends never block:
	// a stage only ever waits for its input.
	pr.free = make(chan *block, pr.blocks)
	pr.out = make(chan *block, pr.blocks)
	groups := [][]hash.Hash{{pr.md5}}
	if len(extra) > 0 {
		// The other algorithms share one goroutine: S3 requests carry at
		// most one, and a copy rarely more than two.
		groups = append(groups, extra)
	}
	for _, hs := range groups {
		c := make(chan *block, pr.blocks)
		pr.work = append(pr.work, c)
		pr.hashing.Add(1)
		go pr.hash(c, hs)
	}
	go pr.fill()
	return pr
}

// fill reads the source block by block and hands every block to each
// hash goroutine and to Read, until the source ends or fails, or stop.
func (pr *ParallelReader) fill() {
	defer close(pr.filled)
	defer func() {
		for _, c := range pr.work {
			close(c)
		}
	}()
	allocated := 0
	for {
		var b *block
		select {
		case b = <-pr.free:
		default:
			if allocated < pr.blocks {
				allocated++
				b = pr.pool.get()
				break
			}
			select {
			case b = <-pr.free:
			case <-pr.stop:
				pr.srcErr = ErrClosed
				return
			}
		}
		select {
		case <-pr.stop:
			pr.srcErr = ErrClosed
			return
		default:
		}
		n, err := io.ReadFull(pr.src, b.buf)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		b.n, b.err = n, err
		b.refs.Store(int32(len(pr.work) + 1))
		for _, c := range pr.work {
			c <- b
		}
		pr.out <- b
		if err != nil {
			pr.srcErr = err
			return
		}
	}
}

// hash feeds every block it receives to hs.
func (pr *ParallelReader) hash(c <-chan *block, hs []hash.Hash) {
	defer pr.hashing.Done()
	for b := range c {
		for _, h := range hs {
			h.Write(b.buf[:b.n])
		}
		pr.release(b)
	}
}

// release drops one stage's hold on b; the last one makes it free. b must
// not be touched after release.
func (pr *ParallelReader) release(b *block) {
	if b.refs.Add(-1) == 0 {
		pr.free <- b
	}
}

// Read returns the body's bytes in order, then the source's error (io.EOF
// at the end). Errors other than io.EOF are passed through as the source
// returned them; after Close, Read returns ErrClosed.
func (pr *ParallelReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, pr.err
	}
	for {
		if pr.cur != nil {
			if pr.off < pr.cur.n {
				n := copy(p, pr.cur.buf[pr.off:pr.cur.n])
				pr.off += n
				pr.size.Add(int64(n))
				return n, nil
			}
			b := pr.cur
			pr.cur = nil
			if b.err != nil {
				pr.err = b.err
				if b.err == io.EOF {
					pr.sawEOF.Store(true)
				}
			}
			pr.release(b)
		}
		if pr.err != nil {
			return 0, pr.err
		}
		select {
		case pr.cur = <-pr.out:
			pr.off = 0
		case <-pr.stop:
			pr.err = ErrClosed
			return 0, pr.err
		}
	}
}

// Close stops the reader and waits until its goroutines have returned, so
// that the source is not read any more once Close returns (a Read of the
// source in progress is waited for). Blocks go back to the pool. Close is
// idempotent; it returns nil.
func (pr *ParallelReader) Close() error {
	pr.closeOnce.Do(func() {
		pr.halt()
		<-pr.filled
		pr.hashing.Wait()
		// Only blocks that every stage released are in free; one Read is
		// still holding (Close during a Read) is left to the collector.
		for {
			select {
			case b := <-pr.free:
				pr.pool.put(b)
			default:
				return
			}
		}
	})
	return nil
}

func (pr *ParallelReader) halt() { pr.stopOnce.Do(func() { close(pr.stop) }) }

// settle waits until the hashes have seen every block that was read.
// Before Read returned io.EOF it first stops the reader: the digests are
// then of a prefix of the body and Err says so.
func (pr *ParallelReader) settle() {
	pr.settleOnce.Do(func() {
		if !pr.sawEOF.Load() {
			pr.halt()
		}
		<-pr.filled
		pr.hashing.Wait()
	})
}

// Err waits for the hashes and reports whether the digests describe the
// whole body: nil once Read has returned io.EOF; otherwise the source's
// error, or ErrClosed if the reader was stopped before the end (calling
// Err, or any digest accessor, before io.EOF stops it).
func (pr *ParallelReader) Err() error {
	pr.settle()
	switch {
	case pr.sawEOF.Load():
		return nil
	case pr.srcErr != nil && pr.srcErr != io.EOF:
		return pr.srcErr
	}
	return ErrClosed
}

// Size returns the number of bytes Read has returned.
func (pr *ParallelReader) Size() int64 { return pr.size.Load() }

// MD5 returns the MD5 digest of the body, the object's ETag, once Read
// has returned io.EOF. It waits for the hashes (see Err for earlier calls).
func (pr *ParallelReader) MD5() []byte {
	pr.settle()
	return pr.md5.Sum(nil)
}

// Sum returns the base64 digest for a of the body once Read has returned
// io.EOF; "" if a was not requested. It waits for the hashes.
func (pr *ParallelReader) Sum(a Algorithm) string {
	if !a.valid() || pr.hashes[a] == nil {
		return ""
	}
	pr.settle()
	return base64.StdEncoding.EncodeToString(pr.hashes[a].Sum(nil))
}

// Check compares the digest for a with want (base64, as sent by the
// client), as Reader.Check does; it also fails, wrapping the error Err
// returns, when the body was not read to its end.
func (pr *ParallelReader) Check(a Algorithm, want string) error {
	raw, err := a.decode(want)
	if err != nil {
		return err
	}
	if !a.valid() || pr.hashes[a] == nil {
		return fmt.Errorf("%w: %v was not computed", ErrInvalidChecksum, a)
	}
	if err := pr.Err(); err != nil {
		return fmt.Errorf("checksum: %s: %w", a, err)
	}
	if subtle.ConstantTimeCompare(pr.hashes[a].Sum(nil), raw) != 1 {
		return &AlgorithmError{Err: ErrBadDigest, Algorithm: a}
	}
	return nil
}

// CheckMD5 compares the MD5 with a Content-MD5 header value, as
// Reader.CheckMD5 does; it also fails, wrapping the error Err returns,
// when the body was not read to its end.
func (pr *ParallelReader) CheckMD5(contentMD5 string) error {
	raw, err := base64.StdEncoding.Strict().DecodeString(contentMD5)
	if err != nil || len(raw) != md5.Size {
		return fmt.Errorf("%w: Content-MD5 is not base64 of 16 bytes", ErrInvalidChecksum)
	}
	if err := pr.Err(); err != nil {
		return fmt.Errorf("checksum: Content-MD5: %w", err)
	}
	if subtle.ConstantTimeCompare(pr.md5.Sum(nil), raw) != 1 {
		return fmt.Errorf("%w: Content-MD5", ErrBadDigest)
	}
	return nil
}
