package sse

import "errors"

// Sentinel errors. Every error the package returns wraps one of them, so
// callers map them with errors.Is: ErrAuthentication to "access denied" or
// "object corrupt" depending on the key's origin, the others to an
// internal error (they mean a caller bug or damaged metadata).
var (
	// ErrAuthentication: data or a sealed value failed authentication. It
	// was tampered with, reordered, truncated or extended, belongs to
	// another object or part, or the key is wrong. The cases are
	// deliberately not told apart beyond the error text: an AEAD cannot
	// tell a wrong key from a flipped bit.
	ErrAuthentication = errors.New("sse: authentication failed")

	// ErrFormat: a sealed value is malformed (too short) or names a format
	// version or cipher this build does not know.
	ErrFormat = errors.New("sse: malformed or unsupported format")

	// ErrKeySize: a key is not KeySize bytes long, or an ObjectKey is the
	// zero value.
	ErrKeySize = errors.New("sse: invalid key size")

	// ErrInvalidArgument: a size, range or part number is out of bounds.
	ErrInvalidArgument = errors.New("sse: invalid argument")
)
