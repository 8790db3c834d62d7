package drive

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
)

// DataIDLen is the length of a data id: 16 random bytes in lower-case hex.
const DataIDLen = 32

// MaxNameLen is the longest file name allowed inside a data directory.
const MaxNameLen = 64

// NewDataID returns a fresh random data id: 32 lower-case hex characters
// (128 bits from crypto/rand), so ids never collide in practice and carry
// nothing derived from object names.
func NewDataID() string {
	var b [DataIDLen / 2]byte
	// crypto/rand.Read never returns an error (it aborts the program if the
	// OS source fails), so the result is always full.
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidDataID reports whether id is a well-formed data id: exactly 32
// lower-case hex characters.
func ValidDataID(id string) bool {
	return len(id) == DataIDLen && isLowerHex(id)
}

// isLowerHex reports whether s consists of [0-9a-f] only.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidName reports whether name may name a file inside a data directory:
// 1 to 64 characters of [a-z0-9._-], starting with [a-z0-9], and no "..".
// The alphabet has no separator, so a valid name can never leave its
// directory.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'z':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return !strings.Contains(name, "..")
}

// checkNames returns ErrInvalidName (wrapped, naming the bad value in
// quoted form) unless dataID and name (when not empty) are valid.
func checkNames(dataID, name string, withName bool) error {
	if !ValidDataID(dataID) {
		return fmt.Errorf("drive: data id %.80q: %w", dataID, ErrInvalidName)
	}
	if withName && !ValidName(name) {
		return fmt.Errorf("drive: file name %.80q: %w", name, ErrInvalidName)
	}
	return nil
}

// dataDir returns <root>/data/<id[:2]>/<id>. The caller has validated id.
func dataDir(root, dataID string) string {
	return filepath.Join(root, dirData, dataID[:2], dataID)
}

// newUUID returns a random RFC 4122 version 4 UUID in its usual text form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
