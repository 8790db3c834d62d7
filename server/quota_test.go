package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/admin"
)

// TestQuotaEndToEnd sets a quota through the admin API, fills the bucket
// to near it with minio-go (objects encrypted, as always: usage counts
// plaintext), sees the next PUT refused with QuotaExceeded, deletes, PUTs
// again, and finds usage and quota unchanged after a restart.
func TestQuotaEndToEnd(t *testing.T) {
	dir := t.TempDir()
	srv, c := startSSEServer(t, dir, false)
	ctx := context.Background()
	user, secret := srv.Credentials()
	adm := &admin.Client{URL: "http://" + srv.Addr(), RootUser: user, RootSecret: secret}
	if err := c.MakeBucket(ctx, "limited", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	var b admin.Bucket
	if err := adm.Do(ctx, "PUT", "/buckets/limited/quota", admin.QuotaRequest{Quota: 1 << 20}, &b); err != nil || b.Quota != 1<<20 {
		t.Fatalf("set quota: %+v %v", b, err)
	}
	put := func(key string, n int) error {
		_, err := c.PutObject(ctx, "limited", key, bytes.NewReader(randBody(uint64(n), n)), int64(n), minio.PutObjectOptions{})
		return err
	}
	for i := range 3 {
		if err := put("part"+string(rune('a'+i)), 300<<10); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	usage := func(refresh bool) admin.BucketUsageResponse {
		t.Helper()
		path := "/buckets/limited/usage"
		if refresh {
			path += "?refresh=true"
		}
		var u admin.BucketUsageResponse
		if err := adm.Do(ctx, "GET", path, nil, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	u := usage(false)
	if u.Objects != 3 || u.TotalBytes != 900<<10 || u.CurrentBytes != 900<<10 || u.StoredBytes <= u.TotalBytes || u.Quota != 1<<20 {
		t.Fatalf("usage after filling: %+v", u)
	}

	err := put("one-too-many", 200<<10)
	var er minio.ErrorResponse
	if !errors.As(err, &er) || er.Code != "QuotaExceeded" || er.StatusCode != http.StatusForbidden {
		t.Fatalf("PUT past the quota: %v", err)
	}
	if err := put("still-fits", 100<<10); err != nil {
		t.Fatalf("PUT into the room left: %v", err)
	}
	if err := c.RemoveObject(ctx, "limited", "parta", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := put("one-too-many", 200<<10); err != nil {
		t.Fatalf("PUT after a delete: %v", err)
	}
	u = usage(false)
	fresh := usage(true)
	if u.TotalBytes != 900<<10 || fresh.TotalBytes != u.TotalBytes || fresh.Objects != u.Objects || !fresh.ComputedAt.After(u.ComputedAt.Add(-time.Nanosecond)) {
		t.Fatalf("tracked %+v, recounted %+v", u, fresh)
	}
	var got admin.Bucket
	if err := adm.Do(ctx, "GET", "/buckets/limited", nil, &got); err != nil || got.Usage == nil || got.Usage.TotalBytes != u.TotalBytes {
		t.Fatalf("GET bucket: %+v %v", got, err)
	}

	// A restart counts again from the drives.
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	srv.Close(cctx)
	cancel()
	srv, c = startSSEServer(t, dir, false)
	user, secret = srv.Credentials()
	adm = &admin.Client{URL: "http://" + srv.Addr(), RootUser: user, RootSecret: secret}
	if again := usage(false); again.TotalBytes != u.TotalBytes || again.Objects != u.Objects || again.Quota != 1<<20 {
		t.Fatalf("after restart %+v, before %+v", again, u)
	}
	if err := put("over-after-restart", 200<<10); !errors.As(err, &er) || er.Code != "QuotaExceeded" {
		t.Fatalf("PUT past the quota after restart: %v", err)
	}
	var cleared admin.Bucket
	if err := adm.Do(ctx, "PUT", "/buckets/limited/quota", admin.QuotaRequest{Quota: 0}, &cleared); err != nil || cleared.Quota != 0 {
		t.Fatalf("remove quota: %+v %v", cleared, err)
	}
	if err := put("over-after-restart", 200<<10); err != nil {
		t.Fatalf("PUT without a quota: %v", err)
	}
}
