package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestListMetadataNeedsGetObject: a metadata=true listing shows user
// metadata only of objects the caller may read; s3:ListBucket alone
// lists the keys without it (here for an anonymous caller that a bucket
// policy lets list the bucket and read one prefix).
func TestListMetadataNeedsGetObject(t *testing.T) {
	ctx := context.Background()
	srv, c := startServer(t)
	if err := c.MakeBucket(ctx, "lmeta", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for key, md := range map[string]map[string]string{"hr/salary": {"salary": "250000"}, "pub/note": {"colour": "blue"}} {
		if _, err := c.PutObject(ctx, "lmeta", key, bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{UserMetadata: md}); err != nil {
			t.Fatal(err)
		}
	}
	policy := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::lmeta"},
	 {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::lmeta/pub/*"}]}`
	if err := c.SetBucketPolicy(ctx, "lmeta", policy); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + srv.Addr() + "/lmeta?list-type=2&metadata=true")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(out)
	if resp.StatusCode != 200 || !strings.Contains(body, "<Key>hr/salary</Key>") || strings.Contains(body, "250000") {
		t.Fatalf("anonymous listing shows the unreadable object's metadata (or not its key): %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, "blue") {
		t.Fatalf("anonymous listing lacks the readable object's metadata: %s", body)
	}
	resp2, out2 := signedDo(t, srv, "GET", "/lmeta?list-type=2&metadata=true", nil, nil)
	if resp2.StatusCode != 200 || !strings.Contains(string(out2), "250000") {
		t.Fatalf("root listing: %d %s", resp2.StatusCode, out2)
	}
}
