package s3api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/objstore/objstore/s3api/sigv4"
)

const (
	testAccessKey = "OBJSTORETESTACCESS"
	testSecretKey = "objstore-test-secret-key-0123456789"
	testRegion    = "us-east-1"
)

// syncBuffer collects log output from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testEnv is a Handler over a fakeStore, served on a random loopback
// port, with a minio-go client signed by the test credentials.
type testEnv struct {
	t      *testing.T
	store  *fakeStore
	srv    *httptest.Server
	client *minio.Client
	core   *minio.Core
	skew   atomic.Int64 // added to the server clock, in nanoseconds
	logs   *syncBuffer
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	// Debug, so that the tests reading the logs see every request line.
	return newTestEnvLogging(t, slog.LevelDebug)
}

// newTestEnvLogging is newTestEnv with the server logging at level.
func newTestEnvLogging(t *testing.T, level slog.Level) *testEnv {
	t.Helper()
	e := &testEnv{t: t, store: newFakeStore(), logs: &syncBuffer{}}
	h, err := New(Config{
		Store: e.store,
		Credentials: func(ak string) (string, bool) {
			if ak == testAccessKey {
				return testSecretKey, true
			}
			return "", false
		},
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: level})),
		Now:    func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h) // 127.0.0.1, random port
	t.Cleanup(e.srv.Close)
	e.client = e.newClient(testAccessKey, testSecretKey)
	e.core = &minio.Core{Client: e.client}
	return e
}

func (e *testEnv) newClient(ak, sk string) *minio.Client {
	e.t.Helper()
	c, err := minio.New(e.srv.Listener.Addr().String(), &minio.Options{
		Creds:           credentials.NewStaticV4(ak, sk, ""),
		Region:          testRegion,
		TrailingHeaders: true,
		MaxRetries:      1,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *testEnv) mustMakeBucket(name string) {
	e.t.Helper()
	if err := e.client.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		e.t.Fatalf("MakeBucket(%q): %v", name, err)
	}
}

func (e *testEnv) mustPut(bucket, key string, data []byte, opts minio.PutObjectOptions) minio.UploadInfo {
	e.t.Helper()
	info, err := e.client.PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		e.t.Fatalf("PutObject(%q): %v", key, err)
	}
	return info
}

// rawRequest is a hand-made request, signed with the test credentials
// unless anonymous is set.
type rawRequest struct {
	method    string
	path      string // escaped path and query, e.g. "/b/k?acl"
	body      []byte
	header    map[string]string
	anonymous bool
	secret    string // overrides the signing secret
}

func (e *testEnv) do(rr rawRequest) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(rr.method, e.srv.URL+rr.path, bytes.NewReader(rr.body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range rr.header {
		req.Header.Set(k, v)
	}
	if !rr.anonymous {
		sum := sha256.Sum256(rr.body)
		secret := testSecretKey
		if rr.secret != "" {
			secret = rr.secret
		}
		if err := sigv4.SignRequest(req, testAccessKey, secret, testRegion, time.Now(), hex.EncodeToString(sum[:])); err != nil {
			e.t.Fatal(err)
		}
	}
	// No transparent gzip: responses must arrive as the server sent them.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
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

// wantError checks an error response: status, code, and the headers
// every response carries.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if resp.Header.Get("x-amz-request-id") == "" || resp.Header.Get("x-amz-id-2") == "" {
		t.Fatalf("missing request id headers: %v", resp.Header)
	}
	if code == "" {
		if len(body) != 0 {
			t.Fatalf("unexpected body %q", body)
		}
		return
	}
	var er errorResponse
	if err := xml.Unmarshal(body, &er); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if er.Code != code {
		t.Fatalf("code = %q, want %q (%s)", er.Code, code, er.Message)
	}
	if er.RequestID != resp.Header.Get("x-amz-request-id") {
		t.Fatalf("RequestId %q != header %q", er.RequestID, resp.Header.Get("x-amz-request-id"))
	}
}

// wantCode checks a minio-go error's S3 code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if got := minio.ToErrorResponse(err).Code; got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func TestNewConfig(t *testing.T) {
	creds := func(string) (string, bool) { return "", false }
	if _, err := New(Config{Credentials: creds}); err == nil {
		t.Fatal("New without Store succeeded")
	}
	if _, err := New(Config{Store: newFakeStore()}); err == nil {
		t.Fatal("New without Credentials succeeded")
	}
	h, err := New(Config{Store: newFakeStore(), Credentials: creds, Domain: ".S3.Example.COM."})
	if err != nil {
		t.Fatal(err)
	}
	if h.region != "us-east-1" || h.domain != "s3.example.com" || h.log == nil {
		t.Fatalf("defaults not applied: region %q domain %q", h.region, h.domain)
	}
}

func TestBuckets(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("alpha")
	if err := e.client.MakeBucket(ctx, "beta", minio.MakeBucketOptions{Region: "eu-central-1"}); err != nil {
		t.Fatal(err)
	}

	t.Run("create existing", func(t *testing.T) {
		wantCode(t, e.client.MakeBucket(ctx, "alpha", minio.MakeBucketOptions{}), "BucketAlreadyOwnedByYou")
	})
	t.Run("invalid names", func(t *testing.T) {
		for _, name := range []string{"ab", "Upper", "a..b", "192.168.1.1", "xn--abc", "abc-s3alias", "-abc"} {
			resp, body := e.do(rawRequest{method: "PUT", path: "/" + url.PathEscape(name)})
			wantError(t, resp, body, 400, "InvalidBucketName")
		}
	})
	t.Run("malformed configuration", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/gamma", body: []byte("<CreateBucketConfiguration><")})
		wantError(t, resp, body, 400, "MalformedXML")
	})
	t.Run("unplaceable location", func(t *testing.T) {
		cfg := `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>nowhere</LocationConstraint></CreateBucketConfiguration>`
		resp, body := e.do(rawRequest{method: "PUT", path: "/gamma", body: []byte(cfg)})
		wantError(t, resp, body, 400, "InvalidLocationConstraint")
	})
	t.Run("unknown sub-resources change nothing", func(t *testing.T) {
		// AWS's DeleteBucketMetadataConfiguration (2025) once reached
		// DeleteBucket here, and PUT ?metadataJournalTable CreateBucket.
		e.mustMakeBucket("keepme")
		for _, rr := range []rawRequest{
			{method: "DELETE", path: "/keepme?metadataConfiguration"},
			{method: "DELETE", path: "/keepme?someFutureThing=1"},
			{method: "PUT", path: "/newbucket?metadataJournalTable"},
			{method: "GET", path: "/keepme?metadataConfiguration"},
		} {
			resp, body := e.do(rr)
			wantError(t, resp, body, 501, "NotImplemented")
		}
		resp, body := e.do(rawRequest{method: "DELETE", path: "/keepme?uploads"})
		wantError(t, resp, body, 405, "MethodNotAllowed")
		if ok, err := e.client.BucketExists(ctx, "keepme"); err != nil || !ok {
			t.Fatalf("keepme exists = %v, %v after unknown sub-resources", ok, err)
		}
		if ok, err := e.client.BucketExists(ctx, "newbucket"); err != nil || ok {
			t.Fatalf("newbucket exists = %v, %v", ok, err)
		}
		// An anonymous caller learns nothing about the operation.
		resp, body = e.do(rawRequest{method: "DELETE", path: "/keepme?metadataConfiguration", anonymous: true})
		wantError(t, resp, body, 403, "AccessDenied")
		if err := e.client.RemoveBucket(ctx, "keepme"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("object lock refused", func(t *testing.T) {
		wantCode(t, e.client.MakeBucket(ctx, "locked", minio.MakeBucketOptions{ObjectLocking: true}), "NotImplemented")
	})
	t.Run("list", func(t *testing.T) {
		bs, err := e.client.ListBuckets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != 2 || bs[0].Name != "alpha" || bs[1].Name != "beta" || bs[0].CreationDate.IsZero() {
			t.Fatalf("buckets = %+v", bs)
		}
	})
	t.Run("list pages", func(t *testing.T) {
		page := func(query string) listAllMyBucketsResult {
			t.Helper()
			resp, body := e.do(rawRequest{method: "GET", path: "/?" + query})
			var res listAllMyBucketsResult
			if resp.StatusCode != 200 || xml.Unmarshal(body, &res) != nil {
				t.Fatalf("GET /?%s: %d %s", query, resp.StatusCode, body)
			}
			return res
		}
		first := page("max-buckets=1")
		if len(first.Buckets) != 1 || first.Buckets[0].Name != "alpha" || first.ContinuationToken == "" {
			t.Fatalf("first page: %+v", first)
		}
		second := page("continuation-token=" + url.QueryEscape(first.ContinuationToken) + "&max-buckets=1")
		if len(second.Buckets) != 1 || second.Buckets[0].Name != "beta" || second.ContinuationToken != "" {
			t.Fatalf("second page: %+v", second)
		}
		if all := page(""); len(all.Buckets) != 2 || all.ContinuationToken != "" || all.Prefix != "" {
			t.Fatalf("unpaged: %+v", all)
		}
		if rest := page("continuation-token=" + url.QueryEscape(first.ContinuationToken)); len(rest.Buckets) != 1 ||
			rest.Buckets[0].Name != "beta" || rest.ContinuationToken != "" {
			t.Fatalf("the rest after a token: %+v", rest)
		}
		if b := page("prefix=b"); len(b.Buckets) != 1 || b.Buckets[0].Name != "beta" || b.Prefix != "b" {
			t.Fatalf("prefix b: %+v", b)
		}
		for _, q := range []string{"max-buckets=0", "max-buckets=10001", "max-buckets=x", "continuation-token=%21%21"} {
			resp, body := e.do(rawRequest{method: "GET", path: "/?" + q})
			wantError(t, resp, body, 400, "InvalidArgument")
		}
	})
	t.Run("head", func(t *testing.T) {
		ok, err := e.client.BucketExists(ctx, "alpha")
		if err != nil || !ok {
			t.Fatalf("BucketExists(alpha) = %v, %v", ok, err)
		}
		ok, err = e.client.BucketExists(ctx, "missing")
		if err != nil || ok {
			t.Fatalf("BucketExists(missing) = %v, %v", ok, err)
		}
		resp, body := e.do(rawRequest{method: "HEAD", path: "/missing"})
		wantError(t, resp, body, 404, "") // HEAD errors have no body
		resp, _ = e.do(rawRequest{method: "HEAD", path: "/beta"})
		if got := resp.Header.Get("x-amz-bucket-region"); got != "eu-central-1" {
			t.Fatalf("x-amz-bucket-region = %q", got)
		}
	})
	t.Run("location", func(t *testing.T) {
		// minio-go answers GetBucketLocation from its configured region,
		// so ask directly.
		for bucket, want := range map[string]string{"alpha": "us-east-1", "beta": "eu-central-1"} {
			resp, body := e.do(rawRequest{method: "GET", path: "/" + bucket + "?location"})
			var lc locationConstraint
			if err := xml.Unmarshal(body, &lc); err != nil || resp.StatusCode != 200 || lc.Location != want {
				t.Fatalf("GetBucketLocation(%s) = %d %s; want %q", bucket, resp.StatusCode, body, want)
			}
		}
		resp, body := e.do(rawRequest{method: "GET", path: "/missing?location"})
		wantError(t, resp, body, 404, "NoSuchBucket")
	})
	t.Run("versioning", func(t *testing.T) {
		cfg, err := e.client.GetBucketVersioning(ctx, "alpha")
		if err != nil || cfg.Status != "" {
			t.Fatalf("GetBucketVersioning = %+v, %v", cfg, err)
		}
		resp, body := e.do(rawRequest{method: "PUT", path: "/alpha?versioning",
			body: []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)})
		wantError(t, resp, body, 501, "NotImplemented")
	})
	t.Run("unsupported sub-resources", func(t *testing.T) {
		for _, p := range []string{"/alpha?acl", "/alpha?website", "/alpha?lifecycle", "/alpha?cors", "/alpha/k?tagging", "/alpha/k?acl"} {
			resp, body := e.do(rawRequest{method: "GET", path: p})
			wantError(t, resp, body, 501, "NotImplemented")
		}
		_, err := e.client.GetBucketTagging(ctx, "alpha")
		wantCode(t, err, "NotImplemented")
	})
	t.Run("method not allowed", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/"})
		wantError(t, resp, body, 405, "MethodNotAllowed")
	})
	t.Run("delete non-empty", func(t *testing.T) {
		e.mustPut("beta", "obj", []byte("x"), minio.PutObjectOptions{})
		wantCode(t, e.client.RemoveBucket(ctx, "beta"), "BucketNotEmpty")
		if err := e.client.RemoveObject(ctx, "beta", "obj", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := e.client.RemoveBucket(ctx, "beta"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.client.RemoveBucket(ctx, "beta"), "NoSuchBucket")
	})
}

func TestVirtualHostStyle(t *testing.T) {
	store, _, c := virtualHostServer(t, credentials.NewStaticV4(testAccessKey, testSecretKey, ""))
	putGetVirtualHost(t, c, []byte("virtual host data"))
	if _, ok := store.buckets["vbucket"].objects["dir/key"]; !ok {
		t.Fatal("object not stored under the virtual-host bucket")
	}
}

// virtualHostServer serves a handler for the domain s3.test and returns
// a client signing with creds that addresses it by <bucket>.s3.test,
// every name dialled to the test server.
func virtualHostServer(t *testing.T, creds *credentials.Credentials) (*fakeStore, *httptest.Server, *minio.Client) {
	t.Helper()
	store := newFakeStore()
	h, err := New(Config{
		Store:       store,
		Credentials: func(string) (string, bool) { return testSecretKey, true },
		Domain:      "s3.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	c, err := minio.New("s3.test:"+u.Port(), &minio.Options{
		Creds:        creds,
		Region:       testRegion,
		BucketLookup: minio.BucketLookupDNS,
		MaxRetries:   1,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, u.Host)
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return store, srv, c
}

// putGetVirtualHost makes vbucket, stores data at dir/key and reads it
// back through c.
func putGetVirtualHost(t *testing.T, c *minio.Client, data []byte) {
	t.Helper()
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "vbucket", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	if _, err := c.PutObject(ctx, "vbucket", "dir/key", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	obj, err := c.GetObject(ctx, "vbucket", "dir/key", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetObject = %q, %v", got, err)
	}
}

func TestAuthentication(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("auth")
	e.mustPut("auth", "obj", []byte("secret data"), minio.PutObjectOptions{})

	t.Run("anonymous", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "GET", path: "/auth/obj", anonymous: true})
		wantError(t, resp, body, 403, "AccessDenied")
		resp, body = e.do(rawRequest{method: "GET", path: "/", anonymous: true})
		wantError(t, resp, body, 403, "AccessDenied")
		// Routing errors are not revealed before authentication.
		resp, body = e.do(rawRequest{method: "GET", path: "/auth?acl", anonymous: true})
		wantError(t, resp, body, 403, "AccessDenied")
	})
	t.Run("wrong secret", func(t *testing.T) {
		bad := e.newClient(testAccessKey, "not-the-secret")
		_, err := bad.ListBuckets(ctx)
		wantCode(t, err, "SignatureDoesNotMatch")
		resp, body := e.do(rawRequest{method: "GET", path: "/auth/obj", secret: "wrong"})
		wantError(t, resp, body, 403, "SignatureDoesNotMatch")
	})
	t.Run("wrong secret on streaming upload", func(t *testing.T) {
		bad := e.newClient(testAccessKey, "not-the-secret")
		data := bytes.Repeat([]byte("z"), 100<<10)
		_, err := bad.PutObject(ctx, "auth", "bad-upload", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
		wantCode(t, err, "SignatureDoesNotMatch")
		if _, ok := e.store.buckets["auth"].objects["bad-upload"]; ok {
			t.Fatal("object stored despite a bad signature")
		}
	})
	t.Run("unknown access key", func(t *testing.T) {
		_, err := e.newClient("UNKNOWNKEY", testSecretKey).ListBuckets(ctx)
		wantCode(t, err, "InvalidAccessKeyId")
	})
	t.Run("presigned", func(t *testing.T) {
		u, err := e.client.PresignedGetObject(ctx, "auth", "obj", time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "secret data" {
			t.Fatalf("presigned GET = %d %q", resp.StatusCode, body)
		}
		e.skew.Store(int64(2 * time.Minute)) // the server's clock moves past expiry
		defer e.skew.Store(0)
		resp, err = http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, 403, "AccessDenied")
		if !strings.Contains(string(body), "expired") {
			t.Fatalf("expired presign body = %s", body)
		}
	})
	t.Run("presigned put", func(t *testing.T) {
		u, err := e.client.PresignedPutObject(ctx, "auth", "via-presign", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("PUT", u.String(), strings.NewReader("presigned body"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("presigned PUT status %d", resp.StatusCode)
		}
		if got := string(e.store.buckets["auth"].objects["via-presign"].data); got != "presigned body" {
			t.Fatalf("stored %q", got)
		}
	})
	t.Run("clock skew", func(t *testing.T) {
		e.skew.Store(int64(time.Hour))
		defer e.skew.Store(0)
		_, err := e.client.ListBuckets(ctx)
		wantCode(t, err, "RequestTimeTooSkewed")
	})
	t.Run("payload hash mismatch", func(t *testing.T) {
		req, _ := http.NewRequest("PUT", e.srv.URL+"/auth/tampered", strings.NewReader("actual body"))
		sum := sha256.Sum256([]byte("signed body"))
		if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, 400, "XAmzContentSHA256Mismatch")
		if _, ok := e.store.buckets["auth"].objects["tampered"]; ok {
			t.Fatal("object stored despite a payload hash mismatch")
		}
	})
	t.Run("payload hash that is no hash", func(t *testing.T) {
		// AWS: 400 InvalidArgument naming the values it takes, not a
		// mismatch, for both a read and a write.
		for _, method := range []string{"PUT", "GET"} {
			req, _ := http.NewRequest(method, e.srv.URL+"/auth/garbage", strings.NewReader("body"))
			// Our signer refuses such a value; minio-go's signs what the
			// header says.
			req.Header.Set("X-Amz-Content-Sha256", "GIBBERISH")
			req = signer.SignV4(*req, testAccessKey, testSecretKey, "", testRegion)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantError(t, resp, body, 400, "InvalidArgument")
			if !strings.Contains(string(body), "x-amz-content-sha256 must be UNSIGNED-PAYLOAD") {
				t.Fatalf("%s: %s", method, body)
			}
		}
	})
	t.Run("no secrets in logs", func(t *testing.T) {
		logs := e.logs.String()
		for _, s := range []string{testSecretKey, "X-Amz-Signature", "Signature="} {
			if strings.Contains(logs, s) {
				t.Fatalf("logs contain %q", s)
			}
		}
		if !strings.Contains(logs, `"op":"GetObject"`) || !strings.Contains(logs, `"request_id"`) {
			t.Fatalf("logs lack request lines: %.500s", logs)
		}
	})
}

func TestRecoverAndInternalError(t *testing.T) {
	e := newTestEnv(t)
	e.store.panicOn = "ListBuckets"
	_, err := e.client.ListBuckets(context.Background())
	wantCode(t, err, "InternalError")
	if !strings.Contains(e.logs.String(), "panic") {
		t.Fatal("panic not logged")
	}
	// The server survives and keeps serving.
	e.store.panicOn = ""
	if _, err := e.client.ListBuckets(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestRequestLogLevels checks the level of each request's log line:
// debug for a success, info for a client error, error for a failure the
// server cannot name; debug for a refusal of an unauthenticated caller,
// which anyone can repeat at will (the audit log counts them).
func TestRequestLogLevels(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("logs")
	tests := []struct {
		name  string
		req   func()
		op    string
		level string
		code  string
	}{
		{"success", func() { e.mustPut("logs", "k", []byte("x"), minio.PutObjectOptions{}) }, "PutObject", "DEBUG", ""},
		{"client error", func() {
			_, err := e.client.StatObject(context.Background(), "logs", "missing", minio.StatObjectOptions{})
			wantCode(t, err, "NoSuchKey")
		}, "HeadObject", "INFO", "NoSuchKey"},
		{"unauthenticated refusal", func() {
			if resp, _ := e.do(rawRequest{method: "DELETE", path: "/logs/k", anonymous: true}); resp.StatusCode != 403 {
				t.Fatalf("anonymous DELETE = %d", resp.StatusCode)
			}
		}, "DeleteObject", "DEBUG", "AccessDenied"},
		{"bad signature", func() {
			if resp, _ := e.do(rawRequest{method: "DELETE", path: "/logs/k", secret: "wrong"}); resp.StatusCode != 403 {
				t.Fatalf("DELETE with a bad signature = %d", resp.StatusCode)
			}
		}, "DeleteObject", "DEBUG", "SignatureDoesNotMatch"},
		{"internal error", func() {
			e.store.panicOn = "ListBuckets"
			defer func() { e.store.panicOn = "" }()
			_, err := e.client.ListBuckets(context.Background())
			wantCode(t, err, "InternalError")
		}, "ListBuckets", "ERROR", "InternalError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.logs.Reset()
			tt.req()
			var found bool
			for line := range strings.Lines(e.logs.String()) {
				var rec struct{ Msg, Level, Op, Code string }
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if rec.Msg != "s3 request" || rec.Op != tt.op {
					continue
				}
				found = true
				if rec.Level != tt.level || rec.Code != tt.code {
					t.Errorf("%s logged at %s with code %q, want %s with %q", tt.op, rec.Level, rec.Code, tt.level, tt.code)
				}
			}
			if !found {
				t.Fatalf("no request line for %s in %q", tt.op, e.logs.String())
			}
		})
	}
	t.Run("successes left out at info", func(t *testing.T) {
		e := newTestEnvLogging(t, slog.LevelInfo)
		if _, err := e.client.ListBuckets(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.StatObject(context.Background(), "nobucket", "k", minio.StatObjectOptions{}); err == nil {
			t.Fatal("HEAD in a missing bucket succeeded")
		}
		logs := e.logs.String()
		if n := strings.Count(logs, `"msg":"s3 request"`); n != 1 || !strings.Contains(logs, `"op":"HeadObject"`) {
			t.Fatalf("want only the failed HeadObject logged, got %d lines: %q", n, logs)
		}
	})
}

func TestRequestIDsUnique(t *testing.T) {
	e := newTestEnv(t)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		resp, _ := e.do(rawRequest{method: "GET", path: "/"})
		id := resp.Header.Get("x-amz-request-id")
		if len(id) != 16 || seen[id] {
			t.Fatalf("request id %q (seen %v)", id, seen[id])
		}
		seen[id] = true
	}
}
