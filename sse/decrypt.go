package sse

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
)

// errClosed is returned by Write after Close.
var errClosed = errors.New("sse: write to closed DecryptWriter")

// DecryptWriter returns a writer that takes the ciphertext span.CipherOffset
// onwards of stream `part` (see Range), authenticates it package by
// package, and writes plaintext bytes [span.Offset, span.Offset+span.Length)
// of the stream to w.
//
// Nothing unauthenticated reaches w: a package is opened whole before any
// of its bytes are written, so what w receives is always a prefix of the
// requested plaintext. Any failure (a bad tag, more ciphertext than the
// span holds) makes Write return an error wrapping ErrAuthentication, and
// every later call returns it too. Close reports ErrAuthentication if
// packages are missing (the ciphertext was truncated); the caller must
// check it before treating the read as complete. Errors from w are
// returned wrapped. Close does not close w.
//
// span must come from Range (or ObjectRange); a hand-made span that
// disagrees with Range(span.Offset, span.Length, span.Size) is refused with
// ErrInvalidArgument. The writer is not safe for concurrent use.
func DecryptWriter(w io.Writer, key ObjectKey, part int, span Span) (io.WriteCloser, error) {
	want, err := Range(span.Offset, span.Length, span.Size)
	if err != nil {
		return nil, err
	}
	if want != span {
		return nil, fmt.Errorf("%w: span %+v does not match Range(%d, %d, %d)", ErrInvalidArgument, span, span.Offset, span.Length, span.Size)
	}
	pk, err := partKey(key, part)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key.cipher, pk)
	if err != nil {
		return nil, err
	}
	count := uint64(span.packageCount())
	d := &decryptWriter{
		w:       w,
		aead:    aead,
		seq:     span.FirstSeq,
		end:     span.FirstSeq + count,
		final:   uint64(packages(span.Size) - 1),
		lastLen: int(span.Size-int64(packages(span.Size)-1)*PackageSize) + tagSize,
		skip:    span.Skip,
		remain:  span.Length,
	}
	return d, nil
}

type decryptWriter struct {
	w    io.Writer
	aead cipher.AEAD

	buf *packageBuf // pooled, taken on first use, returned by Close or a failure
	n   int         // ciphertext bytes of the current package in buf

	seq     uint64 // the package being assembled
	end     uint64 // one past the last package of the span
	final   uint64 // the stream's final package
	lastLen int    // ciphertext length of the final package
	skip    int64  // plaintext bytes still to drop
	remain  int64  // plaintext bytes still to write

	err    error // sticky
	closed bool
	nonce  [nonceSize]byte
}

// pkgLen is the ciphertext length of package seq.
func (d *decryptWriter) pkgLen() int {
	if d.seq == d.final {
		return d.lastLen
	}
	return packageMax
}

func (d *decryptWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.closed {
		return 0, errClosed
	}
	total := len(p)
	for len(p) > 0 {
		start := total - len(p) - d.n // where the current package began in p (may be < 0)
		if d.seq >= d.end {
			return max(start, 0), d.fail(fmt.Errorf("%w: ciphertext continues after package %d, the last of the range", ErrAuthentication, d.end-1))
		}
		need := d.pkgLen()
		if d.buf == nil {
			d.buf = getBuf()
		}
		var sealed []byte
		if d.n == 0 && len(p) >= need {
			// Open straight from p into buf: no copy of the ciphertext.
			sealed, p = p[:need], p[need:]
		} else {
			c := copy(d.buf[d.n:need], p)
			d.n += c
			p = p[c:]
			if d.n < need {
				break
			}
			sealed, d.n = d.buf[:need], 0
		}
		nonce(&d.nonce, d.seq, d.seq == d.final)
		plain, err := d.aead.Open(d.buf[:0], d.nonce[:], sealed, nil)
		if err != nil {
			return max(start, 0), d.fail(fmt.Errorf("%w: package %d", ErrAuthentication, d.seq))
		}
		d.seq++
		if d.skip > 0 {
			plain = plain[min(d.skip, int64(len(plain))):]
			d.skip = 0
		}
		plain = plain[:min(d.remain, int64(len(plain)))]
		if len(plain) > 0 {
			m, err := d.w.Write(plain)
			if err == nil && m != len(plain) {
				err = io.ErrShortWrite
			}
			if err != nil {
				return max(start, 0), d.fail(fmt.Errorf("sse: write plaintext: %w", err))
			}
			d.remain -= int64(m)
		}
	}
	return total, nil
}

// Close checks that every package of the span arrived and returns the
// pooled buffer. It is idempotent.
func (d *decryptWriter) Close() error {
	if d.err != nil || d.closed {
		return d.err
	}
	d.closed = true
	if d.seq < d.end {
		got := "no bytes"
		if d.n > 0 {
			got = fmt.Sprintf("%d of its %d bytes", d.n, d.pkgLen())
		}
		return d.fail(fmt.Errorf("%w: ciphertext truncated: package %d got %s (range ends at package %d)", ErrAuthentication, d.seq, got, d.end-1))
	}
	d.release()
	return nil
}

func (d *decryptWriter) fail(err error) error {
	d.err = err
	d.release()
	return err
}

func (d *decryptWriter) release() {
	if d.buf != nil {
		clear(d.buf[:]) // plaintext must not linger in a shared pool
		putBuf(d.buf)
		d.buf = nil
	}
}
