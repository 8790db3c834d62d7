package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"testing"
	"time"
)

// pattern returns n deterministic plaintext bytes: byte i of every stream
// of the tests is the same function of i, whatever the stream's size.
func pattern(n int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>8 + i>>16)
	}
	return b
}

// fixedKey is the key of golden vectors and fuzz targets: bytes 0..31.
func fixedKey(t testing.TB, c Cipher) ObjectKey {
	t.Helper()
	b := make([]byte, KeySize)
	for i := range b {
		b[i] = byte(i)
	}
	k, err := MakeObjectKey(b, c)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomKey(t testing.TB, rng *rand.Rand, c Cipher) ObjectKey {
	t.Helper()
	k, err := newObjectKey(rng, c)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var ciphers = []Cipher{AES256GCM, ChaCha20Poly1305}

// newRand returns a seeded generator and logs the seed so a failure can be
// replayed.
func newRand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewSource(seed))
}

// encrypt returns the ciphertext of plain, read with buffers of readSize
// bytes (0: io.ReadAll's choice).
func encrypt(t testing.TB, key ObjectKey, part int, plain []byte, readSize int) []byte {
	t.Helper()
	r, err := EncryptReader(bytes.NewReader(plain), key, part)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 0, CiphertextSize(int64(len(plain))))
	if readSize <= 0 {
		var b bytes.Buffer
		b.Grow(cap(out))
		_, err = b.ReadFrom(r)
		out = b.Bytes()
	} else {
		buf := make([]byte, readSize)
		for {
			n, rerr := r.Read(buf)
			out = append(out, buf[:n]...)
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				err = rerr
				break
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if want := CiphertextSize(int64(len(plain))); int64(len(out)) != want {
		t.Fatalf("ciphertext of %d bytes is %d bytes, CiphertextSize says %d", len(plain), len(out), want)
	}
	return out
}

// decrypt feeds ct to a DecryptWriter for span in chunks of chunk bytes (0:
// all at once) and returns what reached the writer and the first error of
// Write or Close. It does the same through NewDecryptPipeline and fails
// (with an error that wraps no sentinel, so callers' checks notice) unless
// both wrote the same bytes and failed or succeeded alike.
func decrypt(key ObjectKey, part int, span Span, ct []byte, chunk int) ([]byte, error) {
	got, err := decryptWith(DecryptWriter, key, part, span, ct, chunk)
	piped, perr := decryptWith(pipelined, key, part, span, ct, chunk)
	switch {
	case !bytes.Equal(got, piped):
		return got, fmt.Errorf("DecryptWriter wrote %d bytes, NewDecryptPipeline %d different ones", len(got), len(piped))
	case (err == nil) != (perr == nil) || errors.Is(err, ErrAuthentication) != errors.Is(perr, ErrAuthentication):
		return got, fmt.Errorf("DecryptWriter: %v; NewDecryptPipeline: %v", err, perr)
	}
	return got, err
}

// pipelined opens the one stream of a new DecryptPipeline; its Close
// closes both.
func pipelined(w io.Writer, key ObjectKey, part int, span Span) (io.WriteCloser, error) {
	p := NewDecryptPipeline(w)
	dw, err := p.DecryptWriter(key, part, span)
	if err != nil {
		p.Close()
		return nil, err
	}
	return &pipeStream{dw, p}, nil
}

type pipeStream struct {
	io.WriteCloser
	p *DecryptPipeline
}

func (s *pipeStream) Close() error {
	err := s.WriteCloser.Close()
	if perr := s.p.Close(); err == nil {
		err = perr
	}
	return err
}

func decryptWith(open func(io.Writer, ObjectKey, int, Span) (io.WriteCloser, error), key ObjectKey, part int, span Span, ct []byte, chunk int) ([]byte, error) {
	var out bytes.Buffer
	w, err := open(&out, key, part, span)
	if err != nil {
		return nil, err
	}
	if chunk <= 0 {
		chunk = len(ct) + 1
	}
	for len(ct) > 0 {
		n := min(chunk, len(ct))
		m, err := w.Write(ct[:n])
		if err != nil {
			cerr := w.Close() // a pipeline's goroutine must be stopped before out is read
			if m >= n {
				return out.Bytes(), errors.New("Write returned an error with a full count")
			}
			if !errors.Is(cerr, err) && cerr != err {
				return out.Bytes(), fmt.Errorf("Close after a failed Write: %v, want %v", cerr, err)
			}
			return out.Bytes(), err
		}
		if m != n {
			w.Close()
			return out.Bytes(), errors.New("short Write without an error")
		}
		ct = ct[n:]
	}
	err = w.Close() // before out is read: a pipeline may still be writing
	return out.Bytes(), err
}

// decryptRange reads plaintext [off, off+n) of the stream whose whole
// ciphertext is ct, as a GET would: Range, then only the span's bytes.
func decryptRange(t testing.TB, key ObjectKey, part int, ct []byte, size, off, n int64, chunk int) ([]byte, error) {
	t.Helper()
	s, err := Range(off, n, size)
	if err != nil {
		t.Fatal(err)
	}
	end := min(s.CipherOffset+s.CipherLength, int64(len(ct)))
	start := min(s.CipherOffset, end)
	return decrypt(key, part, s, ct[start:end], chunk)
}

// randomBytes returns n random bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	rng.Read(b)
	return b
}
