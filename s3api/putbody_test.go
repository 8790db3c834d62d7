package s3api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// Bodies of at least parallelHashMin bytes are hashed by a
// checksum.ParallelReader, which hands bytes to storage before their
// digests are known. These tests hold it to the same contract as the
// serial path: nothing is stored unless every digest matched.

func sha256B64(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func TestLargePutIntegrity(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("large")
	data := randomBytes(t, 11, 3<<20+5)
	if int64(len(data)) < parallelHashMin {
		t.Fatalf("test body of %d bytes is below parallelHashMin", len(data))
	}
	stored := func(key string) []byte {
		if o, ok := e.store.buckets["large"].objects[key]; ok {
			return o.data
		}
		return nil
	}

	tests := []struct {
		name   string
		header map[string]string
		status int
		code   string // "" for success
	}{
		{"content-md5 good", map[string]string{"Content-MD5": md5b64(data)}, 200, ""},
		{"content-md5 mismatch", map[string]string{"Content-MD5": md5b64(data[1:])}, 400, "BadDigest"},
		{"crc32c good", map[string]string{"x-amz-checksum-crc32c": crc32cB64(data)}, 200, ""},
		{"crc32c mismatch", map[string]string{"x-amz-checksum-crc32c": crc32cB64(data[:len(data)-1])}, 400, "BadDigest"},
		{"sha256 good with content-md5", map[string]string{"x-amz-checksum-sha256": sha256B64(data), "Content-MD5": md5b64(data)}, 200, ""},
		{"sha256 mismatch", map[string]string{"x-amz-checksum-sha256": sha256B64(data[:1])}, 400, "BadDigest"},
		{"sha256 good, content-md5 mismatch", map[string]string{"x-amz-checksum-sha256": sha256B64(data), "Content-MD5": md5b64(nil)}, 400, "BadDigest"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "k" + string(rune('a'+i))
			resp, body := e.do(rawRequest{method: "PUT", path: "/large/" + key, body: data, header: tt.header})
			if tt.code != "" {
				wantError(t, resp, body, tt.status, tt.code)
				if stored(key) != nil {
					t.Fatal("object stored despite a digest mismatch")
				}
				return
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("ETag"); got != `"`+md5hex(data)+`"` {
				t.Fatalf("ETag %s, want the MD5 %s", got, md5hex(data))
			}
			if !bytes.Equal(stored(key), data) {
				t.Fatalf("stored %d bytes, want %d", len(stored(key)), len(data))
			}
		})
	}

	t.Run("payload hash mismatch", func(t *testing.T) {
		req, _ := http.NewRequest("PUT", e.srv.URL+"/large/payload", bytes.NewReader(data))
		wrong := sha256.Sum256(data[:len(data)-1])
		if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), hex.EncodeToString(wrong[:])); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, 400, "XAmzContentSHA256Mismatch")
		if stored("payload") != nil {
			t.Fatal("object stored despite a payload hash mismatch")
		}
	})

	for _, mode := range []struct {
		name     string
		unsigned bool
		checksum minio.ChecksumType
	}{
		{"signed chunks", false, minio.ChecksumNone},
		{"signed chunks with crc32c trailer", false, minio.ChecksumCRC32C},
		{"unsigned chunks with sha256 trailer", true, minio.ChecksumSHA256},
	} {
		t.Run(mode.name, func(t *testing.T) {
			info, err := e.client.PutObject(ctx, "large", "minio", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
				Checksum: mode.checksum, DisableContentSha256: mode.unsigned, DisableMultipart: true})
			if err != nil {
				t.Fatal(err)
			}
			if info.ETag != md5hex(data) || !bytes.Equal(stored("minio"), data) {
				t.Fatalf("ETag %s, stored %d bytes", info.ETag, len(stored("minio")))
			}
		})
	}

	t.Run("tampered signed chunk", func(t *testing.T) {
		// minio-go signs 64 KiB chunks; a flipped bit in chunk 40 (2.5
		// MiB in, after storage has taken most of the body) must fail the
		// upload, and nothing may be stored.
		tr := &tamperTransport{base: http.DefaultTransport, at: 40*(chunkFraming+64<<10) + 88 + 1000}
		c, err := minio.New(e.srv.Listener.Addr().String(), &minio.Options{
			Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""), Region: testRegion,
			MaxRetries: 1, Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.PutObject(ctx, "large", "tampered", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true})
		var er minio.ErrorResponse
		if !errors.As(err, &er) || er.Code != "SignatureDoesNotMatch" {
			t.Fatalf("err = %v, want SignatureDoesNotMatch", err)
		}
		if !tr.flipped.Load() {
			t.Fatal("the transport did not tamper with the body")
		}
		if stored("tampered") != nil {
			t.Fatal("object stored despite a bad chunk signature")
		}
	})
}

// chunkFraming is the bytes around each 64 KiB signed chunk's data:
// "10000;chunk-signature=<64 hex>\r\n" before it and "\r\n" after.
const chunkFraming = len("10000;chunk-signature=") + 64 + 2 + 2

// tamperTransport flips one bit of a request body at byte offset at.
type tamperTransport struct {
	base    http.RoundTripper
	at      int
	flipped atomic.Bool
}

func (t *tamperTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && req.Body != nil {
		req = req.Clone(req.Context())
		req.Body = &flipBody{ReadCloser: req.Body, at: t.at, done: &t.flipped}
	}
	return t.base.RoundTrip(req)
}

type flipBody struct {
	io.ReadCloser
	off, at int
	done    *atomic.Bool
}

func (f *flipBody) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if f.at >= f.off && f.at < f.off+n {
		p[f.at-f.off] ^= 0x10
		f.done.Store(true)
	}
	f.off += n
	return n, err
}

// failingStore reads part of a PUT body, then fails the write, as a lost
// write quorum does half-way through an upload.
type failingStore struct {
	*fakeStore
	after int64
}

func (s *failingStore) PutObject(_ context.Context, _, _ string, body io.Reader, _ storage.PutOptions) (storage.ObjectInfo, error) {
	if _, err := io.CopyN(io.Discard, body, s.after); err != nil {
		return storage.ObjectInfo{}, err
	}
	return storage.ObjectInfo{}, storage.ErrWriteQuorum
}

func TestLargePutStoreFailsMidBody(t *testing.T) {
	// The handler returns while the body's reader goroutine may be
	// blocked; it must stop it before returning (net/http forbids reading
	// a body after that), and the client gets the storage error. Run
	// with -race to see the body's reads ordered before the return.
	e := newTestEnv(t)
	e.mustMakeBucket("fail")
	h, err := New(Config{Store: &failingStore{fakeStore: e.store, after: 1 << 20},
		Credentials: func(string) (string, bool) { return testSecretKey, true },
		Logger:      slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	data := randomBytes(t, 12, 8<<20)
	for _, size := range []int{len(data), int(parallelHashMin)} {
		req, _ := http.NewRequest("PUT", srv.URL+"/fail/obj", bytes.NewReader(data[:size]))
		sum := sha256.Sum256(data[:size])
		if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			// The server may close the connection before the client sent
			// the rest of the body; that is an answer too.
			if !strings.Contains(err.Error(), "connection reset") && !strings.Contains(err.Error(), "broken pipe") {
				t.Fatal(err)
			}
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp, body, 503, "ServiceUnavailable")
	}
}
