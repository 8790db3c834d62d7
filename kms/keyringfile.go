package kms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/argon2"
)

// The keyring file (format version 1):
//
//	 0          8    9    10         14         18   19   20        20+s      32+s
//	+----------+----+----+----------+----------+----+----+---------+---------+--------------------+
//	| OSKEYRNG | 1  |kdf | time u32 | mem u32  |thr |  s | salt    | nonce   | AES-256-GCM(body)  |
//	+----------+----+----+----------+----------+----+----+---------+---------+--------------------+
//	 \______________ header: the GCM additional data ____________/
//
//	kdf 1 = argon2id(passphrase, salt, time, mem KiB, thr) -> 32-byte KEK
//	kdf 2 = raw key: HKDF-SHA256(raw key, salt, "objstore kms keyring v1") -> KEK;
//	        time, mem and thr are zero
//
// The body, once opened:
//
//	u32 key count, then per key (sorted by id):
//	  u8 id length, id, u32 version count, then per version (1, 2, ...):
//	    i64 created (Unix nanoseconds), 32-byte master key
//
// All integers are big endian. The KEK is derived once when the keyring is
// opened and kept (in memory) to seal each rewrite with a fresh nonce.

const (
	keyringMagic    = "OSKEYRNG"
	keyringFormatV1 = 1
	kdfArgon2id     = 1
	kdfRawKey       = 2
	keyringSaltSize = 16
	keyringNonce    = 12
	masterKeySize   = 32
	// maxKeyringKeys and maxKeyVersions bound the body so that a corrupt
	// count cannot make the parser allocate without limit.
	maxKeyringKeys = 1 << 20
	maxKeyVersions = 1 << 20
)

// Argon2Params are the argon2id parameters that turn a passphrase into the
// keyring's key-encryption key. They are stored in the file header, so a
// keyring keeps opening when the defaults change.
type Argon2Params struct {
	// Time is the number of passes (default 3).
	Time uint32
	// MemoryKiB is the memory used in KiB (default 64 MiB).
	MemoryKiB uint32
	// Threads is the parallelism, part of the derivation (default 2).
	Threads uint8
}

// The argon2id parameters of new keyrings: RFC 9106's second recommended
// setting (t=3, 64 MiB) with 2 lanes; 0.2 to 0.5 s on this project's 2-core
// machine, paid once per start and once per Rekey.
const (
	DefaultArgon2Time      = 3
	DefaultArgon2MemoryKiB = 64 << 10
	DefaultArgon2Threads   = 2
)

// Limits on parameters read from a file: a tampered header must not make
// the server spend minutes or gigabytes before the GCM tag refuses it.
const (
	maxArgon2Time   = 64
	maxArgon2Memory = 4 << 20 // KiB: 4 GiB
)

func (p Argon2Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("argon2 time %d outside 1..%d", p.Time, maxArgon2Time)
	case p.MemoryKiB < 8*uint32(max(p.Threads, 1)) || p.MemoryKiB > maxArgon2Memory:
		return fmt.Errorf("argon2 memory %d KiB outside %d..%d", p.MemoryKiB, 8*uint32(max(p.Threads, 1)), maxArgon2Memory)
	case p.Threads < 1:
		return errors.New("argon2 threads is 0")
	}
	return nil
}

// keyringHeader is the parsed, unauthenticated header.
type keyringHeader struct {
	kdf    byte
	argon  Argon2Params
	salt   []byte
	nonce  []byte
	raw    []byte // header bytes, the GCM additional data
	sealed []byte // the GCM ciphertext
}

var errKeyringFormat = errors.New("kms: keyring: malformed file")

// parseKeyringHeader parses the file's header. It allocates nothing that
// depends on the input's claims.
func parseKeyringHeader(b []byte) (keyringHeader, error) {
	var h keyringHeader
	const fixed = 20
	if len(b) < fixed || string(b[:8]) != keyringMagic {
		return h, fmt.Errorf("%w: not a keyring file", errKeyringFormat)
	}
	if b[8] != keyringFormatV1 {
		return h, fmt.Errorf("%w: unknown format version %d", errKeyringFormat, b[8])
	}
	h.kdf = b[9]
	h.argon = Argon2Params{
		Time:      binary.BigEndian.Uint32(b[10:14]),
		MemoryKiB: binary.BigEndian.Uint32(b[14:18]),
		Threads:   b[18],
	}
	s := int(b[19])
	switch h.kdf {
	case kdfArgon2id:
		if err := h.argon.validate(); err != nil {
			return h, fmt.Errorf("%w: %w", errKeyringFormat, err)
		}
	case kdfRawKey:
		if h.argon != (Argon2Params{}) {
			return h, fmt.Errorf("%w: raw-key keyring with argon2 parameters", errKeyringFormat)
		}
	default:
		return h, fmt.Errorf("%w: unknown key derivation %d", errKeyringFormat, h.kdf)
	}
	if s != keyringSaltSize {
		return h, fmt.Errorf("%w: salt of %d bytes", errKeyringFormat, s)
	}
	if len(b) < fixed+s+keyringNonce+tagSize {
		return h, fmt.Errorf("%w: truncated", errKeyringFormat)
	}
	h.salt = b[fixed : fixed+s]
	h.raw = b[:fixed+s]
	h.nonce = b[fixed+s : fixed+s+keyringNonce]
	h.sealed = b[fixed+s+keyringNonce:]
	return h, nil
}

func (h *keyringHeader) marshal() []byte {
	b := make([]byte, 0, 20+len(h.salt))
	b = append(b, keyringMagic...)
	b = append(b, keyringFormatV1, h.kdf)
	b = binary.BigEndian.AppendUint32(b, h.argon.Time)
	b = binary.BigEndian.AppendUint32(b, h.argon.MemoryKiB)
	b = append(b, h.argon.Threads, byte(len(h.salt)))
	return append(b, h.salt...)
}

// deriveKEK turns the operator's secret into the key-encryption key.
func deriveKEK(h *keyringHeader, passphrase, rawKey []byte) ([]byte, error) {
	switch h.kdf {
	case kdfArgon2id:
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("%w: the keyring is sealed by a passphrase and none was given", ErrSealed)
		}
		p := h.argon
		return argon2.IDKey(passphrase, h.salt, p.Time, p.MemoryKiB, p.Threads, 32), nil
	case kdfRawKey:
		if len(rawKey) == 0 {
			return nil, fmt.Errorf("%w: the keyring is sealed by a raw key and none was given", ErrSealed)
		}
		return hkdf.Key(sha256.New, rawKey, h.salt, "objstore kms keyring v1", 32)
	}
	return nil, fmt.Errorf("%w: unknown key derivation %d", errKeyringFormat, h.kdf)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ringKey is one master key with all its versions; versions[i] is version
// i+1.
type ringKey struct {
	versions []ringVersion
}

type ringVersion struct {
	created time.Time
	key     []byte
	aead    cipher.AEAD
}

// marshalBody encodes the keys, sorted by id.
func marshalBody(keys map[KeyID]*ringKey, ids []KeyID) []byte {
	n := 4
	for _, id := range ids {
		n += 1 + len(id) + 4 + len(keys[id].versions)*(8+masterKeySize)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		k := keys[id]
		b = append(b, byte(len(id)))
		b = append(b, id...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(k.versions)))
		for _, v := range k.versions {
			b = binary.BigEndian.AppendUint64(b, uint64(v.created.UnixNano()))
			b = append(b, v.key...)
		}
	}
	return b
}

// parseBody decodes an opened body. Master keys are copied out of b, which
// the caller wipes.
func parseBody(b []byte) (map[KeyID]*ringKey, error) {
	bad := func(what string) error { return fmt.Errorf("%w: body: %s", errKeyringFormat, what) }
	if len(b) < 4 {
		return nil, bad("truncated key count")
	}
	count := binary.BigEndian.Uint32(b)
	b = b[4:]
	if count > maxKeyringKeys {
		return nil, bad("too many keys")
	}
	keys := make(map[KeyID]*ringKey)
	for range count {
		if len(b) < 1 || len(b) < 1+int(b[0])+4 {
			return nil, bad("truncated key id")
		}
		id := KeyID(b[1 : 1+int(b[0])])
		b = b[1+int(b[0]):]
		if err := id.Validate(); err != nil {
			return nil, bad(err.Error())
		}
		if _, dup := keys[id]; dup {
			return nil, bad("duplicate key " + string(id))
		}
		nv := binary.BigEndian.Uint32(b)
		b = b[4:]
		if nv < 1 || nv > maxKeyVersions || uint64(len(b)) < uint64(nv)*(8+masterKeySize) {
			return nil, bad("bad version count")
		}
		k := &ringKey{versions: make([]ringVersion, nv)}
		for i := range k.versions {
			k.versions[i].created = time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC()
			k.versions[i].key = append([]byte(nil), b[8:8+masterKeySize]...)
			b = b[8+masterKeySize:]
		}
		keys[id] = k
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	return keys, nil
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory, fsync, rename, then fsync of the directory, so that a crash
// leaves either the old file or the new one, never a mix.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead
	return b
}
