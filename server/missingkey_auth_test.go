package server

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestMissingKeyWithoutListBucket: a read (or conditional delete) of a
// missing key is 404 NoSuchKey only for a caller who may list the
// bucket; others get 403, as AWS answers reads, so that they cannot probe
// which keys exist.
func TestMissingKeyWithoutListBucket(t *testing.T) {
	ctx := context.Background()
	srv, c := startServer(t)
	if err := c.MakeBucket(ctx, "probe", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	anon := func(method, path string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+srv.Addr()+path, nil)
		req.Header.Set("x-amz-object-attributes", "ETag")
		if method == "DELETE" {
			req.Header.Set("If-Match", "*")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	readOnly := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:GetObjectAttributes","s3:DeleteObject"],"Resource":"arn:aws:s3:::probe/pub/*"}]}`
	if err := c.SetBucketPolicy(ctx, "probe", readOnly); err != nil {
		t.Fatal(err)
	}
	// GET, HEAD, GetObjectAttributes and a conditional DELETE alike.
	cases := [][2]string{{"GET", "/probe/pub/missing"}, {"HEAD", "/probe/pub/missing"},
		{"GET", "/probe/pub/missing?attributes"}, {"DELETE", "/probe/pub/missing"}}
	for _, c := range cases {
		if got := anon(c[0], c[1]); got != 403 {
			t.Fatalf("%s %s of a missing key without s3:ListBucket: %d, want 403", c[0], c[1], got)
		}
	}
	if resp, _ := signedDo(t, srv, "GET", "/probe/pub/missing", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("root: %d, want 404", resp.StatusCode)
	}
	withList := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:GetObjectAttributes","s3:DeleteObject"],"Resource":"arn:aws:s3:::probe/pub/*"},
	 {"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::probe"}]}`
	if err := c.SetBucketPolicy(ctx, "probe", withList); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if got := anon(c[0], c[1]); got != 404 {
			t.Fatalf("%s %s of a missing key with s3:ListBucket: %d, want 404", c[0], c[1], got)
		}
	}
}
