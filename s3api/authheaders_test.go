package s3api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/s3api/sigv4"
)

// TestSignatureCoverage checks what a signature must cover, as AWS
// answers it: every x-amz-* header, x-amz-content-sha256 on header
// signatures, and no session token, which this server never issues.
func TestSignatureCoverage(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("cover")
	e.mustPut("cover", "secret", []byte("the source"), minio.PutObjectOptions{})
	send := func(t *testing.T, req *http.Request) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	signed := func(t *testing.T, method, path string, body []byte, before, after map[string]string) *http.Request {
		t.Helper()
		req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range before {
			req.Header.Set(k, v)
		}
		sum := sha256.Sum256(body)
		if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
		for k, v := range after {
			req.Header.Set(k, v)
		}
		return req
	}

	t.Run("unsigned copy source is refused, not copied", func(t *testing.T) {
		resp, out := send(t, signed(t, "PUT", "/cover/target", []byte("abc"), nil, map[string]string{"X-Amz-Copy-Source": "/cover/secret"}))
		wantError(t, resp, out, 403, "AccessDenied")
		if _, ok := e.store.buckets["cover"].objects["target"]; ok {
			t.Fatal("the object was written")
		}
	})
	t.Run("signed copy source copies", func(t *testing.T) {
		resp, out := send(t, signed(t, "PUT", "/cover/target", nil, map[string]string{"X-Amz-Copy-Source": "/cover/secret"}, nil))
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
	})
	t.Run("unsigned header on a presigned URL", func(t *testing.T) {
		u, err := e.client.PresignedPutObject(context.Background(), "cover", "presigned", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("PUT", u.String(), bytes.NewReader([]byte("abc")))
		req.Header.Set("x-amz-meta-added", "later")
		resp, out := send(t, req)
		wantError(t, resp, out, 403, "AccessDenied")
		req, _ = http.NewRequest("PUT", u.String(), bytes.NewReader([]byte("abc")))
		if resp, out := send(t, req); resp.StatusCode != 200 {
			t.Fatalf("plain presigned PUT: %d %s", resp.StatusCode, out)
		}
	})
	t.Run("no x-amz-content-sha256", func(t *testing.T) {
		// Refused for the missing header before the signature is checked
		// (which would fail too: the header was signed).
		req := signed(t, "GET", "/cover/secret", nil, nil, nil)
		req.Header.Del("X-Amz-Content-Sha256")
		resp, out := send(t, req)
		wantError(t, resp, out, 400, "InvalidRequest")
	})
	t.Run("session token header", func(t *testing.T) {
		resp, out := send(t, signed(t, "GET", "/cover/secret", nil, map[string]string{"X-Amz-Security-Token": "FwoGZXIvYXdzE"}, nil))
		wantError(t, resp, out, 400, "InvalidToken")
	})
	t.Run("session token in a presigned URL", func(t *testing.T) {
		u, err := e.client.Presign(context.Background(), "GET", "cover", "secret", time.Hour, url.Values{"X-Amz-Security-Token": {"FwoGZXIvYXdzE"}})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", u.String(), nil)
		resp, out := send(t, req)
		wantError(t, resp, out, 400, "InvalidToken")
	})
	t.Run("session token in a POST form", func(t *testing.T) {
		fields := append(signedPostFields(t, time.Now().Add(time.Hour), []any{
			map[string]string{"bucket": "cover"}, []string{"eq", "$key", "form"}}, testSecretKey),
			[2]string{"key", "form"}, [2]string{"x-amz-security-token", "FwoGZXIvYXdzE"})
		resp, out := e.post(t, "cover", postForm{fields: fields, fileName: "f", fileData: []byte("x")})
		wantError(t, resp, out, 400, "InvalidToken")
	})
	t.Run("percent-encoded session token name", func(t *testing.T) {
		s, err := sigv4.PresignURL("GET", &url.URL{Scheme: "http", Host: e.srv.Listener.Addr().String(), Path: "/cover/secret",
			RawQuery: "X-Amz-Security%2DToken=abc"}, testAccessKey, testSecretKey, testRegion, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", s, nil)
		resp, out := send(t, req)
		wantError(t, resp, out, 400, "InvalidToken")
	})
	t.Run("presigned URL from the future", func(t *testing.T) {
		s, err := sigv4.PresignURL("GET", &url.URL{Scheme: "http", Host: e.srv.Listener.Addr().String(), Path: "/cover/secret"},
			testAccessKey, testSecretKey, testRegion, time.Now().Add(time.Hour), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", s, nil)
		resp, out := send(t, req)
		wantError(t, resp, out, 403, "AccessDenied")
		if !bytes.Contains(out, []byte("not yet valid")) {
			t.Fatalf("message: %s", out)
		}
	})
}
