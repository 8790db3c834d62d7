package bench

import (
	"crypto/cipher"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"

	"github.com/zeebo/xxh3"

	"github.com/objstore/objstore/s3api/checksum"
)

// stages returns the single stages, in the order of the report.
func (f *fixture) stages() []stage {
	cfg := f.cfg
	k, m := cfg.DataShards, cfg.ParityShards
	geo := fmt.Sprintf("%d+%d", k, m)
	obj := int64(len(f.input))
	src := f.input[:min(1<<20, len(f.input))]
	dst := make([]byte, len(src))
	shard := f.input[:min((cfg.BlockSize+k-1)/k, len(f.input))]
	healthy, lost := readers(f.shards, 0), readers(f.shards, m)
	var sink uint64
	sum := make([]byte, 0, 64)
	hashStage := func(id, name, note string, h hash.Hash) stage {
		return stage{id: id, name: name, note: note, bytes: int64(len(src)), op: func() error {
			h.Reset()
			_, _ = h.Write(src)
			sum = h.Sum(sum[:0])
			return nil
		}}
	}
	aead := func(id, name string, a cipher.AEAD, open bool, sealed []byte) stage {
		s := stage{id: id, name: name, bytes: int64(len(f.pkg))}
		if open {
			s.op = func() error {
				var err error
				f.out, err = a.Open(f.out[:0], f.nonce, sealed, nil)
				return err
			}
		} else {
			s.op = func() error {
				f.out = a.Seal(f.out[:0], f.nonce, f.pkg, nil)
				return nil
			}
		}
		return s
	}
	pkg := FormatSize(int64(len(f.pkg)))
	stages := []stage{
		{id: "memcpy", name: "memory copy, " + FormatSize(int64(len(src))), bytes: int64(len(src)),
			op: func() error { copy(dst, src); return nil }},
		{id: "rs-encode", name: "Reed-Solomon encode " + geo + " (raw)", bytes: int64(cfg.BlockSize),
			note: "klauspost/reedsolomon alone on one block's shards, one goroutine",
			op:   func() error { return f.rs.Encode(f.rsShards) }},
		{id: "encode", name: "erasure encode " + geo, bytes: obj,
			note: "erasure.Codec.Encode: block copy, Reed-Solomon, xxh3 of each shard block",
			op: func() error {
				f.inputR.Reset(f.input)
				_, err := f.codec.Encode(f.ctx, f.inputR, f.discard, k+m)
				return err
			}},
		{id: "decode", name: "erasure decode " + geo + ", healthy", bytes: obj,
			note: "erasure.Codec.Decode: reads and verifies the k data shards, no Reed-Solomon",
			op: func() error {
				_, err := f.codec.Decode(f.ctx, io.Discard, healthy, 0, obj, obj)
				return err
			}},
		{id: "decode-lost", name: fmt.Sprintf("erasure decode %s, %d shards lost", geo, m), bytes: obj,
			note: fmt.Sprintf("the first %d data shards missing: verify and reconstruct every block", m),
			op: func() error {
				_, err := f.codec.Decode(f.ctx, io.Discard, lost, 0, obj, obj)
				return err
			}},
		{id: "xxh3", name: "xxh3-64 bitrot hash, " + FormatSize(int64(len(shard))) + " shard blocks", bytes: int64(len(shard)),
			note: "github.com/zeebo/xxh3 called directly: erasure does not export its keyed checksum",
			op:   func() error { sink ^= xxh3.Hash(shard); return nil }},
		aead("aes-seal", "AES-256-GCM seal, "+pkg+" packages", f.gcm, false, nil),
		aead("aes-open", "AES-256-GCM open, "+pkg+" packages", f.gcm, true, f.sealed),
		aead("chacha-seal", "ChaCha20-Poly1305 seal, "+pkg+" packages", f.chacha, false, nil),
		aead("chacha-open", "ChaCha20-Poly1305 open, "+pkg+" packages", f.chacha, true, f.sealedCC),
		hashStage("md5", "MD5 (ETag)", "crypto/md5, one stream", md5.New()),
		hashStage("sha256", "SHA-256", "checksum.SHA256.New(): signed payloads and x-amz-checksum-sha256", checksum.SHA256.New()),
	}
	for _, a := range extraChecksums(cfg.Checksums) {
		stages = append(stages, hashStage(checksumStageID(a), a.String(), "checksum."+a.String()+".New(): x-amz-checksum-"+strings.ToLower(a.String()), a.New()))
	}
	return stages
}

// extraChecksums are the requested checksums that need stages of their
// own: MD5 and SHA-256 always have one.
func extraChecksums(as []checksum.Algorithm) []checksum.Algorithm {
	var out []checksum.Algorithm
	for _, a := range as {
		if a != checksum.MD5 && a != checksum.SHA256 && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// checksumStageID names a checksum's stage row.
func checksumStageID(a checksum.Algorithm) string { return strings.ToLower(a.String()) }

// chain is a chained benchmark and the stage IDs its model adds up.
type chain struct {
	stage
	parts []string
}

// errPlaintext reports a GET chain that produced the wrong bytes.
var errPlaintext = errors.New("bench: pipeline: GET chain produced a different plaintext")

// chains returns the PUT and GET paths, each a chain on one goroutine.
func (f *fixture) chains() []chain {
	cfg := f.cfg
	k, m := cfg.DataShards, cfg.ParityShards
	obj := int64(len(f.input))
	md5h, sha := md5.New(), checksum.SHA256.New()
	sr := newSealReader(nil, f.gcm, cfg.PackageSize, md5h, nil)
	put := func(extra hash.Hash) func() error {
		return func() error {
			f.inputR.Reset(f.input)
			md5h.Reset()
			if extra != nil {
				extra.Reset()
			}
			sr.reset(f.inputR, extra)
			_, err := f.codec.Encode(f.ctx, sr, f.discard, k+m)
			return err
		}
	}
	ow := newOpenWriter(f.gcm, cfg.PackageSize)
	get := func(lost int) func() error {
		rs := readers(f.ctShards, lost)
		return func() error {
			ow.reset()
			if _, err := f.codec.Decode(f.ctx, ow, rs, 0, f.ctSize, f.ctSize); err != nil {
				return err
			}
			if err := ow.flush(); err != nil {
				return err
			}
			if ow.n != obj || ow.check != xxh3.Hash(f.pkg) {
				return errPlaintext
			}
			return nil
		}
	}
	chains := []chain{
		{stage{id: "put", name: "PUT: MD5 + AES-256-GCM seal + erasure encode", bytes: obj, op: put(nil),
			note: "one pass over the body; the encode includes the xxh3 bitrot checksums"},
			[]string{"md5", "aes-seal", "encode"}},
		{stage{id: "put-signed", name: "PUT, signed payload: + SHA-256", bytes: obj, op: put(sha),
			note: "what a client that signs its payload (SigV4 streaming over HTTP) adds"},
			[]string{"md5", "sha256", "aes-seal", "encode"}},
		{stage{id: "get", name: "GET: erasure decode (healthy) + AES-256-GCM open", bytes: obj, op: get(0),
			note: "bitrot verify of the data shards, no Reed-Solomon"},
			[]string{"decode", "aes-open"}},
		{stage{id: "get-lost", name: fmt.Sprintf("GET, %d shards lost: reconstruct + open", m), bytes: obj, op: get(m),
			note: "bitrot verify, Reed-Solomon reconstruction of every block"},
			[]string{"decode-lost", "aes-open"}},
	}
	// A PUT whose client sends a checksum (or, for CRC64NVME, sends none:
	// the server computes that one for every object).
	for _, a := range extraChecksums(cfg.Checksums) {
		id := checksumStageID(a)
		chains = append(chains, chain{stage{id: "put-" + id, name: "PUT + " + a.String() + " checksum", bytes: obj, op: put(a.New()),
			note: "the PUT chain with x-amz-checksum-" + id + " computed in the same pass"},
			[]string{"md5", id, "aes-seal", "encode"}})
	}
	return chains
}

// packageNonce is the nonce of package seq: its sequence number and whether
// it is the last, so packages cannot be reordered or the stream truncated.
// It models the design's package format for cost; it is not that format.
func packageNonce(nonce []byte, seq uint64, final bool) {
	clear(nonce)
	binary.BigEndian.PutUint64(nonce, seq)
	if final {
		nonce[8] = 1
	}
}

// sealReader reads plaintext from src, hashes it (MD5, optionally another
// hash) and returns it sealed in packages, as the PUT path does in one pass.
type sealReader struct {
	src   io.Reader
	sum   hash.Hash
	extra hash.Hash
	aead  cipher.AEAD
	nonce []byte
	pt    []byte
	ct    []byte
	out   []byte // sealed bytes not yet returned
	seq   uint64
	eof   bool
}

func newSealReader(src io.Reader, a cipher.AEAD, pkg int, sum, extra hash.Hash) *sealReader {
	s := &sealReader{aead: a, sum: sum, nonce: make([]byte, a.NonceSize()),
		pt: make([]byte, pkg), ct: make([]byte, 0, pkg+a.Overhead())}
	s.reset(src, extra)
	return s
}

func (s *sealReader) reset(src io.Reader, extra hash.Hash) {
	s.src, s.extra, s.out, s.seq, s.eof = src, extra, nil, 0, false
}

// Read implements io.Reader.
func (s *sealReader) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.eof {
			return 0, io.EOF
		}
		n, err := io.ReadFull(s.src, s.pt)
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			s.eof = true
		default:
			return 0, err
		}
		if n == 0 {
			continue
		}
		_, _ = s.sum.Write(s.pt[:n])
		if s.extra != nil {
			_, _ = s.extra.Write(s.pt[:n])
		}
		packageNonce(s.nonce, s.seq, s.eof)
		s.ct = s.aead.Seal(s.ct[:0], s.nonce, s.pt[:n], nil)
		s.out = s.ct
		s.seq++
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

// openWriter takes the sealed stream as Decode writes it, opens each
// package and drops the plaintext, keeping its length and a hash of the
// first package to check the chain produced the right bytes.
type openWriter struct {
	aead  cipher.AEAD
	nonce []byte
	buf   []byte // a sealed package being collected
	pt    []byte
	seq   uint64
	n     int64
	check uint64
}

func newOpenWriter(a cipher.AEAD, pkg int) *openWriter {
	size := pkg + a.Overhead()
	return &openWriter{aead: a, nonce: make([]byte, a.NonceSize()),
		buf: make([]byte, 0, size), pt: make([]byte, 0, pkg)}
}

func (o *openWriter) reset() { o.buf, o.seq, o.n, o.check = o.buf[:0], 0, 0, 0 }

// Write implements io.Writer.
func (o *openWriter) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		n := copy(o.buf[len(o.buf):cap(o.buf)], p)
		o.buf = o.buf[:len(o.buf)+n]
		p = p[n:]
		if len(o.buf) == cap(o.buf) {
			if err := o.open(false); err != nil {
				return written - len(p), err
			}
		}
	}
	return written, nil
}

// flush opens the last, short package, if any.
func (o *openWriter) flush() error {
	if len(o.buf) == 0 {
		return nil
	}
	return o.open(true)
}

func (o *openWriter) open(final bool) error {
	packageNonce(o.nonce, o.seq, final)
	var err error
	o.pt, err = o.aead.Open(o.pt[:0], o.nonce, o.buf, nil)
	if err != nil {
		return fmt.Errorf("bench: pipeline: open package %d: %w", o.seq, err)
	}
	if o.seq == 0 {
		o.check = xxh3.Hash(o.pt)
	}
	o.n += int64(len(o.pt))
	o.seq++
	o.buf = o.buf[:0]
	return nil
}
