package encryption

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/storage"
)

// hookStore runs after once, right after a BucketInfo has read the
// metadata: the window between a request's metadata read and its KMS call.
type hookStore struct {
	*memStore
	after func()
}

func (h *hookStore) BucketInfo(ctx context.Context, b string) (storage.BucketInfo, error) {
	info, err := h.memStore.BucketInfo(ctx, b)
	if f := h.after; f != nil {
		h.after = nil
		f()
	}
	return info, err
}

// TestShredBetweenMetadataAndCall: a read that read the bucket's metadata
// just before a shred and reaches the KMS just after it gets the key (it
// began before the shred) but does not cache it. Before, its new flight
// cached the destroyed key: requests that began after the shred read
// with it, and writes sealed new objects under a key whose entry was
// gone, lost at the next eviction or restart.
func TestShredBetweenMetadataAndCall(t *testing.T) {
	ctx := context.Background()
	warm, st, k := newTestKeys(t)
	a, err := warm.BucketKey(ctx, "a", "")
	if err != nil {
		t.Fatal(err)
	}
	hs := &hookStore{memStore: st}
	keys, err := New(k, hs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs.after = func() {
		if _, err := keys.ShredBucket(ctx, "a"); err != nil {
			t.Error(err)
		}
	}
	// Began before the shred: getting the key is acceptable.
	if _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); err != nil {
		t.Fatal(err)
	}
	// Begin after the shred completed.
	if b, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); !errors.Is(err, ErrShredded) {
		t.Errorf("read begun after the shred: key %s, err %v; want ErrShredded (destroyed key cached)", b.ID, err)
	}
	if b, err := keys.BucketKey(ctx, "a", ""); err != nil || b.ID == a.ID {
		t.Errorf("write begun after the shred got bucket key %s (err %v): the destroyed key %s, whose entry is gone", b.ID, err, a.ID)
	}
}

// hsm is a Custodian (an HSM through PKCS#11) that counts Decrypt calls.
// With hangNext set, the next Decrypt ignores its context until released,
// as a stuck PKCS#11 call does; the others wait at gate (a slow backend
// that answers).
type hsm struct {
	aead     cipher.AEAD
	decrypts atomic.Int32
	hangNext atomic.Bool
	failing  atomic.Bool
	release  chan struct{}
	gate     chan struct{}
}

func newHSM(t *testing.T) *hsm {
	key := make([]byte, 32)
	rand.Read(key)
	b, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(b)
	h := &hsm{aead: g, release: make(chan struct{}), gate: make(chan struct{})}
	t.Cleanup(func() { close(h.release) })
	return h
}

func (h *hsm) Backend() kms.Backend                                   { return kms.BackendPKCS11 }
func (h *hsm) CreateKey(context.Context, kms.KeyID) error             { return nil }
func (h *hsm) RotateKey(context.Context, kms.KeyID) error             { return nil }
func (h *hsm) CurrentVersion(context.Context, kms.KeyID) (int, error) { return 1, nil }
func (h *hsm) Status(context.Context, kms.KeyID) (kms.KeyStatus, error) {
	return kms.KeyStatus{Version: 1}, nil
}
func (h *hsm) ListKeys(context.Context) ([]kms.KeyStatus, error) { return nil, nil }
func (h *hsm) Close() error                                      { return nil }
func (h *hsm) Encrypt(_ context.Context, _ kms.KeyID, _ int, pt, aad []byte) ([]byte, []byte, error) {
	n := make([]byte, 12)
	rand.Read(n)
	return n, h.aead.Seal(nil, n, pt, aad), nil
}
func (h *hsm) Decrypt(ctx context.Context, _ kms.KeyID, _ int, n, ct, aad []byte) ([]byte, error) {
	h.decrypts.Add(1)
	if h.failing.Load() {
		return nil, errors.New("CKR_DEVICE_REMOVED")
	}
	if h.hangNext.CompareAndSwap(true, false) {
		<-h.release
		return nil, errors.New("CKR_DEVICE_ERROR")
	}
	select {
	case <-h.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.aead.Open(nil, n, ct, aad)
}

// TestCallTimeoutKeepsSharing: a shared call stuck in the HSM past
// CallTimeout lands as ErrBackend, but the KMS (kms.Manager) saw no
// failure and is up, so cold callers keep sharing (10 callers, 1
// Decrypt). Before, the timeout set a flag that made every cold caller,
// of every bucket, send its own call to the HSM until one succeeded.
func TestCallTimeoutKeepsSharing(t *testing.T) {
	ctx := context.Background()
	h := newHSM(t)
	m := kms.NewManager(h)
	st := &memStore{buckets: map[string]map[string]string{"a": {}}}
	warm, err := New(m, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := warm.BucketKey(ctx, "a", "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := New(m, st, Options{CallTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h.hangNext.Store(true)
	if _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); !errors.Is(err, kms.ErrBackend) {
		t.Fatalf("stuck call: %v", err)
	}
	if m.Health().Down {
		t.Fatal("setup: the Manager took the backend down")
	}
	keys.mu.Lock()
	keys.timeout = time.Minute // the gate below holds calls as long as it likes
	keys.mu.Unlock()
	coldHerd(t, keys, h, m, a)
}

// coldHerd runs 10 concurrent cold reads of a held at h's gate and fails
// unless they made one Decrypt.
func coldHerd(t *testing.T, keys *Keys, h *hsm, m *kms.Manager, a BucketKey) {
	t.Helper()
	ctx := context.Background()
	before := h.decrypts.Load()
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID) })
	}
	// All n have joined: either they share one flight (n waiters), or
	// each made its own call (n Decrypts at the gate).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		keys.mu.Lock()
		w := 0
		for _, f := range keys.flights {
			w += f.waiters
		}
		keys.mu.Unlock()
		if w == n || h.decrypts.Load()-before == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, %d decrypts", w, h.decrypts.Load()-before)
		}
	}
	close(h.gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if d := h.decrypts.Load() - before; d != 1 {
		t.Fatalf("Manager up (%v), yet %d concurrent cold reads sent %d Decrypt calls to the HSM, want 1", !m.Health().Down, n, d)
	}
}

// panicKMS's Unseal panics: a bug in a backend.
type panicKMS struct{ kms.KMS }

func (panicKMS) Unseal(context.Context, []byte, []byte) ([]byte, error) {
	panic("backend bug")
}

// TestKMSPanicAnswersNotCrashes: a panic in the shared KMS call (or in
// create's metadata write) runs on fly's goroutine, where s3api's
// recover cannot catch it; fly recovers it and lands an error for the
// callers (500) instead of the whole server exiting.
func TestKMSPanicAnswersNotCrashes(t *testing.T) {
	if os.Getenv("OBJSTORE_TEST_PANIC_CHILD") == "1" {
		ctx := context.Background()
		warm, st, k := newTestKeys(t)
		a, err := warm.BucketKey(ctx, "a", "")
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := New(panicKMS{k}, st, Options{})
		var openErr error
		func() { // as s3api's handler does
			defer func() { recover() }()
			_, openErr = keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID)
		}()
		if openErr == nil {
			t.Fatal("a KMS call that panicked answered a key")
		}
		fmt.Println("request answered an error; server alive:", openErr)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKMSPanicAnswersNotCrashes$", "-test.count=1")
	cmd.Env = append(os.Environ(), "OBJSTORE_TEST_PANIC_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := string(out)
		if len(lines) > 400 {
			lines = lines[:400]
		}
		t.Fatalf("process died (%v) on a KMS panic the request's recover used to catch:\n%s", err, lines)
	}
}

// TestSharingResumesWithTheKMS: when an outage ends through another call
// (an admin Status, CheckKey, an IAM seal), kms.Manager is up and the
// next wave of cold reads shares one call (10 reads, 1 Decrypt). Before,
// a flag only a successful flight of this package cleared kept them
// from sharing.
func TestSharingResumesWithTheKMS(t *testing.T) {
	ctx := context.Background()
	h := newHSM(t)
	m := kms.NewManager(h)
	st := &memStore{buckets: map[string]map[string]string{"a": {}}}
	warm, _ := New(m, st, Options{})
	a, err := warm.BucketKey(ctx, "a", "")
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := New(m, st, Options{})
	h.failing.Store(true)
	if _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); !errors.Is(err, kms.ErrBackend) {
		t.Fatalf("KMS down: %v", err)
	}
	h.failing.Store(false)
	if err := keys.CheckKey(ctx, kms.DefaultKeyID); err != nil || m.Health().Down {
		t.Fatalf("setup: KMS not back up: %v", err)
	}
	coldHerd(t, keys, h, m, a)
}
