package kms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// KeyID names a master key: "default", "finance-2026", ... It is 1 to 64
// characters from [A-Za-z0-9._-], so that it is safe in file names, HSM
// labels, KMIP names, S3 headers and log lines alike.
type KeyID string

// DefaultKeyID is the master key the server uses when a request names none
// (SSE-S3 and bucket keys of buckets without an SSE-KMS key).
const DefaultKeyID KeyID = "default"

// MaxKeyIDLen is the longest valid KeyID.
const MaxKeyIDLen = 64

// Validate reports whether id is a well-formed key id; the error matches
// ErrInvalidKeyID.
func (id KeyID) Validate() error {
	if len(id) == 0 || len(id) > MaxKeyIDLen {
		return fmt.Errorf("%w: length %d, want 1..%d", ErrInvalidKeyID, len(id), MaxKeyIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%w: byte %d is %q", ErrInvalidKeyID, i, c)
		}
	}
	return nil
}

// DataKeySize is the size of every data key: 256 bits.
const DataKeySize = 32

// DataKey is a fresh 256-bit key and its sealed form. The caller owns both
// slices; it must wipe Plaintext (Wipe) as soon as it has used it and keep
// only Sealed. DataKey never prints its plaintext: String, GoString and
// LogValue show only the sealed size.
type DataKey struct {
	// Plaintext is the key itself, DataKeySize bytes.
	Plaintext []byte
	// Sealed is Plaintext sealed by a master key version together with the
	// associated data given to GenerateDataKey; see ParseSealed.
	Sealed []byte
}

// Wipe zeroes the plaintext key in place.
func (k *DataKey) Wipe() { Wipe(k.Plaintext) }

// String redacts the plaintext key.
func (k DataKey) String() string {
	return fmt.Sprintf("kms.DataKey{Plaintext: [redacted], Sealed: %d bytes}", len(k.Sealed))
}

// GoString redacts the plaintext key for %#v.
func (k DataKey) GoString() string { return k.String() }

// LogValue redacts the plaintext key in structured logs.
func (k DataKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("plaintext", "[redacted]"), slog.Int("sealed_bytes", len(k.Sealed)))
}

// Wipe zeroes b. It is used on every buffer that held key material.
func Wipe(b []byte) { clear(b) }

// KeyStatus describes one master key.
type KeyStatus struct {
	// ID is the key's name.
	ID KeyID
	// Backend is the backend's name: "keyring", "pkcs11" or "kmip".
	Backend string
	// Version is the current version, the one new data keys are sealed
	// under; versions start at 1 and every rotation adds one.
	Version int
	// Created is when version 1 was created (for PKCS#11 tokens, which
	// store only dates, midnight UTC of that day).
	Created time.Time
	// Rotated is when the current version was created; equal to Created
	// for a key that was never rotated.
	Rotated time.Time
	// Enabled reports whether the current version can seal new keys.
	Enabled bool
}

// KMS is key custody: master keys that never leave their backend, and data
// keys sealed and unsealed by them.
//
// Every method is safe for concurrent use. Errors are *Error values that
// name the key and the backend and match exactly one of ErrInvalidKeyID,
// ErrKeyNotFound, ErrKeyExists, ErrSealed or ErrBackend under errors.Is.
// Byte slices passed in are not retained; slices returned belong to the
// caller.
type KMS interface {
	// CreateKey creates master key id at version 1. It fails with
	// ErrKeyExists if id exists.
	CreateKey(ctx context.Context, id KeyID) error
	// GenerateDataKey returns a fresh random data key and its form sealed
	// under the current version of id. associated is bound into the seal
	// (for example "bucket/photos"): Unseal needs the same bytes.
	GenerateDataKey(ctx context.Context, id KeyID, associated []byte) (DataKey, error)
	// Unseal returns the plaintext of a sealed data key. The sealed blob
	// names its key id and version; old versions keep unsealing after a
	// rotation. Wrong key, tampered bytes or other associated data fail
	// with ErrSealed.
	Unseal(ctx context.Context, sealed, associated []byte) ([]byte, error)
	// RotateKey adds a new version to id and makes it current.
	RotateKey(ctx context.Context, id KeyID) error
	// Rewrap unseals sealed and seals the same plaintext again under the
	// current version of its key, with the same associated data; the
	// plaintext never leaves the KMS.
	Rewrap(ctx context.Context, sealed, associated []byte) ([]byte, error)
	// Status describes id; ErrKeyNotFound if it does not exist.
	Status(ctx context.Context, id KeyID) (KeyStatus, error)
	// ListKeys describes every key, sorted by id.
	ListKeys(ctx context.Context) ([]KeyStatus, error)
	// Close releases the backend and wipes key material held in memory.
	// Calls after Close fail with ErrBackend.
	Close() error
}

var (
	// ErrInvalidKeyID means a key id is not 1..64 of [A-Za-z0-9._-].
	ErrInvalidKeyID = errors.New("kms: invalid key id")
	// ErrKeyNotFound means the named key, or the key version a sealed
	// blob names, does not exist in this KMS.
	ErrKeyNotFound = errors.New("kms: key not found")
	// ErrKeyExists means CreateKey named a key that exists.
	ErrKeyExists = errors.New("kms: key exists")
	// ErrSealed means sealed bytes do not open: the wrong key or backend,
	// tampered or truncated bytes, or other associated data. It is also
	// returned for a keyring file that the passphrase does not open.
	ErrSealed = errors.New("kms: sealed data does not authenticate (wrong key, tampered, or wrong associated data)")
	// ErrBackend means the backend is unreachable, misconfigured or
	// failing; the error wraps the cause.
	ErrBackend = errors.New("kms: backend failed")
	// ErrKeyDisabled means the backend refuses to use the key: disabled,
	// revoked, deactivated or not permitted to this client. Unlike
	// ErrBackend it does not pass with a retry.
	ErrKeyDisabled = errors.New("kms: key disabled or not permitted")
)

// Error is the error every KMS method returns: what was attempted, on which
// key and backend, and why. It never holds key material.
type Error struct {
	// Op is the operation: "create", "generate", "unseal", "rotate",
	// "rewrap", "status", "list", "open", "close".
	Op string
	// Backend is the backend's name.
	Backend string
	// Key is the key involved, if any.
	Key KeyID
	// Version is the key version involved, 0 if none or unknown.
	Version int
	// Err is the cause; it wraps one of the package's sentinel errors.
	Err error
}

// Error formats as "kms: BACKEND: OP key "ID" vN: cause".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kms: ")
	b.WriteString(e.Backend)
	b.WriteString(": ")
	b.WriteString(e.Op)
	if e.Key != "" {
		// %q: a key id from a tampered blob is validated before it gets
		// here, but quoting keeps any surprise visible.
		fmt.Fprintf(&b, " key %q", string(e.Key))
	}
	if e.Version > 0 {
		fmt.Fprintf(&b, " v%d", e.Version)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "kms: "))
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// EnsureKey creates key id unless it exists. A server calls it at start for
// DefaultKeyID.
func EnsureKey(ctx context.Context, k KMS, id KeyID) error {
	if _, err := k.Status(ctx, id); err == nil {
		return nil
	} else if !errors.Is(err, ErrKeyNotFound) {
		return err
	}
	if err := k.CreateKey(ctx, id); err != nil && !errors.Is(err, ErrKeyExists) {
		return err
	}
	return nil
}
