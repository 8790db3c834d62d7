package server

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestBucketPolicyNameReuse: a bucket policy's grant to a user does not
// pass to a new user given the name of a deleted one, as in AWS (which
// keeps the user's unique id); writing the policy again grants it.
func TestBucketPolicyNameReuse(t *testing.T) {
	ctx := context.Background()
	srv, root := startServer(t)
	if err := root.MakeBucket(ctx, "shared", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutObject(ctx, "shared", "o", bytes.NewReader([]byte("data")), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	eve := userClient(t, srv, "eve")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	  "Principal":{"AWS":"arn:aws:iam::123456789012:user/eve"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`
	if err := root.SetBucketPolicy(ctx, "shared", policy); err != nil {
		t.Fatal(err)
	}
	read := func(c *minio.Client) error {
		o, err := c.GetObject(ctx, "shared", "o", minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer o.Close()
		_, err = io.ReadAll(o)
		return err
	}
	if err := read(eve); err != nil {
		t.Fatalf("eve, named by the policy: %v", err)
	}
	if err := srv.IAM().DeleteUser(ctx, "eve"); err != nil {
		t.Fatal(err)
	}
	newEve := userClient(t, srv, "eve")
	if err := read(newEve); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("a new user named eve: %v, want AccessDenied", err)
	}
	if err := root.SetBucketPolicy(ctx, "shared", policy); err != nil {
		t.Fatal(err)
	}
	if err := read(newEve); err != nil {
		t.Fatalf("the new eve after the policy was written again: %v", err)
	}
}
