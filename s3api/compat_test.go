package s3api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// Regression tests for what the real-client gate (compat/run.sh) found.
// Each names the client that broke.

// wireHeaderNames sends a signed request over a plain TCP connection and
// returns the response's header names exactly as they crossed the wire:
// Go's client canonicalises them, which would hide a case difference.
func wireHeaderNames(t *testing.T, e *testEnv, method, path string) []string {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(nil)
	if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req.Close = true
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("status line %q: %v", status, err)
	}
	var names []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return names
		}
		name, _, _ := strings.Cut(line, ":")
		names = append(names, name)
	}
}

// TestUserMetadataLowerCaseOnTheWire: the aws cli (botocore) keeps the
// part of a metadata header after x-amz-meta- as it arrives, so a
// canonicalised X-Amz-Meta-K came back as Metadata {"K": "v"} where AWS
// gives {"k": "v"}.
func TestUserMetadataLowerCaseOnTheWire(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("meta")
	e.mustPut("meta", "obj", []byte("x"), minio.PutObjectOptions{UserMetadata: map[string]string{"k": "v", "Two-Words": "w"}})
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		t.Run(method, func(t *testing.T) {
			names := wireHeaderNames(t, e, method, "/meta/obj")
			found := map[string]bool{}
			for _, n := range names {
				if strings.HasPrefix(strings.ToLower(n), "x-amz-meta-") {
					found[n] = true
				}
			}
			if !found["x-amz-meta-k"] || !found["x-amz-meta-two-words"] || len(found) != 2 {
				t.Fatalf("metadata header names on the wire %v, want x-amz-meta-k and x-amz-meta-two-words", names)
			}
		})
	}
	// Go clients still see them through the canonical form.
	info, err := e.client.StatObject(context.Background(), "meta", "obj", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.UserMetadata["K"] != "v" {
		t.Fatalf("minio-go UserMetadata %v", info.UserMetadata)
	}
}

// TestSelfCopyRestatingAttributes: minio-go's functional tests (and
// tools that encrypt existing objects in place) copy an object onto
// itself with x-amz-server-side-encryption and no metadata directive.
// AWS accepts that as a change of encryption attributes; so must we,
// and likewise a storage class.
func TestSelfCopyRestatingAttributes(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("self")
	data := randomBytes(t, 9, 1000)
	e.mustPut("self", "obj", data, minio.PutObjectOptions{UserMetadata: map[string]string{"keep": "me"}})
	tests := []struct {
		name   string
		header map[string]string
		code   string // "" for success
	}{
		{name: "nothing restated", code: "InvalidRequest"},
		{name: "COPY directive only", header: map[string]string{"x-amz-metadata-directive": "COPY"}, code: "InvalidRequest"},
		{name: "SSE-S3", header: map[string]string{"x-amz-server-side-encryption": "AES256"}},
		{name: "storage class", header: map[string]string{"x-amz-storage-class": "STANDARD"}},
		// Not served, so refused rather than silently dropped.
		{name: "website redirect", header: map[string]string{"x-amz-website-redirect-location": "/other"}, code: "NotImplemented"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"x-amz-copy-source": "/self/obj"}
			maps.Copy(hdr, tc.header)
			resp, body := e.do(rawRequest{method: http.MethodPut, path: "/self/obj", header: hdr})
			if tc.code != "" {
				status := http.StatusBadRequest
				if tc.code == "NotImplemented" {
					status = http.StatusNotImplemented
				}
				wantError(t, resp, body, status, tc.code)
				return
			}
			if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(md5hex(data))) {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			o := e.store.buckets["self"].objects["obj"]
			if !bytes.Equal(o.data, data) || o.info.Metadata["x-amz-meta-keep"] != "me" {
				t.Fatalf("object changed: %d bytes, metadata %v", len(o.data), o.info.Metadata)
			}
		})
	}
	// The minio-go functional test's call.
	if _, err := e.client.CopyObject(context.Background(), minio.CopyDestOptions{Bucket: "self", Object: "obj", Encryption: encrypt.NewSSE()},
		minio.CopySrcOptions{Bucket: "self", Object: "obj"}); err != nil {
		t.Fatal(err)
	}
}

// TestContinueForEmptyBody: botocore (aws cli sync of a tree with empty
// files) sends Expect: 100-continue with Content-Length: 0. net/http
// alone would skip the 100 Continue, and botocore then misread the
// next response on that connection and stalled for 60 s. The server
// must send the interim response first.
func TestContinueForEmptyBody(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("cont")
	tests := []struct {
		name, expect string
		wantContinue bool
	}{
		{name: "expect continue", expect: "100-continue", wantContinue: true},
		{name: "no expectation", expect: "", wantContinue: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPut, e.srv.URL+"/cont/empty", http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			if tc.expect != "" {
				req.Header.Set("Expect", tc.expect)
			}
			req.Header.Set("Content-Length", "0")
			sum := sha256.Sum256(nil)
			if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), hex.EncodeToString(sum[:])); err != nil {
				t.Fatal(err)
			}
			conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := req.Write(conn); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			first, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.HasPrefix(first, "HTTP/1.1 100 "); got != tc.wantContinue {
				t.Fatalf("first status line %q, want a 100 Continue: %v", first, tc.wantContinue)
			}
			if tc.wantContinue {
				// Skip the interim response's header block.
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						t.Fatal(err)
					}
					if line == "\r\n" {
						break
					}
				}
				first, err = br.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
			}
			if !strings.HasPrefix(first, "HTTP/1.1 200 ") {
				t.Fatalf("final status line %q", first)
			}
		})
	}
}

// TestListWithMetadata: minio-go's ListObjects WithMetadata (and the
// functional test testListUnsorted) asks ListObjectsV2 for metadata=true,
// MinIO's extension, and expects each object's x-amz-meta-* back.
func TestListWithMetadata(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("listmeta")
	e.mustPut("listmeta", "with", []byte("x"), minio.PutObjectOptions{UserMetadata: map[string]string{"Marker": "m1"}})
	e.mustPut("listmeta", "without", []byte("y"), minio.PutObjectOptions{})
	tests := []struct {
		name string
		opts minio.ListObjectsOptions
		want map[string]string // key -> Marker
	}{
		{name: "metadata=true", opts: minio.ListObjectsOptions{WithMetadata: true}, want: map[string]string{"with": "m1", "without": ""}},
		{name: "plain", opts: minio.ListObjectsOptions{}, want: map[string]string{"with": "", "without": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for o := range e.client.ListObjects(context.Background(), "listmeta", tc.opts) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				got[o.Key] = o.UserMetadataStripped["Marker"]
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("object layer lists without metadata", func(t *testing.T) {
		// *storage.Store lists from version records without their
		// metadata; the handler must fetch it when asked.
		h, err := New(Config{Store: &metadataFreeLister{e.store}, Credentials: func(string) (string, bool) { return testSecretKey, true }})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		c, err := minio.New(srv.Listener.Addr().String(), &minio.Options{Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""), Region: testRegion})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for o := range c.ListObjects(context.Background(), "listmeta", minio.ListObjectsOptions{WithMetadata: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			got[o.Key] = o.UserMetadataStripped["Marker"]
		}
		if want := map[string]string{"with": "m1", "without": ""}; !maps.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
	t.Run("names that are not XML names are left out", func(t *testing.T) {
		b, err := xml.Marshal(objectItem{Key: "k", UserMetadata: listMetadata{"x-amz-meta-ok": "1<", "x-amz-meta-a+b": "2"}})
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.Contains(s, "<UserMetadata><X-Amz-Meta-Ok>1&lt;</X-Amz-Meta-Ok></UserMetadata>") || strings.Contains(s, "a+b") {
			t.Fatalf("rendered %s", s)
		}
	})
}

// metadataFreeLister lists like *storage.Store: without metadata.
type metadataFreeLister struct{ *fakeStore }

func (s *metadataFreeLister) ListObjects(ctx context.Context, bucket string, opts storage.ListOptions) (storage.ListResult, error) {
	lr, err := s.fakeStore.ListObjects(ctx, bucket, opts)
	for i := range lr.Objects {
		lr.Objects[i].Metadata = nil
	}
	return lr, err
}
