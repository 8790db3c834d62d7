package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
	"testing/iotest"
)

const P = PackageSize

// TestRoundTrip is the property test: for random keys, both ciphers, sizes
// around every package boundary, several part numbers, random read and
// write chunkings and random ranges, what comes out is the input.
func TestRoundTrip(t *testing.T) {
	rng := newRand(t)
	sizes := []int64{0, 1, 17, P - 1, P, P + 1, 2*P - 1, 2 * P, 3*P + 17, 5 * P, int64(rng.Intn(6 * P)), int64(rng.Intn(6 * P))}
	readSizes := []int{1, 7, 4096, packageMax - 1, packageMax, packageMax + 1, 1 << 20, 0}
	chunks := []int{1, 15, 16, 17, 4096, packageMax - 1, packageMax, packageMax + 1, 1 << 20, 0}
	for _, c := range ciphers {
		for _, size := range sizes {
			for _, part := range []int{0, 1, 10000} {
				t.Run(fmt.Sprintf("%v/size%d/part%d", c, size, part), func(t *testing.T) {
					key := randomKey(t, rng, c)
					plain := pattern(size)
					rng.Shuffle(len(plain), func(i, j int) { plain[i], plain[j] = plain[j], plain[i] })
					rs := readSizes[rng.Intn(len(readSizes))]
					if size <= 1024 {
						rs = 1 + rng.Intn(64) // small streams: exercise the buffered path
					}
					ct := encrypt(t, key, part, plain, rs)
					if size > 32 && bytes.Contains(ct, plain[:32]) {
						t.Fatal("ciphertext contains the plaintext")
					}
					ranges := [][2]int64{{0, size}, {0, 0}, {size, 0}}
					if size > 0 {
						ranges = append(ranges, [2]int64{size - 1, 1}, [2]int64{0, 1})
					}
					for _, b := range []int64{P, 2 * P, 3 * P} { // across package boundaries
						if b < size {
							ranges = append(ranges, [2]int64{b - 1, 2}, [2]int64{b, size - b}, [2]int64{0, b}, [2]int64{b - 1, 1})
						}
					}
					for range 20 {
						off := rng.Int63n(size + 1)
						ranges = append(ranges, [2]int64{off, rng.Int63n(size - off + 1)})
					}
					for _, r := range ranges {
						chunk := chunks[rng.Intn(len(chunks))]
						got, err := decryptRange(t, key, part, ct, size, r[0], r[1], chunk)
						if err != nil {
							t.Fatalf("range %d+%d (chunk %d): %v", r[0], r[1], chunk, err)
						}
						if want := plain[r[0] : r[0]+r[1]]; !bytes.Equal(got, want) {
							t.Fatalf("range %d+%d (chunk %d): got %d bytes, want %d, or different bytes", r[0], r[1], chunk, len(got), len(want))
						}
					}
				})
			}
		}
	}
}

func TestCiphertextSize(t *testing.T) {
	tests := []struct {
		plain, cipher int64
	}{
		{0, 16},
		{1, 17},
		{P - 1, P + 15},
		{P, P + 16},
		{P + 1, P + 1 + 32},
		{3 * P, 3*P + 48},
		{MaxSize, MaxSize + MaxSize/P*16},
		{-1, -1},
		{MaxSize + 1, -1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.plain), func(t *testing.T) {
			if got := CiphertextSize(tt.plain); got != tt.cipher {
				t.Fatalf("CiphertextSize(%d) = %d, want %d", tt.plain, got, tt.cipher)
			}
			if tt.cipher < 0 {
				return
			}
			if got, err := PlaintextSize(tt.cipher); err != nil || got != tt.plain {
				t.Fatalf("PlaintextSize(%d) = %d, %v, want %d", tt.cipher, got, err, tt.plain)
			}
		})
	}
}

// TestPlaintextSizeInverse checks PlaintextSize against CiphertextSize on
// every ciphertext size around the first package boundaries: it accepts
// exactly the sizes some stream has.
func TestPlaintextSizeInverse(t *testing.T) {
	valid := map[int64]int64{}
	for p := int64(0); p <= 3*P+2; p++ {
		valid[CiphertextSize(p)] = p
	}
	for c := int64(-1); c <= CiphertextSize(3*P+2); c++ {
		p, err := PlaintextSize(c)
		want, ok := valid[c]
		switch {
		case ok && (err != nil || p != want):
			t.Fatalf("PlaintextSize(%d) = %d, %v, want %d", c, p, err, want)
		case !ok && !errors.Is(err, ErrInvalidArgument):
			t.Fatalf("PlaintextSize(%d) = %d, %v, want ErrInvalidArgument", c, p, err)
		}
	}
	for _, c := range []int64{math.MaxInt64, CiphertextSize(MaxSize) + 1, math.MinInt64} {
		if _, err := PlaintextSize(c); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("PlaintextSize(%d): %v, want ErrInvalidArgument", c, err)
		}
	}
}

func TestRange(t *testing.T) {
	const M = packageMax
	tests := []struct {
		name         string
		off, n, size int64
		cOff, cLen   int64
		first        uint64
		skip         int64
		wantErr      bool
	}{
		{"empty stream", 0, 0, 0, 0, 16, 0, 0, false},
		{"one byte", 0, 1, 1, 0, 17, 0, 0, false},
		{"whole 3.5 packages", 0, 3*P + P/2, 3*P + P/2, 0, 3*M + P/2 + 16, 0, 0, false},
		{"last byte", 3*P + P/2 - 1, 1, 3*P + P/2, 3 * M, P/2 + 16, 3, P/2 - 1, false},
		{"across a boundary", P - 1, 2, 3 * P, 0, 2 * M, 0, P - 1, false},
		{"second package exactly", P, P, 3 * P, M, M, 1, 0, false},
		{"zero length inside", 5, 0, 3 * P, 0, 0, 0, 0, false},
		{"zero length at end", 3 * P, 0, 3 * P, 3 * M, 0, 3, 0, false},
		{"last full package", 2 * P, P, 3 * P, 2 * M, M, 2, 0, false},
		{"negative offset", -1, 1, 10, 0, 0, 0, 0, true},
		{"negative length", 0, -1, 10, 0, 0, 0, 0, true},
		{"past the end", 5, 6, 10, 0, 0, 0, 0, true},
		{"offset past the end", 11, 0, 10, 0, 0, 0, 0, true},
		{"overflow", 1, math.MaxInt64, 10, 0, 0, 0, 0, true},
		{"negative size", 0, 0, -1, 0, 0, 0, 0, true},
		{"size too large", 0, 0, MaxSize + 1, 0, 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Range(tt.off, tt.n, tt.size)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("err = %v, want ErrInvalidArgument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Span{Size: tt.size, Offset: tt.off, Length: tt.n, CipherOffset: tt.cOff, CipherLength: tt.cLen, FirstSeq: tt.first, Skip: tt.skip}
			if s != want {
				t.Fatalf("Range = %+v\nwant    %+v", s, want)
			}
		})
	}
}

// TestObjectRange reads random ranges of a multipart object, parts stored
// back to back, through ObjectRange: ranges across part boundaries work.
func TestObjectRange(t *testing.T) {
	rng := newRand(t)
	key := randomKey(t, rng, PreferredCipher())
	parts := []Part{{Number: 1, Size: P + 5}, {Number: 2, Size: 0}, {Number: 4, Size: 2 * P}, {Number: 7, Size: 1}, {Number: 9, Size: P - 3}}
	var plain, stored []byte
	for _, p := range parts {
		pt := pattern(p.Size)
		rng.Read(pt)
		plain = append(plain, pt...)
		stored = append(stored, encrypt(t, key, p.Number, pt, 0)...)
	}
	size := int64(len(plain))
	read := func(off, n int64) ([]byte, error) {
		spans, err := ObjectRange(parts, off, n)
		if err != nil {
			return nil, err
		}
		var out bytes.Buffer
		for _, s := range spans {
			if parts[s.Index].Number != s.Number {
				t.Fatalf("span %+v names part %d at index %d", s, s.Number, s.Index)
			}
			w, err := DecryptWriter(&out, key, s.Number, s.Span)
			if err != nil {
				return nil, err
			}
			start := s.Base + s.CipherOffset
			if _, err := w.Write(stored[start : start+s.CipherLength]); err != nil {
				return nil, err
			}
			if err := w.Close(); err != nil {
				return nil, err
			}
		}
		return out.Bytes(), nil
	}
	ranges := [][2]int64{{0, size}, {0, 0}, {size, 0}, {size - 1, 1}, {P, 10}, {P + 4, 2}, {P + 5 + 2*P - 1, 3}}
	for range 200 {
		off := rng.Int63n(size + 1)
		ranges = append(ranges, [2]int64{off, rng.Int63n(size - off + 1)})
	}
	for _, r := range ranges {
		got, err := read(r[0], r[1])
		if err != nil {
			t.Fatalf("range %d+%d: %v", r[0], r[1], err)
		}
		if !bytes.Equal(got, plain[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %d+%d: wrong bytes", r[0], r[1])
		}
	}
	if _, err := ObjectRange(parts, 0, size+1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("range past the end: %v", err)
	}
	if _, err := ObjectRange([]Part{{Number: 1, Size: -1}}, 0, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("negative part size: %v", err)
	}
	if _, err := ObjectRange([]Part{{Number: 1, Size: MaxSize}, {Number: 2, Size: MaxSize}}, 0, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("oversized object: %v", err)
	}
	// An empty object is read whole: every part's final package is checked.
	spans, err := ObjectRange([]Part{{Number: 1, Size: 0}, {Number: 2, Size: 0}}, 0, 0)
	if err != nil || len(spans) != 2 || spans[1].Base != tagSize || spans[1].CipherLength != tagSize {
		t.Fatalf("empty object: %+v, %v", spans, err)
	}
}

// errAfter returns its bytes, then err.
type errAfter struct {
	r   io.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestEncryptReaderSources(t *testing.T) {
	key := fixedKey(t, AES256GCM)
	plain := pattern(2*P + 100)
	want := encrypt(t, key, 0, plain, 0)
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(plain))},
		{"half reads", iotest.HalfReader(bytes.NewReader(plain))},
		{"EOF with the data", iotest.DataErrReader(bytes.NewReader(plain))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := EncryptReader(tt.r, key, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, %v; want the %d bytes of the plain reader", len(got), err, len(want))
			}
		})
	}
	errBoom := errors.New("boom")
	failing := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"error at the end", &errAfter{bytes.NewReader(plain), errBoom}, errBoom},
		{"unexpected EOF", &errAfter{bytes.NewReader(plain), io.ErrUnexpectedEOF}, io.ErrUnexpectedEOF},
		{"error first", iotest.ErrReader(errBoom), errBoom},
		{"no progress", zeroReader{}, io.ErrNoProgress},
	}
	for _, tt := range failing {
		for _, rs := range []int{100, 1 << 20} {
			t.Run(fmt.Sprintf("%s/read%d", tt.name, rs), func(t *testing.T) {
				r, err := EncryptReader(tt.r, key, 0)
				if err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, rs)
				for err == nil {
					_, err = r.Read(buf)
				}
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				// The error is sticky: never a late io.EOF.
				if _, err := r.Read(make([]byte, rs)); !errors.Is(err, tt.want) {
					t.Fatalf("second read: %v, want %v", err, tt.want)
				}
			})
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	key := fixedKey(t, AES256GCM)
	span, _ := Range(0, 1, 1)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"encrypt zero key", second(EncryptReader(bytes.NewReader(nil), ObjectKey{}, 0)), ErrKeySize},
		{"encrypt negative part", second(EncryptReader(bytes.NewReader(nil), key, -1)), ErrInvalidArgument},
		{"encrypt huge part", second(EncryptReader(bytes.NewReader(nil), key, math.MaxInt)), ErrInvalidArgument},
		{"decrypt zero key", second(DecryptWriter(io.Discard, ObjectKey{}, 0, span)), ErrKeySize},
		{"decrypt negative part", second(DecryptWriter(io.Discard, key, -2, span)), ErrInvalidArgument},
		{"decrypt hand-made span", second(DecryptWriter(io.Discard, key, 0, Span{Size: 1, Length: 1})), ErrInvalidArgument},
		{"decrypt bad range", second(DecryptWriter(io.Discard, key, 0, Span{Size: 1, Length: 2})), ErrInvalidArgument},
		{"short object key", second(MakeObjectKey(make([]byte, 31), AES256GCM)), ErrKeySize},
		{"unknown cipher", second(MakeObjectKey(make([]byte, 32), 3)), ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("err = %v, want %v", tt.err, tt.want)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

type failWriter struct {
	n   int // bytes accepted before failing
	err error
}

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	n := f.n
	f.n = 0
	return n, f.err
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestDecryptWriterErrors(t *testing.T) {
	key := fixedKey(t, ChaCha20Poly1305)
	plain := pattern(3 * P)
	ct := encrypt(t, key, 0, plain, 0)
	span, _ := Range(0, 3*P, 3*P)
	errBoom := errors.New("boom")
	t.Run("writer error", func(t *testing.T) {
		w, _ := DecryptWriter(&failWriter{n: P + 5, err: errBoom}, key, 0, span)
		if _, err := w.Write(ct); !errors.Is(err, errBoom) {
			t.Fatalf("err = %v, want %v", err, errBoom)
		}
		if err := w.Close(); !errors.Is(err, errBoom) {
			t.Fatalf("Close: %v", err)
		}
	})
	t.Run("short write", func(t *testing.T) {
		w, _ := DecryptWriter(shortWriter{}, key, 0, span)
		if _, err := w.Write(ct); !errors.Is(err, io.ErrShortWrite) {
			t.Fatalf("err = %v, want io.ErrShortWrite", err)
		}
	})
	t.Run("close is idempotent", func(t *testing.T) {
		w, _ := DecryptWriter(io.Discard, key, 0, span)
		if _, err := w.Write(ct); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Write(ct[:1]); err == nil {
			t.Fatal("Write after Close succeeded")
		}
	})
	t.Run("failed close is sticky", func(t *testing.T) {
		w, _ := DecryptWriter(io.Discard, key, 0, span)
		for range 2 {
			if err := w.Close(); !errors.Is(err, ErrAuthentication) {
				t.Fatalf("Close of nothing: %v", err)
			}
		}
	})
	t.Run("write count on failure", func(t *testing.T) {
		bad := bytes.Clone(ct)
		bad[packageMax+3] ^= 1
		var out bytes.Buffer
		w, _ := DecryptWriter(&out, key, 0, span)
		n, err := w.Write(bad)
		if !errors.Is(err, ErrAuthentication) || n != packageMax || out.Len() != P {
			t.Fatalf("n = %d, err = %v, wrote %d; want %d, ErrAuthentication, %d", n, err, out.Len(), packageMax, P)
		}
	})
}

// TestNoAllocationPerPackage checks that the cost in allocations of a
// stream does not grow with its length: buffers are pooled and packages
// are sealed in place.
func TestNoAllocationPerPackage(t *testing.T) {
	key := fixedKey(t, PreferredCipher())
	allocs := func(size int64) (enc, dec float64) {
		plain := pattern(size)
		ct := encrypt(t, key, 0, plain, 0)
		buf := make([]byte, 1<<20)
		br := bytes.NewReader(plain)
		enc = testing.AllocsPerRun(20, func() {
			br.Reset(plain)
			r, _ := EncryptReader(br, key, 0)
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
		})
		span, _ := Range(0, size, size)
		dec = testing.AllocsPerRun(20, func() {
			w, _ := DecryptWriter(io.Discard, key, 0, span)
			for c := ct; len(c) > 0; c = c[min(len(c), 1<<20):] {
				w.Write(c[:min(len(c), 1<<20)])
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		})
		return enc, dec
	}
	e1, d1 := allocs(P)
	e2, d2 := allocs(64 * P)
	t.Logf("allocations per stream: encrypt %v / %v, decrypt %v / %v (1 / 64 packages)", e1, e2, d1, d2)
	if e2 > e1 || d2 > d1 {
		t.Fatalf("allocations grow with the stream: encrypt %v -> %v, decrypt %v -> %v", e1, e2, d1, d2)
	}
}
