package server

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/encryption"
	"github.com/objstore/objstore/iam"
)

// TestKMSAdmin drives the KMS endpoints of the admin API: keys are
// listed, created and rotated with a kms-scoped token, a token without
// the scope is refused, and shredding needs the bucket name repeated and
// then makes the bucket's objects unreadable.
func TestKMSAdmin(t *testing.T) {
	srv, c := startServer(t)
	ctx := context.Background()
	user, secret := srv.Credentials()
	root := &admin.Client{URL: "http://" + srv.Addr(), RootUser: user, RootSecret: secret}
	mint := func(scopes ...string) *admin.Client {
		var tok admin.NewToken
		req := map[string]any{"name": "t", "scopes": scopes, "ttl": "1h"}
		if err := root.Do(ctx, "POST", "/tokens", req, &tok); err != nil {
			t.Fatalf("mint %v: %v", scopes, err)
		}
		return &admin.Client{URL: root.URL, Token: tok.Secret}
	}
	kmsAdmin := mint(iam.ScopeKMSWrite)
	reader := mint(iam.ScopeStatusRead)

	var keys []admin.KMSKey
	if err := kmsAdmin.Do(ctx, "GET", "/kms/keys", nil, &keys); err != nil || len(keys) == 0 || keys[0].ID != "default" {
		t.Fatalf("list keys: %+v %v", keys, err)
	}
	var ae *admin.Error
	if err := reader.Do(ctx, "GET", "/kms/keys", nil, &keys); !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("list keys without kms scope: %v", err)
	}
	if err := kmsAdmin.Do(ctx, "POST", "/kms/keys", admin.CreateKMSKeyRequest{ID: "finance"}, nil); err != nil {
		t.Fatalf("create key: %v", err)
	}
	if err := kmsAdmin.Do(ctx, "POST", "/kms/keys", admin.CreateKMSKeyRequest{ID: "finance"}, nil); !errors.As(err, &ae) || ae.Status != 409 {
		t.Fatalf("create existing key: %v", err)
	}

	if err := c.MakeBucket(ctx, "ledger", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := []byte("quarterly figures")
	if _, err := c.PutObject(ctx, "ledger", "q3", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	var rot encryption.RotateReport
	if err := kmsAdmin.Do(ctx, "POST", "/kms/keys/default/rotate", nil, &rot); err != nil || rot.Version != 2 || len(rot.Rewrapped) == 0 {
		t.Fatalf("rotate: %+v %v", rot, err)
	}
	if got, err := getAll(t, c, "ledger", "q3", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read after rotation: %v", err)
	}
	if err := kmsAdmin.Do(ctx, "POST", "/kms/keys/nope/rotate", nil, nil); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("rotate unknown key: %v", err)
	}

	if err := kmsAdmin.Do(ctx, "POST", "/buckets/ledger/shred", admin.ShredRequest{Confirm: "wrong"}, nil); !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("shred without confirmation: %v", err)
	}
	var rep encryption.ShredReport
	if err := kmsAdmin.Do(ctx, "POST", "/buckets/ledger/shred", admin.ShredRequest{Confirm: "ledger"}, &rep); err != nil || rep.Objects != 1 || len(rep.Keys) == 0 {
		t.Fatalf("shred: %+v %v", rep, err)
	}
	_, err := getAll(t, c, "ledger", "q3", minio.GetObjectOptions{})
	if resp := minio.ToErrorResponse(err); err == nil || resp.StatusCode != 400 || resp.Code != "KMS.KMSInvalidStateException" {
		t.Fatalf("read after shred: %v (%d %s)", err, resp.StatusCode, resp.Code)
	}
}
