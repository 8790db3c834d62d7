package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/encryption"
	"github.com/objstore/objstore/iam"
	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/kms/kmip"
	"github.com/objstore/objstore/kms/pkcs11"
	"github.com/objstore/objstore/metrics"
)

// KMS backends of Config.KMSBackend.
const (
	KMSKeyring = "keyring"
	KMSPKCS11  = "pkcs11"
	KMSKMIP    = "kmip"
)

// openKMS opens the configured key management service and makes sure the
// default master key exists. A KMS given in Config.KMS is used as is and
// not closed by the server.
func (s *Server) openKMS(ctx context.Context) error {
	cfg := s.cfg
	if cfg.KMS != nil {
		s.kms = cfg.KMS
	} else {
		var k kms.KMS
		var err error
		switch cfg.KMSBackend {
		case "", KMSKeyring:
			var kc kms.KeyringConfig
			if kc, err = kms.KeyringFromEnv(cfg.DataDir, cfg.Logger); err == nil {
				kc.NoCreate = s.sealedDataExists(ctx)
				k, err = kms.NewKeyring(ctx, kc)
			}
		case KMSPKCS11:
			k, err = pkcs11.Open(ctx, cfg.PKCS11)
		case KMSKMIP:
			k, err = kmip.Open(ctx, cfg.KMIP)
		default:
			err = fmt.Errorf("unknown backend %q (want keyring, pkcs11 or kmip)", cfg.KMSBackend)
		}
		if err != nil {
			return fmt.Errorf("server: kms: %w", err)
		}
		s.kms, s.ownKMS = k, true
	}
	s.kmsHealth, _ = s.kms.(kmsReporter)
	s.kms = observedKMS{KMS: s.kms, backend: kmsBackendName(cfg), m: s.metrics}
	if err := kms.EnsureKey(ctx, s.kms, kms.DefaultKeyID); err != nil {
		s.closeKMS()
		return fmt.Errorf("server: kms: default key: %w", err)
	}
	keys, err := encryption.New(s.kms, s.store, encryption.Options{Logger: cfg.Logger, CallTimeout: sharedCallTimeout(cfg)})
	if err != nil {
		s.closeKMS()
		return fmt.Errorf("server: %w", err)
	}
	s.keys = keys
	return nil
}

// closeKMS closes a KMS the server opened.
func (s *Server) closeKMS() error {
	if s.kms == nil || !s.ownKMS {
		return nil
	}
	err := s.kms.Close()
	s.kms = nil
	if err != nil {
		return fmt.Errorf("server: close kms: %w", err)
	}
	return nil
}

// Keys is the server's key management: bucket keys, crypto-shredding
// (ShredBucket) and master key rotation, for operator tools. A rotation
// of the default key through Keys().RotateMasterKey leaves iam.json and
// the audit anchor under the old version; the admin API's rotation
// (keysForAdmin) re-seals them too, so that the old version may be
// retired.
func (s *Server) Keys() *encryption.Keys { return s.keys }

// sealedDataExists reports whether anything sealed under the KMS's keys
// is already stored: a bucket (its bucket key, and any objects), the IAM
// store or an audit anchor. A keyring is created only when nothing is:
// a first start, or one that stopped before its first bucket.
func (s *Server) sealedDataExists(ctx context.Context) bool {
	if buckets, err := s.store.ListBuckets(ctx); err != nil || len(buckets) > 0 {
		return true // unknown counts as yes: refusing to start is the safe side
	}
	for _, p := range []string{
		filepath.Join(s.cfg.DataDir, iamDir, iam.StoreFile),
		filepath.Join(s.cfg.DataDir, auditDir, audit.AnchorFile),
	} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// kmsReporter is a KMS that reports its backend's state: kms.Manager,
// and so every backend the server opens (they embed it). A KMS given in
// Config.KMS may not; the admin API's /cluster and objstore_kms_up then
// leave the KMS out.
type kmsReporter interface{ Health() kms.Health }

// kmsBackendName is the backend label of objstore_kms_calls_total.
func kmsBackendName(cfg Config) string {
	switch {
	case cfg.KMS != nil:
		return "custom" // a KMS the embedding program gave
	case cfg.KMSBackend == "":
		return KMSKeyring
	}
	return cfg.KMSBackend
}

// observedKMS counts every call to the KMS in objstore_kms_calls_total
// by backend, operation and outcome, so that an outage, or a cache that
// stopped holding bucket keys, shows in the metrics and not only as 503s
// and log lines. Close is not a call to count.
type observedKMS struct {
	kms.KMS
	backend string
	m       *metrics.Metrics
}

func (o observedKMS) count(op string, err error) { o.m.ObserveKMS(o.backend, op, err) }

// CreateKey implements kms.KMS.
func (o observedKMS) CreateKey(ctx context.Context, id kms.KeyID) error {
	err := o.KMS.CreateKey(ctx, id)
	o.count("create", err)
	return err
}

// GenerateDataKey implements kms.KMS.
func (o observedKMS) GenerateDataKey(ctx context.Context, id kms.KeyID, associated []byte) (kms.DataKey, error) {
	dk, err := o.KMS.GenerateDataKey(ctx, id, associated)
	o.count("generate", err)
	return dk, err
}

// Unseal implements kms.KMS.
func (o observedKMS) Unseal(ctx context.Context, sealed, associated []byte) ([]byte, error) {
	pt, err := o.KMS.Unseal(ctx, sealed, associated)
	o.count("unseal", err)
	return pt, err
}

// RotateKey implements kms.KMS.
func (o observedKMS) RotateKey(ctx context.Context, id kms.KeyID) error {
	err := o.KMS.RotateKey(ctx, id)
	o.count("rotate", err)
	return err
}

// Rewrap implements kms.KMS.
func (o observedKMS) Rewrap(ctx context.Context, sealed, associated []byte) ([]byte, error) {
	out, err := o.KMS.Rewrap(ctx, sealed, associated)
	o.count("rewrap", err)
	return out, err
}

// Status implements kms.KMS.
func (o observedKMS) Status(ctx context.Context, id kms.KeyID) (kms.KeyStatus, error) {
	st, err := o.KMS.Status(ctx, id)
	o.count("status", err)
	return st, err
}

// Health forwards the wrapped KMS's state (kms.Manager's), or reports
// up for a KMS that cannot tell: encryption reads it, and stops sharing
// calls for a cold bucket key while the KMS is down.
func (o observedKMS) Health() kms.Health {
	if h, ok := o.KMS.(kmsReporter); ok {
		return h.Health()
	}
	return kms.Health{Backend: o.backend}
}

// ListKeys implements kms.KMS.
func (o observedKMS) ListKeys(ctx context.Context) ([]kms.KeyStatus, error) {
	keys, err := o.KMS.ListKeys(ctx)
	o.count("list", err)
	return keys, err
}

// sharedCallTimeout bounds a bucket key's KMS work shared by concurrent
// requests (encryption.Options.CallTimeout): at least 30 s, and room for
// three KMIP calls (a key's version, then the data key or the unseal,
// and one more) when the operator raised the KMIP timeout, so that the
// shared call never ends before the backend's own timeout would.
func sharedCallTimeout(cfg Config) time.Duration {
	const floor = 30 * time.Second
	if cfg.KMS == nil && cfg.KMSBackend == KMSKMIP {
		return max(floor, 3*cfg.KMIP.Timeout)
	}
	return floor
}
