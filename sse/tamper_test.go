package sse

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

// expectRejected decrypts ct as the whole stream of size plaintext bytes
// and asserts that the read fails with ErrAuthentication, and that what
// reached the writer is a prefix of the true plaintext made only of the
// packages before firstBad, the first package that cannot verify.
func expectRejected(t *testing.T, key ObjectKey, part int, ct []byte, size int64, plain []byte, firstBad int64) {
	t.Helper()
	for _, chunk := range []int{0, 1000} {
		s, err := Range(0, size, size)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decrypt(key, part, s, ct, chunk)
		if !errors.Is(err, ErrAuthentication) {
			t.Fatalf("chunk %d: err = %v, want ErrAuthentication", chunk, err)
		}
		if !bytes.HasPrefix(plain, got) {
			t.Fatalf("chunk %d: %d bytes reached the writer that are not the plaintext's prefix", chunk, len(got))
		}
		if int64(len(got)) > firstBad*P {
			t.Fatalf("chunk %d: %d bytes reached the writer, but package %d (from byte %d) cannot verify", chunk, len(got), firstBad, firstBad*P)
		}
	}
}

// tamperFixture is a stream of four packages, the last one half full.
type tamperFixture struct {
	key   ObjectKey
	part  int
	size  int64
	plain []byte
	ct    []byte
	pkgs  [][]byte // the ciphertext cut into packages
}

func newTamperFixture(t *testing.T, rng *rand.Rand, c Cipher) tamperFixture {
	f := tamperFixture{key: randomKey(t, rng, c), part: 2, size: 3*P + P/2}
	f.plain = pattern(f.size)
	rng.Read(f.plain)
	f.ct = encrypt(t, f.key, f.part, f.plain, 0)
	for c := f.ct; len(c) > 0; c = c[min(len(c), packageMax):] {
		f.pkgs = append(f.pkgs, c[:min(len(c), packageMax)])
	}
	return f
}

func join(pkgs ...[]byte) []byte { return slices.Concat(pkgs...) }

func TestTamper(t *testing.T) {
	rng := newRand(t)
	for _, c := range ciphers {
		f := newTamperFixture(t, rng, c)
		n := int64(len(f.pkgs))
		t.Run(c.String()+"/intact", func(t *testing.T) {
			got, err := decryptRange(t, f.key, f.part, f.ct, f.size, 0, f.size, 0)
			if err != nil || !bytes.Equal(got, f.plain) {
				t.Fatalf("intact stream: %v", err)
			}
		})
		t.Run(c.String()+"/flip bits", func(t *testing.T) {
			var positions []int64
			for i := range n { // first and last bytes of each package and its tag
				base := i * packageMax
				end := base + int64(len(f.pkgs[i]))
				positions = append(positions, base, base+1, end-tagSize-1, end-tagSize, end-1)
			}
			for range 300 {
				positions = append(positions, rng.Int63n(int64(len(f.ct))))
			}
			for _, pos := range positions {
				bad := bytes.Clone(f.ct)
				bad[pos] ^= 1 << rng.Intn(8)
				expectRejected(t, f.key, f.part, bad, f.size, f.plain, pos/packageMax)
				// A range that avoids the damaged package still reads; one
				// that touches it fails.
				k := pos / packageMax
				if k > 0 {
					got, err := decryptRange(t, f.key, f.part, bad, f.size, 0, k*P, 0)
					if err != nil || !bytes.Equal(got, f.plain[:k*P]) {
						t.Fatalf("range before damaged package %d: %v", k, err)
					}
				}
				off := k*P + rng.Int63n(min(P, f.size-k*P))
				if _, err := decryptRange(t, f.key, f.part, bad, f.size, off, 1, 0); !errors.Is(err, ErrAuthentication) {
					t.Fatalf("range in damaged package %d: %v", k, err)
				}
			}
		})
		t.Run(c.String()+"/drop", func(t *testing.T) {
			for i := range n {
				bad := join(slices.Delete(slices.Clone(f.pkgs), int(i), int(i)+1)...)
				expectRejected(t, f.key, f.part, bad, f.size, f.plain, i)
				if s, err := PlaintextSize(int64(len(bad))); err == nil { // a size that fits the shorter stream
					expectRejected(t, f.key, f.part, bad, s, f.plain, min(i, n-2))
				}
			}
		})
		t.Run(c.String()+"/duplicate", func(t *testing.T) {
			for i := range n {
				bad := join(slices.Insert(slices.Clone(f.pkgs), int(i), f.pkgs[i])...)
				expectRejected(t, f.key, f.part, bad, f.size, f.plain, i+1)
				if s, err := PlaintextSize(int64(len(bad))); err == nil {
					expectRejected(t, f.key, f.part, bad, s, f.plain, i+1)
				}
			}
		})
		t.Run(c.String()+"/swap", func(t *testing.T) {
			for i := range n {
				for j := i + 1; j < n; j++ {
					ps := slices.Clone(f.pkgs)
					ps[i], ps[j] = ps[j], ps[i]
					expectRejected(t, f.key, f.part, join(ps...), f.size, f.plain, i)
				}
			}
		})
		t.Run(c.String()+"/truncate", func(t *testing.T) {
			var cuts []int64
			for i := range n {
				cuts = append(cuts, i*packageMax, i*packageMax+1, i*packageMax+P/2, i*packageMax+P, i*packageMax+P+tagSize-1)
			}
			cuts = append(cuts, int64(len(f.ct))-1)
			for _, cut := range cuts {
				if cut >= int64(len(f.ct)) {
					continue
				}
				bad := f.ct[:cut]
				expectRejected(t, f.key, f.part, bad, f.size, f.plain, cut/packageMax)
				// Even with a size that matches the cut, the last package
				// was not sealed as final (or is cut short).
				if s, err := PlaintextSize(cut); err == nil {
					expectRejected(t, f.key, f.part, bad, s, f.plain, (cut-1)/packageMax)
				}
			}
		})
		t.Run(c.String()+"/append", func(t *testing.T) {
			for _, extra := range [][]byte{f.pkgs[0], f.pkgs[n-1], f.pkgs[1][:100], {0}} {
				bad := join(f.ct, extra)
				expectRejected(t, f.key, f.part, bad, f.size, f.plain, n)
				if s, err := PlaintextSize(int64(len(bad))); err == nil {
					expectRejected(t, f.key, f.part, bad, s, f.plain, n-1)
				}
			}
		})
		t.Run(c.String()+"/shifted range", func(t *testing.T) {
			// The packages of one range handed in for another.
			s, _ := Range(P, 2*P, f.size)
			got, err := decrypt(f.key, f.part, s, f.ct[2*packageMax:4*packageMax-P/2], 0)
			if !errors.Is(err, ErrAuthentication) || len(got) != 0 {
				t.Fatalf("shifted packages: wrote %d bytes, %v", len(got), err)
			}
		})
		t.Run(c.String()+"/other part", func(t *testing.T) {
			for _, part := range []int{0, 1, 3, 1 << 16} {
				expectRejected(t, f.key, part, f.ct, f.size, f.plain, 0)
			}
		})
		t.Run(c.String()+"/wrong key", func(t *testing.T) {
			expectRejected(t, randomKey(t, rng, c), f.part, f.ct, f.size, f.plain, 0)
			other := f.key
			other.cipher = 3 - c // the same key bytes with the other cipher
			expectRejected(t, other, f.part, f.ct, f.size, f.plain, 0)
		})
	}
}

// TestTamperEveryBit flips every bit of small streams, one at a time.
func TestTamperEveryBit(t *testing.T) {
	rng := newRand(t)
	for _, c := range ciphers {
		for _, size := range []int64{0, 1, 100} {
			t.Run(fmt.Sprintf("%v/size%d", c, size), func(t *testing.T) {
				key := randomKey(t, rng, c)
				plain := pattern(size)
				ct := encrypt(t, key, 0, plain, 0)
				for i := range ct {
					for b := range 8 {
						bad := bytes.Clone(ct)
						bad[i] ^= 1 << b
						expectRejected(t, key, 0, bad, size, plain, 0)
					}
				}
			})
		}
	}
}

// TestSwapParts hands one multipart part's ciphertext in for another's.
func TestSwapParts(t *testing.T) {
	rng := newRand(t)
	key := randomKey(t, rng, PreferredCipher())
	plain := pattern(P + 10)
	ct1 := encrypt(t, key, 1, plain, 0)
	ct2 := encrypt(t, key, 2, plain, 0)
	if bytes.Equal(ct1, ct2) {
		t.Fatal("two parts with the same plaintext have the same ciphertext")
	}
	expectRejected(t, key, 2, ct1, int64(len(plain)), plain, 0)
	expectRejected(t, key, 1, ct2, int64(len(plain)), plain, 0)
	// The same plaintext under two object keys differs too.
	if bytes.Equal(ct1, encrypt(t, randomKey(t, rng, key.cipher), 1, plain, 0)) {
		t.Fatal("two object keys give the same ciphertext")
	}
}
