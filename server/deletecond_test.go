package server

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestConditionalDeleteEncrypted: a delete's size condition compares the
// plaintext size a client sees, not the sealed size the store keeps.
func TestConditionalDeleteEncrypted(t *testing.T) {
	ctx := context.Background()
	srv, c := startServer(t)
	if err := c.MakeBucket(ctx, "cdel", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 70000) // past one 64 KiB package
	if _, err := c.PutObject(ctx, "cdel", "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, out := signedDo(t, srv, "DELETE", "/cdel/k", map[string]string{"x-amz-if-match-size": fmt.Sprint(len(data) + 32)}, nil)
	if resp.StatusCode != 412 {
		t.Fatalf("wrong size: %d %s", resp.StatusCode, out)
	}
	resp, out = signedDo(t, srv, "DELETE", "/cdel/k", map[string]string{"x-amz-if-match-size": fmt.Sprint(len(data))}, nil)
	if resp.StatusCode != 204 {
		t.Fatalf("plaintext size: %d %s", resp.StatusCode, out)
	}
	if _, err := c.StatObject(ctx, "cdel", "k", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("after the delete: %v", err)
	}
}
