package server

import (
	"context"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/iam"
)

// TestCreateBucketLocationCondition: a policy can restrict where a user
// creates buckets with s3:LocationConstraint, as in AWS: the key holds
// the location the request names (it was never set, so such a policy
// refused every creation).
func TestCreateBucketLocationCondition(t *testing.T) {
	ctx := context.Background()
	srv, _ := startServer(t)
	if _, err := srv.IAM().PutPolicy(ctx, "eu-only", []byte(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"s3:CreateBucket","Resource":"*","Condition":{"StringEquals":{"s3:LocationConstraint":"eu-central-1"}}}]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.IAM().PutPolicy(ctx, "not-us", []byte(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"s3:CreateBucket","Resource":"*"},
	  {"Effect":"Deny","Action":"s3:CreateBucket","Resource":"*","Condition":{"StringEquals":{"s3:LocationConstraint":"us-west-2"}}}]}`)); err != nil {
		t.Fatal(err)
	}
	eu := userClient(t, srv, "euuser", "eu-only")
	notUS := userClient(t, srv, "notususer", "not-us")
	tests := []struct {
		client  *minio.Client
		bucket  string
		region  string
		allowed bool
	}{
		{eu, "eu-bucket", "eu-central-1", true},
		{eu, "us-bucket", "us-west-2", false},
		{eu, "no-location", "", false},
		{notUS, "fine-bucket", "eu-west-1", true},
		{notUS, "denied-bucket", "us-west-2", false},
	}
	for _, tt := range tests {
		err := tt.client.MakeBucket(ctx, tt.bucket, minio.MakeBucketOptions{Region: tt.region})
		if tt.allowed && err != nil {
			t.Fatalf("%s in %q: %v", tt.bucket, tt.region, err)
		}
		if !tt.allowed && minio.ToErrorResponse(err).Code != "AccessDenied" {
			t.Fatalf("%s in %q: %v, want AccessDenied", tt.bucket, tt.region, err)
		}
	}
}

// TestCreateBucketRefusalFirst: a caller who may not create buckets gets
// AccessDenied for any CreateBucket, not an account of what is wrong with
// the request; one who may gets that account.
func TestCreateBucketRefusalFirst(t *testing.T) {
	ctx := context.Background()
	srv, root := startServer(t)
	reader := userClient(t, srv, "reader", iam.PolicyReadOnly)
	if err := reader.MakeBucket(ctx, "bad-location", minio.MakeBucketOptions{Region: "bad.loc"}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("reader: %v, want AccessDenied", err)
	}
	if err := root.MakeBucket(ctx, "bad-location", minio.MakeBucketOptions{Region: "bad.loc"}); minio.ToErrorResponse(err).Code != "InvalidLocationConstraint" {
		t.Fatalf("root: %v, want InvalidLocationConstraint", err)
	}
}

// TestStoredBadLocationNotInHeaders: a location stored before every path
// checked it does not reach x-amz-bucket-region (a NUL there broke HEAD).
func TestStoredBadLocationNotInHeaders(t *testing.T) {
	ctx := context.Background()
	srv, root := startServer(t)
	if err := srv.Store().MakeBucket(ctx, "oldbucket", "bad\x00loc\r\nX: 1"); err != nil {
		t.Fatal(err)
	}
	ok, err := root.BucketExists(ctx, "oldbucket")
	if err != nil || !ok {
		t.Fatalf("HEAD of a bucket with a stored bad location: %v %v", ok, err)
	}
	resp, _ := signedDo(t, srv, "HEAD", "/oldbucket", nil, nil)
	if got := resp.Header.Get("x-amz-bucket-region"); got != "us-east-1" {
		t.Fatalf("x-amz-bucket-region %q, want the server's region", got)
	}
}
