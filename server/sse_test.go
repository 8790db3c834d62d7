package server

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	miniosse "github.com/minio/minio-go/v7/pkg/sse"

	"github.com/objstore/objstore/kms"
)

// startSSEServer runs a default server that accepts SSE-C over plain
// HTTP (the tests have no TLS) in dir.
func startSSEServer(t testing.TB, dir string, insecureSSEC bool) (*Server, *minio.Client) {
	t.Helper()
	return startServerWith(t, Config{DataDir: dir, InsecureSSEC: insecureSSEC})
}

func errCode(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return fmt.Sprint(err)
}

// TestSSERoundTrips writes and reads objects in every mode through
// minio-go: single PUTs (inline and file-backed), multipart, full and
// ranged reads (across package and part boundaries), partNumber reads,
// HEAD and listing sizes, ETags, and copies between every pair of modes.
func TestSSERoundTrips(t *testing.T) {
	ctx := context.Background()
	srv, c := startSSEServer(t, t.TempDir(), true)
	if err := srv.Keys().CreateKey(ctx, "tenant-a"); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "enc", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{7}, 32))
	kmsCtx, _ := encrypt.NewSSEKMS("tenant-a", map[string]string{"tenant": "a"})
	modes := []struct {
		name string
		sse  encrypt.ServerSide
		get  encrypt.ServerSide // what reads must send
		hdr  string             // x-amz-server-side-encryption in responses
	}{
		{"SSE-S3", encrypt.NewSSE(), nil, "AES256"},
		{"SSE-KMS", kmsCtx, nil, "aws:kms"},
		{"SSE-C", ssec, ssec, ""},
		{"default", nil, nil, "AES256"},
	}
	sizes := []struct {
		name string
		n    int
		part uint64
	}{
		{"inline", 1000, 0},
		{"empty", 0, 0},
		{"file", 3<<20 + 12345, 0},
		{"multipart", 12<<20 + 777, 5 << 20},
	}
	for mi, m := range modes {
		for si, sz := range sizes {
			t.Run(m.name+"/"+sz.name, func(t *testing.T) {
				body := randBody(uint64(mi*10+si), sz.n)
				key := "obj-" + m.name + "-" + sz.name
				info, err := c.PutObject(ctx, "enc", key, bytes.NewReader(body), int64(len(body)),
					minio.PutObjectOptions{ServerSideEncryption: m.sse, PartSize: max(sz.part, 5<<20), DisableMultipart: sz.part == 0})
				if err != nil {
					t.Fatal(err)
				}
				sum := md5.Sum(body)
				if m.hdr == "AES256" && sz.part == 0 && info.ETag != hex.EncodeToString(sum[:]) {
					t.Errorf("SSE-S3 ETag %s, want the MD5 %x", info.ETag, sum)
				}
				if (m.name == "SSE-KMS" || m.name == "SSE-C") && info.ETag == hex.EncodeToString(sum[:]) {
					t.Errorf("%s ETag is the plaintext MD5", m.name)
				}
				if sz.part > 0 && !strings.HasSuffix(info.ETag, "-3") {
					t.Errorf("multipart ETag %s", info.ETag)
				}
				st, err := c.StatObject(ctx, "enc", key, minio.StatObjectOptions{ServerSideEncryption: m.get})
				if err != nil {
					t.Fatal(err)
				}
				if st.Size != int64(len(body)) {
					t.Errorf("HEAD size %d, want %d", st.Size, len(body))
				}
				if got := st.Metadata.Get("x-amz-server-side-encryption"); got != m.hdr {
					t.Errorf("HEAD x-amz-server-side-encryption %q, want %q", got, m.hdr)
				}
				if m.get != nil && st.Metadata.Get("x-amz-server-side-encryption-customer-algorithm") != "AES256" {
					t.Errorf("HEAD lacks the SSE-C algorithm header")
				}
				got, err := getAll(t, c, "enc", key, minio.GetObjectOptions{ServerSideEncryption: m.get})
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("full read: %d bytes, %v", len(got), err)
				}
				ranges := [][2]int64{{0, 0}, {65530, 65545}, {1, 200000}}
				if sz.part > 0 {
					ranges = append(ranges, [2]int64{5<<20 - 100, 5<<20 + 100}, [2]int64{5<<20 - 1, 10<<20 + 70000})
				}
				for _, r := range ranges {
					if r[1] >= int64(len(body)) {
						continue
					}
					opts := minio.GetObjectOptions{ServerSideEncryption: m.get}
					opts.SetRange(r[0], r[1])
					got, err := getAll(t, c, "enc", key, opts)
					if err != nil || !bytes.Equal(got, body[r[0]:r[1]+1]) {
						t.Fatalf("range %v: %d bytes, %v", r, len(got), err)
					}
				}
				if sz.part > 0 {
					opts := minio.GetObjectOptions{ServerSideEncryption: m.get, PartNumber: 2}
					got, err := getAll(t, c, "enc", key, opts)
					if err != nil || !bytes.Equal(got, body[5<<20:10<<20]) {
						t.Fatalf("partNumber 2: %d bytes, %v", len(got), err)
					}
				}
			})
		}
	}
	t.Run("listing sizes", func(t *testing.T) {
		n := 0
		for o := range c.ListObjects(ctx, "enc", minio.ListObjectsOptions{Prefix: "obj-"}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			for _, sz := range sizes {
				if strings.HasSuffix(o.Key, "-"+sz.name) && o.Size != int64(sz.n) {
					t.Errorf("%s listed with %d bytes, want %d", o.Key, o.Size, sz.n)
				}
			}
			n++
		}
		if n != len(modes)*len(sizes) {
			t.Errorf("listed %d objects", n)
		}
	})
	t.Run("copies between modes", func(t *testing.T) {
		for si, src := range modes {
			for di, dst := range modes {
				body := randBody(uint64(100+si*10+di), 200000)
				sk := fmt.Sprintf("copy-src-%d-%d", si, di)
				dk := fmt.Sprintf("copy-dst-%d-%d", si, di)
				if _, err := c.PutObject(ctx, "enc", sk, bytes.NewReader(body), int64(len(body)),
					minio.PutObjectOptions{ServerSideEncryption: src.sse, UserMetadata: map[string]string{"Color": "blue"}}); err != nil {
					t.Fatal(err)
				}
				_, err := c.CopyObject(ctx,
					minio.CopyDestOptions{Bucket: "enc", Object: dk, Encryption: dst.sse},
					minio.CopySrcOptions{Bucket: "enc", Object: sk, Encryption: src.get})
				if err != nil {
					t.Fatalf("%s -> %s: %v", src.name, dst.name, err)
				}
				got, err := getAll(t, c, "enc", dk, minio.GetObjectOptions{ServerSideEncryption: dst.get})
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("%s -> %s: read %d bytes, %v", src.name, dst.name, len(got), err)
				}
				st, err := c.StatObject(ctx, "enc", dk, minio.StatObjectOptions{ServerSideEncryption: dst.get})
				if err != nil || st.UserMetadata["Color"] != "blue" {
					t.Fatalf("%s -> %s: metadata %v, %v", src.name, dst.name, st.UserMetadata, err)
				}
			}
		}
	})
	t.Run("UploadPartCopy across modes", func(t *testing.T) {
		body := randBody(500, 6<<20)
		if _, err := c.PutObject(ctx, "enc", "upc-src", bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{ServerSideEncryption: ssec, DisableMultipart: true}); err != nil {
			t.Fatal(err)
		}
		srcs := []minio.CopySrcOptions{
			{Bucket: "enc", Object: "upc-src", Encryption: ssec, MatchRange: true, Start: 0, End: 5<<20 - 1},
			{Bucket: "enc", Object: "upc-src", Encryption: ssec, MatchRange: true, Start: 5 << 20, End: 6<<20 - 1},
		}
		if _, err := c.ComposeObject(ctx, minio.CopyDestOptions{Bucket: "enc", Object: "upc-dst", Encryption: kmsCtx}, srcs...); err != nil {
			t.Fatal(err)
		}
		got, err := getAll(t, c, "enc", "upc-dst", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("composed: %d bytes, %v", len(got), err)
		}
	})
	t.Run("SSE-C errors", func(t *testing.T) {
		wrong, _ := encrypt.NewSSEC(bytes.Repeat([]byte{8}, 32))
		_, err := getAll(t, c, "enc", "obj-SSE-C-file", minio.GetObjectOptions{ServerSideEncryption: wrong})
		if code := errCode(err); code != "AccessDenied" {
			t.Errorf("wrong key: %s, want AccessDenied", code)
		}
		_, err = c.StatObject(ctx, "enc", "obj-SSE-C-file", minio.StatObjectOptions{})
		var er minio.ErrorResponse
		if !errors.As(err, &er) || er.StatusCode != 400 {
			t.Errorf("missing key: %v, want 400", err)
		}
		_, err = getAll(t, c, "enc", "obj-SSE-S3-file", minio.GetObjectOptions{ServerSideEncryption: ssec})
		if code := errCode(err); code != "InvalidRequest" {
			t.Errorf("key for an SSE-S3 object: %s, want InvalidRequest", code)
		}
		missing, _ := encrypt.NewSSEKMS("no-such-key", nil)
		_, err = c.PutObject(ctx, "enc", "nokey", strings.NewReader("x"), 1, minio.PutObjectOptions{ServerSideEncryption: missing})
		if code := errCode(err); code != "KMS.NotFoundException" {
			t.Errorf("unknown KMS key: %s, want KMS.NotFoundException", code)
		}
	})
	t.Run("bucket default encryption", func(t *testing.T) {
		if err := c.MakeBucket(ctx, "defenc", minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		cfg, err := c.GetBucketEncryption(ctx, "defenc")
		if err != nil || len(cfg.Rules) != 1 || cfg.Rules[0].Apply.SSEAlgorithm != "AES256" {
			t.Fatalf("default config: %+v, %v", cfg, err)
		}
		if err := c.SetBucketEncryption(ctx, "defenc", newKMSConfig("tenant-a")); err != nil {
			t.Fatal(err)
		}
		cfg, err = c.GetBucketEncryption(ctx, "defenc")
		if err != nil || cfg.Rules[0].Apply.SSEAlgorithm != "aws:kms" || cfg.Rules[0].Apply.KmsMasterKeyID != "tenant-a" {
			t.Fatalf("kms config: %+v, %v", cfg, err)
		}
		// minio-go does not parse BucketKeyEnabled: read the document.
		// SSE-KMS objects are always sealed under the bucket key and say
		// so in their headers; the configuration must agree.
		resp, doc := signedDo(t, srv, http.MethodGet, "/defenc?encryption", nil, nil)
		if resp.StatusCode != 200 || !bytes.Contains(doc, []byte("<BucketKeyEnabled>true</BucketKeyEnabled>")) {
			t.Fatalf("GetBucketEncryption: %d %s", resp.StatusCode, doc)
		}
		if _, err := c.PutObject(ctx, "defenc", "o", strings.NewReader("hello"), 5, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		st, err := c.StatObject(ctx, "defenc", "o", minio.StatObjectOptions{})
		if err != nil || st.Metadata.Get("x-amz-server-side-encryption") != "aws:kms" ||
			!isKeyARN(st.Metadata.Get("x-amz-server-side-encryption-aws-kms-key-id"), "tenant-a") {
			t.Fatalf("object under the default: %v %v", st.Metadata, err)
		}
		if err := c.SetBucketEncryption(ctx, "defenc", newKMSConfig("no-such-key")); errCode(err) != "KMS.NotFoundException" {
			t.Errorf("config with an unknown key: %v", err)
		}
		if err := c.RemoveBucketEncryption(ctx, "defenc"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObject(ctx, "defenc", "p", strings.NewReader("hello"), 5, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		st, err = c.StatObject(ctx, "defenc", "p", minio.StatObjectOptions{})
		if err != nil || st.Metadata.Get("x-amz-server-side-encryption") != "AES256" {
			t.Fatalf("after delete: %v %v", st.Metadata, err)
		}
		// The object written under the KMS default stays readable.
		if got, err := getAll(t, c, "defenc", "o", minio.GetObjectOptions{}); err != nil || string(got) != "hello" {
			t.Fatalf("read %q, %v", got, err)
		}
	})
}

// TestSSECNeedsTLS: without the insecure flag, SSE-C over plain HTTP is
// refused as AWS refuses it.
func TestSSECNeedsTLS(t *testing.T) {
	ctx := context.Background()
	_, c := startSSEServer(t, t.TempDir(), false)
	if err := c.MakeBucket(ctx, "bkt", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{7}, 32))
	_, err := c.PutObject(ctx, "bkt", "o", strings.NewReader("x"), 1, minio.PutObjectOptions{ServerSideEncryption: ssec})
	if code := errCode(err); code != "InvalidRequest" {
		t.Fatalf("SSE-C over HTTP: %v, want InvalidRequest", err)
	}
}

// TestShredAndRotate: rotating the default master key keeps every object
// readable (also after a restart, with a cold cache) and rewraps the
// bucket keys; shredding a bucket makes every object and upload in it
// unreadable with a clear error, reports the scope, and leaves other
// buckets alone.
func TestShredAndRotate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, c := startSSEServer(t, dir, true)
	keys := srv.Keys()
	if err := keys.CreateKey(ctx, "tenant-b"); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"doomed", "kept"} {
		if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{9}, 32))
	kmsB, _ := encrypt.NewSSEKMS("tenant-b", nil)
	body := randBody(7, 300000)
	objs := map[string]encrypt.ServerSide{"s3": nil, "kms": kmsB, "c": ssec}
	for _, b := range []string{"doomed", "kept"} {
		for k, s := range objs {
			if _, err := c.PutObject(ctx, b, k, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ServerSideEncryption: s}); err != nil {
				t.Fatal(err)
			}
		}
	}
	core := minio.Core{Client: c}
	upload, err := core.NewMultipartUpload(ctx, "doomed", "pending", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	readAll := func(c *minio.Client, bucket string) {
		t.Helper()
		for k, s := range objs {
			var get encrypt.ServerSide
			if s != nil && s.Type() == encrypt.SSEC {
				get = s
			}
			got, err := getAll(t, c, bucket, k, minio.GetObjectOptions{ServerSideEncryption: get})
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s/%s: %d bytes, %v", bucket, k, len(got), err)
			}
		}
	}

	outer := t
	t.Run("rotate", func(t *testing.T) {
		before, _ := srv.Store().BucketInfo(ctx, "doomed")
		rep, err := keys.RotateMasterKey(ctx, kms.DefaultKeyID)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Version != 2 || len(rep.Rewrapped) != 2 {
			t.Fatalf("report %+v", rep)
		}
		after, _ := srv.Store().BucketInfo(ctx, "doomed")
		if before.Metadata["sse-key/default"] == after.Metadata["sse-key/default"] {
			t.Fatal("bucket key not rewrapped")
		}
		if before.Metadata["sse-key/default"][:16] != after.Metadata["sse-key/default"][:16] {
			t.Fatal("rewrap changed the bucket key id")
		}
		readAll(c, "doomed")
		// Restart: the cache is cold, keys unseal under version 2.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := srv.Close(cctx); err != nil {
			t.Fatal(err)
		}
		srv, c = startSSEServer(outer, dir, true) // lives until the shred test ran
		keys = srv.Keys()
		core = minio.Core{Client: c}
		readAll(c, "doomed")
		readAll(c, "kept")
	})

	t.Run("shred", func(t *testing.T) {
		rep, err := keys.ShredBucket(ctx, "doomed")
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Keys) != 2 || rep.Objects != 3 || rep.Uploads != 1 {
			t.Fatalf("report %+v", rep)
		}
		for k, s := range objs {
			var get encrypt.ServerSide
			if s != nil && s.Type() == encrypt.SSEC {
				get = s
			}
			_, err := getAll(t, c, "doomed", k, minio.GetObjectOptions{ServerSideEncryption: get})
			var er minio.ErrorResponse
			if !errors.As(err, &er) || er.Code != "KMS.KMSInvalidStateException" || er.StatusCode != 400 {
				t.Errorf("%s after shred: %v", k, err)
			}
		}
		_, err = core.PutObjectPart(ctx, "doomed", "pending", upload, 1, strings.NewReader("x"), 1, minio.PutObjectPartOptions{})
		if code := errCode(err); code != "KMS.KMSInvalidStateException" {
			t.Errorf("upload part after shred: %v", err)
		}
		readAll(c, "kept")
		// The bucket takes new objects under a fresh key.
		if _, err := c.PutObject(ctx, "doomed", "new", strings.NewReader("fresh"), 5, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if got, err := getAll(t, c, "doomed", "new", minio.GetObjectOptions{}); err != nil || string(got) != "fresh" {
			t.Fatalf("new object: %q %v", got, err)
		}
	})
}

// TestPlaintextScan writes objects and metadata holding marker strings
// (a file-backed object, a multipart object, an inline one, user metadata,
// content type and the metadata of an unfinished upload), closes the
// server and reads every byte under the data folder, pebble WAL and SSTs
// included: no marker may appear. An object name (not secret) is the
// positive control that the scan sees metadata at all.
func TestPlaintextScan(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, c := startSSEServer(t, dir, true)
	if err := c.MakeBucket(ctx, "scan", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	markers := map[string]string{
		"big":       "MARKER-BIG-7f3a9c",
		"multipart": "MARKER-MULTI-51d2e0",
		"inline":    "MARKER-INLINE-c0ffee",
		"meta":      "MARKER-USERMETA-9b1b",
		"ctype":     "MARKER-CTYPE-4e4e4e",
		"upload":    "MARKER-UPLOADMETA-aa55",
		"ssec":      "MARKER-SSEC-123abc",
	}
	fill := func(m string, n int) []byte { return bytes.Repeat([]byte(m+" "), n/(len(m)+1)+1)[:n] }
	put := func(key string, body []byte, opts minio.PutObjectOptions) {
		t.Helper()
		if _, err := c.PutObject(ctx, "scan", key, bytes.NewReader(body), int64(len(body)), opts); err != nil {
			t.Fatal(err)
		}
	}
	put("big", fill(markers["big"], 3<<20), minio.PutObjectOptions{DisableMultipart: true})
	put("multi", fill(markers["multipart"], 11<<20), minio.PutObjectOptions{PartSize: 5 << 20})
	put("small", fill(markers["inline"], 500), minio.PutObjectOptions{
		UserMetadata: map[string]string{"Note": markers["meta"]}, ContentType: "text/" + markers["ctype"]})
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{3}, 32))
	put("ssec", fill(markers["ssec"], 100000), minio.PutObjectOptions{ServerSideEncryption: ssec})
	core := minio.Core{Client: c}
	if _, err := core.NewMultipartUpload(ctx, "scan", "pending-NAMECONTROL", minio.PutObjectOptions{
		UserMetadata: map[string]string{"Owner": markers["upload"]}}); err != nil {
		t.Fatal(err)
	}
	// Sanity: the markers come back to a reader with the keys.
	st, err := c.StatObject(ctx, "scan", "small", minio.StatObjectOptions{})
	if err != nil || st.UserMetadata["Note"] != markers["meta"] || st.ContentType != "text/"+markers["ctype"] {
		t.Fatalf("stat: %v %v", st.UserMetadata, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.Close(cctx); err != nil {
		t.Fatal(err)
	}

	var files, pebbleFiles int
	control := false
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if strings.HasSuffix(path, ".sst") || strings.HasSuffix(path, ".log") || strings.Contains(filepath.Base(path), "MANIFEST") {
			pebbleFiles++
		}
		for name, m := range markers {
			if bytes.Contains(b, []byte(m)) {
				t.Errorf("marker %s (%s) found in plaintext in %s", name, m, path)
			}
		}
		if bytes.Contains(b, []byte("pending-NAMECONTROL")) {
			control = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scanned %d files (%d pebble files)", files, pebbleFiles)
	if pebbleFiles == 0 || !control {
		t.Fatalf("the scan did not see the metadata store (pebble files %d, name control found %v)", pebbleFiles, control)
	}
}

// TestSSETamper corrupts ciphertext in shard files: one shard is caught
// by bitrot and reconstructed from parity; more shards than parity give
// an error, never wrong bytes.
func TestSSETamper(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, c := startSSEServer(t, dir, true)
	if err := c.MakeBucket(ctx, "tamper", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := randBody(11, 2<<20)
	// Two objects: reading one with a corrupt shard queues its repair, so
	// the beyond-parity case gets an object nobody read yet.
	shardsOf := map[string][]string{}
	for _, key := range []string{"one", "three"} {
		before := map[string]bool{}
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == "part.1" {
				before[path] = true
			}
			return nil
		})
		if _, err := c.PutObject(ctx, "tamper", key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			t.Fatal(err)
		}
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == "part.1" && !before[path] {
				shardsOf[key] = append(shardsOf[key], path)
			}
			return nil
		})
		if len(shardsOf[key]) != 6 {
			t.Fatalf("%s: found %d shard files, want 6", key, len(shardsOf[key]))
		}
	}
	flip := func(path string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		buf := make([]byte, 1)
		off := fi.Size() / 2
		f.ReadAt(buf, off)
		buf[0] ^= 0x40
		if _, err := f.WriteAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	flip(shardsOf["one"][0])
	got, err := getAll(t, c, "tamper", "one", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("one corrupt shard: %d bytes, %v", len(got), err)
	}
	for _, p := range shardsOf["three"][:3] {
		flip(p)
	}
	got, err = getAll(t, c, "tamper", "three", minio.GetObjectOptions{})
	if err == nil {
		t.Fatalf("three corrupt shards of 4+2 read without error (%d bytes, equal %v)", len(got), bytes.Equal(got, body))
	}
	if len(got) > 0 && !bytes.Equal(got, body[:len(got)]) {
		t.Fatal("a corrupt read returned wrong bytes")
	}
}

func newKMSConfig(key string) *miniosse.Configuration { return miniosse.NewConfigurationSSEKMS(key) }

// TestAWSCLISSEC uploads and downloads with the aws cli's SSE-C options:
// s3 cp (multipart for 20 MiB) up and down, s3api get-object with a
// range, and the error for a missing key.
func TestAWSCLISSEC(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("SKIPPED LOUDLY: the aws cli is not installed; .ci/run installs it (apt-get install awscli)")
	}
	srv, _ := startSSEServer(t, t.TempDir(), true)
	dir := t.TempDir()
	key := bytes.Repeat([]byte{0x5a}, 32)
	keyFile := filepath.Join(dir, "key.bin")
	os.WriteFile(keyFile, key, 0o600)
	src := filepath.Join(dir, "up.bin")
	body := randBody(77, 20<<20+3)
	os.WriteFile(src, body, 0o600)
	awsCLI(t, srv, "s3", "mb", "s3://clisse")
	awsCLI(t, srv, "s3", "cp", src, "s3://clisse/x.bin", "--sse-c", "AES256", "--sse-c-key", "fileb://"+keyFile)
	dst := filepath.Join(dir, "down.bin")
	awsCLI(t, srv, "s3", "cp", "s3://clisse/x.bin", dst, "--sse-c", "AES256", "--sse-c-key", "fileb://"+keyFile)
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, body) {
		t.Fatalf("s3 cp down: %d bytes", len(got))
	}
	rng := filepath.Join(dir, "range.bin")
	out := awsCLI(t, srv, "s3api", "get-object", "--bucket", "clisse", "--key", "x.bin", "--range", "bytes=8388600-8388700",
		"--sse-customer-algorithm", "AES256", "--sse-customer-key", "fileb://"+keyFile, rng)
	if got, _ := os.ReadFile(rng); !bytes.Equal(got, body[8388600:8388701]) || !strings.Contains(out, "SSECustomerAlgorithm") {
		t.Fatalf("get-object range: %d bytes\n%s", len(got), out)
	}
	awsCLI(t, srv, "s3", "cp", src, "s3://clisse/plain.bin")
	head := awsCLI(t, srv, "s3api", "head-object", "--bucket", "clisse", "--key", "plain.bin")
	if !strings.Contains(head, `"ServerSideEncryption": "AES256"`) {
		t.Fatalf("default encryption not reported:\n%s", head)
	}
}

// keyARN is the form AWS names a KMS key in in responses, which objstore
// follows: arn:aws:kms:<region>:<12-digit account id>:key/<id>.
var keyARN = regexp.MustCompile(`^arn:aws:kms:us-east-1:[0-9]{12}:key/(.+)$`)

// isKeyARN reports whether v is the ARN of the key named name.
func isKeyARN(v, name string) bool {
	m := keyARN.FindStringSubmatch(v)
	return m != nil && m[1] == name
}
