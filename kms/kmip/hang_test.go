//go:build linux

package kmip

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/kms/kmstest"
)

// TestHangBounded: a KMIP server that accepts connections and never
// answers makes every call fail with ErrBackend within one Timeout,
// whatever the call waited on: a kept-alive connection that went silent
// (and the retry on a fresh one after it), a fresh connection's TLS
// handshake, or a turn for one of the Connections. A caller's
// cancellation ends its call at once and closes its connection. When the
// server answers again, the same KMS works.
func TestHangBounded(t *testing.T) {
	link, cfg := linkedConfig(t, 2*time.Second) // PyKMIP on a loaded machine: setup calls need the room
	cfg.Connections = 1
	k := openKMIP(t, cfg)
	defer k.Close()
	// A second KMS on the same server, for callers that must reach the
	// client's connection slot: k's outage breaker, once the first call
	// failed, would refuse them before it.
	k2 := openKMIP(t, cfg)
	defer k2.Close()
	ctx := context.Background()
	if err := kms.EnsureKey(ctx, k, "hang"); err != nil {
		t.Fatal(err)
	}
	dk, err := k.GenerateDataKey(ctx, "hang", []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	const slack = time.Second
	link.Set("hang")

	// The kept-alive connection goes silent.
	start := time.Now()
	_, err = k.Unseal(ctx, dk.Sealed, []byte("a"))
	if d := time.Since(start); !errors.Is(err, kms.ErrBackend) || d > cfg.Timeout+slack {
		t.Fatalf("Unseal on a silent connection: %v after %v, want ErrBackend within %v", err, d, cfg.Timeout)
	}

	// Three callers share one connection slot (k2's, kept alive and now
	// silent): each waits for it, or on it, within one Timeout.
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, err := k2.Unseal(ctx, dk.Sealed, []byte("a"))
			if d := time.Since(start); !errors.Is(err, kms.ErrBackend) || d > cfg.Timeout+slack {
				t.Errorf("caller %d: %v after %v, want ErrBackend within %v", i, err, d, cfg.Timeout)
			}
		}()
	}
	wg.Wait()

	// A caller that gives up ends its call and its connection.
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start = time.Now()
	_, err = k.Unseal(cctx, dk.Sealed, []byte("a"))
	cancel()
	if d := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || d > 200*time.Millisecond+slack {
		t.Fatalf("Unseal cancelled by its caller: %v after %v", err, d)
	}
	for deadline := time.Now().Add(2 * time.Second); link.Open() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after every call ended", link.Open())
		}
	}

	link.Set("up")
	if _, err := k.Unseal(ctx, dk.Sealed, []byte("a")); err != nil {
		t.Fatalf("Unseal after the server answers again: %v", err)
	}
}

// linkedConfig returns the shared PyKMIP server's configuration with the
// connections going through a relay the test can make refuse or hang,
// and timeout as the KMS's Timeout.
func linkedConfig(t *testing.T, timeout time.Duration) (*kmstest.Link, Config) {
	t.Helper()
	srv := sharedPyKMIP(t)
	link := kmstest.NewLink(t, srv.Endpoint)
	cfg := srv.cfg
	cfg.Endpoint, cfg.ServerName = link.Addr, "127.0.0.1"
	cfg.Timeout = timeout
	return link, cfg
}
