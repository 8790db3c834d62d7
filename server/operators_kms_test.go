package server

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/iam"
)

// TestIAMSealedOnDisk: the server's iam.json holds no secret, name or
// policy in the clear, and a restarted server reads it back: the user's
// key still signs requests.
func TestIAMSealedOnDisk(t *testing.T) {
	dir := t.TempDir()
	srv, root := startSSEServer(t, dir, false)
	ctx := context.Background()
	if err := root.MakeBucket(ctx, "ledger", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	putPolicy(t, srv, "ledger-writers", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::ledger","arn:aws:s3:::ledger/*"]}]}`)
	if _, err := srv.IAM().CreateUser(ctx, "erin.finance", "ledger-writers"); err != nil {
		t.Fatal(err)
	}
	k, err := srv.IAM().CreateAccessKey(ctx, "erin.finance", iam.AccessKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "iam", iam.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{k.Secret, k.ID, "erin.finance", "ledger-writers", "arn:aws:s3:::ledger"} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("iam.json holds %q in the clear", s)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	srv.Close(cctx)
	cancel()

	srv, _ = startSSEServer(t, dir, false)
	c := clientFor(t, srv, credentials.NewStaticV4(k.ID, k.Secret, ""))
	if _, err := c.PutObject(ctx, "ledger", "entry", bytes.NewReader([]byte("42")), 2, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("the user's key after a restart: %v", err)
	}
}
