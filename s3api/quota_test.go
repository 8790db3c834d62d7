package s3api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/storage"
)

// quotaEnv is a real object layer under Quotas, and a Handler over them
// on a loopback port with a minio-go client.
type quotaEnv struct {
	t      *testing.T
	dirs   []storage.DriveConfig
	store  *storage.Store
	q      *Quotas
	client *minio.Client
}

func openTestStorage(t *testing.T, drives []storage.DriveConfig) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), storage.Config{Drives: drives, DataShards: 2, ParityShards: 1,
		BlockSize: 64 << 10, InlineLimit: 4 << 10, ScanInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newQuotaEnv(t *testing.T) *quotaEnv {
	t.Helper()
	e := &quotaEnv{t: t}
	root := t.TempDir()
	for i := range 3 {
		e.dirs = append(e.dirs, storage.DriveConfig{Path: filepath.Join(root, fmt.Sprintf("d%d", i)), Zone: fmt.Sprintf("z%d", i)})
	}
	e.store = openTestStorage(t, e.dirs)
	e.q = NewQuotas(e.store, QuotaOptions{})
	t.Cleanup(func() {
		e.q.Close()
		e.store.Close()
	})
	h, err := New(Config{
		Store: e.q,
		Credentials: func(ak string) (string, bool) {
			return testSecretKey, ak == testAccessKey
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.client, err = minio.New(srv.Listener.Addr().String(), &minio.Options{
		Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""), Region: testRegion, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *quotaEnv) setQuota(bucket string, n int64) {
	e.t.Helper()
	_, err := e.store.UpdateBucketMetadata(context.Background(), bucket, func(md map[string]string) error {
		md[QuotaKey] = strconv.FormatInt(n, 10)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// checkUsage compares the tracked usage with a fresh walk.
func (e *quotaEnv) checkUsage(bucket, when string) storage.BucketUsage {
	e.t.Helper()
	ctx := context.Background()
	got, err := e.q.Usage(ctx, bucket)
	if err != nil {
		e.t.Fatalf("%s: usage: %v", when, err)
	}
	want, err := e.store.BucketUsage(ctx, bucket, storage.UsageOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	got.ComputedAt, want.ComputedAt = time.Time{}, time.Time{}
	if got != want {
		e.t.Fatalf("%s: tracked usage\n %+v\nwalk\n %+v", when, got, want)
	}
	return got
}

func quotaCode(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code + " " + strconv.Itoa(er.StatusCode)
	}
	return fmt.Sprint(err)
}

// TestQuotaEnforced fills a bucket to near its quota through minio-go:
// the next PUT, copy, part and completion are refused with
// QuotaExceeded; a delete makes room again.
func TestQuotaEnforced(t *testing.T) {
	e := newQuotaEnv(t)
	ctx := context.Background()
	if err := e.client.MakeBucket(ctx, "quota", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	e.setQuota("quota", 10000)
	put := func(key string, n int) error {
		_, err := e.client.PutObject(ctx, "quota", key, bytes.NewReader(bytes.Repeat([]byte{'x'}, n)), int64(n), minio.PutObjectOptions{})
		return err
	}
	for i := range 9 {
		if err := put(fmt.Sprintf("k%d", i), 1000); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	e.checkUsage("quota", "after 9 puts")
	if err := put("big", 1001); quotaCode(err) != "QuotaExceeded 403" {
		t.Fatalf("put past the quota: %v", err)
	}
	if _, err := e.client.StatObject(ctx, "quota", "big", minio.StatObjectOptions{}); err == nil {
		t.Fatal("the refused object exists")
	}
	// A copy takes the last 1000 bytes.
	if _, err := e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "quota", Object: "copy"}, minio.CopySrcOptions{Bucket: "quota", Object: "k0"}); err != nil {
		t.Fatalf("copy to the quota exactly: %v", err)
	}
	e.checkUsage("quota", "full")

	// Full: another copy, a part and an overwrite are refused.
	_, err := e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "quota", Object: "copy2"}, minio.CopySrcOptions{Bucket: "quota", Object: "k0"})
	if quotaCode(err) != "QuotaExceeded 403" {
		t.Fatalf("copy when full: %v", err)
	}
	if err := put("k1", 1); quotaCode(err) != "QuotaExceeded 403" {
		t.Fatalf("overwrite when full: %v", err)
	}
	core := &minio.Core{Client: e.client}
	up, err := core.NewMultipartUpload(ctx, "quota", "mp", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = core.PutObjectPart(ctx, "quota", "mp", up, 1, bytes.NewReader([]byte("part")), 4, minio.PutObjectPartOptions{})
	if quotaCode(err) != "QuotaExceeded 403" {
		t.Fatalf("part when full: %v", err)
	}

	// A delete makes room.
	if err := e.client.RemoveObject(ctx, "quota", "k3", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	e.checkUsage("quota", "after delete")
	part, err := core.PutObjectPart(ctx, "quota", "mp", up, 1, bytes.NewReader(bytes.Repeat([]byte{'p'}, 600)), 600, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatalf("part after delete: %v", err)
	}
	e.checkUsage("quota", "part uploaded")
	if err := put("k3", 401); quotaCode(err) != "QuotaExceeded 403" {
		t.Fatalf("put past the room the part left: %v", err)
	}
	if err := put("k3", 400); err != nil {
		t.Fatalf("put into the room left: %v", err)
	}
	// Completing adds nothing: allowed at the quota, refused above it.
	if _, err := core.CompleteMultipartUpload(ctx, "quota", "mp", up, []minio.CompletePart{{PartNumber: 1, ETag: part.ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("complete at the quota: %v", err)
	}
	u := e.checkUsage("quota", "completed")
	if u.TotalBytes != 10000 || u.Objects != 11 || u.Uploads != 0 {
		t.Fatalf("usage %+v", u)
	}
	up2, err := core.NewMultipartUpload(ctx, "quota", "mp2", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.setQuota("quota", 20000)
	p2, err := core.PutObjectPart(ctx, "quota", "mp2", up2, 1, bytes.NewReader(bytes.Repeat([]byte{'p'}, 5000)), 5000, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.setQuota("quota", 12000) // lowered below what is used
	_, err = core.CompleteMultipartUpload(ctx, "quota", "mp2", up2, []minio.CompletePart{{PartNumber: 1, ETag: p2.ETag}}, minio.PutObjectOptions{})
	if quotaCode(err) != "QuotaExceeded 403" {
		t.Fatalf("complete above the quota: %v", err)
	}
	if err := core.AbortMultipartUpload(ctx, "quota", "mp2", up2); err != nil {
		t.Fatal(err)
	}
	e.checkUsage("quota", "aborted")

	// No quota: anything goes.
	e.setQuota("quota", 0)
	if err := put("huge", 50000); err != nil {
		t.Fatalf("put without a quota: %v", err)
	}
	e.checkUsage("quota", "quota removed")
}

// TestQuotaUnknownSize: a body without a declared size is cut off when
// it passes the room left, and nothing is stored.
func TestQuotaUnknownSize(t *testing.T) {
	e := newQuotaEnv(t)
	ctx := context.Background()
	if err := e.store.MakeBucket(ctx, "q", ""); err != nil {
		t.Fatal(err)
	}
	e.setQuota("q", 1000)
	cases := []struct {
		name string
		size int
		want error
	}{
		{"fits", 600, nil},
		{"too long", 401, errQuotaExceeded},
		{"exactly the rest", 400, nil},
		{"full", 1, errQuotaExceeded},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("k%d", i)
			_, err := e.q.PutObject(ctx, "q", key, io.LimitReader(rand.NewChaCha8([32]byte{1}), int64(tc.size)), storage.PutOptions{Size: -1})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			_, serr := e.store.ObjectInfo(ctx, "q", key, storage.GetOptions{})
			if (serr == nil) != (tc.want == nil) {
				t.Fatalf("stored: %v", serr)
			}
		})
	}
	e.checkUsage("q", "end")
}

// TestQuotaConcurrent: writers racing for the last bytes cannot overshoot
// together: reservations are taken before any body is read.
func TestQuotaConcurrent(t *testing.T) {
	e := newQuotaEnv(t)
	ctx := context.Background()
	if err := e.store.MakeBucket(ctx, "q", ""); err != nil {
		t.Fatal(err)
	}
	e.setQuota("q", 1000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.Repeat([]byte{byte(i)}, 100)
			_, err := e.q.PutObject(ctx, "q", fmt.Sprintf("k%d", i), bytes.NewReader(body), storage.PutOptions{Size: 100})
			switch {
			case err == nil:
				mu.Lock()
				ok++
				mu.Unlock()
			case !errors.Is(err, errQuotaExceeded):
				t.Errorf("put %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	u := e.checkUsage("q", "end")
	if ok != 10 || u.TotalBytes != 1000 {
		t.Fatalf("%d puts succeeded, usage %+v", ok, u)
	}
}

// TestQuotaTrackingModel runs random writes, overwrites, deletes and
// multipart uploads through Quotas and checks after each that the
// tracked usage equals a fresh walk; a new Quotas (a restart) counts the
// same.
func TestQuotaTrackingModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	e := newQuotaEnv(t)
	ctx := context.Background()
	if err := e.store.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.q.Usage(ctx, "b"); err != nil { // counted from here on
		t.Fatal(err)
	}
	uploads := map[string]string{} // upload id -> key
	for step := range 40 {
		key := fmt.Sprintf("k%d", r.IntN(6))
		var err error
		op := r.IntN(5)
		switch op {
		case 0, 1:
			n := r.IntN(10 << 10)
			_, err = e.q.PutObject(ctx, "b", key, bytes.NewReader(make([]byte, n)), storage.PutOptions{Size: int64(n)})
		case 2:
			err = e.q.DeleteObject(ctx, "b", key, storage.DeleteOptions{})
			if errors.Is(err, storage.ErrObjectNotFound) {
				err = nil
			}
		case 3:
			var id string
			if id, err = e.q.NewMultipartUpload(ctx, "b", key, nil); err == nil {
				uploads[id] = key
				n := int64(r.IntN(3000))
				_, err = e.q.PutObjectPart(ctx, "b", key, id, 1, bytes.NewReader(make([]byte, n)), storage.PutOptions{Size: n})
			}
		case 4:
			for id, k := range uploads {
				delete(uploads, id)
				if r.IntN(2) == 0 {
					err = e.q.AbortMultipartUpload(ctx, "b", k, id)
					break
				}
				var parts storage.ListPartsResult
				if parts, err = e.q.ListParts(ctx, "b", k, id, 0, 10); err == nil {
					cp := []storage.CompletePart{{Number: 1, ETag: parts.Parts[0].ETag}}
					_, err = e.q.CompleteMultipartUpload(ctx, "b", k, id, cp, storage.CompleteOptions{})
				}
				break
			}
		}
		if err != nil {
			t.Fatalf("step %d op %d: %v", step, op, err)
		}
		e.checkUsage("b", fmt.Sprintf("step %d op %d", step, op))
	}
	q2 := NewQuotas(e.store, QuotaOptions{})
	defer q2.Close()
	a, err := q2.Usage(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := e.q.Usage(ctx, "b")
	a.ComputedAt, b.ComputedAt = time.Time{}, time.Time{}
	if a != b {
		t.Fatalf("restarted count %+v, tracked %+v", a, b)
	}
}

// TestQuotaRecount: a change the tracker could not see (made on the
// object layer directly) is found by Recount and by the background loop
// once the count is older than MaxAge.
func TestQuotaRecount(t *testing.T) {
	root := t.TempDir()
	var drives []storage.DriveConfig
	for i := range 3 {
		drives = append(drives, storage.DriveConfig{Path: filepath.Join(root, strconv.Itoa(i)), Zone: "z" + strconv.Itoa(i)})
	}
	store := openTestStorage(t, drives)
	defer store.Close()
	q := NewQuotas(store, QuotaOptions{MaxAge: 50 * time.Millisecond, Tick: 10 * time.Millisecond})
	defer q.Close()
	ctx := context.Background()
	if err := store.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := q.CachedUsage("b"); ok {
		t.Fatal("cached usage before any count")
	}
	u, err := q.Usage(ctx, "b")
	if err != nil || u.Objects != 0 {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := store.PutObject(ctx, "b", "behind", bytes.NewReader(make([]byte, 10)), storage.PutOptions{Size: 10}); err != nil {
		t.Fatal(err)
	}
	if u, err = q.Recount(ctx, "b"); err != nil || u.Objects != 1 || u.TotalBytes != 10 {
		t.Fatalf("recount %+v %v", u, err)
	}
	if _, err := store.PutObject(ctx, "b", "behind2", bytes.NewReader(make([]byte, 5)), storage.PutOptions{Size: 5}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if u, ok := q.CachedUsage("b"); ok && u.Objects == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background loop never recounted a stale bucket")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := q.Usage(ctx, "nope"); !errors.Is(err, storage.ErrBucketNotFound) {
		t.Fatalf("usage of a missing bucket: %v", err)
	}
	q.Close()
	if _, err := q.Recount(ctx, "b"); !errors.Is(err, errQuotasClosed) {
		t.Fatalf("recount after close: %v", err)
	}
}

// TestQuotaErrorResponse pins the S3 error of a refused write.
func TestQuotaErrorResponse(t *testing.T) {
	ae, ok := apiErrorFor(fmt.Errorf("s3api: put %q: %w", "k", fmt.Errorf("%w: detail", errQuotaExceeded)))
	if !ok || ae.Code != "QuotaExceeded" || ae.Status != http.StatusForbidden {
		t.Fatalf("%+v %v", ae, ok)
	}
}
