package server

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/kms"
)

// TestKeyringLost: a keyring file (or its key file) missing beside data
// sealed under it stops the start with a clear error; before, a new
// keyring was made, the server started, and writes went under keys that
// stopped working once the real keyring was back.
func TestKeyringLost(t *testing.T) {
	t.Setenv(kms.EnvPassphrase, "")
	t.Setenv(kms.EnvPassphraseFile, "")
	t.Setenv(kms.EnvKey, "")
	ctx := context.Background()
	dir := t.TempDir()
	ring := filepath.Join(dir, kms.KeyringDir, kms.KeyringFile)
	key := filepath.Join(dir, kms.KeyringDir, kms.KeyringKeyFile)
	body := []byte("sealed under the first keyring")

	// A first start that stopped after formatting the drives, before it
	// sealed anything, makes its keyring on the next start.
	srv, _ := startServerWith(t, Config{DataDir: dir})
	closeServer(t, srv)
	for _, d := range []string{kms.KeyringDir, iamDir, auditDir} {
		if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	srv, c := startServerWith(t, Config{DataDir: dir})
	if err := c.MakeBucket(ctx, "kept", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "kept", "o", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	closeServer(t, srv)

	for _, tc := range []struct {
		name, moved, want string
	}{
		{"keyring file", ring, "keyring file"},
		{"key file", key, "key file"},
	} {
		if err := os.Rename(tc.moved, tc.moved+".aside"); err != nil {
			t.Fatal(err)
		}
		_, err := Start(ctx, Config{Address: "127.0.0.1:0", DataDir: dir})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("%s missing: start = %v", tc.name, err)
		}
		if _, err := os.Stat(tc.moved); err == nil {
			t.Fatalf("%s missing: a new one was made", tc.name)
		}
		if err := os.Rename(tc.moved+".aside", tc.moved); err != nil {
			t.Fatal(err)
		}
	}
	_, c = startServerWith(t, Config{DataDir: dir})
	if got, err := getAll(t, c, "kept", "o", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("after restoring the keyring: %q, %v", got, err)
	}
}

func closeServer(t *testing.T, srv *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
