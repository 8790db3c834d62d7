package kms

import (
	"bytes"
	"cmp"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// KeyringConfig configures the keyring backend. Exactly one of Passphrase
// and RawKey is set. The config holds secrets: it prints and logs them
// redacted.
type KeyringConfig struct {
	// Path is the keyring file; it and its directory are created on first
	// use (mode 0600, directory 0700).
	Path string
	// Passphrase is the operator's passphrase (at least MinPassphraseLen
	// bytes); the file's key is derived from it with argon2id.
	Passphrase []byte
	// RawKey is a 32-byte key for automation, used instead of a
	// passphrase.
	RawKey []byte
	// Argon2 sets the argon2id parameters when a passphrase keyring file
	// is created or rekeyed; zero fields take the defaults
	// (DefaultArgon2Time, DefaultArgon2MemoryKiB, DefaultArgon2Threads).
	// An existing file keeps the parameters in its header.
	Argon2 Argon2Params
	// NoCreate refuses to create a missing keyring file (ErrBackend):
	// set it when data sealed under the keyring exists, so that a lost or
	// misplaced file is not silently replaced by an empty one whose new
	// keys seal writes that stop opening once the old file is back.
	NoCreate bool
}

// MinPassphraseLen is the shortest passphrase NewKeyring accepts.
const MinPassphraseLen = 8

// RawKeySize is the size of a raw keyring key.
const RawKeySize = 32

func (c KeyringConfig) validate() error {
	switch {
	case c.Path == "":
		return errors.New("Path is empty")
	case len(c.Passphrase) > 0 && len(c.RawKey) > 0:
		return errors.New("both Passphrase and RawKey are set; set one")
	case len(c.Passphrase) == 0 && len(c.RawKey) == 0:
		return errors.New("neither Passphrase nor RawKey is set")
	case len(c.Passphrase) > 0 && len(c.Passphrase) < MinPassphraseLen:
		return fmt.Errorf("the passphrase is %d bytes, want at least %d", len(c.Passphrase), MinPassphraseLen)
	case len(c.RawKey) > 0 && len(c.RawKey) != RawKeySize:
		return fmt.Errorf("the raw key is %d bytes, want %d", len(c.RawKey), RawKeySize)
	}
	return nil
}

func (c KeyringConfig) argon2() Argon2Params {
	p := c.Argon2
	p.Time = cmp.Or(p.Time, DefaultArgon2Time)
	p.MemoryKiB = cmp.Or(p.MemoryKiB, DefaultArgon2MemoryKiB)
	p.Threads = cmp.Or(p.Threads, DefaultArgon2Threads)
	return p
}

// String redacts the secrets.
func (c KeyringConfig) String() string {
	return fmt.Sprintf("kms.KeyringConfig{Path: %q, Passphrase: %s, RawKey: %s}", c.Path, redacted(c.Passphrase), redacted(c.RawKey))
}

// GoString redacts the secrets for %#v.
func (c KeyringConfig) GoString() string { return c.String() }

// LogValue redacts the secrets in structured logs.
func (c KeyringConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("path", c.Path),
		slog.String("passphrase", redacted(c.Passphrase)),
		slog.String("raw_key", redacted(c.RawKey)),
	)
}

func redacted(b []byte) string {
	if len(b) == 0 {
		return "unset"
	}
	return "[redacted]"
}

// Keyring is the built-in backend: master keys (all versions) in one file,
// sealed by a key derived from the operator's passphrase or raw key. It is
// a KMS through its embedded Manager.
type Keyring struct {
	*Manager
	ring *keyring
}

// NewKeyring opens the keyring file at cfg.Path, creating an empty one if
// it does not exist. A passphrase or key that does not open the file fails
// with ErrSealed; a file that is not a keyring with ErrBackend.
func NewKeyring(ctx context.Context, cfg KeyringConfig) (*Keyring, error) {
	fail := func(err error) error {
		if !isClassified(err) {
			err = fmt.Errorf("%w: %w", ErrBackend, err)
		}
		return &Error{Op: "open", Backend: BackendKeyring.String(), Err: err}
	}
	if err := cfg.validate(); err != nil {
		return nil, fail(fmt.Errorf("config: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return nil, fail(err)
	}
	r := &keyring{path: cfg.Path, keys: make(map[KeyID]*ringKey)}
	data, err := os.ReadFile(cfg.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && cfg.NoCreate:
		return nil, fail(fmt.Errorf("%w: the keyring file %s is missing, but data sealed under its keys exists: restore the file (and its key), do not start without it",
			ErrBackend, cfg.Path))
	case errors.Is(err, fs.ErrNotExist):
		if err := r.create(cfg); err != nil {
			return nil, fail(err)
		}
	case err != nil:
		return nil, fail(err)
	default:
		if err := r.open(data, cfg); err != nil {
			return nil, fail(err)
		}
	}
	return &Keyring{Manager: NewManager(r), ring: r}, nil
}

// Path returns the keyring file's path.
func (k *Keyring) Path() string { return k.ring.path }

// Rekey seals the keyring file under a new secret (exactly one of
// passphrase and rawKey), for example to move from a generated raw key to
// an operator passphrase. The master keys do not change, so nothing sealed
// by them needs rewrapping.
func (k *Keyring) Rekey(ctx context.Context, passphrase, rawKey []byte) error {
	cfg := KeyringConfig{Path: k.ring.path, Passphrase: passphrase, RawKey: rawKey, Argon2: k.ring.argon}
	err := cfg.validate()
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = k.ring.rekey(cfg)
	}
	if err != nil {
		if !isClassified(err) {
			err = fmt.Errorf("%w: %w", ErrBackend, err)
		}
		return &Error{Op: "rekey", Backend: BackendKeyring.String(), Err: err}
	}
	return nil
}

// keyring is the Custodian behind Keyring.
type keyring struct {
	path string

	mu     sync.RWMutex
	hdr    keyringHeader // kdf and salt of the file
	argon  Argon2Params  // for Rekey: the parameters new passphrase files get
	kek    cipher.AEAD
	keys   map[KeyID]*ringKey
	closed bool
}

var _ Custodian = (*keyring)(nil)

// create writes a new, empty keyring file.
func (r *keyring) create(cfg KeyringConfig) error {
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return err
	}
	if err := r.setSecret(cfg); err != nil {
		return err
	}
	return r.persist(r.keys)
}

// setSecret derives a new KEK with a fresh salt from cfg's secret.
func (r *keyring) setSecret(cfg KeyringConfig) error {
	h := keyringHeader{salt: randomBytes(keyringSaltSize)}
	r.argon = cfg.argon2()
	if len(cfg.Passphrase) > 0 {
		h.kdf, h.argon = kdfArgon2id, r.argon
		if err := h.argon.validate(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	} else {
		h.kdf = kdfRawKey
	}
	kek, err := deriveKEK(&h, cfg.Passphrase, cfg.RawKey)
	if err != nil {
		return err
	}
	defer Wipe(kek)
	aead, err := newGCM(kek)
	if err != nil {
		return err
	}
	h.raw = h.marshal()
	r.hdr, r.kek = h, aead
	return nil
}

// open authenticates and decodes an existing file.
func (r *keyring) open(data []byte, cfg KeyringConfig) error {
	h, err := parseKeyringHeader(data)
	if err != nil {
		return err
	}
	kek, err := deriveKEK(&h, cfg.Passphrase, cfg.RawKey)
	if err != nil {
		return err
	}
	defer Wipe(kek)
	aead, err := newGCM(kek)
	if err != nil {
		return err
	}
	body, err := aead.Open(nil, h.nonce, h.sealed, h.raw)
	if err != nil {
		return fmt.Errorf("%w: the passphrase or key does not open %s (wrong secret, or the file was modified)", ErrSealed, r.path)
	}
	defer Wipe(body)
	keys, err := parseBody(body)
	if err != nil {
		return err
	}
	for _, k := range keys {
		for i := range k.versions {
			if k.versions[i].aead, err = newGCM(k.versions[i].key); err != nil {
				return err
			}
		}
	}
	h.raw = bytes.Clone(h.raw)
	h.salt = bytes.Clone(h.salt)
	h.nonce, h.sealed = nil, nil
	r.hdr, r.kek, r.keys = h, aead, keys
	r.argon = cfg.argon2()
	if h.kdf == kdfArgon2id {
		r.argon = h.argon
	}
	return nil
}

// persist seals keys with the KEK and replaces the file.
func (r *keyring) persist(keys map[KeyID]*ringKey) error {
	ids := make([]KeyID, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	body := marshalBody(keys, ids)
	defer Wipe(body)
	nonce := randomBytes(keyringNonce)
	out := make([]byte, 0, len(r.hdr.raw)+len(nonce)+len(body)+tagSize)
	out = append(out, r.hdr.raw...)
	out = append(out, nonce...)
	out = r.kek.Seal(out, nonce, body, r.hdr.raw)
	return writeFileAtomic(r.path, out, 0o600)
}

func (r *keyring) rekey(cfg KeyringConfig) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	oldHdr, oldKEK := r.hdr, r.kek
	if err := r.setSecret(cfg); err != nil {
		r.hdr, r.kek = oldHdr, oldKEK
		return err
	}
	if err := r.persist(r.keys); err != nil {
		r.hdr, r.kek = oldHdr, oldKEK
		return err
	}
	return nil
}

func newRingVersion(now time.Time) (ringVersion, error) {
	key := randomBytes(masterKeySize)
	aead, err := newGCM(key)
	if err != nil {
		return ringVersion{}, err
	}
	return ringVersion{created: now.UTC(), key: key, aead: aead}, nil
}

// Backend implements Custodian.
func (r *keyring) Backend() Backend { return BackendKeyring }

// CreateKey implements Custodian: the file is rewritten before the key
// is used, so a key that sealed anything is always on disk.
func (r *keyring) CreateKey(ctx context.Context, id KeyID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	if _, ok := r.keys[id]; ok {
		return ErrKeyExists
	}
	v, err := newRingVersion(time.Now())
	if err != nil {
		return err
	}
	r.keys[id] = &ringKey{versions: []ringVersion{v}}
	if err := r.persist(r.keys); err != nil {
		delete(r.keys, id)
		return err
	}
	return nil
}

// RotateKey implements Custodian.
func (r *keyring) RotateKey(ctx context.Context, id KeyID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	k, ok := r.keys[id]
	if !ok {
		return ErrKeyNotFound
	}
	v, err := newRingVersion(time.Now())
	if err != nil {
		return err
	}
	old := k.versions
	k.versions = append(slices.Clip(old), v)
	if err := r.persist(r.keys); err != nil {
		k.versions = old
		return err
	}
	return nil
}

// version returns id/version under the read lock.
func (r *keyring) version(id KeyID, version int) (ringVersion, error) {
	if r.closed {
		return ringVersion{}, errClosed
	}
	k, ok := r.keys[id]
	if !ok {
		return ringVersion{}, ErrKeyNotFound
	}
	if version < 1 || version > len(k.versions) {
		return ringVersion{}, fmt.Errorf("%w: version %d (the key has %d)", ErrKeyNotFound, version, len(k.versions))
	}
	return k.versions[version-1], nil
}

// CurrentVersion implements Custodian.
func (r *keyring) CurrentVersion(ctx context.Context, id KeyID) (int, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return 0, errClosed
	}
	k, ok := r.keys[id]
	if !ok {
		return 0, ErrKeyNotFound
	}
	return len(k.versions), nil
}

func (r *keyring) status(id KeyID, k *ringKey) KeyStatus {
	return KeyStatus{
		ID:      id,
		Version: len(k.versions),
		Created: k.versions[0].created,
		Rotated: k.versions[len(k.versions)-1].created,
		Enabled: true,
	}
}

// Status implements Custodian.
func (r *keyring) Status(ctx context.Context, id KeyID) (KeyStatus, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return KeyStatus{}, errClosed
	}
	k, ok := r.keys[id]
	if !ok {
		return KeyStatus{}, ErrKeyNotFound
	}
	return r.status(id, k), nil
}

// ListKeys implements Custodian.
func (r *keyring) ListKeys(ctx context.Context) ([]KeyStatus, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return nil, errClosed
	}
	out := make([]KeyStatus, 0, len(r.keys))
	for id, k := range r.keys {
		out = append(out, r.status(id, k))
	}
	return out, nil
}

// Encrypt implements Custodian.
func (r *keyring) Encrypt(ctx context.Context, id KeyID, version int, plaintext, aad []byte) ([]byte, []byte, error) {
	r.mu.RLock()
	v, err := r.version(id, version)
	r.mu.RUnlock()
	if err != nil {
		return nil, nil, err
	}
	nonce := randomBytes(keyringNonce)
	return nonce, v.aead.Seal(nil, nonce, plaintext, aad), nil
}

// Decrypt implements Custodian.
func (r *keyring) Decrypt(ctx context.Context, id KeyID, version int, nonce, ciphertext, aad []byte) ([]byte, error) {
	r.mu.RLock()
	v, err := r.version(id, version)
	r.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if len(nonce) != v.aead.NonceSize() {
		return nil, fmt.Errorf("%w: nonce of %d bytes", ErrSealed, len(nonce))
	}
	pt, err := v.aead.Open(nil, nonce, ciphertext, aad)
	if err != nil {
		return nil, ErrSealed
	}
	return pt, nil
}

// Close implements Custodian: it wipes the master keys from memory.
func (r *keyring) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.keys {
		for _, v := range k.versions {
			Wipe(v.key)
		}
	}
	r.keys, r.kek, r.closed = nil, nil, true
	return nil
}
