package checksum

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
)

// Reader hashes what passes through it: always MD5 (for the ETag) plus the
// requested algorithms, in one pass and without copying: each Read hands
// the caller's buffer to every hash. It is not safe for concurrent use.
type Reader struct {
	src    io.Reader
	md5    hash.Hash
	hashes [numAlgorithms]hash.Hash // indexed by Algorithm; nil = not requested
	list   []hash.Hash              // the non-nil entries, for the hot loop
	size   int64
}

// NewReader returns a Reader over r computing MD5 and algs (None and
// duplicates are ignored).
func NewReader(r io.Reader, algs ...Algorithm) *Reader {
	cr := &Reader{src: r, md5: md5.New()}
	for _, a := range algs {
		switch {
		case !a.valid() || cr.hashes[a] != nil:
		case a == MD5:
			// The ETag's MD5 is the MD5 checksum: hash the body once.
			cr.hashes[a] = cr.md5
		default:
			cr.hashes[a] = a.New()
			cr.list = append(cr.list, cr.hashes[a])
		}
	}
	return cr
}

// Read reads from the underlying reader and hashes what it returns.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.src.Read(p)
	if n > 0 {
		b := p[:n]
		r.md5.Write(b)
		for _, h := range r.list {
			h.Write(b)
		}
		r.size += int64(n)
	}
	return n, err
}

// Size returns the number of bytes read so far.
func (r *Reader) Size() int64 { return r.size }

// MD5 returns the MD5 digest of the bytes read so far: the object's ETag
// once Read has returned io.EOF.
func (r *Reader) MD5() []byte { return r.md5.Sum(nil) }

// Sum returns the base64 digest for a of the bytes read so far (valid as
// the object's checksum once Read has returned io.EOF); "" if a was not
// requested.
func (r *Reader) Sum(a Algorithm) string {
	if !a.valid() || r.hashes[a] == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(r.hashes[a].Sum(nil))
}

// Check compares the digest for a with want (base64, as sent by the
// client): ErrInvalidChecksum if want is malformed or a was not requested,
// ErrBadDigest if it differs (both as an *AlgorithmError naming a, but for
// an a not requested). Call it after io.EOF.
func (r *Reader) Check(a Algorithm, want string) error {
	raw, err := a.decode(want)
	if err != nil {
		return err
	}
	if !a.valid() || r.hashes[a] == nil {
		return fmt.Errorf("%w: %v was not computed", ErrInvalidChecksum, a)
	}
	if subtle.ConstantTimeCompare(r.hashes[a].Sum(nil), raw) != 1 {
		return &AlgorithmError{Err: ErrBadDigest, Algorithm: a}
	}
	return nil
}

// CheckMD5 compares the MD5 with a Content-MD5 header value (base64 of 16
// bytes): ErrInvalidChecksum if malformed, ErrBadDigest if it differs.
func (r *Reader) CheckMD5(contentMD5 string) error {
	raw, err := base64.StdEncoding.Strict().DecodeString(contentMD5)
	if err != nil || len(raw) != md5.Size {
		return fmt.Errorf("%w: Content-MD5 is not base64 of 16 bytes", ErrInvalidChecksum)
	}
	if subtle.ConstantTimeCompare(r.md5.Sum(nil), raw) != 1 {
		return fmt.Errorf("%w: Content-MD5", ErrBadDigest)
	}
	return nil
}
