package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/s3api/sigv2"
)

// newV2Client is a minio-go client that signs with Signature Version 2.
func (e *testEnv) newV2Client(ak, sk string) *minio.Client {
	e.t.Helper()
	c, err := minio.New(e.srv.Listener.Addr().String(), &minio.Options{
		Creds:      credentials.NewStaticV2(ak, sk, ""),
		Region:     testRegion,
		MaxRetries: 1,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// doV2 sends a hand-made request signed with SigV2 header auth.
func (e *testEnv) doV2(method, path string, body []byte, header map[string]string, secret string, at time.Time) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if err := sigv2.SignRequest(req, testAccessKey, secret, "", at); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// TestSigV2MinioClient drives the handler with minio-go signing SigV2:
// the calls the minio-go functional suite's V2 tests make.
func TestSigV2MinioClient(t *testing.T) {
	e := newTestEnv(t)
	c := e.newV2Client(testAccessKey, testSecretKey)
	ctx := context.Background()
	const bucket = "sigv2-bucket"

	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: testRegion}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	if ok, err := c.BucketExists(ctx, bucket); err != nil || !ok {
		t.Fatalf("BucketExists = %t, %v", ok, err)
	}

	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	meta := map[string]string{"Color": "blue", "Unicode": "Grüße, 日本語 ✓"}
	t.Run("put with metadata", func(t *testing.T) {
		_, err := c.PutObject(ctx, bucket, "dir/obj +€.bin", bytes.NewReader(data), int64(len(data)),
			minio.PutObjectOptions{ContentType: "application/x-test", UserMetadata: meta, SendContentMd5: true})
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		st, err := c.StatObject(ctx, bucket, "dir/obj +€.bin", minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("StatObject: %v", err)
		}
		if st.Size != int64(len(data)) || st.ContentType != "application/x-test" {
			t.Errorf("stat = size %d type %q", st.Size, st.ContentType)
		}
		for k, v := range meta {
			if got := st.UserMetadata[k]; got != v {
				t.Errorf("metadata %s = %q, want %q", k, got, v)
			}
		}
	})
	t.Run("zero bytes", func(t *testing.T) {
		if _, err := c.PutObject(ctx, bucket, "empty", bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
	})
	t.Run("get and range get", func(t *testing.T) {
		obj, err := c.GetObject(ctx, bucket, "dir/obj +€.bin", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetObject: %d bytes, %v", len(got), err)
		}
		var opts minio.GetObjectOptions
		if err := opts.SetRange(1000, 1999); err != nil {
			t.Fatal(err)
		}
		obj, err = c.GetObject(ctx, bucket, "dir/obj +€.bin", opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, data[1000:2000]) {
			t.Fatalf("range GetObject: %d bytes, %v", len(got), err)
		}
	})
	t.Run("presigned get", func(t *testing.T) {
		params := url.Values{"response-content-type": {"text/plain"}}
		u, err := c.PresignedGetObject(ctx, bucket, "dir/obj +€.bin", time.Hour, params)
		if err != nil {
			t.Fatal(err)
		}
		if u.Query().Get("AWSAccessKeyId") == "" {
			t.Fatalf("not a SigV2 URL: %s", u.Query().Encode())
		}
		resp, err := http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, data) || resp.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("presigned GET: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
		}
		// Past Expires by the server's clock.
		e.skew.Store(int64(2 * time.Hour))
		defer e.skew.Store(0)
		resp, err = http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, 403, "AccessDenied")
		if !strings.Contains(string(body), "Request has expired") {
			t.Errorf("expired presign body: %s", body)
		}
	})
	t.Run("presigned put", func(t *testing.T) {
		u, err := c.PresignedPutObject(ctx, bucket, "presigned-put", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("PUT", u.String(), bytes.NewReader([]byte("via presigned PUT")))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("presigned PUT: %d", resp.StatusCode)
		}
	})
	t.Run("copy", func(t *testing.T) {
		_, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: bucket, Object: "copy"},
			minio.CopySrcOptions{Bucket: bucket, Object: "dir/obj +€.bin"})
		if err != nil {
			t.Fatalf("CopyObject: %v", err)
		}
		st, err := c.StatObject(ctx, bucket, "copy", minio.StatObjectOptions{})
		if err != nil || st.Size != int64(len(data)) || st.UserMetadata["Unicode"] != meta["Unicode"] {
			t.Fatalf("copy stat = %+v, %v", st.UserMetadata, err)
		}
	})
	t.Run("multipart", func(t *testing.T) {
		big := bytes.Repeat([]byte("m"), 11<<20)
		for name, size := range map[string]int64{"known size": int64(len(big)), "unknown size": -1} {
			_, err := c.PutObject(ctx, bucket, "multi/"+name, bytes.NewReader(big), size, minio.PutObjectOptions{PartSize: 5 << 20})
			if err != nil {
				t.Fatalf("multipart PutObject (%s): %v", name, err)
			}
			st, err := c.StatObject(ctx, bucket, "multi/"+name, minio.StatObjectOptions{})
			if err != nil || st.Size != int64(len(big)) || !strings.HasSuffix(st.ETag, "-3") {
				t.Fatalf("multipart stat (%s): size %d etag %q, %v", name, st.Size, st.ETag, err)
			}
		}
	})
	t.Run("list", func(t *testing.T) {
		var keys []string
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			keys = append(keys, o.Key)
		}
		want := "copy,dir/obj +€.bin,empty,multi/known size,multi/unknown size,presigned-put"
		if got := strings.Join(keys, ","); got != want {
			t.Fatalf("keys = %s, want %s", got, want)
		}
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, UseV1: true, Prefix: "multi/"}) {
			if o.Err != nil || !strings.HasPrefix(o.Key, "multi/") {
				t.Fatalf("V1 listing: %q %v", o.Key, o.Err)
			}
		}
	})
	t.Run("remove", func(t *testing.T) {
		if err := c.RemoveObject(ctx, bucket, "copy", minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("RemoveObject: %v", err)
		}
		objs := make(chan minio.ObjectInfo, 8)
		for _, k := range []string{"dir/obj +€.bin", "empty", "multi/known size", "multi/unknown size", "presigned-put"} {
			objs <- minio.ObjectInfo{Key: k}
		}
		close(objs)
		for re := range c.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{}) {
			t.Fatalf("RemoveObjects: %s: %v", re.ObjectName, re.Err)
		}
		if err := c.RemoveBucket(ctx, bucket); err != nil {
			t.Fatalf("RemoveBucket: %v", err)
		}
	})
}

// TestSigV2Refusals: the SigV2 path answers with the SigV4 path's codes.
func TestSigV2Refusals(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("refuse")
	e.mustPut("refuse", "obj", []byte("data"), minio.PutObjectOptions{})

	t.Run("wrong secret", func(t *testing.T) {
		_, err := e.newV2Client(testAccessKey, "not-the-secret").ListBuckets(ctx)
		wantCode(t, err, "SignatureDoesNotMatch")
	})
	t.Run("unknown key", func(t *testing.T) {
		_, err := e.newV2Client("UNKNOWNKEY", testSecretKey).ListBuckets(ctx)
		wantCode(t, err, "InvalidAccessKeyId")
	})
	t.Run("skewed clock", func(t *testing.T) {
		resp, body := e.doV2("GET", "/refuse/obj", nil, nil, testSecretKey, time.Now().Add(-20*time.Minute))
		wantError(t, resp, body, 403, "RequestTimeTooSkewed")
	})
	t.Run("malformed header", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/refuse/obj", nil)
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		req.Header.Set("Authorization", "AWS "+testAccessKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, 400, "AuthorizationHeaderMalformed")
	})
	t.Run("malformed presign", func(t *testing.T) {
		resp, err := http.Get(e.srv.URL + "/refuse/obj?AWSAccessKeyId=" + testAccessKey + "&Signature=x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, 400, "AuthorizationQueryParametersError")
	})
	t.Run("signed aws-chunked", func(t *testing.T) {
		resp, body := e.doV2("PUT", "/refuse/chunked", []byte("x"),
			map[string]string{"X-Amz-Content-Sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, testSecretKey, time.Now())
		wantError(t, resp, body, 400, "InvalidRequest")
	})
	t.Run("x-amz-content-sha256 is checked", func(t *testing.T) {
		resp, body := e.doV2("PUT", "/refuse/hashed", []byte("body"),
			map[string]string{"X-Amz-Content-Sha256": strings.Repeat("0", 64)}, testSecretKey, time.Now())
		wantError(t, resp, body, 400, "XAmzContentSHA256Mismatch")
		if _, ok := e.store.buckets["refuse"].objects["hashed"]; ok {
			t.Fatal("object stored despite a wrong x-amz-content-sha256")
		}
	})
	t.Run("Content-MD5 is checked", func(t *testing.T) {
		sum := md5.Sum([]byte("other"))
		resp, body := e.doV2("PUT", "/refuse/md5", []byte("body"),
			map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}, testSecretKey, time.Now())
		wantError(t, resp, body, 400, "BadDigest")
	})
}

// TestSigV2Identity: a SigV2 request is the same identity, decided by the
// same policies, as a SigV4 one with that key.
func TestSigV2Identity(t *testing.T) {
	store := newFakeStore()
	var (
		mu     sync.Mutex
		events []Event
	)
	h, err := New(Config{
		Store: store,
		Credentials: func(ak string) (string, bool) {
			if ak == testAccessKey {
				return testSecretKey, true
			}
			return "", false
		},
		Identities: staticIdentities{"USERKEY": {"user-secret", "alice"}},
		OnRequest: func(ev Event) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	newClient := func(creds *credentials.Credentials) *minio.Client {
		c, err := minio.New(srv.Listener.Addr().String(), &minio.Options{Creds: creds, Region: testRegion, MaxRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := newClient(credentials.NewStaticV2(testAccessKey, testSecretKey, "")).MakeBucket(ctx, "ident", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("root MakeBucket over SigV2: %v", err)
	}
	// alice has no policy: both signature versions are denied alike.
	for name, creds := range map[string]*credentials.Credentials{
		"v2": credentials.NewStaticV2("USERKEY", "user-secret", ""),
		"v4": credentials.NewStaticV4("USERKEY", "user-secret", ""),
	} {
		_, err := newClient(creds).StatObject(ctx, "ident", "k", minio.StatObjectOptions{})
		if got := minio.ToErrorResponse(err).StatusCode; got != 403 {
			t.Errorf("%s: alice StatObject: %v (status %d), want 403", name, err, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 3 {
		t.Fatalf("%d events, want 3", len(events))
	}
	if ev := events[0]; ev.Identity != "root" || ev.AccessKey != testAccessKey || ev.ErrorCode != "" {
		t.Errorf("root event = %+v", ev)
	}
	for _, ev := range events[1:] {
		if ev.Identity != "user:alice" || !ev.Denied || ev.ErrorCode != "AccessDenied" {
			t.Errorf("alice event = %+v", ev)
		}
	}
}

// staticIdentities maps access keys to {secret, user}.
type staticIdentities map[string][2]string

func (s staticIdentities) Secret(accessKey string) (string, string, bool) {
	v, ok := s[accessKey]
	return v[0], v[1], ok
}

// UserCreated gives every user of the table one creation time.
func (s staticIdentities) UserCreated(user string) time.Time {
	for _, v := range s {
		if v[1] == user {
			return time.Unix(1, 0)
		}
	}
	return time.Time{}
}

// TestSigV2VirtualHost: with virtual-host style the bucket comes from the
// Host header and is still part of what SigV2 signs.
func TestSigV2VirtualHost(t *testing.T) {
	_, srv, c := virtualHostServer(t, credentials.NewStaticV2(testAccessKey, testSecretKey, ""))
	putGetVirtualHost(t, c, []byte("virtual host, signature version 2"))
	// The same signature presented for another bucket's host fails.
	req, _ := http.NewRequest("GET", srv.URL+"/dir/key", nil)
	req.Host = "vbucket.s3.test"
	if err := sigv2.SignRequest(req, testAccessKey, testSecretKey, "vbucket", time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Host = "other.s3.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantError(t, resp, body, 403, "SignatureDoesNotMatch")
}

// TestSigV2BodyDigests: SigV2 signs no body, so a signed Content-MD5 is
// what binds one. Every request with a body checks it: a signed request
// replayed with another body is refused with BadDigest, not executed.
func TestSigV2BodyDigests(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("dig")
	md5b64 := func(b []byte) string { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }
	// CompleteMultipartUpload, where a shorter part list would complete
	// a different object.
	core := minio.Core{Client: e.client}
	id, err := core.NewMultipartUpload(context.Background(), "dig", "mp", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := core.PutObjectPart(context.Background(), "dig", "mp", id, 1, bytes.NewReader(bytes.Repeat([]byte("a"), 5<<20)), 5<<20, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := core.PutObjectPart(context.Background(), "dig", "mp", id, 2, strings.NewReader("tail"), 4, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	complete := func(parts ...minio.ObjectPart) []byte {
		var b strings.Builder
		b.WriteString("<CompleteMultipartUpload>")
		for _, p := range parts {
			fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", p.PartNumber, p.ETag)
		}
		b.WriteString("</CompleteMultipartUpload>")
		return []byte(b.String())
	}
	signedFor := complete(p1, p2)
	resp, body := e.doV2(http.MethodPost, "/dig/mp?uploadId="+id, complete(p1),
		map[string]string{"Content-MD5": md5b64(signedFor)}, testSecretKey, time.Now())
	wantError(t, resp, body, http.StatusBadRequest, "BadDigest")
	resp, body = e.doV2(http.MethodPost, "/dig/mp?uploadId="+id, signedFor,
		map[string]string{"Content-MD5": md5b64(signedFor)}, testSecretKey, time.Now())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("complete with the signed body: %d %s", resp.StatusCode, body)
	}
	// CreateBucket's configuration.
	cfg := []byte("<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>")
	resp, body = e.doV2(http.MethodPut, "/dig2", cfg, map[string]string{"Content-MD5": md5b64([]byte("other"))}, testSecretKey, time.Now())
	wantError(t, resp, body, http.StatusBadRequest, "BadDigest")
}

// TestMalformedQueryRefused: url.ParseQuery drops a part with a raw ';'
// or a bad escape while the signature verifiers keep it, so the handler
// could run another operation than the one signed (an AbortMultipartUpload
// served as DeleteObject); such queries are refused whole.
func TestMalformedQueryRefused(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("malq")
	e.mustPut("malq", "k", []byte("keep"), minio.PutObjectOptions{})
	for _, query := range []string{"uploadId=abc;def", "uploadId=ab%zz"} {
		resp, body := e.doV2(http.MethodDelete, "/malq/k?"+query, nil, nil, testSecretKey, time.Now())
		wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
		resp, body = e.do(rawRequest{method: http.MethodDelete, path: "/malq/k?" + query})
		wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
	}
	if _, err := e.client.StatObject(context.Background(), "malq", "k", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("the object is gone: %v", err)
	}
}
