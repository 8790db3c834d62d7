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
// Nothing unauthenticated reaches w: packages are opened whole, into a
// pooled buffer of up to 16 packages, and only opened packages are written
// out, so what w receives is always a prefix of the requested plaintext.
// w gets one Write per batch of packages (up to 1 MiB), not one per
// package: a batch is written when it is full, when it holds the span's
// last package, or when the stream fails (the packages opened before the
// failure are authentic and are written first). Any failure (a bad tag,
// more ciphertext than the span holds) makes Write return an error
// wrapping ErrAuthentication, and every later call returns it too. Close
// reports ErrAuthentication if packages are missing (the ciphertext was
// truncated); the caller must check it before treating the read as
// complete. Errors from w are returned wrapped. Close does not close w.
//
// w is called from the goroutine that calls Write and Close; a
// DecryptPipeline calls it from one of its own instead.
//
// span must come from Range (or ObjectRange); a hand-made span that
// disagrees with Range(span.Offset, span.Length, span.Size) is refused with
// ErrInvalidArgument. The writer is not safe for concurrent use.
func DecryptWriter(w io.Writer, key ObjectKey, part int, span Span) (io.WriteCloser, error) {
	return newDecryptWriter(&sink{w: w}, nil, key, part, nil, span)
}

// DecryptSaltedWriter is DecryptWriter for a stream sealed with a salt
// (EncryptSaltedReader).
func DecryptSaltedWriter(w io.Writer, key ObjectKey, part int, salt []byte, span Span) (io.WriteCloser, error) {
	return newDecryptWriter(&sink{w: w}, nil, key, part, salt, span)
}

// newDecryptWriter returns a writer feeding s: its own sink when pl is
// nil, pl's otherwise.
func newDecryptWriter(s *sink, pl *DecryptPipeline, key ObjectKey, part int, salt []byte, span Span) (*decryptWriter, error) {
	want, err := Range(span.Offset, span.Length, span.Size)
	if err != nil {
		return nil, err
	}
	if want != span {
		return nil, fmt.Errorf("%w: span %+v does not match Range(%d, %d, %d)", ErrInvalidArgument, span, span.Offset, span.Length, span.Size)
	}
	pk, err := partKey(key, part, salt)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key.cipher, pk)
	if err != nil {
		return nil, err
	}
	count := uint64(span.packageCount())
	d := &decryptWriter{
		sink:    s,
		pl:      pl,
		aead:    aead,
		class:   batchClass(int(min(count, batchPackages))),
		seq:     span.FirstSeq,
		end:     span.FirstSeq + count,
		final:   uint64(packages(span.Size) - 1),
		lastLen: int(span.Size-int64(packages(span.Size)-1)*PackageSize) + tagSize,
		skip:    span.Skip,
		remain:  span.Length,
	}
	return d, nil
}

// decryptWriter opens packages into batches: a batch buffer holds `slots`
// packages' plaintext back to back, slot k at k*PackageSize, plus TagSize
// spare bytes so that the last slot can hold a whole sealed package:
//
//	slot 0           slot 1           slot k                    spare
//	+----------------+----------------+----------------+-...---+-----+
//	| plaintext 0    | plaintext 1    | sealed k (staged, then  |     |
//	|                |                |  opened in place)       |     |
//	+----------------+----------------+----------------+-...---+-----+
//
// A package that arrives whole in one Write is opened from the caller's
// bytes straight into its slot; one split across Writes is staged in its
// slot and opened in place, where its tag overlaps the next slot, which is
// not filled yet. Either way its plaintext lands next to the previous
// package's, and a full batch goes to w in one Write.
type decryptWriter struct {
	sink *sink
	pl   *DecryptPipeline // nil: the sink is the writer's own
	aead cipher.AEAD

	cur   *batch // batch being filled; nil between batches
	k     int    // packages opened into cur
	n     int    // ciphertext bytes of package seq staged in cur's slot k
	slots int    // packages cur holds
	class int    // the batch class the span asks for

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
		start := max(total-len(p)-d.n, 0) // where the current package began in p
		if d.seq >= d.end {
			return start, d.fail(fmt.Errorf("%w: ciphertext continues after package %d, the last of the range", ErrAuthentication, d.end-1), true)
		}
		if d.cur == nil {
			b, err := d.sink.get(d.class)
			if err != nil {
				return start, d.fail(err, false)
			}
			d.cur, d.k, d.slots = b, 0, batchClasses[b.class]
		}
		need := d.pkgLen()
		at := d.k * PackageSize
		slot := d.cur.buf[at : at+need]
		var sealed []byte
		if d.n == 0 && len(p) >= need {
			sealed, p = p[:need], p[need:]
		} else {
			c := copy(slot[d.n:], p)
			d.n += c
			p = p[c:]
			if d.n < need {
				break
			}
			sealed, d.n = slot, 0
		}
		nonce(&d.nonce, d.seq, d.seq == d.final)
		plain, err := d.aead.Open(slot[:0], d.nonce[:], sealed, nil)
		if err != nil {
			return start, d.fail(fmt.Errorf("%w: package %d", ErrAuthentication, d.seq), true)
		}
		d.seq++
		if d.skip > 0 { // only ever the span's first package, in slot 0
			s := int(min(d.skip, int64(len(plain))))
			at += s
			plain = plain[s:]
			d.skip = 0
		}
		m := int(min(d.remain, int64(len(plain))))
		d.remain -= int64(m)
		if d.k == 0 {
			d.cur.lo = at
		}
		d.cur.hi = at + m
		d.k++
		if d.k == d.slots || d.seq == d.end {
			if err := d.flush(d.seq == d.end); err != nil {
				return start, d.fail(err, false)
			}
		}
	}
	return total, nil
}

// flush hands the current batch to the sink; last says no batch follows.
func (d *decryptWriter) flush(last bool) error {
	b := d.cur
	d.cur, d.k = nil, 0
	return d.sink.put(b, last)
}

// Close checks that every package of the span arrived and returns the
// pooled buffers; on its own sink it first waits until all plaintext is
// written. It is idempotent.
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
		return d.fail(fmt.Errorf("%w: ciphertext truncated: package %d got %s (range ends at package %d)", ErrAuthentication, d.seq, got, d.end-1), true)
	}
	if d.pl == nil {
		d.err = d.sink.close(d.take())
		return d.err
	}
	d.pl.active = false
	d.sink.recycle(d.take())
	d.err = d.sink.failure() // a write that already failed; Close of the pipeline waits for the rest
	return d.err
}

// fail makes err sticky and, on the writer's own sink, shuts it down; in a
// pipeline it stops the pipeline from taking more streams, since bytes
// after a gap would land at the wrong offset. With pending, the packages
// already opened into the current batch are written first: they are
// authentic, and the reader should get all of the verified prefix.
func (d *decryptWriter) fail(err error, pending bool) error {
	d.err = err
	if pending && d.cur != nil && d.k > 0 {
		_ = d.flush(true) // err says what went wrong first
	}
	if d.pl == nil {
		_ = d.sink.close(d.take())
		return err
	}
	d.sink.recycle(d.take())
	d.pl.active = false
	if d.pl.err == nil {
		d.pl.err = err
	}
	return err
}

// take returns the current batch, if any, for the sink to release.
func (d *decryptWriter) take() *batch {
	b := d.cur
	d.cur, d.k, d.n = nil, 0, 0
	return b
}
