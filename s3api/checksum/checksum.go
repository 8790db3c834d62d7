package checksum

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"net/http"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/minio/crc64nvme"
	"github.com/zeebo/xxh3"
)

// Sentinel errors; functions wrap them with context.
var (
	// ErrBadDigest: the data does not match the checksum the client sent.
	ErrBadDigest = errors.New("checksum: digest does not match the data")
	// ErrInvalidChecksum: a checksum value is not base64 of the algorithm's
	// digest size, or cannot be combined.
	ErrInvalidChecksum = errors.New("checksum: invalid checksum value")
	// ErrMultipleChecksums: the request declares more than one checksum
	// (headers, trailers, or a header and a trailer).
	ErrMultipleChecksums = errors.New("checksum: more than one checksum declared")
	// ErrUnknownAlgorithm: an algorithm name S3 does not define.
	ErrUnknownAlgorithm = errors.New("checksum: unknown checksum algorithm")
	// ErrNoChecksumValue: x-amz-sdk-checksum-algorithm names an algorithm
	// but no x-amz-checksum-<alg> header or trailer carries its value.
	ErrNoChecksumValue = errors.New("checksum: x-amz-sdk-checksum-algorithm without a checksum header or trailer")
	// ErrSDKAlgorithmMismatch: x-amz-sdk-checksum-algorithm names another
	// algorithm than the checksum header or trailer sent.
	ErrSDKAlgorithmMismatch = errors.New("checksum: x-amz-sdk-checksum-algorithm disagrees with the checksum sent")
)

// AlgorithmError is ErrBadDigest or ErrInvalidChecksum for one algorithm's
// value. S3 names the algorithm in the message of the first and its
// header in that of the second, so the S3 layer recovers it with
// errors.As; errors.Is still matches the sentinel.
type AlgorithmError struct {
	// Err is ErrBadDigest or ErrInvalidChecksum.
	Err error
	// Algorithm is the algorithm whose value mismatched or is malformed.
	Algorithm Algorithm
	// Detail says what was wrong, for logs; it never holds the data.
	Detail string
}

// Error returns the sentinel's text, the algorithm and the detail.
func (e *AlgorithmError) Error() string {
	s := e.Err.Error() + ": " + e.Algorithm.String()
	if e.Detail != "" {
		s += " " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel, for errors.Is.
func (e *AlgorithmError) Unwrap() error { return e.Err }

// Algorithm is one of S3's additional checksum algorithms.
type Algorithm int

// The algorithms; the zero value None means no additional checksum. The
// values are this package's own and are never stored: S3's names are
// (String, Header), so new algorithms may be inserted anywhere.
const (
	None Algorithm = iota
	CRC32
	CRC32C
	CRC64NVME
	SHA1
	SHA256
	// MD5 is the whole body's MD5 (RFC 1321), the same digest as a
	// single-part ETag and Content-MD5, but as a checksum it is stored,
	// returned and combined into "-N" values like the others.
	MD5
	// SHA512 is SHA-512 (FIPS 180-4).
	SHA512
	// XXHASH64 is XXH64 with seed 0.
	XXHASH64
	// XXHASH3 is XXH3's 64-bit variant (XXH3_64bits) with seed 0.
	XXHASH3
	// XXHASH128 is XXH3's 128-bit variant (XXH3_128bits) with seed 0,
	// in xxHash's canonical form: the high 64 bits first, big-endian.
	XXHASH128

	// numAlgorithms sizes tables indexed by Algorithm; keep it last.
	numAlgorithms
)

// Default is the checksum S3 computes and stores for an object written
// without one (a PUT, a multipart upload created without an algorithm, a
// copy of an object that has none), as AWS does since 2025: CRC64NVME, a
// FULL_OBJECT checksum for multipart objects too. It is the cheapest
// algorithm the package knows (CLMUL/AVX-512 folding, several GB/s per
// core), so it costs the data path next to nothing beside MD5.
const Default = CRC64NVME

// Algorithms lists every algorithm other than None, in a fixed order:
// the order their headers and XML elements are emitted in.
func Algorithms() []Algorithm {
	return []Algorithm{CRC32, CRC32C, CRC64NVME, SHA1, SHA256, MD5, SHA512, XXHASH64, XXHASH3, XXHASH128}
}

// ParseAlgorithm parses "CRC32", "crc32c", ... case-insensitively; "" is None.
func ParseAlgorithm(s string) (Algorithm, error) {
	if s == "" {
		return None, nil
	}
	for _, a := range Algorithms() {
		if strings.EqualFold(s, a.String()) {
			return a, nil
		}
	}
	return None, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, truncate(s))
}

// String returns S3's name: "CRC32", "CRC32C", "CRC64NVME", "SHA1",
// "SHA256", "MD5", "SHA512", "XXHASH64", "XXHASH3", "XXHASH128" ("" for
// None).
func (a Algorithm) String() string {
	switch a {
	case CRC32:
		return "CRC32"
	case CRC32C:
		return "CRC32C"
	case CRC64NVME:
		return "CRC64NVME"
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case MD5:
		return "MD5"
	case SHA512:
		return "SHA512"
	case XXHASH64:
		return "XXHASH64"
	case XXHASH3:
		return "XXHASH3"
	case XXHASH128:
		return "XXHASH128"
	case None:
		return ""
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

// Header returns the header (and trailer) name carrying a's value,
// "x-amz-checksum-crc32" ...; "" for None.
func (a Algorithm) Header() string {
	if !a.valid() {
		return ""
	}
	return "x-amz-checksum-" + strings.ToLower(a.String())
}

// Size returns the digest size in bytes (4 for CRC32 and CRC32C, 8 for
// CRC64NVME, XXHASH64 and XXHASH3, 16 for MD5 and XXHASH128, 20 for SHA1,
// 32 for SHA256, 64 for SHA512); 0 for None.
func (a Algorithm) Size() int {
	switch a {
	case CRC32, CRC32C:
		return 4
	case CRC64NVME, XXHASH64, XXHASH3:
		return 8
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	case MD5:
		return md5.Size
	case SHA512:
		return sha512.Size
	case XXHASH128:
		return 16
	}
	return 0
}

// Composite reports whether a multipart object may carry a's COMPOSITE
// checksum (a checksum of the part checksums): every algorithm except
// CRC64NVME, which AWS defines as full-object only.
func (a Algorithm) Composite() bool { return a.valid() && a != CRC64NVME }

// FullObject reports whether a multipart object may carry a's FULL_OBJECT
// checksum: only the CRCs, which combine from the parts' values and sizes.
func (a Algorithm) FullObject() bool {
	_, ok := crcParams(a)
	return ok
}

// New returns a fresh hash for a whose Sum is the big-endian digest S3
// uses; nil for None or an unknown value.
func (a Algorithm) New() hash.Hash {
	switch a {
	case CRC32:
		return crc32.NewIEEE()
	case CRC32C:
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case CRC64NVME:
		return crc64nvme.New()
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	case MD5:
		return md5.New()
	case SHA512:
		return sha512.New()
	case XXHASH64:
		// Digest.Sum and xxh3's Sum append the value big-endian: the
		// canonical byte order of the xxHash spec, which S3 uses.
		return xxhash.New()
	case XXHASH3:
		return xxh3.New()
	case XXHASH128:
		return xxh3.New128()
	}
	return nil
}

func (a Algorithm) valid() bool { return a > None && a < numAlgorithms }

// decode checks that v is standard base64 of a's digest size and returns
// the raw digest.
func (a Algorithm) decode(v string) ([]byte, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || len(raw) != a.Size() {
		return nil, &AlgorithmError{Err: ErrInvalidChecksum, Algorithm: a,
			Detail: fmt.Sprintf("value %q is not base64 of %d bytes", truncate(v), a.Size())}
	}
	return raw, nil
}

// Validate reports whether v is a well-formed value for a (standard base64
// of the digest size), wrapping ErrInvalidChecksum if not.
func (a Algorithm) Validate(v string) error {
	if !a.valid() {
		return fmt.Errorf("%w: %v", ErrUnknownAlgorithm, a)
	}
	_, err := a.decode(v)
	return err
}

// Expect is the checksum a request declared.
type Expect struct {
	// Algorithm is None when the request declared no checksum.
	Algorithm Algorithm
	// Value is the base64 value sent as a header; "" if it comes in a
	// trailer.
	Value string
	// Trailer is true when x-amz-trailer promises the value as a trailer.
	Trailer bool
}

// FromHeaders finds what the client declared: the single x-amz-checksum-<alg>
// header with its value, x-amz-sdk-checksum-algorithm, and x-amz-trailer
// naming a checksum trailer. It errors for two different checksum headers or
// trailers (ErrMultipleChecksums), an x-amz-sdk-checksum-algorithm with no
// header or trailer carrying the value (ErrNoChecksumValue) or naming
// another algorithm than they do (ErrSDKAlgorithmMismatch), an unknown
// algorithm (ErrUnknownAlgorithm) or a value that is not valid base64 of
// the right length (ErrInvalidChecksum, as an *AlgorithmError).
// Header names match case-insensitively, so a map with lower-case keys (as
// sigv4.Body.Trailers returns) works too. Other x-amz-checksum-* headers
// (-type, -mode, -algorithm) are not checksums and are ignored.
func FromHeaders(h http.Header) (Expect, error) {
	var e Expect
	var sdk, trailer Algorithm
	for name, vals := range h {
		if len(vals) == 0 {
			continue
		}
		lname := strings.ToLower(name)
		switch {
		case lname == "x-amz-sdk-checksum-algorithm":
			if len(vals) != 1 {
				return Expect{}, fmt.Errorf("%w: x-amz-sdk-checksum-algorithm given %d times", ErrMultipleChecksums, len(vals))
			}
			a, err := ParseAlgorithm(strings.TrimSpace(vals[0]))
			if err != nil {
				return Expect{}, err
			}
			sdk = a
		case lname == "x-amz-trailer":
			for _, v := range vals {
				for n := range strings.SplitSeq(v, ",") {
					a, err := checksumHeader(strings.ToLower(strings.TrimSpace(n)))
					if err != nil {
						return Expect{}, err
					}
					if a == None {
						continue
					}
					if trailer != None {
						return Expect{}, fmt.Errorf("%w: x-amz-trailer names %s and %s", ErrMultipleChecksums, trailer, a)
					}
					trailer = a
				}
			}
		default:
			a, err := checksumHeader(lname)
			if err != nil || a == None {
				// An unknown x-amz-checksum-foo header is left alone: S3
				// adds headers of that prefix that are not checksums.
				continue
			}
			if e.Algorithm != None {
				return Expect{}, fmt.Errorf("%w: %s and %s", ErrMultipleChecksums, e.Algorithm.Header(), a.Header())
			}
			if len(vals) != 1 {
				return Expect{}, fmt.Errorf("%w: %s given %d times", ErrMultipleChecksums, a.Header(), len(vals))
			}
			if _, err := a.decode(vals[0]); err != nil {
				return Expect{}, err
			}
			e.Algorithm, e.Value = a, vals[0]
		}
	}
	switch {
	case trailer != None && e.Algorithm != None:
		return Expect{}, fmt.Errorf("%w: %s as header and %s as trailer", ErrMultipleChecksums, e.Algorithm, trailer)
	case trailer != None:
		e.Algorithm, e.Trailer = trailer, true
	}
	switch {
	case sdk == None:
	case e.Algorithm == None:
		// AWS refuses the SDK header alone rather than computing the
		// checksum: the client meant to send one, and it got lost.
		return Expect{}, fmt.Errorf("%w: %s", ErrNoChecksumValue, sdk)
	case e.Algorithm != sdk:
		return Expect{}, fmt.Errorf("%w: x-amz-sdk-checksum-algorithm %s with a %s checksum", ErrSDKAlgorithmMismatch, sdk, e.Algorithm)
	}
	return e, nil
}

// checksumHeader maps "x-amz-checksum-<alg>" to its algorithm. Names
// without that prefix, and the prefix's non-checksum headers, give None; a
// prefixed unknown algorithm gives ErrUnknownAlgorithm.
func checksumHeader(lname string) (Algorithm, error) {
	suffix, ok := strings.CutPrefix(lname, "x-amz-checksum-")
	if !ok {
		return None, nil
	}
	switch suffix {
	case "type", "mode", "algorithm":
		return None, nil
	}
	a, err := ParseAlgorithm(suffix)
	if err == nil && a == None {
		err = fmt.Errorf("%w: empty name", ErrUnknownAlgorithm)
	}
	return a, err
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
