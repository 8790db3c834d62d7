package storage

import (
	"errors"
	"io"
	"sync"
)

// readAhead reads its source on a goroutine of its own, a block ahead of
// the consumer. The body reader of a PUT does real work in Read (MD5 for
// the ETag, SHA-256 or chunk signatures, checksums, socket reads); with
// read-ahead that work runs on one core while erasure coding, bitrot
// hashing and the shard writes run on another, instead of one after the
// other. Memory is bounded by depth buffers of the block size.
type readAhead struct {
	full chan *raBuf
	free chan *raBuf
	done chan struct{}
	once sync.Once
	pool *sync.Pool

	cur *raBuf
	off int
	err error
}

type raBuf struct {
	b   []byte
	n   int
	err error
}

const readAheadDepth = 2

func newReadAhead(r io.Reader, pool *sync.Pool) *readAhead {
	ra := &readAhead{
		full: make(chan *raBuf, readAheadDepth),
		free: make(chan *raBuf, readAheadDepth),
		done: make(chan struct{}),
		pool: pool,
	}
	for range readAheadDepth {
		ra.free <- &raBuf{b: *(pool.Get().(*[]byte))}
	}
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	for {
		var buf *raBuf
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		n, err := io.ReadFull(r, buf.b)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		buf.n, buf.err = n, err
		select {
		case ra.full <- buf:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	if ra.err != nil {
		return 0, ra.err
	}
	if ra.cur == nil {
		ra.cur = <-ra.full
		ra.off = 0
	}
	n := copy(p, ra.cur.b[ra.off:ra.cur.n])
	ra.off += n
	if ra.off == ra.cur.n {
		if ra.cur.err != nil {
			ra.err = ra.cur.err
			if n == 0 {
				return 0, ra.err
			}
			return n, nil
		}
		ra.free <- ra.cur
		ra.cur = nil
	}
	return n, nil
}

// Close stops the reader goroutine. Buffers go back to the pool only when
// the goroutine is known to be done with them: after it delivered its
// final buffer. Otherwise (a write that failed mid-body) they are left
// to the garbage collector, since the goroutine may still be inside a
// Read of the source.
func (ra *readAhead) Close() {
	ra.once.Do(func() {
		close(ra.done)
		if ra.err == nil {
			return
		}
		if ra.cur != nil {
			ra.put(ra.cur)
		}
		for {
			select {
			case b := <-ra.free:
				ra.put(b)
			default:
				return
			}
		}
	})
}

func (ra *readAhead) put(b *raBuf) {
	s := b.b[:cap(b.b)]
	ra.pool.Put(&s)
}
