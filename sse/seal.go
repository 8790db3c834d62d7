package sse

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
)

// Layout of a sealed value (SealKey and SealMetadata), version 1:
//
//	0     1        2                    34                  34+n      34+n+16
//	+-----+--------+--------------------+-------------------+---------+
//	| ver | cipher | salt (32 bytes)    | ciphertext (n)    | tag     |
//	+-----+--------+--------------------+-------------------+---------+
const (
	saltSize   = 32
	headerSize = 2 + saltSize
	// SealedKeySize is the length of a sealed object key.
	SealedKeySize = headerSize + KeySize + tagSize
	// SealedMetadataOverhead is what SealMetadata adds to its input.
	SealedMetadataOverhead = headerSize + tagSize
	// ClientKeyCheckSize is the length of a client key check.
	ClientKeyCheckSize = 1 + saltSize + KeySize
)

// SealKey seals an object key under a key-encryption key: the bucket key
// for SSE-S3 and SSE-KMS, the client's key for SSE-C. The result
// (SealedKeySize bytes) records the format version and the key's cipher,
// so it is all a reader needs besides kek to decrypt the object's streams.
//
// associated names what the key belongs to (bucket, object name, and the
// version or upload id where the caller knows it); the strings are bound,
// length-prefixed, as associated data, so a sealed key copied to another
// object fails UnsealKey with ErrAuthentication.
func SealKey(kek []byte, key ObjectKey, associated ...string) ([]byte, error) {
	return sealKey(rand.Reader, kek, key, associated...)
}

// sealKey is SealKey with the salt read from rnd (test vectors).
func sealKey(rnd io.Reader, kek []byte, key ObjectKey, associated ...string) ([]byte, error) {
	if len(kek) != KeySize {
		return nil, fmt.Errorf("%w: key-encryption key of %d bytes, want %d", ErrKeySize, len(kek), KeySize)
	}
	if err := key.check(); err != nil {
		return nil, err
	}
	out := make([]byte, headerSize, SealedKeySize)
	out[0], out[1] = Version, byte(key.cipher)
	if _, err := io.ReadFull(rnd, out[2:headerSize]); err != nil {
		return nil, fmt.Errorf("sse: seal key: read salt: %w", err)
	}
	aead, err := sealingAEAD(key.cipher, kek, out[2:headerSize], labelSealKey)
	if err != nil {
		return nil, err
	}
	var zero [nonceSize]byte
	return aead.Seal(out, zero[:], key.key[:], associatedData(out[:headerSize], associated)), nil
}

// UnsealKey opens a value made by SealKey with the same kek and associated
// strings. A wrong kek, other associated strings or a modified value give
// ErrAuthentication; a value of the wrong length or an unknown version or
// cipher gives ErrFormat.
func UnsealKey(kek, sealed []byte, associated ...string) (ObjectKey, error) {
	if len(kek) != KeySize {
		return ObjectKey{}, fmt.Errorf("%w: key-encryption key of %d bytes, want %d", ErrKeySize, len(kek), KeySize)
	}
	c, err := parseHeader(sealed, "sealed key")
	if err != nil {
		return ObjectKey{}, err
	}
	if len(sealed) != SealedKeySize {
		return ObjectKey{}, fmt.Errorf("%w: sealed key of %d bytes, want %d", ErrFormat, len(sealed), SealedKeySize)
	}
	aead, err := sealingAEAD(c, kek, sealed[2:headerSize], labelSealKey)
	if err != nil {
		return ObjectKey{}, err
	}
	k := ObjectKey{cipher: c}
	var zero [nonceSize]byte
	if _, err := aead.Open(k.key[:0], zero[:], sealed[headerSize:], associatedData(sealed[:headerSize], associated)); err != nil {
		return ObjectKey{}, fmt.Errorf("%w: sealed key does not open with this key and context", ErrAuthentication)
	}
	return k, nil
}

// SealMetadata seals a small byte string (an object's user metadata,
// encoded by the caller) under the object key, with a key of its own
// derived from it and a fresh salt, so it may be resealed any number of
// times. The result is len(plain)+SealedMetadataOverhead bytes. It is
// bound to the object through the object key.
func SealMetadata(key ObjectKey, plain []byte) ([]byte, error) {
	return sealMetadata(rand.Reader, key, plain)
}

func sealMetadata(rnd io.Reader, key ObjectKey, plain []byte) ([]byte, error) {
	if err := key.check(); err != nil {
		return nil, err
	}
	out := make([]byte, headerSize, headerSize+len(plain)+tagSize)
	out[0], out[1] = Version, byte(key.cipher)
	if _, err := io.ReadFull(rnd, out[2:headerSize]); err != nil {
		return nil, fmt.Errorf("sse: seal metadata: read salt: %w", err)
	}
	aead, err := sealingAEAD(key.cipher, key.key[:], out[2:headerSize], labelMetadata)
	if err != nil {
		return nil, err
	}
	var zero [nonceSize]byte
	return aead.Seal(out, zero[:], plain, out[:headerSize]), nil
}

// OpenMetadata opens a value made by SealMetadata under the same object
// key, returning a new slice. Errors as UnsealKey.
func OpenMetadata(key ObjectKey, sealed []byte) ([]byte, error) {
	if err := key.check(); err != nil {
		return nil, err
	}
	c, err := parseHeader(sealed, "sealed metadata")
	if err != nil {
		return nil, err
	}
	if len(sealed) < SealedMetadataOverhead {
		return nil, fmt.Errorf("%w: sealed metadata of %d bytes, want at least %d", ErrFormat, len(sealed), SealedMetadataOverhead)
	}
	if c != key.cipher {
		return nil, fmt.Errorf("%w: sealed metadata names %v, the object key %v", ErrAuthentication, c, key.cipher)
	}
	aead, err := sealingAEAD(c, key.key[:], sealed[2:headerSize], labelMetadata)
	if err != nil {
		return nil, err
	}
	var zero [nonceSize]byte
	plain, err := aead.Open(nil, zero[:], sealed[headerSize:], sealed[:headerSize])
	if err != nil {
		return nil, fmt.Errorf("%w: sealed metadata does not open with this object key", ErrAuthentication)
	}
	if plain == nil {
		plain = []byte{}
	}
	return plain, nil
}

// ClientKeyCheck returns the value to store for an SSE-C object so that
// later requests can be checked against the client's key without storing
// the key: ClientKeyCheckSize bytes, a version byte, a random salt and
// HKDF-SHA256(client key, salt, "objstore sse v1 client key check").
//
// Why this suffices: S3 requires SSE-C keys to be 256 bits, and clients
// draw them at random, so no one can test guesses against the check,
// cheaply or not; a deliberately slow hash (argon2) would only slow every
// request. The salt's job is unlinkability: checks of the same key on two
// objects look unrelated, so the store does not reveal which objects share
// a customer key, as an unsalted hash (AWS's key MD5) would. The label
// separates the check from the key SealKey derives from the same client
// key, so the check reveals nothing about the sealing key either.
func ClientKeyCheck(clientKey []byte) ([]byte, error) {
	return clientKeyCheck(rand.Reader, clientKey)
}

func clientKeyCheck(rnd io.Reader, clientKey []byte) ([]byte, error) {
	if len(clientKey) != KeySize {
		return nil, fmt.Errorf("%w: client key of %d bytes, want %d", ErrKeySize, len(clientKey), KeySize)
	}
	out := make([]byte, 1+saltSize, ClientKeyCheckSize)
	out[0] = Version
	if _, err := io.ReadFull(rnd, out[1:]); err != nil {
		return nil, fmt.Errorf("sse: client key check: read salt: %w", err)
	}
	mac, err := derive(clientKey, out[1:], labelCheck)
	if err != nil {
		return nil, err
	}
	return append(out, mac...), nil
}

// VerifyClientKey reports whether clientKey is the key check was made
// from. The comparison is constant-time; a malformed check or key is
// simply not a match.
func VerifyClientKey(clientKey, check []byte) bool {
	if len(clientKey) != KeySize || len(check) != ClientKeyCheckSize || check[0] != Version {
		return false
	}
	mac, err := derive(clientKey, check[1:1+saltSize], labelCheck)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(mac, check[1+saltSize:]) == 1
}

// parseHeader checks the version and cipher of a sealed value.
func parseHeader(sealed []byte, what string) (Cipher, error) {
	if len(sealed) < headerSize {
		return 0, fmt.Errorf("%w: %s of %d bytes is too short", ErrFormat, what, len(sealed))
	}
	if sealed[0] != Version {
		return 0, fmt.Errorf("%w: %s version %d, this build reads %d", ErrFormat, what, sealed[0], Version)
	}
	c := Cipher(sealed[1])
	if !c.valid() {
		return 0, fmt.Errorf("%w: %s names unknown cipher %d", ErrFormat, what, sealed[1])
	}
	return c, nil
}

// Every sealed value uses the all-zero nonce: each is sealed under a key
// derived with its own random salt, so a key is never used twice and a
// fixed nonce is safe (2^-128 odds of a repeated salt after 2^64 seals,
// against the 2^32-message limit of random 96-bit nonces under one
// long-lived key).
//
// sealingAEAD derives the one-time key HKDF-SHA256(secret, salt, label)
// and returns cipher c under it.
func sealingAEAD(c Cipher, secret, salt []byte, label string) (cipher.AEAD, error) {
	k, err := derive(secret, salt, label)
	if err != nil {
		return nil, err
	}
	return newAEAD(c, k)
}

// associatedData is the header followed by each associated string as a
// uvarint length and its bytes: unambiguous, so ("ab", "c") and ("a",
// "bc") bind differently.
func associatedData(header []byte, associated []string) []byte {
	n := len(header)
	for _, s := range associated {
		n += binary.MaxVarintLen64 + len(s)
	}
	ad := make([]byte, 0, n)
	ad = append(ad, header...)
	for _, s := range associated {
		ad = binary.AppendUvarint(ad, uint64(len(s)))
		ad = append(ad, s...)
	}
	return ad
}
