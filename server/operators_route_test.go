package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestSignedRequestsReachBucketsNamedLikeOperators: a bucket named
// "admin" or "metrics" stays an S3 bucket for every signed request,
// SigV4 or SigV2, in a header or a presigned URL. Before, SigV2 requests
// to /metrics or /admin/v1/... went to the operators' endpoints.
func TestSignedRequestsReachBucketsNamedLikeOperators(t *testing.T) {
	ctx := context.Background()
	srv, v4 := startServerWith(t, Config{})
	user, secret := srv.Credentials()
	v2, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV2(user, secret, ""), Region: "us-east-1", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("kept in a bucket, not an endpoint")
	for _, bucket := range []string{"admin", "metrics"} {
		if err := v4.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		// "v1/x" in "admin" is the path /admin/v1/x, the admin API's prefix.
		if _, err := v4.PutObject(ctx, bucket, "v1/x", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name   string
		client *minio.Client
	}{{"SigV4", v4}, {"SigV2", v2}} {
		for _, bucket := range []string{"admin", "metrics"} {
			// A header signature.
			obj, err := c.client.GetObject(ctx, bucket, "v1/x", minio.GetObjectOptions{})
			if err != nil {
				t.Fatalf("%s GET %s/v1/x: %v", c.name, bucket, err)
			}
			got, err := io.ReadAll(obj)
			obj.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("%s GET %s/v1/x: %q, %v; want the object", c.name, bucket, got, err)
			}
			// HEAD /<bucket> exactly, the path of /metrics itself.
			req, err := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+srv.Addr()+"/"+bucket, nil)
			if err != nil {
				t.Fatal(err)
			}
			u, err := c.client.PresignHeader(ctx, http.MethodHead, bucket, "", time.Minute, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL = u
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") == "application/json" {
				t.Errorf("%s presigned HEAD %s: %d %q, want 200 from S3", c.name, u.Path, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			// A presigned GET of the object.
			pu, err := c.client.PresignedGetObject(ctx, bucket, "v1/x", time.Minute, url.Values{})
			if err != nil {
				t.Fatal(err)
			}
			resp, err = http.Get(pu.String())
			if err != nil {
				t.Fatal(err)
			}
			got, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
				t.Errorf("%s presigned GET %s: %d %q, want the object", c.name, pu.Path, resp.StatusCode, got)
			}
		}
	}
}
