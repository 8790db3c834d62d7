//go:build linux

package kmip

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/objstore/objstore/kms"
)

// TestCachedVersionDoesNotEndOutage: with the KMS hanging and the outage
// known (one Unseal timed out), a GenerateDataKey of a key whose version
// is cached does not end the outage: CurrentVersion answered from the
// cache teaches nothing, so while its Encrypt probes the hung server,
// other calls fail at once. Before, that cached answer ended the outage
// and every other call went to the hung server and waited out the
// timeout.
func TestCachedVersionDoesNotEndOutage(t *testing.T) {
	link, cfg := linkedConfig(t, 2*time.Second)
	k := openKMIP(t, cfg)
	defer k.Close()
	ctx := context.Background()
	if err := kms.EnsureKey(ctx, k, "cached-version"); err != nil {
		t.Fatal(err)
	}
	dk, err := k.GenerateDataKey(ctx, "cached-version", []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	link.Set("hang")
	if _, err := k.Unseal(ctx, dk.Sealed, []byte("a")); !errors.Is(err, kms.ErrBackend) {
		t.Fatalf("Unseal, KMS hanging: %v", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = k.GenerateDataKey(ctx, "cached-version", []byte("b"))
	}()
	time.Sleep(200 * time.Millisecond)
	d, err := timed(func() error { _, err := k.Unseal(ctx, dk.Sealed, []byte("a")); return err })
	wg.Wait()
	if d > time.Second || !errors.Is(err, kms.ErrBackend) {
		t.Fatalf("Unseal while another call probes the hanging KMS: %v after %v, want ErrBackend at once", err, d)
	}
}

// TestKeyOperationsBoundedByOneTimeout: with the server hanging, two
// concurrent CreateKey calls each end within one Timeout, their turn
// included. Before, they queued on a mutex no timeout applied to, and
// the second waited out the first one's Timeout before its own.
func TestKeyOperationsBoundedByOneTimeout(t *testing.T) {
	link, cfg := linkedConfig(t, time.Second)
	k := openKMIP(t, cfg)
	defer k.Close()
	ctx := context.Background()
	link.Set("hang")
	var wg sync.WaitGroup
	ds := make([]time.Duration, 2)
	errs := make([]error, 2)
	for i := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds[i], errs[i] = timed(func() error { return k.CreateKey(ctx, kms.KeyID("queued-admin-"+string(rune('a'+i)))) })
		}()
	}
	wg.Wait()
	for i := range ds {
		t.Logf("CreateKey %d: %v after %v", i, errs[i], ds[i])
		if ds[i] > cfg.Timeout+500*time.Millisecond {
			t.Errorf("CreateKey %d took %v with Timeout %v", i, ds[i], cfg.Timeout)
		}
	}
}

func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}
