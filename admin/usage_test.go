package admin_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/admin"
)

// TestBucketUsageAndQuota: the usage and quota routes through raw
// tokens: scopes enforced, usage counted in plaintext bytes, the quota
// recorded where the S3 path reads it.
func TestBucketUsageAndQuota(t *testing.T) {
	srv, base := start(t)
	ctx := context.Background()
	root := rootClient(srv, base)
	read := &admin.Client{URL: base, Token: mint(t, root, "1h", "buckets:read").Secret}
	write := &admin.Client{URL: base, Token: mint(t, root, "1h", "buckets:write").Secret}
	status := &admin.Client{URL: base, Token: mint(t, root, "1h", "status:read").Secret}

	var b admin.Bucket
	if err := write.Do(ctx, "POST", "/buckets", admin.CreateBucketRequest{Name: "counted"}, &b); err != nil {
		t.Fatal(err)
	}
	user, secret := srv.Credentials()
	s3, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""), Region: "us-east-1", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{10, 2000, 70 << 10} {
		if _, err := s3.PutObject(ctx, "counted", string(rune('a'+i)), bytes.NewReader(make([]byte, n)), int64(n), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var u admin.BucketUsageResponse
	if err := read.Do(ctx, "GET", "/buckets/counted/usage", nil, &u); err != nil {
		t.Fatal(err)
	}
	want := int64(10 + 2000 + 70<<10)
	if u.Bucket != "counted" || u.Objects != 3 || u.Versions != 3 || u.CurrentBytes != want || u.TotalBytes != want ||
		u.StoredBytes <= want || u.Quota != 0 || u.ComputedAt.IsZero() {
		t.Fatalf("usage %+v", u)
	}
	var bs []admin.Bucket
	if err := read.Do(ctx, "GET", "/buckets", nil, &bs); err != nil || len(bs) != 1 || bs[0].Usage == nil || bs[0].Usage.TotalBytes != want {
		t.Fatalf("list with usage: %+v %v", bs, err)
	}

	wantCode(t, status.Do(ctx, "GET", "/buckets/counted/usage", nil, nil), 403, "Forbidden")
	wantCode(t, read.Do(ctx, "PUT", "/buckets/counted/quota", admin.QuotaRequest{Quota: 10}, nil), 403, "Forbidden")
	wantCode(t, write.Do(ctx, "PUT", "/buckets/counted/quota", admin.QuotaRequest{Quota: -1}, nil), 400, "InvalidRequest")
	wantCode(t, write.Do(ctx, "PUT", "/buckets/nope/quota", admin.QuotaRequest{Quota: 10}, nil), 404, "NoSuchBucket")
	wantCode(t, read.Do(ctx, "GET", "/buckets/nope/usage", nil, nil), 404, "NoSuchBucket")
	wantCode(t, read.Do(ctx, "GET", "/buckets/counted/usage?refresh=maybe", nil, nil), 400, "InvalidRequest")

	if err := write.Do(ctx, "PUT", "/buckets/counted/quota", admin.QuotaRequest{Quota: want + 100}, &b); err != nil || b.Quota != want+100 {
		t.Fatalf("set quota: %+v %v", b, err)
	}
	_, err = s3.PutObject(ctx, "counted", "over", bytes.NewReader(make([]byte, 101)), 101, minio.PutObjectOptions{})
	if minio.ToErrorResponse(err).Code != "QuotaExceeded" {
		t.Fatalf("PUT over the quota set here: %v", err)
	}
	if err := read.Do(ctx, "GET", "/buckets/counted/usage?refresh=true", nil, &u); err != nil || u.TotalBytes != want || u.Quota != want+100 {
		t.Fatalf("refreshed usage %+v %v", u, err)
	}

	// A body without quotaBytes is refused, not read as "remove".
	for _, body := range []string{`{}`, `null`, `{"quotaBytes":null}`} {
		wantCode(t, write.Do(ctx, "PUT", "/buckets/counted/quota", []byte(body), nil), 400, "InvalidRequest")
	}
	if err := read.Do(ctx, "GET", "/buckets/counted", nil, &b); err != nil || b.Quota != want+100 {
		t.Fatalf("quota after refused bodies: %+v %v", b, err)
	}
	var cleared admin.Bucket
	if err := write.Do(ctx, "PUT", "/buckets/counted/quota", admin.QuotaRequest{Quota: 0}, &cleared); err != nil || cleared.Name != "counted" || cleared.Quota != 0 {
		t.Fatalf("explicit 0 removes the quota: %+v %v", cleared, err)
	}
}
