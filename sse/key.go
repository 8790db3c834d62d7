package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/sys/cpu"
)

// KeySize is the size in bytes of every key the package takes or makes:
// object keys, bucket keys and SSE-C client keys are all 256 bits.
const KeySize = 32

// Version is the format version this build writes: of sealed keys, sealed
// metadata, client key checks, and of the stream a sealed key unlocks.
const Version = 1

// Cipher names the AEAD that seals a stream's packages and the values
// sealed under its object key. The numbers are stored; never renumber.
type Cipher uint8

const (
	// AES256GCM is AES-256 in Galois/Counter Mode: the choice on CPUs with
	// AES and carry-less multiply instructions, where it is the faster and
	// constant-time one.
	AES256GCM Cipher = 1
	// ChaCha20Poly1305 is RFC 8439 ChaCha20-Poly1305: the choice where the
	// CPU lacks AES instructions, where software AES would be slow and
	// exposed to cache-timing attacks.
	ChaCha20Poly1305 Cipher = 2
)

// String returns the cipher's name.
func (c Cipher) String() string {
	switch c {
	case AES256GCM:
		return "AES-256-GCM"
	case ChaCha20Poly1305:
		return "ChaCha20-Poly1305"
	}
	return fmt.Sprintf("Cipher(%d)", uint8(c))
}

func (c Cipher) valid() bool { return c == AES256GCM || c == ChaCha20Poly1305 }

// PreferredCipher returns the cipher new objects should use on this CPU:
// AES256GCM where Go's AES-GCM runs on AES instructions, ChaCha20Poly1305
// elsewhere. Either reads back on any CPU; only speed differs.
func PreferredCipher() Cipher {
	hw := false
	switch runtime.GOARCH {
	case "amd64": // Go has no AES-GCM assembly for 386
		hw = cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ
	case "arm64":
		hw = cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
	case "s390x":
		hw = cpu.S390X.HasAES && cpu.S390X.HasAESGCM
	case "ppc64", "ppc64le":
		hw = cpu.PPC64.IsPOWER8
	}
	if hw {
		return AES256GCM
	}
	return ChaCha20Poly1305
}

// ObjectKey is one object's data key together with the cipher its stream
// uses. The zero value is invalid. It is a small value type: copies are
// independent and it is safe for concurrent use.
//
// Its String, Format and LogValue methods print the cipher only, so the
// key does not leak through fmt (with any verb) or log/slog.
type ObjectKey struct {
	key    [KeySize]byte
	cipher Cipher
}

// NewObjectKey returns a fresh random key for PreferredCipher.
func NewObjectKey() (ObjectKey, error) {
	return newObjectKey(rand.Reader, PreferredCipher())
}

func newObjectKey(rnd io.Reader, c Cipher) (ObjectKey, error) {
	k := ObjectKey{cipher: c}
	if _, err := io.ReadFull(rnd, k.key[:]); err != nil {
		return ObjectKey{}, fmt.Errorf("sse: generate object key: %w", err)
	}
	return k, nil
}

// MakeObjectKey builds an ObjectKey from existing key bytes (copied) and a
// cipher: for test vectors, and for objects whose key material comes from
// elsewhere. New objects should use NewObjectKey.
func MakeObjectKey(key []byte, c Cipher) (ObjectKey, error) {
	if len(key) != KeySize {
		return ObjectKey{}, fmt.Errorf("%w: object key of %d bytes, want %d", ErrKeySize, len(key), KeySize)
	}
	if !c.valid() {
		return ObjectKey{}, fmt.Errorf("%w: unknown cipher %d", ErrInvalidArgument, uint8(c))
	}
	k := ObjectKey{cipher: c}
	copy(k.key[:], key)
	return k, nil
}

// Cipher returns the AEAD the key's stream is sealed with.
func (k ObjectKey) Cipher() Cipher { return k.cipher }

// IsZero reports whether k is the zero value (no key).
func (k ObjectKey) IsZero() bool { return k == ObjectKey{} }

// String prints the cipher, never the key.
func (k ObjectKey) String() string { return "sse.ObjectKey(" + k.cipher.String() + ", redacted)" }

// Format makes every fmt verb (%d and %#v included) print String.
func (k ObjectKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue prints the cipher, never the key (log/slog).
func (k ObjectKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

func (k ObjectKey) check() error {
	if !k.cipher.valid() {
		return fmt.Errorf("%w: zero or invalid ObjectKey", ErrKeySize)
	}
	return nil
}

// Key derivation labels (HKDF info strings). Each use of a key gets its own
// label so that no two uses ever share a derived key; they are part of the
// format and must never change within a version.
const (
	labelStream   = "objstore sse v1 stream"
	labelSealKey  = "objstore sse v1 sealed object key"
	labelMetadata = "objstore sse v1 metadata"
	labelCheck    = "objstore sse v1 client key check"
)

// SaltSize is the length of a stream salt (NewSalt).
const SaltSize = 16

// NewSalt returns a fresh random stream salt. Every upload of a multipart
// part takes one: the part number alone derives the same key, and the
// nonces count from zero, each time a part number is uploaded again (a
// retry, or new content under the same number), and two streams sealed
// under one key and nonces give away the XOR of their plaintexts (and,
// under AES-GCM, the means to forge packages).
func NewSalt() ([]byte, error) {
	salt := make([]byte, SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("sse: salt: %w", err)
	}
	return salt, nil
}

// partKey derives the key of stream `part` (0 for a single PUT, the part
// number for a multipart part), with salt nil or SaltSize random bytes:
//
//	HKDF-Expand-SHA256(PRK = object key,
//	                   info = "objstore sse v1 stream" || cipher (1 byte) || part (4 bytes BE) [|| salt])
//
// A single PUT's object key is fresh for its one stream and needs no
// salt; a multipart part's stream does (NewSalt). Parts stored before
// salts existed have none.
//
// The extract step is skipped because the object key is already 256
// uniformly random bits (RFC 5869, section 3.3); it halves the per-stream
// set-up cost, which matters for small objects.
func partKey(k ObjectKey, part int, salt []byte) ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	if part < 0 || int64(part) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: part number %d", ErrInvalidArgument, part)
	}
	if salt != nil && len(salt) != SaltSize {
		return nil, fmt.Errorf("%w: a salt of %d bytes (want %d)", ErrInvalidArgument, len(salt), SaltSize)
	}
	var info [len(labelStream) + 5 + SaltSize]byte
	n := copy(info[:], labelStream)
	info[n] = byte(k.cipher)
	binary.BigEndian.PutUint32(info[n+1:], uint32(part))
	n += 5
	n += copy(info[n:], salt)
	pk, err := hkdf.Expand(sha256.New, k.key[:], string(info[:n]), KeySize)
	if err != nil {
		return nil, fmt.Errorf("sse: derive part key: %w", err)
	}
	return pk, nil
}

// derive is HKDF-SHA256 to a KeySize key. It cannot fail for these sizes;
// the error is passed on rather than ignored all the same.
func derive(secret, salt []byte, info string) ([]byte, error) {
	dk, err := hkdf.Key(sha256.New, secret, salt, info, KeySize)
	if err != nil {
		return nil, fmt.Errorf("sse: derive key: %w", err)
	}
	return dk, nil
}

// newAEAD returns cipher c keyed with key (KeySize bytes). Both AEADs use
// 12-byte nonces and 16-byte tags, which the formats rely on.
func newAEAD(c Cipher, key []byte) (cipher.AEAD, error) {
	switch c {
	case AES256GCM:
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("sse: %v: %w", c, err)
		}
		a, err := cipher.NewGCM(b)
		if err != nil {
			return nil, fmt.Errorf("sse: %v: %w", c, err)
		}
		return a, nil
	case ChaCha20Poly1305:
		a, err := chacha20poly1305.New(key)
		if err != nil {
			return nil, fmt.Errorf("sse: %v: %w", c, err)
		}
		return a, nil
	}
	return nil, fmt.Errorf("%w: unknown cipher %d", ErrFormat, uint8(c))
}

// Sizes shared by both AEADs.
const (
	nonceSize = 12
	tagSize   = TagSize
)
