package server

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/encryption"
	"github.com/objstore/objstore/kms"
)

// retiringKMS refuses to unseal what version 1 of the default key
// sealed once retired is set, as a KMS does for a version an operator
// revoked after a rotation.
type retiringKMS struct {
	kms.KMS
	retired atomic.Bool
}

func (r *retiringKMS) Unseal(ctx context.Context, sealed, associated []byte) ([]byte, error) {
	if s, err := kms.ParseSealed(sealed); err == nil && r.retired.Load() && s.Key == kms.DefaultKeyID && s.Version == 1 {
		return nil, fmt.Errorf("%w: version 1 was retired", kms.ErrKeyDisabled)
	}
	return r.KMS.Unseal(ctx, sealed, associated)
}

// TestRotateThenRetire: after a rotation of the default master key
// through the admin layer, nothing needs the old version: bucket keys
// are rewrapped, and iam.json and the audit anchor re-sealed, so the
// server starts with the old version retired and reads what it stored.
func TestRotateThenRetire(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ring, err := kms.NewKeyring(ctx, kms.KeyringConfig{Path: filepath.Join(dir, "ring"), RawKey: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	k := &retiringKMS{KMS: ring}
	data := filepath.Join(dir, "data")
	srv, c := startServerWith(t, Config{DataDir: data, KMS: k})
	if err := c.MakeBucket(ctx, "kept", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := []byte("written under version 1")
	if _, err := c.PutObject(ctx, "kept", "o", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ops.iam.CreateUser(ctx, "alice"); err != nil { // iam.json, sealed
		t.Fatal(err)
	}
	rep, err := srv.keysForAdmin().RotateMasterKey(ctx, kms.DefaultKeyID)
	if err != nil || len(rep.Failed) > 0 || rep.Version != 2 {
		t.Fatalf("rotate: %+v, %v", rep, err)
	}
	closeServer(t, srv)

	k.retired.Store(true)
	srv, c = startServerWith(t, Config{DataDir: data, KMS: k})
	if got, err := getAll(t, c, "kept", "o", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("after retiring version 1: %q, %v", got, err)
	}
	if _, err := srv.ops.iam.User("alice"); err != nil {
		t.Fatalf("IAM after retiring version 1: %v", err)
	}
	// The anchor the first run left checked out: no mismatch kept.
	if kept, _ := filepath.Glob(filepath.Join(data, auditDir, audit.AnchorFile+".mismatch-*")); len(kept) > 0 {
		t.Fatalf("the anchor did not check after retiring version 1: %v", kept)
	}
}

// rewrapFailingKMS fails every Rewrap, as a KMS that errs during a
// rotation's rewraps does.
type rewrapFailingKMS struct{ kms.KMS }

func (r rewrapFailingKMS) Rewrap(context.Context, []byte, []byte) ([]byte, error) {
	return nil, fmt.Errorf("%w: injected", kms.ErrBackend)
}

// TestRotatePartialFailureReported: a rotation that happened but left a
// bucket key under the old version answers its report, naming the
// bucket, so that the operator knows the old version is still needed;
// iam.json and the anchor are re-sealed all the same.
func TestRotatePartialFailureReported(t *testing.T) {
	ctx := context.Background()
	ring, err := kms.NewKeyring(ctx, kms.KeyringConfig{Path: filepath.Join(t.TempDir(), "ring"), RawKey: bytes.Repeat([]byte{4}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	srv, c := startServerWith(t, Config{KMS: rewrapFailingKMS{ring}})
	if err := c.MakeBucket(ctx, "stuck", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "stuck", "o", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	user, secret := srv.Credentials()
	root := &admin.Client{URL: "http://" + srv.Addr(), RootUser: user, RootSecret: secret}
	var rep encryption.RotateReport
	if err := root.Do(ctx, "POST", "/kms/keys/default/rotate", nil, &rep); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if rep.Version != 2 || rep.Failed["stuck"] == "" || rep.Failed["iam.json"] != "" || rep.Failed["audit anchor"] != "" {
		t.Fatalf("report %+v", rep)
	}
}
