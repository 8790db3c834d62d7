package sse

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"sync"
)

// packageBuf is a buffer for one sealed package. Buffers are pooled so that
// a stream allocates none per package, and a busy server few per request.
type packageBuf = [packageMax]byte

// bufPool is the package's one package-level variable: a cache of buffers
// with no state a caller can observe, shared because streams are short-lived
// and have no common owner to hang a pool on.
var bufPool = sync.Pool{New: func() any { return new(packageBuf) }}

func getBuf() *packageBuf  { return bufPool.Get().(*packageBuf) }
func putBuf(b *packageBuf) { bufPool.Put(b) }

// maxEmptyReads bounds how many (0, nil) reads in a row we accept from the
// plaintext reader before calling it broken, as bufio does.
const maxEmptyReads = 100

// EncryptReader returns a reader of the ciphertext of r's bytes under key,
// as stream `part` (0 for a single PUT, the part number for a multipart
// part). It reads r once, up to io.EOF; the ciphertext is exactly
// CiphertextSize(n) bytes for n plaintext bytes.
//
// Packages are sealed in place: when the caller's buffer has room for a
// whole package (PackageSize+TagSize bytes) the plaintext is read straight
// into it and sealed there, so the bytes are copied by nobody; otherwise a
// pooled buffer is used. To know whether a package is the final one the
// reader looks one byte ahead in r.
//
// An error reading r is returned wrapped, never as io.EOF: a stream cut
// short by its source must not look complete. The reader is not safe for
// concurrent use.
func EncryptReader(r io.Reader, key ObjectKey, part int) (io.Reader, error) {
	return EncryptSaltedReader(r, key, part, nil)
}

// EncryptSaltedReader is EncryptReader for a stream with a salt
// (NewSalt), as every upload of a multipart part has; the same salt opens
// it (DecryptSaltedWriter).
func EncryptSaltedReader(r io.Reader, key ObjectKey, part int, salt []byte) (io.Reader, error) {
	pk, err := partKey(key, part, salt)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key.cipher, pk)
	if err != nil {
		return nil, err
	}
	return &encryptReader{r: r, aead: aead}, nil
}

type encryptReader struct {
	r    io.Reader
	aead cipher.AEAD

	buf *packageBuf // pooled; nil when not in use
	out []byte      // sealed bytes of buf not yet returned

	seq      uint64
	carry    byte // the look-ahead byte, first of the next package
	hasCarry bool
	sealed   bool  // the final package has been sealed
	err      error // sticky read error
	nonce    [nonceSize]byte
}

func (e *encryptReader) Read(p []byte) (int, error) {
	if len(e.out) > 0 {
		n := copy(p, e.out)
		e.out = e.out[n:]
		if len(e.out) == 0 {
			e.release()
		}
		return n, nil
	}
	if e.sealed {
		return 0, io.EOF
	}
	if e.err != nil {
		return 0, e.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Fast path: seal whole packages straight into p.
	n := 0
	for len(p)-n >= packageMax && !e.sealed {
		m, err := e.seal(p[n : n+packageMax])
		if err != nil {
			e.err = err
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		n += m
	}
	if n > 0 {
		return n, nil
	}
	// p is too small for a package: seal into a pooled buffer, hand it out
	// over as many calls as it takes.
	if e.buf == nil {
		e.buf = getBuf()
	}
	m, err := e.seal(e.buf[:])
	if err != nil {
		e.err = err
		clear(e.buf[:]) // it may hold plaintext that was never sealed
		e.release()
		return 0, err
	}
	c := copy(p, e.buf[:m])
	e.out = e.buf[c:m]
	if len(e.out) == 0 {
		e.release()
	}
	return c, nil
}

func (e *encryptReader) release() {
	if e.buf != nil {
		putBuf(e.buf)
		e.buf = nil
	}
	e.out = nil
}

// seal reads the next package's plaintext into dst (packageMax bytes), plus
// one look-ahead byte, and seals it in place. It returns the sealed length.
func (e *encryptReader) seal(dst []byte) (int, error) {
	n := 0
	if e.hasCarry {
		dst[0] = e.carry
		n = 1
	}
	m, err := fill(e.r, dst[n:PackageSize+1])
	n += m
	last := true
	switch {
	case err == nil: // PackageSize+1 bytes: more follows
		e.carry, e.hasCarry = dst[PackageSize], true
		n, last = PackageSize, false
	case err == io.EOF:
		e.hasCarry = false
	default:
		return 0, fmt.Errorf("sse: read plaintext (package %d): %w", e.seq, err)
	}
	nonce(&e.nonce, e.seq, last)
	out := e.aead.Seal(dst[:0], e.nonce[:], dst[:n], nil)
	e.seq++
	e.sealed = last
	return len(out), nil
}

// fill reads into p until it is full (nil error) or r ends (io.EOF, with
// the count read). Unlike io.ReadFull it does not spin on readers that
// return no bytes and no error, and it keeps bytes that arrive with an
// error only if that error is io.EOF.
func fill(r io.Reader, p []byte) (int, error) {
	n, empty := 0, 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		if m < 0 || m > len(p)-n {
			return n, errors.New("sse: plaintext reader returned an invalid count")
		}
		n += m
		if err != nil {
			if err == io.EOF && n == len(p) {
				return n, nil
			}
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
