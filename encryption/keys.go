package encryption

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/storage"
)

// Store is the part of the object layer (*storage.Store) that Keys uses:
// bucket metadata, and listings to measure a shred's scope.
type Store interface {
	BucketInfo(ctx context.Context, bucket string) (storage.BucketInfo, error)
	ListBuckets(ctx context.Context) ([]storage.BucketInfo, error)
	UpdateBucketMetadata(ctx context.Context, bucket string, fn func(md map[string]string) error) (storage.BucketInfo, error)
	PurgeBucketMetadata(ctx context.Context, bucket string) error
	ListObjects(ctx context.Context, bucket string, opts storage.ListOptions) (storage.ListResult, error)
	ListMultipartUploads(ctx context.Context, bucket string, opts storage.ListUploadsOptions) (storage.ListUploadsResult, error)
}

// Metadata keys in storage.BucketInfo.Metadata.
const (
	mdKeyPrefix = "sse-key/"
	mdConfig    = "sse-config"
)

var (
	// ErrShredded means the bucket key an object, version or upload was
	// sealed under has been destroyed (ShredBucket): it can never be read.
	ErrShredded = errors.New("encryption: the bucket key was destroyed (crypto-shredded)")
	// ErrKeyNotFound means a master key named by a request or a bucket
	// configuration does not exist in the KMS. It also matches
	// kms.ErrKeyNotFound.
	ErrKeyNotFound = kms.ErrKeyNotFound
	// ErrInvalidConfig means a bucket encryption configuration is not
	// one this server applies.
	ErrInvalidConfig = errors.New("encryption: invalid bucket encryption configuration")
)

// Options configures Keys. The zero value is usable.
type Options struct {
	// DefaultKeyID is the master key of SSE-S3 and SSE-C bucket keys;
	// default kms.DefaultKeyID.
	DefaultKeyID kms.KeyID
	// CacheSize bounds the unsealed bucket keys kept in memory; default
	// 4096.
	CacheSize int
	// Logger receives shred and rotation events; nil discards.
	Logger *slog.Logger
	// CallTimeout bounds a KMS call shared by the requests that want the
	// same uncached bucket key (and, for a new key, the metadata write
	// that follows it); default 30 s. No single request's cancellation
	// ends a shared call, so this is what ends one stuck in a backend
	// that cannot be cancelled (PKCS#11); the backends' own timeouts
	// (KMIP: 10 s) normally end it first.
	CallTimeout time.Duration
}

// Keys manages bucket keys over a KMS and the object layer. It is safe for
// concurrent use. Make one with New.
type Keys struct {
	kms   kms.KMS
	store Store
	def   kms.KeyID
	max   int
	log   *slog.Logger

	timeout time.Duration

	mu      sync.Mutex
	cache   map[cacheKey]BucketKey
	flights map[flightKey]*flight
	// shreds counts ShredBucket's forgets: a flight begun, or a
	// metadata read made, before one caches nothing (see share).
	shreds uint64

	// rotations counts master key rotations (RotateMasterKey), so that a
	// bucket key sealed before one and stored after it is rewrapped.
	rotations atomic.Uint64
}

type cacheKey struct {
	bucket string
	master kms.KeyID
}

// BucketKey is an unsealed bucket key. Key is shared with the cache:
// callers must not modify it.
type BucketKey struct {
	// ID names this bucket key; objects record it.
	ID string
	// Master is the KMS key that seals it.
	Master kms.KeyID
	// Key is the 32-byte key itself.
	Key []byte
}

// String redacts the key.
func (b BucketKey) String() string {
	return fmt.Sprintf("encryption.BucketKey{ID: %s, Master: %s, Key: [redacted]}", b.ID, b.Master)
}

// LogValue redacts the key in structured logs.
func (b BucketKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", b.ID), slog.String("master", string(b.Master)))
}

// New returns Keys over k and store. Keys does not close k.
func New(k kms.KMS, store Store, opts Options) (*Keys, error) {
	if k == nil || store == nil {
		return nil, errors.New("encryption: New needs a KMS and a store")
	}
	if opts.DefaultKeyID == "" {
		opts.DefaultKeyID = kms.DefaultKeyID
	}
	if err := opts.DefaultKeyID.Validate(); err != nil {
		return nil, fmt.Errorf("encryption: default key: %w", err)
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 4096
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 30 * time.Second
	}
	return &Keys{kms: k, store: store, def: opts.DefaultKeyID, max: opts.CacheSize, log: opts.Logger,
		timeout: opts.CallTimeout, cache: make(map[cacheKey]BucketKey), flights: make(map[flightKey]*flight)}, nil
}

// DefaultKeyID is the master key of SSE-S3 and SSE-C bucket keys.
func (k *Keys) DefaultKeyID() kms.KeyID { return k.def }

// KMS is the key management service the keys live in.
func (k *Keys) KMS() kms.KMS { return k.kms }

// associated is the KMS associated data of a bucket key.
func associated(bucket string) []byte { return []byte("bucket:" + bucket) }

// parseEntry splits a "sse-key/<id>" metadata value.
func parseEntry(v string) (id string, sealed []byte, err error) {
	id, b64, ok := strings.Cut(v, " ")
	if !ok || len(id) != 16 {
		return "", nil, errors.New("encryption: malformed bucket key entry")
	}
	sealed, err = base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", nil, fmt.Errorf("encryption: malformed bucket key entry: %w", err)
	}
	return id, sealed, nil
}

func (k *Keys) cached(bucket string, master kms.KeyID) (BucketKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.cache[cacheKey{bucket, master}]
	return b, ok
}

// remember caches b; k.mu is held.
func (k *Keys) remember(bucket string, b BucketKey) {
	if len(k.cache) >= k.max {
		// Evict an arbitrary entry: a miss costs one KMS call, and the
		// map's random order spreads evictions fairly enough.
		for ck := range k.cache {
			delete(k.cache, ck)
			break
		}
	}
	k.cache[cacheKey{bucket, b.Master}] = b
}

// forget drops every cached key of bucket, and detaches the bucket's
// flights: their callers get what they asked for, as a request that read
// the key just before would have, but it is not cached, and later
// requests ask the KMS afresh.
func (k *Keys) forget(bucket string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.shreds++
	for ck := range k.cache {
		if ck.bucket == bucket {
			delete(k.cache, ck)
		}
	}
	for fk := range k.flights {
		if fk.bucket == bucket {
			delete(k.flights, fk)
		}
	}
}

// A flight is one KMS call for a bucket key that is not cached, and what
// follows it, made once for every request that wants that key meanwhile:
// after a restart, a hundred GETs of one bucket would otherwise send a
// hundred Unseal calls to an HSM with a handful of sessions, or to a
// rate-limiting KMIP server, at once.
type flight struct {
	done    chan struct{} // closed when b and err are set
	b       BucketKey
	err     error
	landed  bool
	waiters int                // callers waiting for it
	cancel  context.CancelFunc // ends the call
	shreds  uint64             // Keys.shreds when its first caller read the metadata
}

// flightKey names what a flight makes: the unsealing of one metadata
// entry (which names the bucket key id, the master key and its version),
// or, with entry "", the creation of the bucket's key under master.
type flightKey struct {
	bucket string
	master kms.KeyID
	entry  string
}

// share runs fn once for every caller that asks for fk while it runs,
// and caches its key if it succeeds. A caller whose ctx ends returns at
// once with ctx's error; the others keep waiting.
//
// fn runs under a context of its own: the first caller's values, none of
// its cancellation (its going away must not fail the others), bounded by
// k.timeout. It is cancelled when the last of its callers has gone, as a
// request's own KMS call was when its client went away, and the flight
// is then dropped, so the next caller starts a new one. A failure reaches
// the callers that waited for it and is never cached.
//
// While the KMS is down (kms.Manager's Health, when the KMS reports
// one), callers do not join a flight in progress but start their own:
// the KMS's outage rule then answers them at once while one call at a
// time asks the backend, where waiting for that call would hold each of
// them, and its request slot, for the backend's timeout.
//
// shreds is Keys.shreds as the caller read the bucket's metadata: if a
// shred came since, the key is not cached (the caller still gets it, as
// a request that read it just before the shred would have).
func (k *Keys) share(ctx context.Context, fk flightKey, shreds uint64, fn func(context.Context) (BucketKey, error)) (BucketKey, error) {
	down := k.kmsDown()
	k.mu.Lock()
	f, ok := k.flights[fk]
	if !ok || down || f.shreds != shreds {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.timeout)
		f = &flight{done: make(chan struct{}), cancel: cancel, shreds: shreds}
		k.flights[fk] = f
		go k.fly(fctx, fk, f, fn)
	}
	f.waiters++
	k.mu.Unlock()
	select {
	case <-f.done:
		return f.b, f.err
	case <-ctx.Done():
	}
	k.mu.Lock()
	f.waiters--
	last := f.waiters == 0
	if last && k.flights[fk] == f {
		delete(k.flights, fk)
	}
	k.mu.Unlock()
	if last {
		f.cancel()
	}
	return BucketKey{}, fmt.Errorf("encryption: bucket key of %s under %s: %w", fk.bucket, fk.master, ctx.Err())
}

// fly runs f's call. A call still running when ctx ends (its timeout: a
// PKCS#11 call cannot be interrupted) lands as a KMS failure there and
// then, so that its callers, and the next ones, do not wait on it.
func (k *Keys) fly(ctx context.Context, fk flightKey, f *flight, fn func(context.Context) (BucketKey, error)) {
	defer f.cancel()
	defer func() {
		// A panic here would end the process: the request's own
		// recover (s3api) is on another goroutine. It answers 500.
		if p := recover(); p != nil {
			k.log.Error("encryption: bucket key call panicked", "bucket", fk.bucket, "master", string(fk.master), "panic", fmt.Sprint(p))
			k.land(fk, f, BucketKey{}, fmt.Errorf("encryption: bucket key of %s under %s: the KMS call panicked: %v", fk.bucket, fk.master, p))
		}
	}()
	stop := context.AfterFunc(ctx, func() {
		k.land(fk, f, BucketKey{}, fmt.Errorf("encryption: bucket key of %s under %s: %w: no answer (%v)",
			fk.bucket, fk.master, kms.ErrBackend, ctx.Err()))
	})
	b, err := fn(ctx)
	stop()
	k.land(fk, f, b, err)
}

// land gives f its result, the first one it gets; a key that comes too
// late is wiped.
func (k *Keys) land(fk flightKey, f *flight, b BucketKey, err error) {
	k.mu.Lock()
	if f.landed {
		k.mu.Unlock()
		if err == nil {
			kms.Wipe(b.Key)
		}
		return
	}
	f.landed, f.b, f.err = true, b, err
	if k.flights[fk] == f {
		delete(k.flights, fk)
		if err == nil && f.shreds == k.shreds {
			k.remember(fk.bucket, b)
		}
	}
	k.mu.Unlock()
	close(f.done)
}

// open returns the bucket key of metadata entry v, unsealed once for all
// the callers that want it at the same time.
func (k *Keys) open(ctx context.Context, bucket string, master kms.KeyID, v string, shreds uint64) (BucketKey, error) {
	return k.share(ctx, flightKey{bucket, master, v}, shreds, func(ctx context.Context) (BucketKey, error) {
		return k.unseal(ctx, bucket, master, v)
	})
}

// unseal opens a bucket key entry with the KMS.
func (k *Keys) unseal(ctx context.Context, bucket string, master kms.KeyID, v string) (BucketKey, error) {
	id, sealed, err := parseEntry(v)
	if err != nil {
		return BucketKey{}, fmt.Errorf("encryption: bucket %s key %s: %w", bucket, master, err)
	}
	pt, err := k.kms.Unseal(ctx, sealed, associated(bucket))
	if err != nil {
		return BucketKey{}, fmt.Errorf("encryption: unseal bucket key of %s under %s: %w", bucket, master, err)
	}
	return BucketKey{ID: id, Master: master, Key: pt}, nil
}

// BucketKey returns the bucket's key under master key master, creating it
// on first use. master "" means DefaultKeyID. A master key missing in the
// KMS fails with an error matching ErrKeyNotFound.
func (k *Keys) BucketKey(ctx context.Context, bucket string, master kms.KeyID) (BucketKey, error) {
	if master == "" {
		master = k.def
	}
	if b, ok := k.cached(bucket, master); ok {
		return b, nil
	}
	shreds := k.shredCount()
	info, err := k.store.BucketInfo(ctx, bucket)
	if err != nil {
		return BucketKey{}, fmt.Errorf("encryption: bucket key: %w", err)
	}
	if v, ok := info.Metadata[mdKeyPrefix+string(master)]; ok {
		return k.open(ctx, bucket, master, v, shreds)
	}
	if err := master.Validate(); err != nil {
		return BucketKey{}, fmt.Errorf("encryption: master key: %w: %w", ErrKeyNotFound, err)
	}
	// Concurrent first writers share one creation: each would otherwise
	// ask the KMS for a data key, and all but one then unseal the key the
	// first stored, two KMS calls for each of them.
	return k.share(ctx, flightKey{bucket: bucket, master: master}, shreds, func(ctx context.Context) (BucketKey, error) {
		return k.create(ctx, bucket, master)
	})
}

// create makes the bucket's key under master and stores it, or returns
// the one another writer stored first.
func (k *Keys) create(ctx context.Context, bucket string, master kms.KeyID) (BucketKey, error) {
	// The data key comes from the KMS before the bucket's lock is taken:
	// a KMS call holds the request for up to its timeout, and under the
	// lock every other first write to the bucket would queue behind it,
	// deaf to its own client going away. The entry is stored under the
	// lock; a writer that got there first (another server, or a creation
	// whose callers all went away) left its entry, which wins, and this
	// key is dropped.
	rotations := k.rotations.Load()
	dk, err := k.kms.GenerateDataKey(ctx, master, associated(bucket))
	if err != nil {
		return BucketKey{}, fmt.Errorf("encryption: create bucket key of %s under %s: %w", bucket, master, err)
	}
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		dk.Wipe()
		return BucketKey{}, fmt.Errorf("encryption: create bucket key of %s under %s: %w", bucket, master, err)
	}
	fresh := dk.Plaintext
	entry := hex.EncodeToString(idb[:]) + " " + base64.StdEncoding.EncodeToString(dk.Sealed)
	_, err = k.store.UpdateBucketMetadata(ctx, bucket, func(md map[string]string) error {
		if v, ok := md[mdKeyPrefix+string(master)]; ok {
			entry = v
			return errExists
		}
		if k.rotations.Load() != rotations {
			// A rotation ran since the key was sealed and may have
			// passed this bucket already: seal it under the new version.
			out, err := k.kms.Rewrap(ctx, dk.Sealed, associated(bucket))
			if err != nil {
				return err
			}
			entry = hex.EncodeToString(idb[:]) + " " + base64.StdEncoding.EncodeToString(out)
		}
		md[mdKeyPrefix+string(master)] = entry
		return nil
	})
	switch {
	case errors.Is(err, errExists):
		kms.Wipe(fresh)
		return k.unseal(ctx, bucket, master, entry)
	case err != nil:
		kms.Wipe(fresh)
		return BucketKey{}, fmt.Errorf("encryption: create bucket key of %s under %s: %w", bucket, master, err)
	}
	id, _, _ := parseEntry(entry)
	return BucketKey{ID: id, Master: master, Key: fresh}, nil
}

var errExists = errors.New("encryption: bucket key exists")

// OpenBucketKey returns the existing bucket key id of bucket under master,
// for reading an object that recorded it. A key that no longer exists, or
// was replaced after a shred, fails with ErrShredded.
func (k *Keys) OpenBucketKey(ctx context.Context, bucket string, master kms.KeyID, id string) (BucketKey, error) {
	if b, ok := k.cached(bucket, master); ok && b.ID == id {
		return b, nil
	}
	shreds := k.shredCount()
	info, err := k.store.BucketInfo(ctx, bucket)
	if err != nil {
		return BucketKey{}, fmt.Errorf("encryption: bucket key: %w", err)
	}
	v, ok := info.Metadata[mdKeyPrefix+string(master)]
	if !ok || !strings.HasPrefix(v, id+" ") {
		return BucketKey{}, fmt.Errorf("%w: bucket %s, key %s under %s", ErrShredded, bucket, id, master)
	}
	return k.open(ctx, bucket, master, v, shreds)
}

// CheckKey reports whether master key id exists in the KMS (an error
// matching ErrKeyNotFound if not).
func (k *Keys) CheckKey(ctx context.Context, id kms.KeyID) error {
	if err := id.Validate(); err != nil {
		return fmt.Errorf("encryption: %w: %w", ErrKeyNotFound, err)
	}
	if _, err := k.kms.Status(ctx, id); err != nil {
		return fmt.Errorf("encryption: master key: %w", err)
	}
	return nil
}

// ListKeys describes the KMS's master keys.
func (k *Keys) ListKeys(ctx context.Context) ([]kms.KeyStatus, error) {
	return k.kms.ListKeys(ctx)
}

// CreateKey creates master key id in the KMS.
func (k *Keys) CreateKey(ctx context.Context, id kms.KeyID) error {
	return k.kms.CreateKey(ctx, id)
}

// BucketConfig is a bucket's default encryption, applied to writes that
// name none.
type BucketConfig struct {
	// Algorithm is "AES256" (SSE-S3) or "aws:kms" (SSE-KMS).
	Algorithm string `json:"algorithm"`
	// KeyID is the SSE-KMS master key; "" means DefaultKeyID.
	KeyID kms.KeyID `json:"keyId,omitempty"`
	// BucketKeyEnabled is stored and reported; every bucket uses bucket
	// keys regardless.
	BucketKeyEnabled bool `json:"bucketKeyEnabled,omitempty"`
}

// Algorithms of BucketConfig.
const (
	AlgorithmAES256 = "AES256"
	AlgorithmKMS    = "aws:kms"
)

// Config returns the bucket's default encryption; ok is false when none
// was set (the server then applies SSE-S3).
func (k *Keys) Config(ctx context.Context, bucket string) (cfg BucketConfig, ok bool, err error) {
	info, err := k.store.BucketInfo(ctx, bucket)
	if err != nil {
		return BucketConfig{}, false, fmt.Errorf("encryption: bucket config: %w", err)
	}
	v, ok := info.Metadata[mdConfig]
	if !ok {
		return BucketConfig{}, false, nil
	}
	if err := json.Unmarshal([]byte(v), &cfg); err != nil {
		return BucketConfig{}, false, fmt.Errorf("encryption: bucket %s config: %w", bucket, err)
	}
	return cfg, true, nil
}

// SetConfig stores the bucket's default encryption; a nil cfg removes it.
// An SSE-KMS key must exist in the KMS.
func (k *Keys) SetConfig(ctx context.Context, bucket string, cfg *BucketConfig) error {
	var v []byte
	if cfg != nil {
		switch cfg.Algorithm {
		case AlgorithmAES256:
			if cfg.KeyID != "" {
				return fmt.Errorf("%w: a key id needs aws:kms", ErrInvalidConfig)
			}
		case AlgorithmKMS:
			if cfg.KeyID != "" {
				if err := k.CheckKey(ctx, cfg.KeyID); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("%w: algorithm %q", ErrInvalidConfig, cfg.Algorithm)
		}
		v, _ = json.Marshal(cfg)
	}
	_, err := k.store.UpdateBucketMetadata(ctx, bucket, func(md map[string]string) error {
		if cfg == nil {
			delete(md, mdConfig)
		} else {
			md[mdConfig] = string(v)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("encryption: set bucket %s config: %w", bucket, err)
	}
	return nil
}

func encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// kmsDown reports whether the KMS says its backend is down (a KMS that
// cannot tell is taken to be up).
func (k *Keys) kmsDown() bool {
	h, ok := k.kms.(interface{ Health() kms.Health })
	return ok && h.Health().Down
}

// shredCount is Keys.shreds now, read before a bucket's metadata.
func (k *Keys) shredCount() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.shreds
}
