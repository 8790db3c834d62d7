package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// bodyMode says how Body turns r.Body into payload bytes.
type bodyMode uint8

const (
	modeRaw     bodyMode = iota // UNSIGNED-PAYLOAD: r.Body as is
	modeSHA256                  // hex SHA-256: r.Body, hash checked at EOF
	modeChunked                 // STREAMING-*: aws-chunked decoder
)

// Body is the payload of an authenticated request, as the handler must read
// it. It is not safe for concurrent use.
type Body struct {
	mode    bodyMode
	src     io.Reader
	chunked *chunkedReader
	decoded int64

	sha  hash.Hash
	want [32]byte
	sum  [32]byte
	err  error // sticky: io.EOF or the failure, once reached
}

// Body returns the reader the handler must use for r's payload, according to
// a.PayloadHash:
//   - hex SHA-256: streams r.Body, verifying the hash at EOF
//     (ErrContentSHA256Mismatch from Read at EOF);
//   - UNSIGNED-PAYLOAD: r.Body as is;
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: decodes aws-chunked, verifying every
//     chunk signature (chained from the seed signature); a bad signature
//     surfaces as ErrSignatureDoesNotMatch from Read before any byte of that
//     chunk is returned;
//   - STREAMING-UNSIGNED-PAYLOAD-TRAILER: decodes aws-chunked without
//     signatures, then reads trailers;
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: signed chunks, then
//     trailers with x-amz-trailer-signature verified.
//
// The decoded length must equal x-amz-decoded-content-length when that
// header is present (ErrMalformedChunk as soon as the body holds more,
// ErrIncompleteBody when it ends with less). Trailers declared in
// x-amz-trailer must arrive; undeclared ones are refused (ErrMalformedChunk).
//
// A nil a stands for an anonymous request: its x-amz-content-sha256 header
// decides, and the signed streaming modes are refused with ErrMissingAuth.
// Call Body once per request; the handler must not read r.Body itself.
func (a *Auth) Body(r *http.Request) (*Body, error) {
	if r == nil {
		return nil, errors.New("sigv4: body: nil request")
	}
	src := r.Body
	if src == nil {
		src = http.NoBody
	}
	mode := UnsignedPayload
	switch {
	case a != nil:
		mode = a.PayloadHash
	case r.Header.Get("X-Amz-Content-Sha256") != "":
		mode = r.Header.Get("X-Amz-Content-Sha256")
		if err := checkPayloadHash(mode, false); err != nil {
			return nil, err
		}
		if mode == StreamingPayload || mode == StreamingPayloadTrailer {
			return nil, wrapf(ErrMissingAuth, "%s without a signature", mode)
		}
	}
	decoded := r.ContentLength
	if decoded < 0 {
		decoded = -1
	}
	switch mode {
	case UnsignedPayload:
		return &Body{mode: modeRaw, src: src, decoded: decoded}, nil
	case StreamingPayload, StreamingUnsignedTrailer, StreamingPayloadTrailer:
		return a.chunkedBody(r, src, mode)
	}
	b := &Body{mode: modeSHA256, src: src, decoded: decoded, sha: sha256.New()}
	if len(mode) != 64 {
		return nil, wrapf(ErrInvalidContentSHA256, "%q", truncate(mode))
	}
	if _, err := hex.Decode(b.want[:], []byte(mode)); err != nil {
		return nil, wrapf(ErrInvalidContentSHA256, "%q", truncate(mode))
	}
	return b, nil
}

func (a *Auth) chunkedBody(r *http.Request, src io.Reader, mode string) (*Body, error) {
	decoded := int64(-1)
	if v, ok := r.Header["X-Amz-Decoded-Content-Length"]; ok {
		if len(v) != 1 {
			return nil, wrapf(ErrMalformedChunk, "x-amz-decoded-content-length given %d times", len(v))
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v[0]), 10, 64)
		if err != nil || n < 0 {
			return nil, wrapf(ErrMalformedChunk, "invalid x-amz-decoded-content-length")
		}
		decoded = n
	}
	declared, err := declaredTrailers(r.Header)
	if err != nil {
		return nil, err
	}
	trailers := mode != StreamingPayload
	if !trailers && len(declared) > 0 {
		return nil, wrapf(ErrMalformedChunk, "x-amz-trailer with %s, which has no trailers", mode)
	}
	c := &chunkedReader{
		src:      newLineReader(src),
		signed:   mode != StreamingUnsignedTrailer,
		trailers: trailers,
		expect:   decoded,
		declared: declared,
	}
	if c.signed {
		c.mac = hmac.New(sha256.New, a.key[:])
		c.sha = sha256.New()
		hex.Encode(c.prev[:], a.seed[:])
		c.payloadPrefix = []byte("AWS4-HMAC-SHA256-PAYLOAD\n" + a.amzDate + "\n" + a.scope + "\n")
		c.trailerPrefix = []byte("AWS4-HMAC-SHA256-TRAILER\n" + a.amzDate + "\n" + a.scope + "\n")
		c.emptyHash = []byte("\n" + emptySHA256 + "\n")
	}
	return &Body{mode: modeChunked, chunked: c, decoded: decoded}, nil
}

// maxDeclaredTrailers bounds x-amz-trailer; S3 sends one checksum.
const maxDeclaredTrailers = 8

// declaredTrailers reads x-amz-trailer: comma-separated names, possibly in
// several header lines (minio-go adds one line per trailer), lower-cased.
func declaredTrailers(h http.Header) ([]string, error) {
	var names []string
	for _, v := range h.Values("X-Amz-Trailer") {
		for n := range strings.SplitSeq(v, ",") {
			n = strings.ToLower(strings.TrimSpace(n))
			switch {
			case n == "":
				continue
			case n == trailerSignature:
				return nil, wrapf(ErrMalformedChunk, "x-amz-trailer declares %s", trailerSignature)
			case !validTrailerName(n):
				return nil, wrapf(ErrMalformedChunk, "x-amz-trailer names %q", truncate(n))
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
			// Checked as the names come, so the duplicate scan above
			// stays over a handful of names.
			if len(names) > maxDeclaredTrailers {
				return nil, wrapf(ErrMalformedChunk, "x-amz-trailer declares more than %d trailers", maxDeclaredTrailers)
			}
		}
	}
	return names, nil
}

func validTrailerName(n string) bool {
	for i := 0; i < len(n); i++ {
		if !isLowerToken(n[i]) {
			return false
		}
	}
	return n != ""
}

// Read reads decoded payload bytes. Errors other than io.EOF mean the
// payload must be discarded, including bytes returned earlier; they are
// sticky except in the UNSIGNED-PAYLOAD mode, which is r.Body itself.
// Errors of r.Body pass through (wrapped: errors.Is and errors.As match).
func (b *Body) Read(p []byte) (int, error) {
	switch b.mode {
	case modeChunked:
		return b.chunked.Read(p)
	case modeRaw:
		return b.src.Read(p)
	}
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.src.Read(p)
	b.sha.Write(p[:n])
	switch {
	case err == io.EOF:
		b.err = io.EOF
		if !hmac.Equal(b.sha.Sum(b.sum[:0]), b.want[:]) {
			b.err = ErrContentSHA256Mismatch
		}
		// The last bytes go out without the verdict; it follows on the next
		// Read, as for any reader that reports io.EOF separately.
		if n > 0 {
			return n, nil
		}
		return 0, b.err
	case err != nil:
		b.err = fmt.Errorf("sigv4: read body: %w", err)
		if n > 0 {
			return n, nil
		}
		return 0, b.err
	}
	return n, nil
}

// Trailers returns the trailing headers (lower-case names, e.g.
// "x-amz-checksum-crc32") once Read returned io.EOF; nil before, and nil for
// requests without trailers. The names are not canonicalized, so look them
// up by indexing with the lower-case name (h["x-amz-checksum-crc32"]), not
// with Header.Get; checksum.FromHeaders accepts the map as is.
func (b *Body) Trailers() http.Header {
	if b.mode != modeChunked || !b.chunked.done {
		return nil
	}
	return b.chunked.got
}

// DecodedLength returns the payload length if known in advance
// (Content-Length, or x-amz-decoded-content-length for aws-chunked), else -1.
func (b *Body) DecodedLength() int64 { return b.decoded }

// ContentEncoding returns the Content-Encoding to store with an object
// uploaded with header h: the header's tokens without "aws-chunked", which
// only describes how the body travelled. "" when nothing else remains.
func ContentEncoding(h http.Header) string {
	var keep []string
	for _, v := range h.Values("Content-Encoding") {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok != "" && !strings.EqualFold(tok, "aws-chunked") {
				keep = append(keep, tok)
			}
		}
	}
	return strings.Join(keep, ",")
}
