package sse

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestSaltedStreams checks the property a multipart part's salt exists
// for: one object key and part number with different salts give
// unrelated ciphertexts (no shared key stream, so a part uploaded twice
// under its number leaks nothing of either body), each opens only with
// its own salt, and the unsalted stream of parts stored before salts
// existed is unchanged.
func TestSaltedStreams(t *testing.T) {
	for _, c := range []Cipher{AES256GCM, ChaCha20Poly1305} {
		t.Run(c.String(), func(t *testing.T) {
			key := fixedKey(t, c)
			plain := pattern(3*PackageSize + 77)
			seal := func(salt []byte) []byte {
				r, err := EncryptSaltedReader(bytes.NewReader(plain), key, 7, salt)
				if err != nil {
					t.Fatal(err)
				}
				ct, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				return ct
			}
			a, b := mustSalt(t), mustSalt(t)
			ctA, ctB, ctNone := seal(a), seal(b), seal(nil)
			if want := encrypt(t, key, 7, plain, 1<<20); !bytes.Equal(ctNone, want) {
				t.Fatal("the unsalted stream differs from EncryptReader's")
			}
			for name, other := range map[string][]byte{"another salt": ctB, "no salt": ctNone} {
				if len(other) != len(ctA) {
					t.Fatalf("%s: %d bytes against %d", name, len(other), len(ctA))
				}
				// With a shared key stream, equal plaintext bytes give
				// equal ciphertext bytes; unrelated streams agree on
				// about 1 byte in 256.
				same := 0
				for i := range ctA {
					if ctA[i] == other[i] {
						same++
					}
				}
				if same > len(ctA)/64 {
					t.Errorf("%s: %d of %d ciphertext bytes equal: the streams share a key stream", name, same, len(ctA))
				}
			}
			span, err := Range(0, int64(len(plain)), int64(len(plain)))
			if err != nil {
				t.Fatal(err)
			}
			open := func(salt []byte, ct []byte) ([]byte, error) {
				var out bytes.Buffer
				w, err := DecryptSaltedWriter(&out, key, 7, salt, span)
				if err != nil {
					return nil, err
				}
				if _, err := w.Write(ct); err != nil {
					return nil, err
				}
				if err := w.Close(); err != nil {
					return nil, err
				}
				return out.Bytes(), nil
			}
			got, err := open(a, ctA)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("open with its salt: %v", err)
			}
			for name, salt := range map[string][]byte{"another salt": b, "no salt": nil} {
				if _, err := open(salt, ctA); !errors.Is(err, ErrAuthentication) {
					t.Errorf("open with %s: %v, want ErrAuthentication", name, err)
				}
			}
			if _, err := EncryptSaltedReader(bytes.NewReader(plain), key, 7, a[:8]); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("a short salt: %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func mustSalt(t *testing.T) []byte {
	t.Helper()
	s, err := NewSalt()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
