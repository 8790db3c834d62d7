package s3api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func md5b64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func crc32cB64(b []byte) string {
	s := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	return base64.StdEncoding.EncodeToString([]byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)})
}

func randomBytes(t testing.TB, seed int64, n int) []byte {
	t.Logf("random data seed %d", seed)
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func TestPutGetObject(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("objs")
	data := randomBytes(t, 1, 3<<20+17)

	info := e.mustPut("objs", "dir/file.bin", data, minio.PutObjectOptions{
		ContentType:        "application/x-test",
		CacheControl:       "max-age=60",
		ContentDisposition: `attachment; filename="f.bin"`,
		ContentEncoding:    "identity",
		ContentLanguage:    "fr",
		Expires:            time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		UserMetadata:       map[string]string{"Color": "blue", "x-amz-meta-shape": "round"},
	})
	if info.ETag != md5hex(data) {
		t.Fatalf("ETag = %q, want MD5 %q", info.ETag, md5hex(data))
	}
	stored := e.store.buckets["objs"].objects["dir/file.bin"]
	if !bytes.Equal(stored.data, data) {
		t.Fatal("stored data differs")
	}
	if got := stored.info.Metadata["content-encoding"]; got != "identity" {
		t.Fatalf("content-encoding stored as %q (aws-chunked must be stripped)", got)
	}

	obj, err := e.client.GetObject(ctx, "objs", "dir/file.bin", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetObject: %d bytes, %v", len(got), err)
	}
	st, err := e.client.StatObject(ctx, "objs", "dir/file.bin", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"size":          {fmt.Sprint(st.Size), fmt.Sprint(len(data))},
		"etag":          {st.ETag, md5hex(data)},
		"content-type":  {st.ContentType, "application/x-test"},
		"cache-control": {st.Metadata.Get("Cache-Control"), "max-age=60"},
		"disposition":   {st.Metadata.Get("Content-Disposition"), `attachment; filename="f.bin"`},
		"language":      {st.Metadata.Get("Content-Language"), "fr"},
		"expires":       {st.Expires.UTC().Format(time.RFC3339), "2030-01-02T03:04:05Z"},
		"meta color":    {st.UserMetadata["Color"], "blue"},
		"meta shape":    {st.UserMetadata["Shape"], "round"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}

	t.Run("default content type", func(t *testing.T) {
		resp, _ := e.do(rawRequest{method: "PUT", path: "/objs/plain", body: []byte("x")})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		resp, _ = e.do(rawRequest{method: "HEAD", path: "/objs/plain"})
		if ct := resp.Header.Get("Content-Type"); ct != "binary/octet-stream" {
			t.Fatalf("Content-Type = %q", ct)
		}
		if ar := resp.Header.Get("Accept-Ranges"); ar != "bytes" {
			t.Fatalf("Accept-Ranges = %q", ar)
		}
	})
	t.Run("response overrides", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "GET", path: "/objs/plain?response-content-type=text%2Fcsv&response-cache-control=no-store&response-content-disposition=inline&response-content-language=de&response-expires=Thu%2C%2001%20Jan%202037%2000%3A00%3A00%20GMT&response-content-encoding=gzip"})
		if resp.StatusCode != 200 || string(body) != "x" {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
		for k, v := range map[string]string{"Content-Type": "text/csv", "Cache-Control": "no-store",
			"Content-Disposition": "inline", "Content-Language": "de", "Expires": "Thu, 01 Jan 2037 00:00:00 GMT", "Content-Encoding": "gzip"} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})
	t.Run("empty object", func(t *testing.T) {
		e.mustPut("objs", "empty", nil, minio.PutObjectOptions{})
		resp, body := e.do(rawRequest{method: "GET", path: "/objs/empty"})
		if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != "0" {
			t.Fatalf("GET empty = %d, %q, CL %q", resp.StatusCode, body, resp.Header.Get("Content-Length"))
		}
		if resp.Header.Get("ETag") != `"`+md5hex(nil)+`"` {
			t.Fatalf("ETag %q", resp.Header.Get("ETag"))
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := e.client.StatObject(ctx, "objs", "nope", minio.StatObjectOptions{})
		wantCode(t, err, "NoSuchKey")
		resp, body := e.do(rawRequest{method: "GET", path: "/objs/nope"})
		wantError(t, resp, body, 404, "NoSuchKey")
		if !strings.Contains(string(body), "<Key>nope</Key>") {
			t.Fatalf("NoSuchKey body lacks Key: %s", body)
		}
		resp, body = e.do(rawRequest{method: "GET", path: "/nobucket/k"})
		wantError(t, resp, body, 404, "NoSuchBucket")
		resp, body = e.do(rawRequest{method: "HEAD", path: "/objs/nope"})
		wantError(t, resp, body, 404, "")
	})
	t.Run("key too long", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/objs/" + strings.Repeat("k", 1025), body: []byte("x")})
		wantError(t, resp, body, 400, "KeyTooLongError")
	})
	t.Run("invalid utf-8 key", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/objs/bad%FFkey", body: []byte("x")})
		wantError(t, resp, body, 400, "InvalidURI")
	})
	t.Run("metadata too large", func(t *testing.T) {
		_, err := e.client.PutObject(ctx, "objs", "big-meta", strings.NewReader("x"), 1, minio.PutObjectOptions{
			UserMetadata: map[string]string{"big": strings.Repeat("m", 2100)}})
		wantCode(t, err, "MetadataTooLarge")
	})
	t.Run("unsupported write headers", func(t *testing.T) {
		for h, v := range map[string]string{"x-amz-tagging": "a=b", "x-amz-acl": "public-read", "x-amz-grant-read": "id=someone",
			"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-website-redirect-location": "/elsewhere"} {
			resp, body := e.do(rawRequest{method: "PUT", path: "/objs/h", body: []byte("x"), header: map[string]string{h: v}})
			wantError(t, resp, body, 501, "NotImplemented")
		}
		resp, body := e.do(rawRequest{method: "PUT", path: "/objs/h", body: []byte("x"), header: map[string]string{"x-amz-storage-class": "BOGUS"}})
		wantError(t, resp, body, 400, "InvalidStorageClass")
		resp, _ = e.do(rawRequest{method: "PUT", path: "/objs/h", body: []byte("x"),
			header: map[string]string{"x-amz-storage-class": "STANDARD", "x-amz-acl": "private", "x-amz-server-side-encryption": "AES256"}})
		if resp.StatusCode != 200 {
			t.Fatalf("accepted headers refused: %d", resp.StatusCode)
		}
	})
	t.Run("bucket ACLs", func(t *testing.T) {
		// A bucket is private to its owner: an ACL granting more is
		// refused, never accepted and ignored.
		for _, tt := range []struct {
			h, v   string
			status int
			code   string
		}{
			{"x-amz-acl", "public-read", 501, "NotImplemented"},
			{"x-amz-grant-read", "uri=http://acs.amazonaws.com/groups/global/AllUsers", 501, "NotImplemented"},
			// Ownership that turns ACLs on, and one that does not exist.
			{"x-amz-object-ownership", "ObjectWriter", 501, "NotImplemented"},
			{"x-amz-object-ownership", "BucketOwnerPreferred", 501, "NotImplemented"},
			{"x-amz-object-ownership", "bucketownerenforced", 400, "InvalidArgument"},
		} {
			resp, body := e.do(rawRequest{method: "PUT", path: "/acl-refused", header: map[string]string{tt.h: tt.v}})
			wantError(t, resp, body, tt.status, tt.code)
		}
		if _, err := e.client.BucketExists(ctx, "acl-refused"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := e.client.BucketExists(ctx, "acl-refused"); ok {
			t.Fatal("a bucket was created despite the refused ACL")
		}
		resp, _ := e.do(rawRequest{method: "PUT", path: "/acl-private", header: map[string]string{"x-amz-acl": "private", "x-amz-object-ownership": "BucketOwnerEnforced"}})
		if resp.StatusCode != 200 {
			t.Fatalf("CreateBucket with x-amz-acl: private, BucketOwnerEnforced: %d", resp.StatusCode)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := e.client.RemoveObject(ctx, "objs", "plain", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		// Deleting what is absent is a success too.
		resp, body := e.do(rawRequest{method: "DELETE", path: "/objs/plain"})
		if resp.StatusCode != 204 || len(body) != 0 {
			t.Fatalf("DELETE absent = %d %q", resp.StatusCode, body)
		}
		resp, body = e.do(rawRequest{method: "DELETE", path: "/nobucket/plain"})
		wantError(t, resp, body, 404, "NoSuchBucket")
	})
}

func TestPutIntegrity(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("integ")
	data := []byte("integrity matters")

	t.Run("content-md5 good", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/integ/md5", body: data, header: map[string]string{"Content-MD5": md5b64(data)}})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("content-md5 mismatch", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/integ/bad", body: data, header: map[string]string{"Content-MD5": md5b64([]byte("other"))}})
		wantError(t, resp, body, 400, "BadDigest")
		if _, ok := e.store.buckets["integ"].objects["bad"]; ok {
			t.Fatal("object stored despite BadDigest")
		}
	})
	t.Run("content-md5 invalid", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/integ/bad", body: data, header: map[string]string{"Content-MD5": "not base64!"}})
		wantError(t, resp, body, 400, "InvalidDigest")
		resp, body = e.do(rawRequest{method: "PUT", path: "/integ/bad", body: data, header: map[string]string{"Content-MD5": "AAAA"}})
		wantError(t, resp, body, 400, "InvalidDigest")
	})
	t.Run("checksum header good", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/integ/crc", body: data, header: map[string]string{"x-amz-checksum-crc32c": crc32cB64(data)}})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("x-amz-checksum-crc32c"); got != crc32cB64(data) {
			t.Fatalf("response checksum %q", got)
		}
		st, err := e.client.StatObject(ctx, "integ", "crc", minio.StatObjectOptions{Checksum: true})
		if err != nil || st.ChecksumCRC32C != crc32cB64(data) {
			t.Fatalf("StatObject checksum = %q, %v", st.ChecksumCRC32C, err)
		}
		// Without x-amz-checksum-mode the checksum is not returned.
		resp, _ = e.do(rawRequest{method: "HEAD", path: "/integ/crc"})
		if resp.Header.Get("x-amz-checksum-crc32c") != "" {
			t.Fatal("checksum returned without checksum mode")
		}
	})
	t.Run("checksum header mismatch", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/integ/crcbad", body: data, header: map[string]string{"x-amz-checksum-crc32c": crc32cB64([]byte("x"))}})
		wantError(t, resp, body, 400, "BadDigest")
		if _, ok := e.store.buckets["integ"].objects["crcbad"]; ok {
			t.Fatal("object stored despite a checksum mismatch")
		}
	})
	t.Run("checksum header invalid", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/integ/crcbad", body: data, header: map[string]string{"x-amz-checksum-crc32c": "@@@"}})
		wantError(t, resp, body, 400, "InvalidRequest")
	})
	for _, mode := range []struct {
		name          string
		disableSHA256 bool
	}{{"signed chunks with trailer", false}, {"unsigned payload with trailer", true}} {
		t.Run(mode.name, func(t *testing.T) {
			big := randomBytes(t, 2, 1<<20+3)
			_, err := e.client.PutObject(ctx, "integ", "trailer", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{
				Checksum: minio.ChecksumCRC32C, DisableContentSha256: mode.disableSHA256, DisableMultipart: true})
			if err != nil {
				t.Fatal(err)
			}
			o := e.store.buckets["integ"].objects["trailer"]
			if !bytes.Equal(o.data, big) || o.info.Metadata["x-amz-checksum-crc32c"] != crc32cB64(big) {
				t.Fatalf("stored %d bytes, checksum %q", len(o.data), o.info.Metadata["x-amz-checksum-crc32c"])
			}
		})
	}
	t.Run("streaming signed upload", func(t *testing.T) {
		big := randomBytes(t, 3, 200<<10)
		info := e.mustPut("integ", "streamed", big, minio.PutObjectOptions{})
		if info.ETag != md5hex(big) || !bytes.Equal(e.store.buckets["integ"].objects["streamed"].data, big) {
			t.Fatal("streamed upload stored wrong data")
		}
	})
	t.Run("missing content length", func(t *testing.T) {
		req, _ := http.NewRequest("PUT", e.srv.URL+"/integ/nolen", io.NopCloser(strings.NewReader("abc")))
		req.ContentLength = -1 // chunked transfer encoding
		if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), ""); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, 411, "MissingContentLength")
		// HTTP/1.1 reads a request with neither Content-Length nor
		// Transfer-Encoding as empty: AWS refuses it rather than store
		// an empty object the client did not mean to write.
		resp = rawHeaderOnlyPut(t, e, "/integ/nolen", -1)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, 411, "MissingContentLength")
		if _, ok := e.store.buckets["integ"].objects["nolen"]; ok {
			t.Fatal("a PUT without a length stored an object")
		}
		resp = rawHeaderOnlyPut(t, e, "/integ/empty", 0)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PUT with Content-Length: 0: %d", resp.StatusCode)
		}
	})
	t.Run("entity too large", func(t *testing.T) {
		// A declared 6 GiB body: refused before a byte is read.
		resp := rawHeaderOnlyPut(t, e, "/integ/huge", 6<<30)
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var er errorResponse
		body, _ := io.ReadAll(resp.Body)
		if err := xml.Unmarshal(body, &er); err != nil || er.Code != "EntityTooLarge" {
			t.Fatalf("body %s", body)
		}
	})
}

// rawHeaderOnlyPut sends a signed PUT that declares size bytes (no
// Content-Length at all when size < 0) but sends none, and returns the
// server's answer.
func rawHeaderOnlyPut(t *testing.T, e *testEnv, path string, size int64) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("PUT", e.srv.URL+path, nil)
	if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), ""); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "PUT %s HTTP/1.1\r\nHost: %s\r\n", path, req.Host)
	if size >= 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", size)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestRangeRequests(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("ranges")
	data := randomBytes(t, 4, 1000)
	e.mustPut("ranges", "obj", data, minio.PutObjectOptions{})

	tests := []struct {
		header   string
		status   int
		from, to int // inclusive, for 206
	}{
		{"bytes=0-99", 206, 0, 99},
		{"bytes=500-", 206, 500, 999},
		{"bytes=-10", 206, 990, 999},
		{"bytes=990-5000", 206, 990, 999},
		{"bytes=999-999", 206, 999, 999},
		{"bytes=1000-", 416, 0, 0},
		{"bytes=-0", 416, 0, 0},
		{"bytes=0-1,3-4", 200, 0, 999}, // several ranges: whole object, as AWS
		{"bytes=5-1", 200, 0, 999},     // invalid: ignored
		{"lines=1-2", 200, 0, 999},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			resp, body := e.do(rawRequest{method: "GET", path: "/ranges/obj", header: map[string]string{"Range": tt.header}})
			if tt.status == 416 {
				wantError(t, resp, body, 416, "InvalidRange")
				if cr := resp.Header.Get("Content-Range"); cr != "bytes */1000" {
					t.Fatalf("Content-Range = %q", cr)
				}
				return
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !bytes.Equal(body, data[tt.from:tt.to+1]) {
				t.Fatalf("body %d bytes, want [%d,%d]", len(body), tt.from, tt.to)
			}
			if tt.status == 206 {
				want := fmt.Sprintf("bytes %d-%d/1000", tt.from, tt.to)
				if cr := resp.Header.Get("Content-Range"); cr != want {
					t.Fatalf("Content-Range = %q, want %q", cr, want)
				}
			}
			if cl := resp.Header.Get("Content-Length"); cl != fmt.Sprint(tt.to-tt.from+1) {
				t.Fatalf("Content-Length = %q", cl)
			}
		})
	}
	t.Run("minio-go SetRange", func(t *testing.T) {
		opts := minio.GetObjectOptions{}
		if err := opts.SetRange(10, 19); err != nil {
			t.Fatal(err)
		}
		obj, err := e.client.GetObject(ctx, "ranges", "obj", opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, data[10:20]) {
			t.Fatalf("range read %q, %v", got, err)
		}
	})
	t.Run("If-Range", func(t *testing.T) {
		// A download resumed against a replaced object must get the new
		// one whole (200), never its bytes spliced onto the old one's.
		old := e.mustPut("ranges", "resumed", []byte("AAAAAAAAAA"), minio.PutObjectOptions{})
		oldHead, _ := e.do(rawRequest{method: "HEAD", path: "/ranges/resumed"})
		oldLastMod := oldHead.Header.Get("Last-Modified")
		time.Sleep(1100 * time.Millisecond) // a Last-Modified of its own
		newData := bytes.Repeat([]byte("B"), 20)
		e.mustPut("ranges", "resumed", newData, minio.PutObjectOptions{})
		time.Sleep(1100 * time.Millisecond) // a date is a strong validator a second on
		head, _ := e.do(rawRequest{method: "HEAD", path: "/ranges/resumed"})
		cur, lastMod := head.Header.Get("ETag"), head.Header.Get("Last-Modified")
		for _, tt := range []struct {
			ifRange string
			status  int
		}{
			{`"` + old.ETag + `"`, 200},
			{cur, 206},
			{"W/" + cur, 200}, // weak tags never match
			{lastMod, 206},
			{oldLastMod, 200},
			{"not a date", 200},
		} {
			resp, body := e.do(rawRequest{method: "GET", path: "/ranges/resumed",
				header: map[string]string{"Range": "bytes=5-", "If-Range": tt.ifRange}})
			want := newData
			if tt.status == 206 {
				want = newData[5:]
			}
			if resp.StatusCode != tt.status || !bytes.Equal(body, want) {
				t.Fatalf("If-Range %q: %d %q, want %d %q", tt.ifRange, resp.StatusCode, body, tt.status, want)
			}
		}
	})
	t.Run("suffix of an empty object", func(t *testing.T) {
		// AWS answers 200 and the empty body (tail readers rely on it);
		// any other range of it is 416.
		e.mustPut("ranges", "empty", nil, minio.PutObjectOptions{})
		for _, r := range []string{"bytes=-1", "bytes=-100"} {
			resp, body := e.do(rawRequest{method: "GET", path: "/ranges/empty", header: map[string]string{"Range": r}})
			if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Range") != "" {
				t.Fatalf("%s: %d %q Content-Range %q", r, resp.StatusCode, body, resp.Header.Get("Content-Range"))
			}
		}
		for _, r := range []string{"bytes=0-", "bytes=-0", "bytes=0-0"} {
			resp, body := e.do(rawRequest{method: "GET", path: "/ranges/empty", header: map[string]string{"Range": r}})
			wantError(t, resp, body, 416, "InvalidRange")
		}
	})
	t.Run("head with range", func(t *testing.T) {
		resp, _ := e.do(rawRequest{method: "HEAD", path: "/ranges/obj", header: map[string]string{"Range": "bytes=0-9"}})
		if resp.StatusCode != 206 || resp.Header.Get("Content-Length") != "10" {
			t.Fatalf("HEAD range = %d, CL %q", resp.StatusCode, resp.Header.Get("Content-Length"))
		}
	})
	t.Run("partNumber on single-part object", func(t *testing.T) {
		// AWS treats it as a range covering the whole object: 206 with
		// Content-Range, and no parts count.
		cr := fmt.Sprintf("bytes 0-%d/%d", len(data)-1, len(data))
		resp, body := e.do(rawRequest{method: "GET", path: "/ranges/obj?partNumber=1"})
		if resp.StatusCode != 206 || !bytes.Equal(body, data) || resp.Header.Get("Content-Range") != cr ||
			resp.Header.Get("x-amz-mp-parts-count") != "" {
			t.Fatalf("partNumber=1 = %d, %d bytes, Content-Range %q", resp.StatusCode, len(body), resp.Header.Get("Content-Range"))
		}
		resp, _ = e.do(rawRequest{method: "HEAD", path: "/ranges/obj?partNumber=1"})
		if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != cr {
			t.Fatalf("HEAD partNumber=1 = %d, Content-Range %q", resp.StatusCode, resp.Header.Get("Content-Range"))
		}
		e.mustPut("ranges", "empty", nil, minio.PutObjectOptions{})
		resp, body = e.do(rawRequest{method: "GET", path: "/ranges/empty?partNumber=1"})
		if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Range") != "" {
			t.Fatalf("partNumber=1 of an empty object = %d, Content-Range %q", resp.StatusCode, resp.Header.Get("Content-Range"))
		}
		resp, body = e.do(rawRequest{method: "GET", path: "/ranges/obj?partNumber=2"})
		wantError(t, resp, body, 416, "InvalidRange")
		resp, body = e.do(rawRequest{method: "GET", path: "/ranges/obj?partNumber=0"})
		wantError(t, resp, body, 400, "InvalidArgument")
	})
}

func TestConditionalRequests(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("cond")
	info := e.mustPut("cond", "obj", []byte("v1"), minio.PutObjectOptions{})
	etag := `"` + info.ETag + `"`
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)

	get := []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"if-match", map[string]string{"If-Match": etag}, 200},
		{"if-match fails", map[string]string{"If-Match": `"nope"`}, 412},
		{"if-none-match", map[string]string{"If-None-Match": etag}, 304},
		{"if-none-match differs", map[string]string{"If-None-Match": `"nope"`}, 200},
		{"if-modified-since future", map[string]string{"If-Modified-Since": future}, 304},
		{"if-modified-since past", map[string]string{"If-Modified-Since": past}, 200},
		{"if-unmodified-since past", map[string]string{"If-Unmodified-Since": past}, 412},
		{"if-match beats unmodified-since", map[string]string{"If-Match": etag, "If-Unmodified-Since": past}, 200},
		{"if-none-match false, modified-since true", map[string]string{"If-None-Match": etag, "If-Modified-Since": past}, 304},
	}
	for _, method := range []string{"GET", "HEAD"} {
		for _, tt := range get {
			t.Run(method+" "+tt.name, func(t *testing.T) {
				resp, body := e.do(rawRequest{method: method, path: "/cond/obj", header: tt.hdr})
				switch tt.status {
				case 200:
					if resp.StatusCode != 200 {
						t.Fatalf("status %d: %s", resp.StatusCode, body)
					}
				case 304:
					wantError(t, resp, body, 304, "")
					if resp.Header.Get("ETag") != etag {
						t.Fatalf("304 without ETag: %v", resp.Header)
					}
				case 412:
					code := "PreconditionFailed"
					if method == "HEAD" {
						code = ""
					}
					wantError(t, resp, body, 412, code)
				}
			})
		}
	}
	t.Run("minio-go get conditions", func(t *testing.T) {
		opts := minio.GetObjectOptions{}
		_ = opts.SetMatchETag("wrong")
		_, err := e.client.StatObject(ctx, "cond", "obj", minio.StatObjectOptions(opts))
		wantCode(t, err, "PreconditionFailed")
	})

	t.Run("put if-none-match *", func(t *testing.T) {
		opts := minio.PutObjectOptions{}
		opts.SetMatchETagExcept("*")
		_, err := e.client.PutObject(ctx, "cond", "obj", strings.NewReader("v2"), 2, opts)
		wantCode(t, err, "PreconditionFailed")
		if _, err := e.client.PutObject(ctx, "cond", "fresh", strings.NewReader("new"), 3, opts); err != nil {
			t.Fatalf("create-only PUT of a new key: %v", err)
		}
	})
	t.Run("put if-match", func(t *testing.T) {
		opts := minio.PutObjectOptions{}
		opts.SetMatchETag("wrong")
		_, err := e.client.PutObject(ctx, "cond", "obj", strings.NewReader("v2"), 2, opts)
		wantCode(t, err, "PreconditionFailed")
		opts.SetMatchETag(info.ETag)
		if _, err := e.client.PutObject(ctx, "cond", "obj", strings.NewReader("v2"), 2, opts); err != nil {
			t.Fatalf("PUT with matching If-Match: %v", err)
		}
		if got := string(e.store.buckets["cond"].objects["obj"].data); got != "v2" {
			t.Fatalf("object = %q", got)
		}
		opts.SetMatchETag("whatever")
		_, err = e.client.PutObject(ctx, "cond", "absent", strings.NewReader("v"), 1, opts)
		wantCode(t, err, "NoSuchKey")
	})
	t.Run("put if-none-match etag not implemented", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/cond/obj", body: []byte("x"), header: map[string]string{"If-None-Match": etag}})
		wantError(t, resp, body, 501, "NotImplemented")
	})
	t.Run("precondition checked under the store lock", func(t *testing.T) {
		// The object appears after the early check passed: only the
		// precondition storage runs at commit time can catch it.
		h, err := New(Config{Store: &racingStore{fakeStore: e.store}, Credentials: func(string) (string, bool) { return testSecretKey, true }})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("PUT", "http://local/cond/raced", strings.NewReader("mine"))
		req.Header.Set("If-None-Match", "*")
		sum := sha256.Sum256([]byte("mine"))
		if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 412 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		if got := string(e.store.buckets["cond"].objects["raced"].data); got != "theirs" {
			t.Fatalf("object = %q, the concurrent writer's data was overwritten", got)
		}
	})
}

// racingStore writes the key concurrently right after the handler's
// early precondition check.
type racingStore struct{ *fakeStore }

func (s *racingStore) PutObject(ctx context.Context, bucket, key string, body io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error) {
	if key == "raced" {
		if _, err := s.fakeStore.PutObject(ctx, bucket, key, strings.NewReader("theirs"), storage.PutOptions{Size: 6}); err != nil {
			return storage.ObjectInfo{}, err
		}
	}
	return s.fakeStore.PutObject(ctx, bucket, key, body, opts)
}

// TestWeakETagConditions: every request that takes an entity tag
// condition compares as RFC 9110 says: If-Match (and its copy-source and
// write forms) strongly, so W/"<etag>" never matches; If-None-Match
// weakly, so W/"<etag>" matches the object. Before, W/ was stripped and
// a weak If-Match matched.
func TestWeakETagConditions(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("weak")
	info := e.mustPut("weak", "src", []byte("weak tags"), minio.PutObjectOptions{})
	weak := `W/"` + info.ETag + `"`
	uploadID, err := e.core.NewMultipartUpload(ctx, "weak", "mp", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		req    rawRequest
		status int
	}{
		{"GET If-Match", rawRequest{method: "GET", path: "/weak/src", header: map[string]string{"If-Match": weak}}, 412},
		{"HEAD If-Match", rawRequest{method: "HEAD", path: "/weak/src", header: map[string]string{"If-Match": weak}}, 412},
		{"GET If-Match *", rawRequest{method: "GET", path: "/weak/src", header: map[string]string{"If-Match": "*"}}, 200},
		{"GET If-None-Match", rawRequest{method: "GET", path: "/weak/src", header: map[string]string{"If-None-Match": weak}}, 304},
		{"HEAD If-None-Match", rawRequest{method: "HEAD", path: "/weak/src", header: map[string]string{"If-None-Match": weak}}, 304},
		{"CopyObject copy-source-if-match", rawRequest{method: "PUT", path: "/weak/dst",
			header: map[string]string{"x-amz-copy-source": "/weak/src", "x-amz-copy-source-if-match": weak}}, 412},
		{"CopyObject copy-source-if-none-match", rawRequest{method: "PUT", path: "/weak/dst",
			header: map[string]string{"x-amz-copy-source": "/weak/src", "x-amz-copy-source-if-none-match": weak}}, 412},
		{"CopyObject copy-source-if-match *", rawRequest{method: "PUT", path: "/weak/dst",
			header: map[string]string{"x-amz-copy-source": "/weak/src", "x-amz-copy-source-if-match": "*"}}, 200},
		{"UploadPartCopy copy-source-if-match", rawRequest{method: "PUT", path: "/weak/mp?partNumber=1&uploadId=" + uploadID,
			header: map[string]string{"x-amz-copy-source": "/weak/src", "x-amz-copy-source-if-match": weak}}, 412},
		{"UploadPartCopy copy-source-if-none-match", rawRequest{method: "PUT", path: "/weak/mp?partNumber=1&uploadId=" + uploadID,
			header: map[string]string{"x-amz-copy-source": "/weak/src", "x-amz-copy-source-if-none-match": weak}}, 412},
		// Writes last: one that wrongly succeeds changes the ETag.
		{"PUT If-Match", rawRequest{method: "PUT", path: "/weak/src", body: []byte("x"), header: map[string]string{"If-Match": weak}}, 412},
		{"DELETE If-Match", rawRequest{method: "DELETE", path: "/weak/src", header: map[string]string{"If-Match": weak}}, 412},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(tt.req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
		})
	}
	if got := string(e.store.buckets["weak"].objects["src"].data); got != "weak tags" {
		t.Fatalf("object = %q, a weak If-Match let a write through", got)
	}
}
