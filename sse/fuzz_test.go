package sse

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecrypt feeds arbitrary ciphertext to DecryptWriter under a fixed
// key. The seeds are genuine streams of pattern plaintext, so every
// authentic package the fuzzer can splice together carries pattern bytes:
// whatever reaches the writer must be a prefix of the requested pattern
// range, a read that succeeds must have written all of it, and a read that
// fails must say ErrAuthentication. It must never panic.
func FuzzDecrypt(f *testing.F) {
	want := pattern(4 * P)
	for _, c := range ciphers {
		key := fixedKey(f, c)
		for _, size := range []int64{0, 1, 100, P, P + 1, 2*P + 5} {
			ct := encrypt(f, key, 0, want[:size], 0)
			f.Add(ct, uint8(c), uint32(size), uint32(0), uint32(size), uint16(0))
			f.Add(ct, uint8(c), uint32(size), uint32(size/2), uint32(size/3), uint16(1000))
			f.Add(ct[:len(ct)/2], uint8(c), uint32(size), uint32(0), uint32(size), uint16(17))
			f.Add(append(bytes.Clone(ct), ct...), uint8(c), uint32(2*size), uint32(0), uint32(size), uint16(0))
		}
	}
	f.Fuzz(func(t *testing.T, ct []byte, sel uint8, sizeArg, offArg, nArg uint32, chunk uint16) {
		key := fixedKey(t, ciphers[int(sel)%len(ciphers)])
		size := int64(sizeArg) % int64(len(want)+1)
		off := int64(offArg) % (size + 1)
		n := int64(nArg) % (size - off + 1)
		span, err := Range(off, n, size)
		if err != nil {
			t.Fatalf("Range(%d, %d, %d): %v", off, n, size, err)
		}
		// What storage would return: the span's bytes, and whatever
		// follows them in ct, so over-long input is explored too.
		start := min(span.CipherOffset, int64(len(ct)))
		got, err := decrypt(key, 0, span, ct[start:], int(chunk))
		if !bytes.HasPrefix(want[off:off+n], got) {
			t.Fatalf("%d bytes reached the writer that are not the plaintext", len(got))
		}
		if err == nil && int64(len(got)) != n {
			t.Fatalf("success with %d of %d bytes", len(got), n)
		}
		if err != nil && !errors.Is(err, ErrAuthentication) {
			t.Fatalf("error %v does not wrap ErrAuthentication", err)
		}
	})
}

// FuzzUnsealKey opens arbitrary bytes as a sealed key. Seeds are genuine
// seals of the fixed key for ("b", "o"): a successful unseal must return
// exactly that key for exactly those names, and a failure must be
// ErrAuthentication or ErrFormat.
func FuzzUnsealKey(f *testing.F) {
	kek := bytesFrom(0xa0, KeySize)
	for _, c := range ciphers {
		sealed, err := SealKey(kek, fixedKey(f, c), "b", "o")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sealed, "b", "o")
		f.Add(sealed[:40], "b", "o")
		f.Add(sealed, "bo", "")
	}
	f.Add([]byte{}, "", "")
	f.Add([]byte{1, 9}, "b", "o")
	f.Fuzz(func(t *testing.T, sealed []byte, a, b string) {
		key, err := UnsealKey(kek, sealed, a, b)
		if err != nil {
			if !errors.Is(err, ErrAuthentication) && !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v wraps neither ErrAuthentication nor ErrFormat", err)
			}
			if !key.IsZero() {
				t.Fatal("a key came back with an error")
			}
			return
		}
		if a != "b" || b != "o" || key != fixedKey(t, key.Cipher()) {
			t.Fatalf("unsealed a key for (%q, %q) that was never sealed for them", a, b)
		}
	})
}

// FuzzOpenMetadata opens arbitrary bytes as sealed metadata under the
// fixed key; seeds are genuine seals of "m=1".
func FuzzOpenMetadata(f *testing.F) {
	for _, c := range ciphers {
		sealed, err := SealMetadata(fixedKey(f, c), []byte("m=1"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sealed, uint8(c))
		f.Add(sealed[:SealedMetadataOverhead-1], uint8(c))
	}
	f.Fuzz(func(t *testing.T, sealed []byte, sel uint8) {
		md, err := OpenMetadata(fixedKey(t, ciphers[int(sel)%len(ciphers)]), sealed)
		if err != nil {
			if !errors.Is(err, ErrAuthentication) && !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v wraps neither ErrAuthentication nor ErrFormat", err)
			}
			return
		}
		if string(md) != "m=1" {
			t.Fatalf("opened %q, which was never sealed", md)
		}
	})
}

// FuzzRange checks Range's arithmetic on arbitrary (also hostile)
// arguments: no panic, errors for what is out of bounds, and spans that
// cover the range with whole packages inside the stream.
func FuzzRange(f *testing.F) {
	f.Add(int64(0), int64(0), int64(0))
	f.Add(int64(P-1), int64(2), int64(3*P))
	f.Add(int64(1), int64(-1), int64(10))
	f.Add(int64(MaxSize), int64(0), int64(MaxSize))
	f.Add(int64(-1<<63), int64(1<<63-1), int64(1<<63-1))
	f.Fuzz(func(t *testing.T, off, n, size int64) {
		s, err := Range(off, n, size)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("error %v does not wrap ErrInvalidArgument", err)
			}
			if off >= 0 && n >= 0 && size >= 0 && size <= MaxSize && off <= size && n <= size-off {
				t.Fatalf("Range(%d, %d, %d) refused a valid range: %v", off, n, size, err)
			}
			return
		}
		total := CiphertextSize(size)
		if got, err := PlaintextSize(total); err != nil || got != size {
			t.Fatalf("PlaintextSize(CiphertextSize(%d)) = %d, %v", size, got, err)
		}
		if s.CipherOffset < 0 || s.CipherLength < 0 || s.CipherOffset+s.CipherLength > total {
			t.Fatalf("span %+v outside the %d-byte ciphertext", s, total)
		}
		if s.CipherOffset != int64(s.FirstSeq)*packageMax || s.Skip < 0 || s.Skip >= P || int64(s.FirstSeq)*P+s.Skip != off && n > 0 {
			t.Fatalf("span %+v inconsistent with offset %d", s, off)
		}
		if n > 0 && (int64(s.FirstSeq)+s.packageCount())*P < off+n {
			t.Fatalf("span %+v does not cover %d+%d", s, off, n)
		}
		if n == 0 && size > 0 && s.CipherLength != 0 {
			t.Fatalf("empty range reads %d bytes", s.CipherLength)
		}
	})
}
