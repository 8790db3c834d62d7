package server

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// startServer runs a default server (4+2, three zones) on a random
// loopback port in a temporary folder.
func startServer(t testing.TB) (*Server, *minio.Client) {
	t.Helper()
	return startServerWith(t, Config{})
}

// startServerWith runs a server with cfg on a random loopback port (and
// in a temporary folder when cfg names none), stopped when the test ends,
// and a minio-go client of its root credentials.
func startServerWith(t testing.TB, cfg Config) (*Server, *minio.Client) {
	t.Helper()
	cfg.Address = "127.0.0.1:0"
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	srv, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	user, secret := srv.Credentials()
	// One try: a test that expects a 503 must not wait out retries.
	c, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""), Region: "us-east-1", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func randBody(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 99))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func getAll(t testing.TB, c *minio.Client, bucket, key string, opts minio.GetObjectOptions) ([]byte, error) {
	t.Helper()
	o, err := c.GetObject(context.Background(), bucket, key, opts)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

func TestGeneratedCredentials(t *testing.T) {
	dir := t.TempDir()
	srv, err := Start(context.Background(), Config{Address: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	user, secret := srv.Credentials()
	if !srv.GeneratedCredentials() || len(user) != 20 || len(secret) != 40 {
		t.Fatalf("generated %v %q", srv.GeneratedCredentials(), user)
	}
	fi, err := os.Stat(filepath.Join(dir, credentialsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	srv.Close(context.Background())
	srv2, err := Start(context.Background(), Config{Address: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close(context.Background())
	u2, s2 := srv2.Credentials()
	if srv2.GeneratedCredentials() || u2 != user || s2 != secret {
		t.Fatal("credentials not kept across restarts")
	}
}

func TestEndToEnd(t *testing.T) {
	srv, c := startServer(t)
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "photos", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{
		"empty":          {},
		"small.txt":      []byte("hello, objstore"),
		"dir/inline.bin": randBody(1, 100<<10),
		"dir/medium.bin": randBody(2, 3<<20+5),
		"odd/ key+é//..": randBody(3, 1000),
	}
	for k, b := range bodies {
		info, err := c.PutObject(ctx, "photos", k, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{
			ContentType:  "application/x-test",
			UserMetadata: map[string]string{"origin": "e2e"},
		})
		if err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
		sum := md5.Sum(b)
		if info.ETag != hex.EncodeToString(sum[:]) {
			t.Fatalf("put %q: etag %s", k, info.ETag)
		}
	}
	for k, b := range bodies {
		got, err := getAll(t, c, "photos", k, minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("get %q: %v", k, err)
		}
		st, err := c.StatObject(ctx, "photos", k, minio.StatObjectOptions{})
		if err != nil || st.Size != int64(len(b)) || st.ContentType != "application/x-test" || st.UserMetadata["Origin"] != "e2e" {
			t.Fatalf("stat %q: %+v %v", k, st, err)
		}
	}
	// Ranges.
	med := bodies["dir/medium.bin"]
	opts := minio.GetObjectOptions{}
	opts.SetRange(1<<20-3, 2<<20+10)
	got, err := getAll(t, c, "photos", "dir/medium.bin", opts)
	if err != nil || !bytes.Equal(got, med[1<<20-3:2<<20+11]) {
		t.Fatalf("range: %v", err)
	}
	// Listing with a delimiter.
	var keys, prefixes []string
	for o := range c.ListObjects(ctx, "photos", minio.ListObjectsOptions{}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if strings.HasSuffix(o.Key, "/") {
			prefixes = append(prefixes, o.Key)
		} else {
			keys = append(keys, o.Key)
		}
	}
	if fmt.Sprint(keys) != "[empty small.txt]" || fmt.Sprint(prefixes) != "[dir/ odd/]" {
		t.Fatalf("list: %q %q", keys, prefixes)
	}
	// Copy, then delete.
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: "photos", Object: "copy.bin"}, minio.CopySrcOptions{Bucket: "photos", Object: "dir/medium.bin"}); err != nil {
		t.Fatal(err)
	}
	if got, err := getAll(t, c, "photos", "copy.bin", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, med) {
		t.Fatalf("copy: %v", err)
	}
	if err := c.RemoveObject(ctx, "photos", "copy.bin", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StatObject(ctx, "photos", "copy.bin", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("after delete: %v", err)
	}
	// Multipart through minio-go's own splitting: 3 parts of 5 MiB.
	big := randBody(4, 12<<20)
	info, err := c.PutObject(ctx, "photos", "big.bin", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.ETag, "-3") {
		t.Fatalf("multipart etag %q", info.ETag)
	}
	if got, err := getAll(t, c, "photos", "big.bin", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("multipart read: %v", err)
	}
	// Presigned GET with a plain HTTP client.
	u, err := c.PresignedGetObject(ctx, "photos", "small.txt", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello, objstore" {
		t.Fatalf("presigned: %d %q", resp.StatusCode, b)
	}
	// A bad signature is refused.
	bad, _ := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4("nobody-here", "wrong-secret-key", "")})
	if _, err := bad.ListBuckets(ctx); minio.ToErrorResponse(err).Code != "InvalidAccessKeyId" {
		t.Fatalf("unknown key: %v", err)
	}
	user, _ := srv.Credentials()
	bad, _ = minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, "wrong-secret-key", "")})
	if _, err := bad.ListBuckets(ctx); minio.ToErrorResponse(err).Code != "SignatureDoesNotMatch" {
		t.Fatalf("bad secret: %v", err)
	}
	// Health.
	for _, p := range []string{"/health/live", "/health/ready"} {
		resp, err := http.Get("http://" + srv.Addr() + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
}

// TestDegradedDrives removes drive folders under a running server: with
// two gone every object reads back and writes succeed; with three gone
// writes fail with a clear error and nothing partial appears.
func TestDegradedDrives(t *testing.T) {
	srv, c := startServer(t)
	ctx := context.Background()
	c.MakeBucket(ctx, "bkt", minio.MakeBucketOptions{})
	bodies := map[string][]byte{"s": []byte("small"), "m": randBody(5, 200<<10), "l": randBody(6, 6<<20)}
	for k, b := range bodies {
		if _, err := c.PutObject(ctx, "bkt", k, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dir := srv.cfg.DataDir
	os.RemoveAll(filepath.Join(dir, "drive2"))
	os.RemoveAll(filepath.Join(dir, "drive5"))
	for k, b := range bodies {
		if got, err := getAll(t, c, "bkt", k, minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("read %s with two drives gone: %v", k, err)
		}
		if _, err := c.PutObject(ctx, "bkt", k+"-new", bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("write %s with two drives gone: %v", k, err)
		}
	}
	os.RemoveAll(filepath.Join(dir, "drive3"))
	for k, b := range bodies {
		_, err := c.PutObject(ctx, "bkt", k+"-3", bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{DisableMultipart: true})
		resp := minio.ToErrorResponse(err)
		if err == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("write %s with three drives gone: %v (status %d)", k, err, resp.StatusCode)
		}
		if _, err := c.StatObject(ctx, "bkt", k+"-3", minio.StatObjectOptions{}); err == nil {
			t.Fatalf("failed write %s is visible", k)
		}
	}
	resp, err := http.Get("http://" + srv.Addr() + "/health/ready")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("ready with three drives gone: %v %v", resp, err)
	}
	resp.Body.Close()
	var nosuch minio.ErrorResponse
	_, err = c.StatObject(ctx, "bkt", "missing", minio.StatObjectOptions{})
	if !errors.As(err, &nosuch) {
		t.Fatalf("stat missing: %v", err)
	}
}

func TestZoneNamesDistinct(t *testing.T) {
	seen := map[string]int{}
	for i := range 256 {
		name := zoneName(i)
		if j, dup := seen[name]; dup {
			t.Fatalf("zones %d and %d are both %q", j, i, name)
		}
		seen[name] = i
	}
	if zoneName(0) != "zone-a" || zoneName(25) != "zone-z" || zoneName(26) != "zone-27" {
		t.Fatalf("names %q %q %q", zoneName(0), zoneName(25), zoneName(26))
	}
}
