package sse

import (
	"encoding/binary"
	"fmt"
)

// PackageSize is the plaintext size of every package of a stream but the
// last, which holds the remaining 0..PackageSize bytes.
const PackageSize = 64 << 10

// TagSize is the authentication tag each package adds to its plaintext.
const TagSize = 16

// packageMax is the ciphertext size of a full package.
const packageMax = PackageSize + tagSize

// MaxSize is the largest plaintext a stream may hold (1 EiB, far beyond
// S3's 5 TiB), chosen so that no size or offset computation can overflow.
const MaxSize = 1 << 60

// packages returns how many packages a stream of plain bytes has: at least
// one, so that even an empty stream ends with an authenticated final
// package and cannot be confused with a truncated one.
func packages(plain int64) int64 {
	if plain == 0 {
		return 1
	}
	return (plain + PackageSize - 1) / PackageSize
}

// CiphertextSize returns the exact ciphertext size of a stream of plain
// plaintext bytes: plain + TagSize per package. It returns -1 when plain
// is negative or above MaxSize.
func CiphertextSize(plain int64) int64 {
	if plain < 0 || plain > MaxSize {
		return -1
	}
	return plain + packages(plain)*tagSize
}

// PlaintextSize inverts CiphertextSize: the plaintext size of a stream of
// c ciphertext bytes, or an ErrInvalidArgument error when no stream has
// that size (a last package shorter than a tag plus one byte, except the
// lone empty package of an empty stream).
func PlaintextSize(c int64) (int64, error) {
	if c < tagSize || c > CiphertextSize(MaxSize) {
		return 0, fmt.Errorf("%w: no stream has %d ciphertext bytes", ErrInvalidArgument, c)
	}
	if c == tagSize {
		return 0, nil
	}
	full, rest := c/packageMax, c%packageMax
	switch {
	case rest == 0:
		return full * PackageSize, nil
	case rest > tagSize:
		return full*PackageSize + rest - tagSize, nil
	}
	return 0, fmt.Errorf("%w: no stream has %d ciphertext bytes", ErrInvalidArgument, c)
}

// Span is what a read of plaintext bytes [Offset, Offset+Length) of one
// stream of Size plaintext bytes needs: the ciphertext bytes
// [CipherOffset, CipherOffset+CipherLength), which are whole packages
// starting with package FirstSeq, of whose plaintext the first Skip bytes
// are dropped. Make one with Range; DecryptWriter takes it.
type Span struct {
	// The plaintext request.
	Size, Offset, Length int64

	// The ciphertext to read (relative to the stream's start).
	CipherOffset, CipherLength int64
	// FirstSeq is the sequence number of the package at CipherOffset.
	FirstSeq uint64
	// Skip is how many plaintext bytes of the first package precede Offset.
	Skip int64
}

// Range maps plaintext bytes [offset, offset+length) of a stream of size
// plaintext bytes to the packages that hold them. A range of length zero
// needs no packages, except on an empty stream (size 0): there the one
// empty final package is read so that the stream is still authenticated.
// Ranges outside [0, size] get an ErrInvalidArgument error.
func Range(offset, length, size int64) (Span, error) {
	if size < 0 || size > MaxSize || offset < 0 || length < 0 || offset > size || length > size-offset {
		return Span{}, fmt.Errorf("%w: range %d+%d of a %d-byte stream", ErrInvalidArgument, offset, length, size)
	}
	s := Span{Size: size, Offset: offset, Length: length}
	if size == 0 {
		s.CipherLength = tagSize
		return s, nil
	}
	if length == 0 {
		s.FirstSeq = uint64(offset / PackageSize)
		s.CipherOffset = offset / PackageSize * packageMax
		return s, nil
	}
	first, last := offset/PackageSize, (offset+length-1)/PackageSize
	s.FirstSeq = uint64(first)
	s.Skip = offset - first*PackageSize
	s.CipherOffset = first * packageMax
	end := (last+1)*packageMax - PackageSize + min(PackageSize, size-last*PackageSize)
	s.CipherLength = end - s.CipherOffset
	return s, nil
}

// packageCount is how many packages the span covers.
func (s Span) packageCount() int64 {
	if s.CipherLength == 0 {
		return 0
	}
	return (s.CipherLength + packageMax - 1) / packageMax
}

// Part is one stream of an object: a single PUT has one, Number 0; a
// multipart object has one per part, in order, with the part numbers it
// was uploaded under.
type Part struct {
	Number int
	Size   int64  // plaintext bytes
	Salt   []byte // the stream's salt (EncryptSaltedReader); nil for none
}

// PartSpan is the piece of an object range that falls into one part.
type PartSpan struct {
	// Index is the part's position in the list given to ObjectRange.
	Index int
	// Number is the part number and Salt its stream's salt, for
	// DecryptSaltedWriter.
	Number int
	Salt   []byte
	// Base is the ciphertext offset at which the part's stream starts
	// within the object: the sum of the ciphertext sizes of the parts
	// before it. The bytes to read are Base+Span.CipherOffset onwards.
	Base int64
	Span
}

// ObjectRange maps plaintext bytes [offset, offset+length) of an object
// made of parts (stored one after the other) to a Span per part the range
// overlaps, in order. A range of length zero overlaps nothing, except that
// an object of size zero is read whole: a span per part, each checking its
// empty final package.
func ObjectRange(parts []Part, offset, length int64) ([]PartSpan, error) {
	var total int64
	for i, p := range parts {
		if p.Size < 0 || p.Size > MaxSize || total > MaxSize-p.Size {
			return nil, fmt.Errorf("%w: part %d (number %d) of %d bytes", ErrInvalidArgument, i, p.Number, p.Size)
		}
		total += p.Size
	}
	if offset < 0 || length < 0 || offset > total || length > total-offset {
		return nil, fmt.Errorf("%w: range %d+%d of a %d-byte object", ErrInvalidArgument, offset, length, total)
	}
	var out []PartSpan
	var start, base int64
	for i, p := range parts {
		end := start + p.Size
		lo, hi := max(offset, start), min(offset+length, end)
		if lo < hi || total == 0 {
			s, err := Range(lo-start, hi-lo, p.Size)
			if err != nil {
				return nil, err
			}
			out = append(out, PartSpan{Index: i, Number: p.Number, Salt: p.Salt, Base: base, Span: s})
		}
		start = end
		base += CiphertextSize(p.Size)
	}
	return out, nil
}

// nonce writes the nonce of package seq into n:
//
//	byte  0      1 2 3   4 ............ 11
//	     +------+-------+-----------------+
//	     | last | 0 0 0 | seq (uint64 BE) |
//	     +------+-------+-----------------+
//
// last is 1 on the stream's final package and 0 on every other. The key is
// unique per (object, part), so the nonce only has to be unique within the
// stream; binding seq and the final flag is what makes reordering,
// dropping, truncating and appending packages fail authentication.
func nonce(n *[nonceSize]byte, seq uint64, last bool) {
	*n = [nonceSize]byte{}
	if last {
		n[0] = 1
	}
	binary.BigEndian.PutUint64(n[4:], seq)
}
