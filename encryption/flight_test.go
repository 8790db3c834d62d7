package encryption

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/objstore/objstore/kms"
)

// countingKMS is a real KMS (the test keyring) that counts its Unseal and
// GenerateDataKey calls and holds each of them at a gate until the test
// opens it, so that callers pile up behind a call in progress; failing
// makes them fail as an unreachable KMS does.
type countingKMS struct {
	kms.KMS
	unseals, generates atomic.Int32
	entered            chan struct{} // one value per call, when it reaches the gate
	gate               chan struct{} // closed: calls go on
	cancelled          atomic.Int32  // calls whose context ended at the gate
	failing            atomic.Bool
	down               atomic.Bool // what Health reports: kms.Manager's outage
}

// Health reports the KMS down while down is set, as kms.Manager does
// once a call has failed.
func (c *countingKMS) Health() kms.Health { return kms.Health{Down: c.down.Load()} }

func newCountingKMS(k kms.KMS) *countingKMS {
	return &countingKMS{KMS: k, entered: make(chan struct{}, 1000), gate: make(chan struct{})}
}

func (c *countingKMS) wait(ctx context.Context) error {
	c.entered <- struct{}{}
	select {
	case <-c.gate:
	case <-ctx.Done():
		c.cancelled.Add(1)
		return ctx.Err()
	}
	if c.failing.Load() {
		return &kms.Error{Op: "unseal", Backend: "test", Err: fmt.Errorf("%w: connection refused", kms.ErrBackend)}
	}
	return nil
}

func (c *countingKMS) Unseal(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	c.unseals.Add(1)
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return c.KMS.Unseal(ctx, sealed, aad)
}

func (c *countingKMS) GenerateDataKey(ctx context.Context, id kms.KeyID, aad []byte) (kms.DataKey, error) {
	c.generates.Add(1)
	if err := c.wait(ctx); err != nil {
		return kms.DataKey{}, err
	}
	return c.KMS.GenerateDataKey(ctx, id, aad)
}

// waitFor waits until n callers wait for a flight of bucket.
func waitFor(t *testing.T, keys *Keys, bucket string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		keys.mu.Lock()
		got := 0
		for fk, f := range keys.flights {
			if fk.bucket == bucket {
				got += f.waiters
			}
		}
		keys.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers wait for a key of %s, want %d", got, bucket, n)
		}
	}
}

// coldKeys returns the key of bucket "a", made by one Keys, and another
// Keys over the same store and a counting KMS that has none cached: a
// server restarted.
func coldKeys(t *testing.T, opts Options) (BucketKey, *Keys, *countingKMS) {
	t.Helper()
	warm, st, k := newTestKeys(t)
	a, err := warm.BucketKey(context.Background(), "a", "")
	if err != nil {
		t.Fatal(err)
	}
	c := newCountingKMS(k)
	keys, err := New(c, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, keys, c
}

// TestColdKeyOneUnseal: 50 concurrent first reads and writes of a bucket
// whose key is not cached (after a restart) make one KMS Unseal, not 50.
func TestColdKeyOneUnseal(t *testing.T) {
	ctx := context.Background()
	a, keys, c := coldKeys(t, Options{})
	const n = 50
	got := make([]BucketKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if i%2 == 0 {
				got[i], errs[i] = keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID) // a GET
			} else {
				got[i], errs[i] = keys.BucketKey(ctx, "a", "") // a PUT
			}
		})
	}
	waitFor(t, keys, "a", n)
	close(c.gate)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i].ID != a.ID || !bytes.Equal(got[i].Key, a.Key) {
			t.Fatalf("caller %d: %v, key %s, want %s", i, errs[i], got[i].ID, a.ID)
		}
	}
	if u := c.unseals.Load(); u != 1 {
		t.Fatalf("%d concurrent first reads of one bucket key made %d KMS Unseal calls, want 1", n, u)
	}
	if _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); err != nil || c.unseals.Load() != 1 {
		t.Fatalf("the key was not cached: %v, %d unseals", err, c.unseals.Load())
	}
}

// TestFirstWritersOneDataKey: 50 concurrent first writers of a bucket
// make one GenerateDataKey and no Unseal: before, each generated one and
// all but the first then unsealed the first one's.
func TestFirstWritersOneDataKey(t *testing.T) {
	ctx := context.Background()
	_, st, k := newTestKeys(t)
	c := newCountingKMS(k)
	keys, err := New(c, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	got := make([]BucketKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = keys.BucketKey(ctx, "a", "") })
	}
	waitFor(t, keys, "a", n)
	close(c.gate)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i].ID != got[0].ID || !bytes.Equal(got[i].Key, got[0].Key) {
			t.Fatalf("writer %d: %v, key %s vs %s", i, errs[i], got[i].ID, got[0].ID)
		}
	}
	if g, u := c.generates.Load(), c.unseals.Load(); g != 1 || u != 0 {
		t.Fatalf("%d concurrent first writers made %d GenerateDataKey and %d Unseal calls, want 1 and 0", n, g, u)
	}
}

// TestColdKeyWaiterGoesAway: a caller whose context ends returns at once
// with its context's error, the first caller included, while the shared
// KMS call goes on, uncancelled, for the others.
func TestColdKeyWaiterGoesAway(t *testing.T) {
	a, keys, c := coldKeys(t, Options{})
	first, cancelFirst := context.WithCancel(context.Background())
	other, cancelOther := context.WithCancel(context.Background())
	type result struct {
		b   BucketKey
		err error
	}
	firstDone, otherDone := make(chan result, 1), make(chan result, 1)
	go func() {
		b, err := keys.OpenBucketKey(first, "a", kms.DefaultKeyID, a.ID)
		firstDone <- result{b, err}
	}()
	<-c.entered // the first caller's call is in the KMS
	go func() {
		b, err := keys.OpenBucketKey(other, "a", kms.DefaultKeyID, a.ID)
		otherDone <- result{b, err}
	}()
	const stay = 3
	stayDone := make(chan result, stay)
	for range stay {
		go func() {
			b, err := keys.BucketKey(context.Background(), "a", "")
			stayDone <- result{b, err}
		}()
	}
	waitFor(t, keys, "a", 2+stay)

	for _, w := range []struct {
		name   string
		cancel context.CancelFunc
		done   chan result
	}{{"first", cancelFirst, firstDone}, {"other", cancelOther, otherDone}} {
		w.cancel()
		select {
		case r := <-w.done:
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("%s caller, cancelled: %v, want context.Canceled", w.name, r.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s caller, cancelled, still waits for the KMS", w.name)
		}
	}
	waitFor(t, keys, "a", stay)
	close(c.gate)
	for range stay {
		if r := <-stayDone; r.err != nil || !bytes.Equal(r.b.Key, a.Key) {
			t.Fatalf("a caller that stayed: %v", r.err)
		}
	}
	if u, x := c.unseals.Load(), c.cancelled.Load(); u != 1 || x != 0 {
		t.Fatalf("%d Unseal calls, %d cancelled, want 1 and none: callers going away cancelled the shared call", u, x)
	}
}

// TestColdKeyAllGoAway: when every caller has gone, the shared call is
// cancelled (a client that goes away ends its KMS call, so a hung KMS
// keeps no connection for it) and the next caller asks the KMS afresh.
func TestColdKeyAllGoAway(t *testing.T) {
	a, keys, c := coldKeys(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); done <- err }()
	<-c.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); c.cancelled.Load() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the KMS call goes on with no caller left")
		}
	}
	close(c.gate)
	if b, err := keys.OpenBucketKey(context.Background(), "a", kms.DefaultKeyID, a.ID); err != nil || !bytes.Equal(b.Key, a.Key) {
		t.Fatalf("next caller: %v", err)
	}
	if u := c.unseals.Load(); u != 2 {
		t.Fatalf("%d Unseal calls, want 2", u)
	}
}

// TestColdKeyFailureShared: a failed unseal is returned to every caller
// that waited for it, is not cached, and the next call asks the KMS again.
func TestColdKeyFailureShared(t *testing.T) {
	ctx := context.Background()
	a, keys, c := coldKeys(t, Options{})
	c.failing.Store(true)
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID) })
	}
	waitFor(t, keys, "a", n)
	close(c.gate)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, kms.ErrBackend) {
			t.Fatalf("caller %d: %v, want the KMS's failure", i, err)
		}
	}
	if u := c.unseals.Load(); u != 1 {
		t.Fatalf("%d callers made %d Unseal calls, want 1", n, u)
	}
	c.failing.Store(false)
	if b, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); err != nil || !bytes.Equal(b.Key, a.Key) {
		t.Fatalf("after the KMS is back: %v", err)
	}
	if u := c.unseals.Load(); u != 2 {
		t.Fatalf("the failure was cached: %d Unseal calls, want 2", u)
	}
}

// TestColdKeyStuckCall: a shared call stuck in the KMS past CallTimeout
// (a PKCS#11 call cannot be cancelled) fails its callers as a KMS
// failure, and the next caller asks the KMS afresh.
func TestColdKeyStuckCall(t *testing.T) {
	a, keys, c := coldKeys(t, Options{CallTimeout: 200 * time.Millisecond})
	stuck := &stuckKMS{KMS: c.KMS, release: make(chan struct{})}
	keys.kms = stuck
	defer close(stuck.release)
	start := time.Now()
	_, err := keys.OpenBucketKey(context.Background(), "a", kms.DefaultKeyID, a.ID)
	if took := time.Since(start); !errors.Is(err, kms.ErrBackend) || took > 5*time.Second {
		t.Fatalf("stuck call: %v after %v, want a KMS failure after 200ms", err, took)
	}
	if b, err := keys.OpenBucketKey(context.Background(), "a", kms.DefaultKeyID, a.ID); err != nil || !bytes.Equal(b.Key, a.Key) {
		t.Fatalf("next caller: %v", err)
	}
	if n := stuck.calls.Load(); n != 2 {
		t.Fatalf("%d Unseal calls, want 2", n)
	}
}

// stuckKMS's first Unseal ignores its context until released, as a hung
// PKCS#11 call does.
type stuckKMS struct {
	kms.KMS
	calls   atomic.Int32
	release chan struct{}
}

func (s *stuckKMS) Unseal(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	if s.calls.Add(1) == 1 {
		<-s.release
		return nil, errors.New("released")
	}
	return s.KMS.Unseal(ctx, sealed, aad)
}

// TestShredDuringColdKey: a key being unsealed while its bucket is
// shredded reaches the callers that asked before the shred, but is not
// cached: a later read finds the key destroyed.
func TestShredDuringColdKey(t *testing.T) {
	ctx := context.Background()
	a, keys, c := coldKeys(t, Options{})
	done := make(chan error, 1)
	go func() { _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); done <- err }()
	<-c.entered
	if _, err := keys.ShredBucket(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	close(c.gate)
	if err := <-done; err != nil {
		t.Fatalf("read begun before the shred: %v", err)
	}
	if _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); !errors.Is(err, ErrShredded) {
		t.Fatalf("read after the shred: %v, want ErrShredded (the shredded key was cached)", err)
	}
}

// TestColdKeyNoWaitWhileFailing: while the KMS reports itself down
// (kms.Manager's Health, once a call failed with ErrBackend), a caller
// does not wait for the flight in progress (the outage's probe, which
// may hang for the backend's timeout) but makes its own call, which the
// outage rule answers at once; once the KMS is up, callers share again.
func TestColdKeyNoWaitWhileFailing(t *testing.T) {
	ctx := context.Background()
	a, keys, c := coldKeys(t, Options{})
	c.failing.Store(true)
	close(c.gate)
	if _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); !errors.Is(err, kms.ErrBackend) {
		t.Fatalf("KMS failing: %v", err)
	}

	probe := newCountingKMS(c.KMS)
	probe.down.Store(true) // the failure above took the KMS down
	keys.kms = probe
	done := make(chan error, 12)
	open := func() { _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); done <- err }
	go open()
	<-probe.entered // the probe, held in the KMS
	go open()
	select {
	case <-probe.entered: // its own call: the outage rule answers it
	case <-time.After(5 * time.Second):
		t.Fatal("while the KMS fails, a caller waits for the flight in progress instead of asking the KMS")
	}
	close(probe.gate)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	keys.forget("a")
	again := newCountingKMS(c.KMS)
	keys.kms = again
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(open)
	}
	waitFor(t, keys, "a", 10)
	close(again.gate)
	wg.Wait()
	for range 10 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if u := again.unseals.Load(); u != 1 {
		t.Fatalf("after the KMS answered, 10 callers made %d Unseal calls, want 1", u)
	}
}
