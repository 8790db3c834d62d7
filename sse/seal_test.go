package sse

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSealKeyRoundTrip(t *testing.T) {
	rng := newRand(t)
	for _, c := range ciphers {
		for _, assoc := range [][]string{nil, {""}, {"bucket", "photos/2024/a.jpg"}, {"bucket", "key", "version-id"}} {
			t.Run(fmt.Sprintf("%v/%q", c, assoc), func(t *testing.T) {
				kek := randomBytes(rng, KeySize)
				key := randomKey(t, rng, c)
				sealed, err := SealKey(kek, key, assoc...)
				if err != nil {
					t.Fatal(err)
				}
				if len(sealed) != SealedKeySize {
					t.Fatalf("sealed key of %d bytes, want %d", len(sealed), SealedKeySize)
				}
				if bytes.Contains(sealed, key.key[:8]) {
					t.Fatal("sealed key contains the key")
				}
				got, err := UnsealKey(kek, sealed, assoc...)
				if err != nil {
					t.Fatal(err)
				}
				if got != key || got.Cipher() != c {
					t.Fatalf("unsealed %v, want %v (or different key bytes)", got, key)
				}
				again, _ := SealKey(kek, key, assoc...)
				if bytes.Equal(again, sealed) {
					t.Fatal("two seals of one key are equal: the salt is not random")
				}
			})
		}
	}
}

func TestUnsealKeyRejects(t *testing.T) {
	rng := newRand(t)
	kek := randomBytes(rng, KeySize)
	key := randomKey(t, rng, AES256GCM)
	assoc := []string{"bucket", "object"}
	sealed, err := SealKey(kek, key, assoc...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		kek    []byte
		sealed []byte
		assoc  []string
		want   error
	}{
		{"other kek", randomBytes(rng, KeySize), sealed, assoc, ErrAuthentication},
		{"other object", kek, sealed, []string{"bucket", "object2"}, ErrAuthentication},
		{"other bucket", kek, sealed, []string{"bucket2", "object"}, ErrAuthentication},
		{"names split differently", kek, sealed, []string{"bucketo", "bject"}, ErrAuthentication},
		{"names joined", kek, sealed, []string{"bucketobject"}, ErrAuthentication},
		{"extra name", kek, sealed, []string{"bucket", "object", ""}, ErrAuthentication},
		{"no names", kek, sealed, nil, ErrAuthentication},
		{"other cipher", kek, withByte(sealed, 1, byte(ChaCha20Poly1305)), assoc, ErrAuthentication},
		{"unknown cipher", kek, withByte(sealed, 1, 9), assoc, ErrFormat},
		{"version 2", kek, withByte(sealed, 0, 2), assoc, ErrFormat},
		{"version 0", kek, withByte(sealed, 0, 0), assoc, ErrFormat},
		{"truncated", kek, sealed[:len(sealed)-1], assoc, ErrFormat},
		{"header only", kek, sealed[:headerSize], assoc, ErrFormat},
		{"extended", kek, append(bytes.Clone(sealed), 0), assoc, ErrFormat},
		{"empty", kek, nil, assoc, ErrFormat},
		{"short kek", kek[:16], sealed, assoc, ErrKeySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnsealKey(tt.kek, tt.sealed, tt.assoc...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !got.IsZero() {
				t.Fatal("a failed unseal returned a key")
			}
		})
	}
	t.Run("every bit", func(t *testing.T) {
		for i := range sealed {
			for b := range 8 {
				bad := withByte(sealed, i, sealed[i]^1<<b)
				_, err := UnsealKey(kek, bad, assoc...)
				if !errors.Is(err, ErrAuthentication) && !(i < 2 && errors.Is(err, ErrFormat)) {
					t.Fatalf("byte %d bit %d: %v", i, b, err)
				}
			}
		}
	})
	t.Run("seal errors", func(t *testing.T) {
		if _, err := SealKey(kek[:31], key); !errors.Is(err, ErrKeySize) {
			t.Fatalf("short kek: %v", err)
		}
		if _, err := SealKey(kek, ObjectKey{}); !errors.Is(err, ErrKeySize) {
			t.Fatalf("zero key: %v", err)
		}
	})
}

func withByte(b []byte, i int, v byte) []byte {
	b = bytes.Clone(b)
	b[i] = v
	return b
}

func TestMetadata(t *testing.T) {
	rng := newRand(t)
	for _, c := range ciphers {
		key := randomKey(t, rng, c)
		for _, plain := range [][]byte{nil, {}, []byte("x-amz-meta-marker: secret"), bytes.Repeat([]byte{0xab}, 2048)} {
			t.Run(fmt.Sprintf("%v/%d", c, len(plain)), func(t *testing.T) {
				sealed, err := SealMetadata(key, plain)
				if err != nil {
					t.Fatal(err)
				}
				if len(sealed) != len(plain)+SealedMetadataOverhead {
					t.Fatalf("sealed %d bytes into %d, want %d", len(plain), len(sealed), len(plain)+SealedMetadataOverhead)
				}
				if len(plain) > 8 && bytes.Contains(sealed, plain[:8]) {
					t.Fatal("sealed metadata contains the plaintext")
				}
				got, err := OpenMetadata(key, sealed)
				if err != nil || got == nil || !bytes.Equal(got, plain) {
					t.Fatalf("OpenMetadata = %q, %v", got, err)
				}
				if _, err := OpenMetadata(randomKey(t, rng, c), sealed); !errors.Is(err, ErrAuthentication) {
					t.Fatalf("other key: %v", err)
				}
				for i := range sealed {
					bad := withByte(sealed, i, sealed[i]^byte(1<<rng.Intn(8)))
					if _, err := OpenMetadata(key, bad); !errors.Is(err, ErrAuthentication) && !(i < 2 && errors.Is(err, ErrFormat)) {
						t.Fatalf("byte %d flipped: %v", i, err)
					}
				}
				if _, err := OpenMetadata(key, sealed[:len(sealed)-1]); !errors.Is(err, ErrAuthentication) && !errors.Is(err, ErrFormat) {
					t.Fatalf("truncated: %v", err)
				}
			})
		}
	}
	t.Run("domain separation", func(t *testing.T) {
		// A sealed key made with the object key's own bytes as kek has
		// the same layout as sealed metadata; it must not open as such.
		key := randomKey(t, rng, AES256GCM)
		sealed, err := SealKey(key.key[:], key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenMetadata(key, sealed); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("sealed key opened as metadata: %v", err)
		}
		md, _ := SealMetadata(key, make([]byte, KeySize))
		if _, err := UnsealKey(key.key[:], md); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("metadata opened as a sealed key: %v", err)
		}
	})
	t.Run("errors", func(t *testing.T) {
		key := randomKey(t, rng, AES256GCM)
		sealed, _ := SealMetadata(key, []byte("m"))
		other := key
		other.cipher = ChaCha20Poly1305
		if _, err := OpenMetadata(other, sealed); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("other cipher: %v", err)
		}
		if _, err := SealMetadata(ObjectKey{}, nil); !errors.Is(err, ErrKeySize) {
			t.Fatalf("zero key: %v", err)
		}
		if _, err := OpenMetadata(ObjectKey{}, sealed); !errors.Is(err, ErrKeySize) {
			t.Fatalf("zero key: %v", err)
		}
		if _, err := OpenMetadata(key, sealed[:10]); !errors.Is(err, ErrFormat) {
			t.Fatalf("short: %v", err)
		}
	})
}

func TestClientKeyCheck(t *testing.T) {
	rng := newRand(t)
	ck := randomBytes(rng, KeySize)
	check, err := ClientKeyCheck(ck)
	if err != nil {
		t.Fatal(err)
	}
	if len(check) != ClientKeyCheckSize {
		t.Fatalf("check of %d bytes, want %d", len(check), ClientKeyCheckSize)
	}
	if !VerifyClientKey(ck, check) {
		t.Fatal("the right key does not verify")
	}
	again, _ := ClientKeyCheck(ck)
	if bytes.Equal(again, check) || !VerifyClientKey(ck, again) {
		t.Fatal("two checks of one key must differ (salt) and both verify")
	}
	other := randomBytes(rng, KeySize)
	tests := []struct {
		name       string
		key, check []byte
	}{
		{"other key", other, check},
		{"one bit off", withByte(ck, 31, ck[31]^0x80), check},
		{"short key", ck[:31], check},
		{"empty check", ck, nil},
		{"short check", ck, check[:len(check)-1]},
		{"long check", ck, append(bytes.Clone(check), 0)},
		{"version 2", ck, withByte(check, 0, 2)},
	}
	for i := range check {
		for b := range 8 {
			tests = append(tests, struct {
				name       string
				key, check []byte
			}{fmt.Sprintf("byte %d bit %d", i, b), ck, withByte(check, i, check[i]^1<<b)})
		}
	}
	for _, tt := range tests {
		if VerifyClientKey(tt.key, tt.check) {
			t.Errorf("%s: verified", tt.name)
		}
	}
	if _, err := ClientKeyCheck(ck[:16]); !errors.Is(err, ErrKeySize) {
		t.Fatalf("short client key: %v", err)
	}
	// SSE-C: the object key sealed under the client key opens with it only.
	key := randomKey(t, rng, AES256GCM)
	sealed, err := SealKey(ck, key, "b", "o")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnsealKey(other, sealed, "b", "o"); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("SSE-C sealed key under another client key: %v", err)
	}
}

// TestKeyNotPrinted checks that formatting or logging an ObjectKey shows
// the cipher and not the key.
func TestKeyNotPrinted(t *testing.T) {
	key := fixedKey(t, AES256GCM)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", key)
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s %x %q %d %T", key, key, key, key, key, key, key, key),
		fmt.Sprint(struct{ K ObjectKey }{key}),
		logged.String(),
	} {
		if !strings.Contains(s, "AES-256-GCM") {
			t.Errorf("%q does not name the cipher", s)
		}
		if strings.Contains(s, "0102030405") || strings.Contains(s, "1 2 3 4 5") || strings.Contains(s, "\x01\x02\x03") {
			t.Errorf("key bytes printed: %q", s)
		}
	}
}

func TestPreferredCipher(t *testing.T) {
	c := PreferredCipher()
	if !c.valid() {
		t.Fatalf("PreferredCipher() = %v", c)
	}
	t.Logf("preferred cipher on this CPU: %v", c)
	k, err := NewObjectKey()
	if err != nil || k.Cipher() != c || k.IsZero() {
		t.Fatalf("NewObjectKey() = %v, %v", k, err)
	}
	if Cipher(7).String() != "Cipher(7)" {
		t.Fatalf("Cipher(7).String() = %q", Cipher(7).String())
	}
}
