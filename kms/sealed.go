package kms

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Backend identifies the kind of backend that sealed a blob; it is one byte
// of every sealed blob, so its values never change.
type Backend uint8

// The backends. Zero is invalid so that a zeroed header never parses.
const (
	BackendKeyring Backend = 1
	BackendPKCS11  Backend = 2
	BackendKMIP    Backend = 3
)

// String returns the backend's name as used in KeyStatus and errors.
func (b Backend) String() string {
	switch b {
	case BackendKeyring:
		return "keyring"
	case BackendPKCS11:
		return "pkcs11"
	case BackendKMIP:
		return "kmip"
	}
	return fmt.Sprintf("backend(%d)", uint8(b))
}

func (b Backend) valid() bool { return b >= BackendKeyring && b <= BackendKMIP }

// Limits of the sealed format (version 1).
const (
	sealedFormatV1 = 1
	// minNonce and maxNonce bound the AEAD nonce: 12 bytes is what every
	// backend uses today; an HSM that insists on its own IV may use 16.
	minNonce = 8
	maxNonce = 32
	// tagSize is the AES-GCM tag; every ciphertext carries one.
	tagSize = 16
	// MaxSealedPlaintext bounds what a sealed blob may hold; data keys are
	// DataKeySize bytes, the rest is headroom for future key types.
	MaxSealedPlaintext = 1024
	// MaxVersion is the largest key version a sealed blob can name.
	MaxVersion = math.MaxInt32
)

// Sealed is a parsed sealed blob. Backends receive its fields; the Manager
// builds and parses the bytes.
//
// Format version 1:
//
//	 0        1        2                 6        7          7+n      8+n        8+n+m
//	+--------+--------+-----------------+--------+----------+--------+----------+--------------------+
//	| format | backend| key version u32 | id len | key id   | nonce  | nonce    | ciphertext || tag  |
//	|   1    | 1..3   | big endian, >=1 |   n    | n bytes  | len m  | m bytes  | len(pt)+16 bytes   |
//	+--------+--------+-----------------+--------+----------+--------+----------+--------------------+
//	 \__________________ header: authenticated as AEAD additional data ___/
//
// The AEAD (AES-256-GCM under master key id/version, inside the backend)
// authenticates header || associated, where header is bytes 0..7+n and
// associated is the caller's associated data. The nonce is not in the
// additional data: GCM authenticates it implicitly, and a backend that must
// let its HSM choose the IV learns it only after sealing.
type Sealed struct {
	Backend    Backend
	Key        KeyID
	Version    int
	Nonce      []byte
	Ciphertext []byte // includes the 16-byte tag
}

// header appends the authenticated header (format .. key id) to dst.
func (s *Sealed) header(dst []byte) []byte {
	dst = append(dst, sealedFormatV1, byte(s.Backend))
	dst = binary.BigEndian.AppendUint32(dst, uint32(s.Version))
	dst = append(dst, byte(len(s.Key)))
	return append(dst, s.Key...)
}

// AdditionalData returns the bytes the AEAD must authenticate: the header
// followed by the caller's associated data.
func (s *Sealed) AdditionalData(associated []byte) []byte {
	h := s.header(make([]byte, 0, 7+len(s.Key)+len(associated)))
	return append(h, associated...)
}

// Marshal returns the blob. It fails on fields ParseSealed would refuse,
// so that everything written can be read back.
func (s *Sealed) Marshal() ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	b := s.header(make([]byte, 0, 8+len(s.Key)+len(s.Nonce)+len(s.Ciphertext)))
	b = append(b, byte(len(s.Nonce)))
	b = append(b, s.Nonce...)
	return append(b, s.Ciphertext...), nil
}

func (s *Sealed) check() error {
	switch {
	case !s.Backend.valid():
		return fmt.Errorf("%w: unknown backend %d", ErrSealed, s.Backend)
	case s.Version < 1 || s.Version > MaxVersion:
		return fmt.Errorf("%w: key version %d out of range", ErrSealed, s.Version)
	case len(s.Nonce) < minNonce || len(s.Nonce) > maxNonce:
		return fmt.Errorf("%w: nonce of %d bytes", ErrSealed, len(s.Nonce))
	case len(s.Ciphertext) < tagSize || len(s.Ciphertext) > MaxSealedPlaintext+tagSize:
		return fmt.Errorf("%w: ciphertext of %d bytes", ErrSealed, len(s.Ciphertext))
	}
	if err := s.Key.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrSealed, err)
	}
	return nil
}

// ParseSealed parses a sealed blob without opening it: it tells which
// backend, key and version sealed it (for example to find the bucket keys
// still sealed under an old version). Malformed input fails with ErrSealed.
// The returned slices alias b.
func ParseSealed(b []byte) (Sealed, error) {
	var s Sealed
	if len(b) < 8 {
		return s, fmt.Errorf("%w: %d bytes is too short", ErrSealed, len(b))
	}
	if b[0] != sealedFormatV1 {
		return s, fmt.Errorf("%w: unknown format version %d", ErrSealed, b[0])
	}
	s.Backend = Backend(b[1])
	v := binary.BigEndian.Uint32(b[2:6])
	if v > MaxVersion {
		return s, fmt.Errorf("%w: key version %d out of range", ErrSealed, v)
	}
	s.Version = int(v)
	n := int(b[6])
	rest := b[7:]
	if len(rest) < n+1 {
		return s, fmt.Errorf("%w: truncated key id", ErrSealed)
	}
	s.Key = KeyID(rest[:n])
	m := int(rest[n])
	rest = rest[n+1:]
	if len(rest) < m {
		return s, fmt.Errorf("%w: truncated nonce", ErrSealed)
	}
	s.Nonce = rest[:m:m]
	s.Ciphertext = rest[m:]
	if err := s.check(); err != nil {
		return Sealed{}, err
	}
	return s, nil
}
