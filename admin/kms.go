package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/objstore/objstore/encryption"
	"github.com/objstore/objstore/kms"
)

// KeyManager is what the KMS endpoints need: *encryption.Keys.
type KeyManager interface {
	ListKeys(ctx context.Context) ([]kms.KeyStatus, error)
	CreateKey(ctx context.Context, id kms.KeyID) error
	RotateMasterKey(ctx context.Context, id kms.KeyID) (encryption.RotateReport, error)
	ShredBucket(ctx context.Context, bucket string) (encryption.ShredReport, error)
}

// errNoKMS answers the KMS endpoints of a server built without keys.
var errNoKMS = &Error{Status: http.StatusServiceUnavailable, Code: "KMSUnavailable", Message: "this server has no key manager"}

// KMSKey is one master key in GET /kms/keys.
type KMSKey struct {
	ID      string    `json:"id"`
	Backend string    `json:"backend"`
	Version int       `json:"version"`
	Created time.Time `json:"created,omitzero"`
	Rotated time.Time `json:"rotated,omitzero"`
	Enabled bool      `json:"enabled"`
}

// CreateKMSKeyRequest is the POST /kms/keys body.
type CreateKMSKeyRequest struct {
	ID string `json:"id"`
}

// ShredRequest is the POST /buckets/{name}/shred body. Confirm must
// repeat the bucket name: shredding cannot be undone.
type ShredRequest struct {
	Confirm string `json:"confirm"`
}

func (h *Handler) keys() (KeyManager, error) {
	if h.cfg.Keys == nil {
		return nil, errNoKMS
	}
	return h.cfg.Keys, nil
}

func (h *Handler) listKMSKeys(c *call) error {
	km, err := h.keys()
	if err != nil {
		return err
	}
	ks, err := km.ListKeys(c.ctx)
	if err != nil {
		return fmt.Errorf("admin: list KMS keys: %w", err)
	}
	out := make([]KMSKey, 0, len(ks))
	for _, k := range ks {
		out = append(out, KMSKey{ID: string(k.ID), Backend: k.Backend, Version: k.Version, Created: k.Created, Rotated: k.Rotated, Enabled: k.Enabled})
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) createKMSKey(c *call) error {
	km, err := h.keys()
	if err != nil {
		return err
	}
	var req CreateKMSKeyRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if err := kms.KeyID(req.ID).Validate(); err != nil {
		return badRequest("invalid key id %q: %v", req.ID, err)
	}
	if err := km.CreateKey(c.ctx, kms.KeyID(req.ID)); err != nil {
		if errors.Is(err, kms.ErrKeyExists) {
			return &Error{Status: http.StatusConflict, Code: "KeyExists", Message: fmt.Sprintf("KMS key %q exists", req.ID)}
		}
		return fmt.Errorf("admin: create KMS key: %w", err)
	}
	return c.writeJSON(http.StatusCreated, KMSKey{ID: req.ID, Enabled: true, Version: 1})
}

func (h *Handler) rotateKMSKey(c *call) error {
	km, err := h.keys()
	if err != nil {
		return err
	}
	id := kms.KeyID(c.r.PathValue("id"))
	if err := id.Validate(); err != nil {
		return badRequest("invalid key id %q: %v", id, err)
	}
	rep, err := km.RotateMasterKey(c.ctx, id)
	if err != nil && rep.Version == 0 {
		if errors.Is(err, kms.ErrKeyNotFound) || errors.Is(err, encryption.ErrKeyNotFound) {
			return &Error{Status: http.StatusNotFound, Code: "NoSuchKey", Message: fmt.Sprintf("no KMS key %q", id)}
		}
		return fmt.Errorf("admin: rotate KMS key: %w", err)
	}
	// The key rotated: the report says what was rewrapped and re-sealed,
	// and names what failed (Failed), for the operator to rotate again
	// before retiring the old version.
	if err != nil {
		h.cfg.Logger.Warn("admin: key rotation left failures", "key", id, "version", rep.Version, "err", err)
	}
	return c.writeJSON(http.StatusOK, rep)
}

func (h *Handler) shredBucket(c *call) error {
	km, err := h.keys()
	if err != nil {
		return err
	}
	c.bucket = c.r.PathValue("name")
	var req ShredRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if req.Confirm != c.bucket {
		return badRequest("shredding cannot be undone: repeat the bucket name in \"confirm\"")
	}
	rep, err := km.ShredBucket(c.ctx, c.bucket)
	if err != nil {
		return fmt.Errorf("admin: shred bucket %q: %w", c.bucket, err)
	}
	return c.writeJSON(http.StatusOK, rep)
}
