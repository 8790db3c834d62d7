//go:build linux

package kmip

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/kms/kmstest"
)

func openKMIP(t testing.TB, cfg Config) *KMIP {
	t.Helper()
	k, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return k
}

func TestSuite(t *testing.T) {
	srv := sharedPyKMIP(t)
	kmstest.Run(t, kmstest.Harness{
		Backend: "kmip",
		Open:    func(t testing.TB) kms.KMS { return openKMIP(t, srv.cfg) },
		Restart: srv.restart,
	})
}

func TestOpenErrors(t *testing.T) {
	srv := sharedPyKMIP(t)
	ctx := context.Background()
	other := t.TempDir()
	if err := writeCerts(other); err != nil { // a CA and client the server does not trust
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"NoEndpoint", func(c *Config) { c.Endpoint = "" }, "Endpoint is empty"},
		{"NoCA", func(c *Config) { c.CAFile = "" }, "CAFile, CertFile and KeyFile are required"},
		{"UntrustedServer", func(c *Config) { c.CAFile = other + "/ca.crt" }, "certificate"},
		{"UntrustedClient", func(c *Config) { c.CertFile, c.KeyFile = other+"/client.crt", other+"/client.key" }, "kmip"},
		{"NothingListening", func(c *Config) { c.Endpoint = "127.0.0.1:1" }, "connect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.cfg
			tc.mod(&c)
			k, err := Open(ctx, c)
			if err == nil {
				k.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, kms.ErrBackend) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrBackend containing %q", err, tc.want)
			}
		})
	}
}

// TestServerDown: a server that goes away makes calls fail with
// ErrBackend naming the key; when it is back, the same KMS works again.
func TestServerDown(t *testing.T) {
	srv := sharedPyKMIP(t)
	k := openKMIP(t, srv.cfg)
	defer k.Close()
	ctx := context.Background()
	if err := k.CreateKey(ctx, "down"); err != nil {
		t.Fatal(err)
	}
	dk, err := k.GenerateDataKey(ctx, "down", []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	srv.stop()
	_, err = k.Unseal(ctx, dk.Sealed, []byte("a"))
	var kerr *kms.Error
	if !errors.Is(err, kms.ErrBackend) || !errors.As(err, &kerr) || kerr.Key != "down" || kerr.Backend != "kmip" {
		t.Fatalf("Unseal with the server down: %v", err)
	}
	if err := srv.start(); err != "" {
		t.Fatal(err)
	}
	if _, err := k.Unseal(ctx, dk.Sealed, []byte("a")); err != nil {
		t.Fatalf("Unseal after the server came back: %v", err)
	}
}

// TestServerChecksTag: the seal is checked by the server (the wrong
// associated data reaches it and is refused there), not only by the
// client's parser.
func TestServerChecksTag(t *testing.T) {
	srv := sharedPyKMIP(t)
	k := openKMIP(t, srv.cfg)
	defer k.Close()
	ctx := context.Background()
	if err := k.CreateKey(ctx, "tag"); err != nil {
		t.Fatal(err)
	}
	dk, err := k.GenerateDataKey(ctx, "tag", []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.Unseal(ctx, dk.Sealed, []byte("b"))
	var re *ResultError
	if !errors.Is(err, kms.ErrSealed) || !errors.As(err, &re) || re.Operation != "Decrypt" {
		t.Fatalf("wrong associated data: %v, want ErrSealed from the server's Decrypt", err)
	}
	t.Logf("server said: %v", err)
}

func BenchmarkKMIP(b *testing.B) {
	srv := sharedPyKMIP(b)
	kmstest.Bench(b, func(tb testing.TB) kms.KMS { return openKMIP(tb, srv.cfg) })
}

// TestClassify: the server's reasons map to the kms sentinels; a key the
// server will not use (PyKMIP answers Permission Denied for a revoked or
// deactivated key) is ErrKeyDisabled, which clients must not retry.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		reason uint32
		want   error
	}{
		{reasonItemNotFound, kms.ErrKeyNotFound},
		{reasonPermissionDenied, kms.ErrKeyDisabled},
		{reasonObjectArchived, kms.ErrKeyDisabled},
		{reasonGeneralFailure, kms.ErrBackend},
	} {
		err := classify(&ResultError{Operation: "Encrypt", Status: statusOperationFailed, Reason: tc.reason})
		if !errors.Is(err, tc.want) {
			t.Errorf("reason %#x: %v, want %v", tc.reason, err, tc.want)
		}
	}
	if err := classify(errors.New("connection refused")); !errors.Is(err, kms.ErrBackend) {
		t.Errorf("network error: %v", err)
	}
}
