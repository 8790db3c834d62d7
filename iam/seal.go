package iam

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// KeySource hands out data keys sealed by a KMS master key: the server
// adapts its kms.KMS (iam imports nothing of objstore). Implementations
// must be safe for concurrent use and never put key material in errors.
type KeySource interface {
	// GenerateDataKey returns a fresh 256-bit key and its sealed form,
	// bound to associated.
	GenerateDataKey(ctx context.Context, associated []byte) (plaintext, sealed []byte, err error)
	// UnsealDataKey returns the key sealed in sealed; wrong associated
	// data, a wrong master key or tampered bytes fail.
	UnsealDataKey(ctx context.Context, sealed, associated []byte) ([]byte, error)
}

// The sealed store file (see the package documentation for the diagram).
const (
	sealMagic      = "OBJSIAM\x00"
	sealVersion    = 1
	sealHeaderSize = len(sealMagic) + 1 + 2 // magic, version, sealed key length
	sealNonceSize  = 12
	sealTagSize    = 16
	// maxSealedKey bounds the sealed data key a header may declare: KMS
	// blobs are well under a kilobyte.
	maxSealedKey = 4096
)

// sealAssociated binds the data key to its use: a sealed key copied out
// of another file the same KMS protects does not open here.
var sealAssociated = []byte("objstore/iam/" + StoreFile)

// ErrStoreSealed: the store file is sealed by a KMS key and cannot be
// opened: no KeySource was given, or it does not open the file's data key
// (another KMS, a deleted key, tampered bytes).
var ErrStoreSealed = errors.New("iam: store file is sealed and does not open")

// isSealed reports whether b starts like a sealed store file.
func isSealed(b []byte) bool { return bytes.HasPrefix(b, []byte(sealMagic)) }

// sealStore seals doc under a fresh data key:
//
//	magic | version | len(sealed key) | sealed key | nonce | AES-256-GCM(doc)
//
// with everything before the nonce as GCM additional data.
func sealStore(ctx context.Context, keys KeySource, doc []byte) ([]byte, error) {
	key, sealedKey, err := keys.GenerateDataKey(ctx, sealAssociated)
	if err != nil {
		return nil, fmt.Errorf("iam: seal store: data key: %w", err)
	}
	defer clear(key)
	if len(sealedKey) == 0 || len(sealedKey) > maxSealedKey {
		return nil, fmt.Errorf("iam: seal store: the KMS returned a sealed key of %d bytes", len(sealedKey))
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, sealHeaderSize+len(sealedKey)+sealNonceSize+len(doc)+sealTagSize)
	out = append(out, sealMagic...)
	out = append(out, sealVersion)
	out = binary.BigEndian.AppendUint16(out, uint16(len(sealedKey)))
	out = append(out, sealedKey...)
	ad := len(out)
	nonce := make([]byte, sealNonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("iam: seal store: nonce: %w", err)
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, doc, out[:ad]), nil
}

// sealedParts splits a sealed file; it checks only the framing.
func sealedParts(b []byte) (ad, sealedKey, nonce, ciphertext []byte, err error) {
	if !isSealed(b) || len(b) < sealHeaderSize {
		return nil, nil, nil, nil, fmt.Errorf("%w: not a sealed store file", ErrStoreFormat)
	}
	if v := b[len(sealMagic)]; v != sealVersion {
		return nil, nil, nil, nil, fmt.Errorf("%w: sealed format version %d, this build reads %d", ErrStoreFormat, v, sealVersion)
	}
	n := int(binary.BigEndian.Uint16(b[len(sealMagic)+1:]))
	rest := b[sealHeaderSize:]
	if n == 0 || n > maxSealedKey || len(rest) < n+sealNonceSize+sealTagSize {
		return nil, nil, nil, nil, fmt.Errorf("%w: sealed store file truncated or malformed", ErrStoreFormat)
	}
	return b[:sealHeaderSize+n], rest[:n], rest[n : n+sealNonceSize], rest[n+sealNonceSize:], nil
}

// openStore returns the document sealed in b.
func openStore(ctx context.Context, keys KeySource, b []byte) ([]byte, error) {
	ad, sealedKey, nonce, ciphertext, err := sealedParts(b)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, fmt.Errorf("%w: it needs the KMS that sealed it", ErrStoreSealed)
	}
	key, err := keys.UnsealDataKey(ctx, sealedKey, sealAssociated)
	if err != nil {
		return nil, fmt.Errorf("%w: data key: %w", ErrStoreSealed, err)
	}
	defer clear(key)
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	doc, err := aead.Open(nil, nonce, ciphertext, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: the contents do not authenticate", ErrStoreSealed)
	}
	return doc, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("iam: store cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("iam: store cipher: %w", err)
	}
	return aead, nil
}
