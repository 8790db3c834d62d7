//go:build cgo

package pkcs11

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/objstore/objstore/kms"
)

// HSM is the PKCS#11 backend; it is a KMS through its embedded Manager.
type HSM struct {
	*kms.Manager
	h *hsm
}

// Open loads cfg.Module, finds the token labelled cfg.TokenLabel, opens
// cfg.Sessions sessions and logs in. A process should open one HSM per
// module at a time: PKCS#11 login state and C_Finalize are per process.
func Open(ctx context.Context, cfg Config) (*HSM, error) {
	if err := cfg.validate(); err != nil {
		return nil, newError("open", err)
	}
	if cfg.Sessions == 0 {
		cfg.Sessions = 4
	}
	if err := ctx.Err(); err != nil {
		return nil, newError("open", err)
	}
	h, err := open(cfg)
	if err != nil {
		return nil, newError("open", err)
	}
	return &HSM{Manager: kms.NewManager(h), h: h}, nil
}

// hsm is the Custodian behind HSM.
type hsm struct {
	cfg      Config
	p        *p11.Ctx
	slot     uint
	finalize bool // this hsm initialised the module and finalises it
	all      []p11.SessionHandle
	sessions chan p11.SessionHandle

	admin sync.Mutex // serialises CreateKey and RotateKey
	mu    sync.Mutex // guards cache
	cache map[kms.KeyID]*keyObjects
}

// keyObjects are the token objects of one master key's versions.
type keyObjects struct {
	handles map[int]p11.ObjectHandle
	dates   map[int]time.Time
	current int
}

var _ kms.Custodian = (*hsm)(nil)

func open(cfg Config) (*hsm, error) {
	p := p11.New(cfg.Module)
	if p == nil {
		return nil, fmt.Errorf("cannot load PKCS#11 module %s", cfg.Module)
	}
	h := &hsm{cfg: cfg, p: p, cache: make(map[kms.KeyID]*keyObjects)}
	ok := false
	defer func() {
		if !ok {
			h.release()
		}
	}()
	switch err := p.Initialize(); {
	case err == nil:
		h.finalize = true
	case isCode(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED):
	default:
		return nil, fmt.Errorf("C_Initialize: %w", err)
	}
	slots, err := p.GetSlotList(true)
	if err != nil {
		return nil, fmt.Errorf("C_GetSlotList: %w", err)
	}
	found := false
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		if err == nil && strings.TrimRight(ti.Label, " \x00") == cfg.TokenLabel {
			h.slot, found = s, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("no token labelled %q in %s", cfg.TokenLabel, cfg.Module)
	}
	h.sessions = make(chan p11.SessionHandle, cfg.Sessions)
	for range cfg.Sessions {
		s, err := p.OpenSession(h.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
		if err != nil {
			return nil, fmt.Errorf("C_OpenSession: %w", err)
		}
		h.all = append(h.all, s)
		h.sessions <- s
	}
	// Login is per application, not per session: one is enough.
	if err := p.Login(h.all[0], p11.CKU_USER, cfg.PIN); err != nil && !isCode(err, p11.CKR_USER_ALREADY_LOGGED_IN) {
		return nil, fmt.Errorf("C_Login to token %q: %w", cfg.TokenLabel, err)
	}
	ok = true
	return h, nil
}

// release closes the sessions and unloads the module.
func (h *hsm) release() error {
	var errs []error
	for _, s := range h.all {
		if err := h.p.CloseSession(s); err != nil {
			errs = append(errs, fmt.Errorf("C_CloseSession: %w", err))
		}
	}
	h.all = nil
	if h.finalize {
		if err := h.p.Finalize(); err != nil {
			errs = append(errs, fmt.Errorf("C_Finalize: %w", err))
		}
	}
	h.p.Destroy()
	return errors.Join(errs...)
}

func isCode(err error, code uint) bool {
	var e p11.Error
	return errors.As(err, &e) && uint(e) == code
}

// withSession runs f on a session from the pool. PKCS#11 calls cannot be
// cancelled; ctx bounds only the wait for a free session.
func (h *hsm) withSession(ctx context.Context, f func(s p11.SessionHandle) error) error {
	var s p11.SessionHandle
	select {
	case s = <-h.sessions:
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for an HSM session: %w", kms.ErrBackend, ctx.Err())
	}
	defer func() { h.sessions <- s }()
	return f(s)
}

// backendErr marks an HSM failure as ErrBackend, or as ErrKeyDisabled
// when the token refuses the one key (its attributes forbid the use).
func backendErr(what string, err error) error {
	var code p11.Error
	if errors.As(err, &code) && (code == p11.CKR_KEY_FUNCTION_NOT_PERMITTED || code == p11.CKR_KEY_TYPE_INCONSISTENT) {
		// The token refuses this key, not every call: one key's
		// attributes must not look like the HSM being down.
		return fmt.Errorf("%w: %s: the token will not use this key: %w", kms.ErrKeyDisabled, what, err)
	}
	return fmt.Errorf("%w: %s: %w", kms.ErrBackend, what, err)
}

// Backend implements kms.Custodian.
func (h *hsm) Backend() kms.Backend { return kms.BackendPKCS11 }

// find returns the token objects matching template.
func (h *hsm) find(s p11.SessionHandle, template []*p11.Attribute) ([]p11.ObjectHandle, error) {
	if err := h.p.FindObjectsInit(s, template); err != nil {
		return nil, backendErr("C_FindObjectsInit", err)
	}
	var all []p11.ObjectHandle
	for {
		objs, _, err := h.p.FindObjects(s, 256)
		if err != nil {
			_ = h.p.FindObjectsFinal(s)
			return nil, backendErr("C_FindObjects", err)
		}
		if len(objs) == 0 {
			break
		}
		all = append(all, objs...)
	}
	if err := h.p.FindObjectsFinal(s); err != nil {
		return nil, backendErr("C_FindObjectsFinal", err)
	}
	return all, nil
}

func (h *hsm) aesKeyTemplate() []*p11.Attribute {
	return []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
		p11.NewAttribute(p11.CKA_TOKEN, true),
	}
}

// describe reads the label and creation time of objs and groups them by
// key.
func (h *hsm) describe(s p11.SessionHandle, objs []p11.ObjectHandle) (map[kms.KeyID]*keyObjects, error) {
	keys := make(map[kms.KeyID]*keyObjects)
	for _, o := range objs {
		attrs, err := h.p.GetAttributeValue(s, o, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_LABEL, nil),
			p11.NewAttribute(p11.CKA_ID, nil),
		})
		if err != nil {
			return nil, backendErr("C_GetAttributeValue", err)
		}
		id, v, ok := h.cfg.parseLabel(string(attrs[0].Value))
		if !ok {
			continue
		}
		k := keys[id]
		if k == nil {
			k = &keyObjects{handles: map[int]p11.ObjectHandle{}, dates: map[int]time.Time{}}
			keys[id] = k
		}
		if _, dup := k.handles[v]; dup {
			continue // a racing CreateKey of another process: the first found wins
		}
		k.handles[v] = o
		k.dates[v] = decodeCreated(attrs[1].Value)
		k.current = max(k.current, v)
	}
	return keys, nil
}

// The creation time of a version is kept in its CKA_ID as 8 bytes, big
// endian Unix seconds: SoftHSM2 2.6 cannot read back CKA_START_DATE, and
// CKA_LABEL already names the key and version.
func encodeCreated(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(t.Unix()))
}

func decodeCreated(b []byte) time.Time {
	if len(b) != 8 {
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b)), 0).UTC()
}

// maxVersions bounds the probe for versions in lookup.
const maxVersions = 1 << 16

// lookup reads id's objects from the token (labels id/v1, id/v2, ...
// until one is missing) and refreshes the cache.
func (h *hsm) lookup(ctx context.Context, id kms.KeyID) (*keyObjects, error) {
	var k *keyObjects
	err := h.withSession(ctx, func(s p11.SessionHandle) error {
		var objs []p11.ObjectHandle
		for v := 1; v <= maxVersions; v++ {
			found, err := h.find(s, append(h.aesKeyTemplate(), p11.NewAttribute(p11.CKA_LABEL, h.cfg.label(id, v))))
			if err != nil {
				return err
			}
			if len(found) == 0 {
				break
			}
			objs = append(objs, found...)
		}
		keys, err := h.describe(s, objs)
		if err != nil {
			return err
		}
		k = keys[id]
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if k == nil {
		delete(h.cache, id)
		return nil, kms.ErrKeyNotFound
	}
	h.cache[id] = k
	return k, nil
}

// cached returns id's objects, from the cache when it has version (or, for
// version 0, any version).
func (h *hsm) cached(ctx context.Context, id kms.KeyID, version int) (*keyObjects, error) {
	h.mu.Lock()
	k := h.cache[id]
	h.mu.Unlock()
	if k != nil {
		if _, ok := k.handles[version]; ok || version == 0 {
			return k, nil
		}
	}
	// Unknown here; another process may have rotated it.
	return h.lookup(ctx, id)
}

// generate creates id/version inside the HSM: an AES-256 token object
// that is sensitive and never extractable, usable only to encrypt and
// decrypt.
func (h *hsm) generate(ctx context.Context, id kms.KeyID, version int) error {
	return h.withSession(ctx, func(s p11.SessionHandle) error {
		t := append(h.aesKeyTemplate(),
			p11.NewAttribute(p11.CKA_VALUE_LEN, 32),
			p11.NewAttribute(p11.CKA_PRIVATE, true),
			p11.NewAttribute(p11.CKA_SENSITIVE, true),
			p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
			p11.NewAttribute(p11.CKA_ENCRYPT, true),
			p11.NewAttribute(p11.CKA_DECRYPT, true),
			p11.NewAttribute(p11.CKA_WRAP, false),
			p11.NewAttribute(p11.CKA_UNWRAP, false),
			p11.NewAttribute(p11.CKA_SIGN, false),
			p11.NewAttribute(p11.CKA_VERIFY, false),
			p11.NewAttribute(p11.CKA_DERIVE, false),
			p11.NewAttribute(p11.CKA_MODIFIABLE, false),
			p11.NewAttribute(p11.CKA_LABEL, h.cfg.label(id, version)),
			p11.NewAttribute(p11.CKA_ID, encodeCreated(time.Now())),
		)
		_, err := h.p.GenerateKey(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}, t)
		if err != nil {
			return backendErr("C_GenerateKey", err)
		}
		return nil
	})
}

// CreateKey implements kms.Custodian. Two processes creating the same key
// at once can both succeed (PKCS#11 has no conditional create); the
// token then holds two v1 objects and the first found is used.
func (h *hsm) CreateKey(ctx context.Context, id kms.KeyID) error {
	h.admin.Lock()
	defer h.admin.Unlock()
	_, err := h.lookup(ctx, id)
	switch {
	case err == nil:
		return kms.ErrKeyExists
	case !errors.Is(err, kms.ErrKeyNotFound):
		return err
	}
	if err := h.generate(ctx, id, 1); err != nil {
		return err
	}
	_, err = h.lookup(ctx, id)
	return err
}

// RotateKey implements kms.Custodian.
func (h *hsm) RotateKey(ctx context.Context, id kms.KeyID) error {
	h.admin.Lock()
	defer h.admin.Unlock()
	k, err := h.lookup(ctx, id)
	if err != nil {
		return err
	}
	if err := h.generate(ctx, id, k.current+1); err != nil {
		return err
	}
	_, err = h.lookup(ctx, id)
	return err
}

// CurrentVersion implements kms.Custodian.
func (h *hsm) CurrentVersion(ctx context.Context, id kms.KeyID) (int, error) {
	k, err := h.cached(ctx, id, 0)
	if err != nil {
		return 0, err
	}
	return k.current, nil
}

func (k *keyObjects) status(id kms.KeyID) kms.KeyStatus {
	created := k.dates[1]
	if created.IsZero() {
		for v := 1; v <= k.current && created.IsZero(); v++ {
			created = k.dates[v]
		}
	}
	return kms.KeyStatus{ID: id, Version: k.current, Created: created, Rotated: k.dates[k.current], Enabled: true}
}

// Status implements kms.Custodian; it reads the token.
func (h *hsm) Status(ctx context.Context, id kms.KeyID) (kms.KeyStatus, error) {
	k, err := h.lookup(ctx, id)
	if err != nil {
		return kms.KeyStatus{}, err
	}
	return k.status(id), nil
}

// ListKeys implements kms.Custodian.
func (h *hsm) ListKeys(ctx context.Context) ([]kms.KeyStatus, error) {
	var out []kms.KeyStatus
	err := h.withSession(ctx, func(s p11.SessionHandle) error {
		objs, err := h.find(s, h.aesKeyTemplate())
		if err != nil {
			return err
		}
		keys, err := h.describe(s, objs)
		if err != nil {
			return err
		}
		for id, k := range keys {
			out = append(out, k.status(id))
		}
		return nil
	})
	return out, err
}

func gcm(nonce, aad []byte) (*p11.GCMParams, []*p11.Mechanism) {
	params := p11.NewGCMParams(nonce, aad, 128)
	return params, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}
}

// Encrypt implements kms.Custodian: CKM_AES_GCM inside the HSM, with a
// random 96-bit IV (or the HSM's own, if it insists on choosing).
func (h *hsm) Encrypt(ctx context.Context, id kms.KeyID, version int, plaintext, aad []byte) ([]byte, []byte, error) {
	k, err := h.cached(ctx, id, version)
	if err != nil {
		return nil, nil, err
	}
	o, ok := k.handles[version]
	if !ok {
		return nil, nil, fmt.Errorf("%w: version %d", kms.ErrKeyNotFound, version)
	}
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	var ct []byte
	err = h.withSession(ctx, func(s p11.SessionHandle) error {
		params, mech := gcm(nonce, aad)
		defer params.Free()
		if err := h.p.EncryptInit(s, mech, o); err != nil {
			return backendErr("C_EncryptInit", err)
		}
		if ct, err = h.p.Encrypt(s, plaintext); err != nil {
			return backendErr("C_Encrypt", err)
		}
		if iv := params.IV(); len(iv) > 0 {
			nonce = iv
		}
		return nil
	})
	if err != nil {
		h.forgetOnStaleHandle(id, err)
		return nil, nil, err
	}
	return nonce, ct, nil
}

// Decrypt implements kms.Custodian. A GCM tag mismatch is reported by
// C_Decrypt; the standard says CKR_ENCRYPTED_DATA_INVALID, SoftHSM2 says
// CKR_GENERAL_ERROR, so both (after a successful C_DecryptInit) mean
// ErrSealed.
func (h *hsm) Decrypt(ctx context.Context, id kms.KeyID, version int, nonce, ciphertext, aad []byte) ([]byte, error) {
	k, err := h.cached(ctx, id, version)
	if err != nil {
		return nil, err
	}
	o, ok := k.handles[version]
	if !ok {
		return nil, fmt.Errorf("%w: version %d (the token has up to v%d)", kms.ErrKeyNotFound, version, k.current)
	}
	var pt []byte
	err = h.withSession(ctx, func(s p11.SessionHandle) error {
		params, mech := gcm(nonce, aad)
		defer params.Free()
		if err := h.p.DecryptInit(s, mech, o); err != nil {
			if isCode(err, p11.CKR_MECHANISM_PARAM_INVALID) {
				return fmt.Errorf("%w: C_DecryptInit: %w", kms.ErrSealed, err)
			}
			return backendErr("C_DecryptInit", err)
		}
		if pt, err = h.p.Decrypt(s, ciphertext); err != nil {
			for _, code := range []uint{p11.CKR_ENCRYPTED_DATA_INVALID, p11.CKR_ENCRYPTED_DATA_LEN_RANGE, p11.CKR_GENERAL_ERROR} {
				if isCode(err, code) {
					return fmt.Errorf("%w: C_Decrypt: %w", kms.ErrSealed, err)
				}
			}
			return backendErr("C_Decrypt", err)
		}
		return nil
	})
	if err != nil {
		h.forgetOnStaleHandle(id, err)
		return nil, err
	}
	return pt, nil
}

// forgetOnStaleHandle drops id from the cache when the HSM says its
// handle is gone (the object was deleted, or the token re-inserted), so
// the next call looks it up again.
func (h *hsm) forgetOnStaleHandle(id kms.KeyID, err error) {
	if isCode(err, p11.CKR_KEY_HANDLE_INVALID) || isCode(err, p11.CKR_OBJECT_HANDLE_INVALID) {
		h.mu.Lock()
		delete(h.cache, id)
		h.mu.Unlock()
	}
}

// Close implements kms.Custodian: it waits for the sessions in use, then
// closes them and unloads the module.
func (h *hsm) Close() error {
	for range h.all {
		<-h.sessions
	}
	return h.release()
}
