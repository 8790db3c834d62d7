package sse

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
	"sync/atomic"
)

// batchPackages is the most packages a decrypter opens before writing
// their plaintext out in one call (16, 1 MiB). Fewer, larger writes are
// what make a decrypted GET cheap: written to an HTTP response one 64 KiB
// package at a time, the socket writes cost twice what the same bytes cost
// in the 256 KiB writes of a plain GET (profiled on the 64 MiB GET
// benchmark in server/sse_decrypt_bench_test.go).
const batchPackages = 16

// pipelineDepth is how many batches a pipeline keeps: one being filled,
// one being written, one ready in between, so that neither side waits
// for the other unless it is the slower one.
const pipelineDepth = 3

// batchClasses are the batch sizes, in packages, that buffers are pooled
// by: a span gets the smallest that holds min(its packages, 16), so that a
// small GET does not take (and clear) a 1 MiB buffer. The last class is
// batchPackages.
var batchClasses = [...]int{1, 2, 4, 8, batchPackages}

// maxClass is the class of batchPackages.
const maxClass = len(batchClasses) - 1

// batchPools holds one pool per class. Like bufPool it is a cache with no
// state a caller can observe, shared because streams are short-lived and
// have no common owner to hang a pool on.
var batchPools [len(batchClasses)]sync.Pool

// batchClass returns the index of the smallest class of at least n
// packages (n <= batchPackages; 0 counts as 1).
func batchClass(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// batch is a buffer of decrypted packages (see decryptWriter) and the
// part of it to write out.
type batch struct {
	buf    []byte // batchClasses[class]*PackageSize + TagSize bytes
	class  int
	lo, hi int // plaintext to write: buf[lo:hi]
}

func getBatch(class int) *batch {
	if b, ok := batchPools[class].Get().(*batch); ok {
		return b
	}
	return &batch{buf: make([]byte, batchClasses[class]*PackageSize+tagSize), class: class}
}

func putBatch(b *batch) {
	clear(b.buf) // plaintext must not linger in a shared pool
	b.lo, b.hi = 0, 0
	batchPools[b.class].Put(b)
}

// errPipelineClosed is returned for streams of a closed pipeline.
var errPipelineClosed = errors.New("sse: decrypt pipeline closed")

// DecryptPipeline writes the plaintext of one or more streams, one after
// the other (the parts a range of a multipart object touches), to w from a
// goroutine of its own. Packages are opened on the goroutine that calls
// the streams' Write, typically the one reading them from the drives, and
// written out (to a socket, say) at the same time on another core.
//
// Each stream is a writer from DecryptWriter, with its guarantees: only
// authenticated packages reach w, in order, and a failed stream writes a
// prefix of its plaintext. A pipeline adds one: after a stream fails, it
// takes no further stream, so no later bytes can land at a wrong offset.
//
// Up to three batches of up to 1 MiB are in flight; a stream's Write
// blocks while all are, so a slow w slows the reader down instead of
// letting memory grow. A failed w.Write is reported by a later Write or
// Close of a stream, and always by the pipeline's Close. Close must be
// called, after failures too: it waits until every batch is written and
// the goroutine has exited, so w is never used after Close returns. The
// goroutine starts only once a stream needs more than one batch: a small
// read is written by the caller, as DecryptWriter does.
//
// A DecryptPipeline is not safe for concurrent use.
type DecryptPipeline struct {
	s      sink
	active bool  // a stream is open
	err    error // the first failure of a stream
}

// NewDecryptPipeline returns a pipeline writing to w.
func NewDecryptPipeline(w io.Writer) *DecryptPipeline {
	return &DecryptPipeline{s: sink{w: w, async: true}}
}

// DecryptWriter returns the writer of the pipeline's next stream, as the
// function DecryptWriter does. The previous stream must have been closed;
// after one failed, this returns its error.
func (p *DecryptPipeline) DecryptWriter(key ObjectKey, part int, span Span) (io.WriteCloser, error) {
	return p.DecryptSaltedWriter(key, part, nil, span)
}

// DecryptSaltedWriter is DecryptWriter for a stream sealed with a salt
// (EncryptSaltedReader; nil for none).
func (p *DecryptPipeline) DecryptSaltedWriter(key ObjectKey, part int, salt []byte, span Span) (io.WriteCloser, error) {
	switch {
	case p.s.stopped:
		return nil, errPipelineClosed
	case p.err != nil:
		return nil, p.err
	case p.active:
		return nil, fmt.Errorf("%w: the pipeline's previous stream is not closed", ErrInvalidArgument)
	}
	if err := p.s.failure(); err != nil {
		return nil, err
	}
	d, err := newDecryptWriter(&p.s, p, key, part, salt, span)
	if err != nil {
		return nil, err
	}
	p.active = true
	return d, nil
}

// Close waits until everything the streams opened is written, stops the
// goroutine and returns the buffers. It returns the first failure of a
// stream or of w. It is idempotent.
func (p *DecryptPipeline) Close() error {
	werr := p.s.close(nil)
	if p.err == nil {
		p.err = werr
	}
	return p.err
}

// sink takes a decrypter's batches and writes them to w: from the caller's
// goroutine, or, when async and more than one batch comes, from a
// goroutine of its own fed through a bounded queue.
//
// Every batch is, at any time, in exactly one place: held by a decrypter,
// in spare, in full (queued or being written), or in free. The sender
// returns each batch it takes from full to free, written or (after a
// write failed) not, so a decrypter can always get one back, and after the
// sender exits every batch the sink made is in free.
type sink struct {
	w     io.Writer
	async bool

	spare *batch // without sender: the batch to reuse

	started bool // the sender runs
	stopped bool // close has run
	made    int  // batches made since started (all of maxClass)
	full    chan *batch
	free    chan *batch
	done    chan struct{}

	// The sender stores werr, then failed; the other side loads failed
	// before it reads werr.
	failed atomic.Bool
	werr   error
}

// get returns an empty batch of at least class. Once the sender runs it
// may block until the sender has written one; it fails if a write has
// failed.
func (s *sink) get(class int) (*batch, error) {
	if s.stopped {
		return nil, errPipelineClosed
	}
	if !s.started {
		if b := s.spare; b != nil {
			s.spare = nil
			if b.class >= class {
				return b, nil
			}
			putBatch(b)
		}
		return getBatch(class), nil
	}
	if err := s.failure(); err != nil {
		return nil, err
	}
	if s.made < pipelineDepth {
		s.made++
		return getBatch(maxClass), nil
	}
	b := <-s.free
	if err := s.failure(); err != nil {
		s.free <- b // cannot block: free has room for every batch
		return nil, err
	}
	return b, nil
}

// put takes a filled batch; last says its stream has no more. Without a
// sender it writes the batch itself, unless more follow and the sink is
// async, which starts the sender.
func (s *sink) put(b *batch, last bool) error {
	if s.stopped {
		putBatch(b)
		return errPipelineClosed
	}
	if !s.started && s.async && !last {
		s.start()
	}
	if !s.started {
		s.spare = b
		return writeBatch(s.w, b)
	}
	if err := s.failure(); err != nil {
		s.free <- b
		return err
	}
	s.full <- b // cannot block: full has room for every batch
	return nil
}

// recycle takes back a batch a decrypter did not fill (nil is ignored).
func (s *sink) recycle(b *batch) {
	switch {
	case b == nil:
	case s.started && !s.stopped:
		s.free <- b
	case !s.started && !s.stopped && s.spare == nil:
		s.spare = b
	default:
		putBatch(b)
	}
}

func (s *sink) start() {
	s.started = true
	s.made = 1 // the batch about to be put
	if s.spare != nil {
		putBatch(s.spare)
		s.spare = nil
	}
	s.full = make(chan *batch, pipelineDepth)
	s.free = make(chan *batch, pipelineDepth)
	s.done = make(chan struct{})
	go s.send()
}

// send is the sender goroutine: it writes batches in order until full is
// closed, and after a failure only hands them back.
func (s *sink) send() {
	defer close(s.done)
	for b := range s.full {
		if !s.failed.Load() {
			if err := writeBatch(s.w, b); err != nil {
				s.werr = err
				s.failed.Store(true)
			}
		}
		s.free <- b
	}
}

// failure returns the error of a failed write, if the sender has had one.
func (s *sink) failure() error {
	if s.failed.Load() {
		return s.werr
	}
	return nil
}

// close stops the sender after it has written every queued batch, returns
// all buffers (and pending, a decrypter's batch, if any) to the pool, and
// reports a failed write. It is idempotent.
func (s *sink) close(pending *batch) error {
	if pending != nil {
		putBatch(pending)
	}
	if s.stopped {
		return s.failure()
	}
	s.stopped = true
	if s.spare != nil {
		putBatch(s.spare)
		s.spare = nil
	}
	if !s.started {
		return nil
	}
	close(s.full)
	<-s.done
	for range len(s.free) {
		putBatch(<-s.free)
	}
	return s.failure()
}

// writeBatch writes a batch's plaintext to w, if it has any.
func writeBatch(w io.Writer, b *batch) error {
	p := b.buf[b.lo:b.hi]
	if len(p) == 0 {
		return nil
	}
	n, err := w.Write(p)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("sse: write plaintext: %w", err)
	}
	return nil
}
