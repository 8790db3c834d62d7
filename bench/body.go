package bench

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
)

// payloadSize is the length of the shared random buffer request bodies are
// cut from. Bodies longer than it wrap around; 8 MiB is long enough that no
// compression window or chunk-level deduplication inside one request finds
// the repetition, and small enough to generate in a few milliseconds.
const payloadSize = 8 << 20

// payload is an immutable buffer of random bytes shared by every worker.
// Object contents are windows of it, so the bytes of a body never have to
// be generated, allocated or read from disk per request.
type payload []byte

// newPayload returns n pseudo-random bytes from seed.
func newPayload(seed uint64, n int) payload {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	p := make([]byte, n)
	// ChaCha8's Read fills the buffer far faster than drawing words.
	_, _ = rand.NewChaCha8(key).Read(p)
	return p
}

// startFor spreads objects over the buffer: object number i starts at a
// different offset, so two objects of the same size differ.
func (p payload) startFor(i uint64) int64 {
	// 0x9E3779B97F4A7C15 (2^64 / golden ratio) scatters consecutive numbers.
	return int64((i * 0x9E3779B97F4A7C15) % uint64(len(p)))
}

// errSeek is returned for a seek before the start of a body.
var errSeek = errors.New("bench: seek before start of body")

// bodyReader reads size bytes of a payload starting at offset start and
// wrapping around its end. It is an io.Reader, io.ReaderAt and io.Seeker, so
// an S3 client can rewind it to retry or sign. A worker keeps one and resets
// it per request: no allocation per request.
type bodyReader struct {
	p     payload
	start int64 // offset into p of the body's first byte
	size  int64
	pos   int64
}

// reset points r at a new body of size bytes starting at payload offset start.
func (r *bodyReader) reset(p payload, start, size int64) {
	r.p, r.start, r.size, r.pos = p, start, size, 0
}

// Read implements io.Reader.
func (r *bodyReader) Read(b []byte) (int, error) {
	n, err := r.ReadAt(b, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt implements io.ReaderAt over the body (offsets relative to its start).
func (r *bodyReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errSeek
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := min(int64(len(b)), r.size-off)
	n := 0
	for int64(n) < want {
		at := (r.start + off + int64(n)) % int64(len(r.p))
		n += copy(b[n:want], r.p[at:])
	}
	if int64(n) < int64(len(b)) {
		return n, io.EOF
	}
	return n, nil
}

// Seek implements io.Seeker.
func (r *bodyReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, fmt.Errorf("bench: seek: bad whence %d", whence)
	}
	if abs < 0 {
		return 0, errSeek
	}
	r.pos = abs
	return abs, nil
}

// Len reports the bytes left to read; some HTTP clients use it to set
// Content-Length.
func (r *bodyReader) Len() int {
	if r.pos >= r.size {
		return 0
	}
	return int(r.size - r.pos)
}
