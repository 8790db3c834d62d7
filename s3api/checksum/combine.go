package checksum

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
)

// Composite returns S3's COMPOSITE checksum of a multipart object:
// base64(H(concat(decoded part sums))) + "-N", for every algorithm but
// CRC64NVME, which has only the FULL_OBJECT form (see FullObject).
func Composite(a Algorithm, partSums []string) (string, error) {
	switch {
	case !a.valid():
		return "", fmt.Errorf("%w: %v", ErrUnknownAlgorithm, a)
	case !a.Composite():
		return "", fmt.Errorf("%w: %s has no composite form", ErrInvalidChecksum, a)
	case len(partSums) == 0:
		return "", fmt.Errorf("%w: no parts", ErrInvalidChecksum)
	}
	h := a.New()
	for i, s := range partSums {
		raw, err := a.decode(s)
		if err != nil {
			return "", fmt.Errorf("part %d: %w", i+1, err)
		}
		h.Write(raw)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(partSums)), nil
}

// Part is one part's checksum (base64) and size in bytes, for FullObject.
type Part struct {
	Sum  string
	Size int64
}

// FullObject returns S3's FULL_OBJECT checksum of a multipart object: the
// CRC of the whole object, computed from the parts' CRCs and sizes (in part
// order) without the data. Only CRC32, CRC32C and CRC64NVME combine.
func FullObject(a Algorithm, parts []Part) (string, error) {
	p, ok := crcParams(a)
	switch {
	case !a.valid():
		return "", fmt.Errorf("%w: %v", ErrUnknownAlgorithm, a)
	case !ok:
		return "", fmt.Errorf("%w: %s has no full-object form", ErrInvalidChecksum, a)
	case len(parts) == 0:
		return "", fmt.Errorf("%w: no parts", ErrInvalidChecksum)
	}
	var crc uint64
	// Parts mostly share one size, so x^(8·size) is computed once per size.
	lastSize, lastPow := int64(-1), uint64(0)
	for i, part := range parts {
		raw, err := a.decode(part.Sum)
		if err != nil {
			return "", fmt.Errorf("part %d: %w", i+1, err)
		}
		if part.Size < 0 {
			return "", fmt.Errorf("%w: part %d has size %d", ErrInvalidChecksum, i+1, part.Size)
		}
		var c uint64
		if a.Size() == 4 {
			c = uint64(binary.BigEndian.Uint32(raw))
		} else {
			c = binary.BigEndian.Uint64(raw)
		}
		if i == 0 {
			crc = c
			continue
		}
		// crc(A || B) = crc(A)·x^(8·len(B)) xor crc(B): the all-ones
		// initial value and final xor cancel out, leaving crc(A) advanced
		// over len(B) zero bytes.
		if part.Size != lastSize {
			lastSize, lastPow = part.Size, p.xPow8n(uint64(part.Size))
		}
		crc = p.mul(crc, lastPow) ^ c
	}
	out := make([]byte, a.Size())
	if a.Size() == 4 {
		binary.BigEndian.PutUint32(out, uint32(crc))
	} else {
		binary.BigEndian.PutUint64(out, crc)
	}
	return base64.StdEncoding.EncodeToString(out), nil
}

// crc describes a reflected CRC with all-ones initial value and final xor,
// which CRC32, CRC32C and CRC64NVME all are.
type crc struct {
	poly  uint64 // reflected generator without its x^width term
	width uint
}

func crcParams(a Algorithm) (crc, bool) {
	switch a {
	case CRC32:
		return crc{0xEDB88320, 32}, true
	case CRC32C:
		return crc{0x82F63B78, 32}, true
	case CRC64NVME:
		return crc{0x9A6C9329AC4BC9B5, 64}, true
	}
	return crc{}, false
}

// mul multiplies two polynomials modulo the generator. In the reflected
// representation the most significant bit holds x^0 and bit 0 holds
// x^(width-1); multiplying by x is a right shift, folding the x^width
// overflow back in with the generator.
func (p crc) mul(a, b uint64) uint64 {
	var prod uint64
	for m := uint64(1) << (p.width - 1); m != 0; m >>= 1 {
		if a&m != 0 {
			prod ^= b
		}
		if b&1 != 0 {
			b = b>>1 ^ p.poly
		} else {
			b >>= 1
		}
	}
	return prod
}

// xPow8n returns x^(8n) modulo the generator by square-and-multiply over
// the bits of n, starting from x^8 (one zero byte).
func (p crc) xPow8n(n uint64) uint64 {
	one := uint64(1) << (p.width - 1) // x^0
	sq := one >> 1                    // x^1
	for range 3 {
		sq = p.mul(sq, sq) // x^2, x^4, x^8
	}
	result := one
	for ; n != 0; n >>= 1 {
		if n&1 != 0 {
			result = p.mul(result, sq)
		}
		sq = p.mul(sq, sq)
	}
	return result
}
