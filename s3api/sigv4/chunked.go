package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"strings"
)

// MaxChunkSize is the largest aws-chunked chunk accepted. Signed chunks are
// buffered whole before their signature is checked, so this bounds the
// memory of one upload. SDKs send 64 KiB to 1 MiB; 16 MiB leaves room for
// any client seen in practice while refusing absurd sizes (up to 2^64)
// before anything is allocated for them.
const MaxChunkSize = 16 << 20

const (
	// lineBufSize is the bufio buffer and thus the longest chunk header or
	// trailer line: "10000;chunk-signature=<64 hex>" is 86 bytes.
	lineBufSize = 4096
	// maxTrailerLines bounds the trailer section, blank lines included.
	maxTrailerLines = 32
	// maxTrailingCRLF is how many stray CR/LF bytes may follow the final
	// section (minio-go writes one CRLF more than the grammar has).
	maxTrailingCRLF = 8
	// firstBuf is the first buffer for signed chunks; it doubles up to the
	// chunk size as data arrives, so a header announcing a large chunk costs
	// nothing until its bytes are actually sent.
	firstBuf = 64 << 10

	trailerSignature = "x-amz-trailer-signature"
)

// chunkedReader decodes an aws-chunked body (see the package documentation
// for the format).
type chunkedReader struct {
	src      *bufio.Reader
	signed   bool // chunks carry chunk-signature
	trailers bool // a trailer section follows the final chunk

	// Chain state of the signed modes. prev is the hex of the previous
	// signature, starting with the seed. The prefixes are built once so
	// that a chunk costs no allocation.
	mac, sha      hash.Hash
	prev          [64]byte
	payloadPrefix []byte // "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n"
	trailerPrefix []byte // "AWS4-HMAC-SHA256-TRAILER\n" date "\n" scope "\n"
	emptyHash     []byte // "\n" hex(SHA256("")) "\n"
	sum           [32]byte
	hx            [64]byte

	buf      []byte // signed mode: the verified chunk being returned
	off, end int
	left     int64 // unsigned mode: bytes of the current chunk not yet returned
	needCRLF bool  // unsigned mode: the CRLF after the current chunk is unread
	chunks   int

	decoded  int64 // payload bytes announced by chunk headers so far
	expect   int64 // x-amz-decoded-content-length, or -1
	declared []string
	got      http.Header
	done     bool
	err      error
}

// newLineReader wraps the request body; chunk data larger than the buffer
// is read straight into the caller's or the chunk buffer.
func newLineReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, lineBufSize) }

func (c *chunkedReader) Read(p []byte) (int, error) {
	for {
		if c.off < c.end {
			n := copy(p, c.buf[c.off:c.end])
			c.off += n
			return n, nil
		}
		if c.err != nil {
			return 0, c.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		if c.left > 0 {
			return c.readUnsigned(p)
		}
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			c.err = err
			return 0, err
		}
	}
}

// readUnsigned streams the current unsigned chunk straight into p.
func (c *chunkedReader) readUnsigned(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.src.Read(p)
	c.left -= int64(n)
	if err != nil && (err != io.EOF || c.left > 0) {
		c.err = c.readErr(err, "chunk data")
		if n == 0 {
			return 0, c.err
		}
	}
	return n, nil
}

// readErr turns an error of the underlying body into this package's: io.EOF
// inside the framing means the body is incomplete.
func (c *chunkedReader) readErr(err error, where string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return wrapf(ErrIncompleteBody, "body ends in %s after %d chunks", where, c.chunks)
	}
	return fmt.Errorf("sigv4: read body: %w", err)
}

// next parses the next chunk header and, for a signed chunk, reads and
// verifies the whole chunk. The final chunk triggers the trailer section.
func (c *chunkedReader) next() error {
	if c.needCRLF {
		if err := c.readCRLF(); err != nil {
			return err
		}
		c.needCRLF = false
	}
	line, err := c.readLine()
	if err != nil {
		return c.readErr(err, "chunk header")
	}
	size, sig, err := c.parseHeader(line)
	if err != nil {
		return err
	}
	c.chunks++
	if c.expect >= 0 && c.decoded+size > c.expect {
		return wrapf(ErrMalformedChunk, "body holds more than x-amz-decoded-content-length %d", c.expect)
	}
	if size == 0 {
		return c.finish(sig)
	}
	c.decoded += size
	if !c.signed {
		c.left, c.needCRLF = size, true
		return nil
	}
	if err := c.fill(int(size)); err != nil {
		return err
	}
	if err := c.readCRLF(); err != nil {
		return err
	}
	c.sha.Reset()
	c.sha.Write(c.buf[:size])
	if err := c.verifyChunk(c.sha.Sum(c.sum[:0]), sig); err != nil {
		return err
	}
	c.off, c.end = 0, int(size)
	return nil
}

// readLine returns the next line without its LF or CRLF. The slice is only
// valid until the next read. io.EOF means no byte was left.
func (c *chunkedReader) readLine() ([]byte, error) {
	line, err := c.src.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, wrapf(ErrMalformedChunk, "line longer than %d bytes", lineBufSize)
	case err == io.EOF && len(line) > 0:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readCRLF consumes the line end after chunk data: CRLF, or a bare LF.
func (c *chunkedReader) readCRLF() error {
	b, err := c.src.ReadByte()
	if err == nil && b == '\r' {
		b, err = c.src.ReadByte()
	}
	if err != nil {
		return c.readErr(err, "chunk data")
	}
	if b != '\n' {
		return wrapf(ErrMalformedChunk, "chunk %d is longer than its size", c.chunks)
	}
	return nil
}

// parseHeader parses "hex-size[;chunk-signature=sig][;other-ext]".
func (c *chunkedReader) parseHeader(line []byte) (int64, [32]byte, error) {
	var sig [32]byte
	sizeText, exts, _ := bytes.Cut(line, []byte{';'})
	if len(sizeText) == 0 || len(sizeText) > 16 {
		return 0, sig, wrapf(ErrMalformedChunk, "bad chunk size %q", truncate(string(sizeText)))
	}
	var size int64
	for _, d := range sizeText {
		v := unhex(d)
		if v < 0 {
			return 0, sig, wrapf(ErrMalformedChunk, "bad chunk size %q", truncate(string(sizeText)))
		}
		size = size<<4 | int64(v)
		if size > MaxChunkSize {
			return 0, sig, wrapf(ErrMalformedChunk, "chunk size exceeds %d bytes", MaxChunkSize)
		}
	}
	haveSig := false
	for len(exts) > 0 {
		var ext []byte
		ext, exts, _ = bytes.Cut(exts, []byte{';'})
		k, v, _ := bytes.Cut(bytes.TrimSpace(ext), []byte{'='})
		if string(k) != "chunk-signature" || !c.signed {
			continue // unknown extensions are ignored, as HTTP says
		}
		if haveSig || len(v) != 64 {
			return 0, sig, wrapf(ErrMalformedChunk, "bad chunk-signature in chunk %d", c.chunks+1)
		}
		if _, err := hex.Decode(sig[:], v); err != nil {
			return 0, sig, wrapf(ErrMalformedChunk, "bad chunk-signature in chunk %d", c.chunks+1)
		}
		haveSig = true
	}
	if c.signed && !haveSig {
		return 0, sig, wrapf(ErrMalformedChunk, "chunk %d has no chunk-signature", c.chunks+1)
	}
	return size, sig, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// fill reads exactly n bytes into c.buf, growing it as the bytes arrive.
func (c *chunkedReader) fill(n int) error {
	c.off, c.end = 0, 0
	if cap(c.buf) < min(n, firstBuf) {
		c.buf = make([]byte, min(n, firstBuf))
	}
	c.buf = c.buf[:cap(c.buf)]
	got := 0
	for got < n {
		if got == len(c.buf) {
			grown := make([]byte, min(2*len(c.buf), n))
			copy(grown, c.buf[:got])
			c.buf = grown
		}
		m, err := c.src.Read(c.buf[got:min(len(c.buf), n)])
		got += m
		if err != nil && got < n {
			return c.readErr(err, "chunk data")
		}
	}
	return nil
}

// verifyChunk checks a chunk signature and advances the chain.
func (c *chunkedReader) verifyChunk(dataHash []byte, sig [32]byte) error {
	hex.Encode(c.hx[:], dataHash)
	c.mac.Reset()
	c.mac.Write(c.payloadPrefix)
	c.mac.Write(c.prev[:])
	c.mac.Write(c.emptyHash)
	c.mac.Write(c.hx[:])
	if !hmac.Equal(c.mac.Sum(c.sum[:0]), sig[:]) {
		return wrapf(ErrSignatureDoesNotMatch, "chunk %d", c.chunks)
	}
	hex.Encode(c.prev[:], sig[:])
	return nil
}

// finish handles the final (zero-size) chunk: its signature, the declared
// length, the trailer section and the end of the body.
func (c *chunkedReader) finish(sig [32]byte) error {
	if c.signed {
		c.sha.Reset()
		if err := c.verifyChunk(c.sha.Sum(c.sum[:0]), sig); err != nil {
			return err
		}
	}
	if c.expect >= 0 && c.decoded != c.expect {
		return wrapf(ErrIncompleteBody, "body holds %d bytes, x-amz-decoded-content-length says %d", c.decoded, c.expect)
	}
	if c.trailers {
		if err := c.readTrailers(); err != nil {
			return err
		}
	} else {
		line, err := c.readLine()
		switch {
		case err == io.EOF:
			// The closing CRLF is missing; nothing is lost.
		case err != nil:
			return c.readErr(err, "final chunk")
		case len(line) != 0:
			return wrapf(ErrMalformedChunk, "data after the final chunk")
		}
	}
	if err := c.drain(); err != nil {
		return err
	}
	c.done = true
	return nil
}

// readTrailers reads "name:value" lines up to the blank line that ends the
// section, checking them against x-amz-trailer and, in the signed-trailer
// mode, against x-amz-trailer-signature.
func (c *chunkedReader) readTrailers() error {
	got := http.Header{}
	var trailerSig [32]byte
	haveSig := false
	if c.signed {
		c.sha.Reset()
	}
	for lines := 0; ; lines++ {
		if lines == maxTrailerLines {
			return wrapf(ErrMalformedChunk, "more than %d trailer lines", maxTrailerLines)
		}
		line, err := c.readLine()
		if err == io.EOF {
			// A missing closing blank line is tolerated once everything
			// expected has arrived.
			if len(got) == len(c.declared) && (haveSig || !c.signed) {
				break
			}
			return wrapf(ErrIncompleteBody, "body ends in the trailers")
		}
		if err != nil {
			return c.readErr(err, "trailers")
		}
		if len(line) == 0 {
			// minio-go puts a blank line between the trailers and the
			// trailer signature; other clients one before the trailers.
			if (c.signed && !haveSig) || (!c.signed && len(got) < len(c.declared)) {
				continue
			}
			break
		}
		if haveSig {
			return wrapf(ErrMalformedChunk, "trailer after %s", trailerSignature)
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return wrapf(ErrMalformedChunk, "trailer line without ':'")
		}
		lname := strings.ToLower(string(bytes.TrimSpace(name)))
		if lname == trailerSignature {
			if !c.signed {
				return wrapf(ErrMalformedChunk, "%s in an unsigned body", trailerSignature)
			}
			v := bytes.TrimSpace(value)
			if len(v) != 64 {
				return wrapf(ErrMalformedChunk, "bad %s", trailerSignature)
			}
			if _, err := hex.Decode(trailerSig[:], v); err != nil {
				return wrapf(ErrMalformedChunk, "bad %s", trailerSignature)
			}
			haveSig = true
			continue
		}
		if !slices.Contains(c.declared, lname) {
			return wrapf(ErrMalformedChunk, "trailer %q was not declared in x-amz-trailer", truncate(lname))
		}
		if _, dup := got[lname]; dup {
			return wrapf(ErrMalformedChunk, "trailer %q sent twice", lname)
		}
		// The trailer signature covers each line as sent, newline-terminated.
		if c.signed {
			c.sha.Write(line)
			c.sha.Write([]byte{'\n'})
		}
		got[lname] = []string{string(bytes.Trim(value, " \t"))}
	}
	for _, d := range c.declared {
		if _, ok := got[d]; !ok {
			return wrapf(ErrMalformedChunk, "declared trailer %q did not arrive", d)
		}
	}
	if c.signed {
		if !haveSig {
			return wrapf(ErrSignatureDoesNotMatch, "missing %s", trailerSignature)
		}
		hex.Encode(c.hx[:], c.sha.Sum(c.sum[:0]))
		c.mac.Reset()
		c.mac.Write(c.trailerPrefix)
		c.mac.Write(c.prev[:])
		c.mac.Write([]byte{'\n'})
		c.mac.Write(c.hx[:])
		if !hmac.Equal(c.mac.Sum(c.sum[:0]), trailerSig[:]) {
			return wrapf(ErrSignatureDoesNotMatch, "trailer signature")
		}
	}
	c.got = got
	return nil
}

// drain reads to the end of the body, which may only hold a few stray line
// ends: anything else after the final section is refused rather than
// silently dropped.
func (c *chunkedReader) drain() error {
	for i := 0; ; i++ {
		b, err := c.src.ReadByte()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return c.readErr(err, "end of body")
		}
		if (b != '\r' && b != '\n') || i >= maxTrailingCRLF {
			return wrapf(ErrMalformedChunk, "data after the final chunk")
		}
	}
}
