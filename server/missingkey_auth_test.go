package server

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestMissingKeyWithoutListBucket: a read of a missing key is 404
// NoSuchKey only for a caller who may list the bucket; others get 403,
// as AWS answers, so that they cannot probe which keys exist.
func TestMissingKeyWithoutListBucket(t *testing.T) {
	ctx := context.Background()
	srv, c := startServer(t)
	if err := c.MakeBucket(ctx, "probe", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	anon := func(method, path string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+srv.Addr()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	readOnly := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::probe/pub/*"}]}`
	if err := c.SetBucketPolicy(ctx, "probe", readOnly); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"GET", "HEAD"} {
		if got := anon(m, "/probe/pub/missing"); got != 403 {
			t.Fatalf("%s of a missing key without s3:ListBucket: %d, want 403", m, got)
		}
	}
	if resp, _ := signedDo(t, srv, "GET", "/probe/pub/missing", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("root: %d, want 404", resp.StatusCode)
	}
	withList := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::probe/pub/*"},
	 {"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::probe"}]}`
	if err := c.SetBucketPolicy(ctx, "probe", withList); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"GET", "HEAD"} {
		if got := anon(m, "/probe/pub/missing"); got != 404 {
			t.Fatalf("%s of a missing key with s3:ListBucket: %d, want 404", m, got)
		}
	}
}
