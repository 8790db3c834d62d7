package server

import (
	"bytes"
	"context"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/iam"
)

// TestReadOnlyGetsAttributes: the built-in readonly policy reads an
// object's attributes (GetObjectAttributes needs s3:GetObjectAttributes
// beside s3:GetObject), and a policy granting only s3:GetObject does not.
func TestReadOnlyGetsAttributes(t *testing.T) {
	ctx := context.Background()
	srv, root := startServer(t)
	if err := root.MakeBucket(ctx, "attrs", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutObject(ctx, "attrs", "o", bytes.NewReader([]byte("data")), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	reader := userClient(t, srv, "reader", iam.PolicyReadOnly)
	if _, err := reader.GetObjectAttributes(ctx, "attrs", "o", minio.ObjectAttributesOptions{}); err != nil {
		t.Fatalf("readonly: %v", err)
	}
	if _, err := srv.IAM().PutPolicy(ctx, "get-only", []byte(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::attrs/*"}]}`)); err != nil {
		t.Fatal(err)
	}
	getOnly := userClient(t, srv, "getonly", "get-only")
	if _, err := getOnly.StatObject(ctx, "attrs", "o", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("get-only HEAD: %v", err)
	}
	if _, err := getOnly.GetObjectAttributes(ctx, "attrs", "o", minio.ObjectAttributesOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("get-only GetObjectAttributes: %v, want AccessDenied", err)
	}
}
