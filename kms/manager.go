package kms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Custodian is what a backend implements: it holds master keys and runs
// AES-256-GCM with them where they live, never handing them out. A Manager
// turns a Custodian into a KMS (data key generation, the sealed format,
// rewrap, typed errors), so each backend only does its own part.
//
// Methods are called concurrently. They return errors wrapping
// ErrKeyNotFound, ErrKeyExists or ErrSealed where those apply; anything
// else is reported as ErrBackend. Versions are 1-based.
type Custodian interface {
	// Backend names the backend in sealed blobs.
	Backend() Backend
	// CreateKey creates id at version 1.
	CreateKey(ctx context.Context, id KeyID) error
	// RotateKey creates the next version of id and makes it current.
	RotateKey(ctx context.Context, id KeyID) error
	// CurrentVersion returns the version new seals use. It is called on
	// every seal, so backends answer it from memory where they can.
	CurrentVersion(ctx context.Context, id KeyID) (int, error)
	// Status describes id.
	Status(ctx context.Context, id KeyID) (KeyStatus, error)
	// ListKeys describes every key (any order).
	ListKeys(ctx context.Context) ([]KeyStatus, error)
	// Encrypt seals plaintext with AES-256-GCM under id/version,
	// authenticating aad, and returns the nonce it used and ciphertext
	// followed by the 16-byte tag.
	Encrypt(ctx context.Context, id KeyID, version int, plaintext, aad []byte) (nonce, ciphertext []byte, err error)
	// Decrypt opens what Encrypt returned. A failed authentication wraps
	// ErrSealed; an unknown id or version wraps ErrKeyNotFound.
	Decrypt(ctx context.Context, id KeyID, version int, nonce, ciphertext, aad []byte) ([]byte, error)
	// Close releases the backend.
	Close() error
}

// Manager is a KMS over a Custodian. Its zero value is not usable; call
// NewManager.
type Manager struct {
	c      *outage // the Custodian, asked one call at a time while it fails
	name   string
	closed atomic.Bool
}

// NewManager returns the KMS for c. Closing the Manager closes c.
func NewManager(c Custodian) *Manager {
	return &Manager{c: &outage{Custodian: c, since: time.Now()}, name: c.Backend().String()}
}

// Health is a backend's state as its Manager sees it: down from the
// first call that failed with ErrBackend while its caller waited, up
// again from the first answer the backend gives (see outage). It is what
// operators are shown (the admin API's /cluster, objstore_kms_up).
type Health struct {
	// Backend names the backend: keyring, pkcs11 or kmip.
	Backend string
	// Down is true while the backend is taken to be down: calls fail
	// with ErrBackend at once but for one at a time, which asks it.
	Down bool
	// Since is when the backend went down; while it is up, when it last
	// came back up, or when the Manager was made if it never went down.
	Since time.Time
	// Cause is, while Down, the text of the backend's error that began
	// the outage: the KMIP endpoint (and operation, for a timeout), or
	// the PKCS#11 function and its CKR_ code; never key material or
	// credentials.
	Cause string
}

// Health reports the backend's state now. It asks nothing of the
// backend.
func (m *Manager) Health() Health {
	down, since, cause := m.c.state()
	h := Health{Backend: m.name, Down: down, Since: since}
	if down && cause != nil {
		h.Cause = cause.Error()
	}
	return h
}

var _ KMS = (*Manager)(nil)

// fail wraps err in an *Error, mapping causes that are none of the
// sentinels to ErrBackend so that every error matches exactly one.
func (m *Manager) fail(op string, id KeyID, version int, err error) error {
	var kerr *Error
	if errors.As(err, &kerr) && kerr.Backend == m.name && kerr.Key == id {
		return err
	}
	if !isClassified(err) {
		err = fmt.Errorf("%w: %w", ErrBackend, err)
	}
	return &Error{Op: op, Backend: m.name, Key: id, Version: version, Err: err}
}

func isClassified(err error) bool {
	for _, s := range []error{ErrInvalidKeyID, ErrKeyNotFound, ErrKeyExists, ErrSealed, ErrBackend, ErrKeyDisabled} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

var errClosed = fmt.Errorf("%w: closed", ErrBackend)

func (m *Manager) begin(ctx context.Context, id KeyID, checkID bool) error {
	if m.closed.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrBackend, err)
	}
	if checkID {
		return id.Validate()
	}
	return nil
}

// CreateKey implements KMS.
func (m *Manager) CreateKey(ctx context.Context, id KeyID) error {
	if err := m.begin(ctx, id, true); err != nil {
		return m.fail("create", id, 0, err)
	}
	if err := m.c.CreateKey(ctx, id); err != nil {
		return m.fail("create", id, 1, err)
	}
	return nil
}

// GenerateDataKey implements KMS.
func (m *Manager) GenerateDataKey(ctx context.Context, id KeyID, associated []byte) (DataKey, error) {
	if err := m.begin(ctx, id, true); err != nil {
		return DataKey{}, m.fail("generate", id, 0, err)
	}
	pt := make([]byte, DataKeySize)
	if _, err := rand.Read(pt); err != nil {
		return DataKey{}, m.fail("generate", id, 0, err)
	}
	sealed, version, err := m.seal(ctx, id, pt, associated)
	if err != nil {
		Wipe(pt)
		return DataKey{}, m.fail("generate", id, version, err)
	}
	return DataKey{Plaintext: pt, Sealed: sealed}, nil
}

// seal seals pt under the current version of id.
func (m *Manager) seal(ctx context.Context, id KeyID, pt, associated []byte) ([]byte, int, error) {
	version, err := m.c.CurrentVersion(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	s := Sealed{Backend: m.c.Backend(), Key: id, Version: version}
	s.Nonce, s.Ciphertext, err = m.c.Encrypt(ctx, id, version, pt, s.AdditionalData(associated))
	if err != nil {
		return nil, version, err
	}
	b, err := s.Marshal()
	if err != nil {
		// Only a backend returning a nonce or ciphertext of a size the
		// format cannot hold gets here.
		return nil, version, fmt.Errorf("%w: backend output does not fit the sealed format: %w", ErrBackend, err)
	}
	return b, version, nil
}

// Unseal implements KMS.
func (m *Manager) Unseal(ctx context.Context, sealed, associated []byte) ([]byte, error) {
	pt, s, err := m.unseal(ctx, sealed, associated)
	if err != nil {
		return nil, m.fail("unseal", s.Key, s.Version, err)
	}
	return pt, nil
}

func (m *Manager) unseal(ctx context.Context, sealed, associated []byte) ([]byte, Sealed, error) {
	if err := m.begin(ctx, "", false); err != nil {
		return nil, Sealed{}, err
	}
	s, err := ParseSealed(sealed)
	if err != nil {
		return nil, Sealed{}, err
	}
	if s.Backend != m.c.Backend() {
		return nil, s, fmt.Errorf("%w: sealed by backend %s", ErrSealed, s.Backend)
	}
	pt, err := m.c.Decrypt(ctx, s.Key, s.Version, s.Nonce, s.Ciphertext, s.AdditionalData(associated))
	if err != nil {
		return nil, s, err
	}
	return pt, s, nil
}

// RotateKey implements KMS.
func (m *Manager) RotateKey(ctx context.Context, id KeyID) error {
	if err := m.begin(ctx, id, true); err != nil {
		return m.fail("rotate", id, 0, err)
	}
	if err := m.c.RotateKey(ctx, id); err != nil {
		return m.fail("rotate", id, 0, err)
	}
	return nil
}

// Rewrap implements KMS.
func (m *Manager) Rewrap(ctx context.Context, sealed, associated []byte) ([]byte, error) {
	pt, s, err := m.unseal(ctx, sealed, associated)
	if err != nil {
		return nil, m.fail("rewrap", s.Key, s.Version, err)
	}
	defer Wipe(pt)
	out, version, err := m.seal(ctx, s.Key, pt, associated)
	if err != nil {
		return nil, m.fail("rewrap", s.Key, version, err)
	}
	return out, nil
}

// Status implements KMS.
func (m *Manager) Status(ctx context.Context, id KeyID) (KeyStatus, error) {
	if err := m.begin(ctx, id, true); err != nil {
		return KeyStatus{}, m.fail("status", id, 0, err)
	}
	st, err := m.c.Status(ctx, id)
	if err != nil {
		return KeyStatus{}, m.fail("status", id, 0, err)
	}
	st.ID, st.Backend = id, m.name
	return st, nil
}

// ListKeys implements KMS.
func (m *Manager) ListKeys(ctx context.Context) ([]KeyStatus, error) {
	if err := m.begin(ctx, "", false); err != nil {
		return nil, m.fail("list", "", 0, err)
	}
	keys, err := m.c.ListKeys(ctx)
	if err != nil {
		return nil, m.fail("list", "", 0, err)
	}
	for i := range keys {
		keys[i].Backend = m.name
	}
	slices.SortFunc(keys, func(a, b KeyStatus) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return keys, nil
}

// Close implements KMS. It closes the Custodian once.
func (m *Manager) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	if err := m.c.Close(); err != nil {
		return m.fail("close", "", 0, err)
	}
	return nil
}
