package s3api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// benchStore measures the handler, not a store: PUT bodies are read and
// dropped, GET bodies come from one shared buffer.
type benchStore struct {
	*fakeStore
	data []byte
	etag string
}

func (s *benchStore) PutObject(_ context.Context, bucket, key string, body io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error) {
	n, err := io.Copy(io.Discard, body)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if n != opts.Size {
		return storage.ObjectInfo{}, storage.ErrIncompleteBody
	}
	etag, _, err := opts.Finish()
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	return storage.ObjectInfo{Bucket: bucket, Key: key, Size: n, ETag: etag, ModTime: time.Now()}, nil
}

func (s *benchStore) OpenObject(_ context.Context, bucket, key string, _ storage.GetOptions) (storage.ObjectReader, error) {
	return &fakeReader{info: storage.ObjectInfo{Bucket: bucket, Key: key, Size: int64(len(s.data)), ETag: s.etag,
		ModTime: time.Now(), Metadata: map[string]string{"content-type": "binary/octet-stream"}}, data: s.data}, nil
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(c int)           { w.code = c }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func benchHandler(b *testing.B, data []byte) *Handler {
	b.Helper()
	fs := newFakeStore()
	if err := fs.MakeBucket(context.Background(), "bench", ""); err != nil {
		b.Fatal(err)
	}
	h, err := New(Config{Store: &benchStore{fakeStore: fs, data: data, etag: md5hex(data)},
		Credentials: func(string) (string, bool) { return testSecretKey, true }})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// signedTemplate signs a request once; the signature stays valid for
// every iteration because the headers do not change.
func signedTemplate(b *testing.B, method, path string, payloadHash string, size int) http.Header {
	b.Helper()
	req, _ := http.NewRequest(method, "http://bench.local"+path, nil)
	req.ContentLength = int64(size)
	if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), payloadHash); err != nil {
		b.Fatal(err)
	}
	return req.Header
}

func BenchmarkPutObject(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 16 << 20} {
		data := bytes.Repeat([]byte{0xa5}, size)
		for _, signed := range []bool{false, true} {
			name := fmt.Sprintf("%s/unsigned", sizeName(size))
			hash := ""
			if signed {
				name = fmt.Sprintf("%s/sha256", sizeName(size))
				sum := sha256.Sum256(data)
				hash = hex.EncodeToString(sum[:])
			}
			b.Run(name, func(b *testing.B) {
				h := benchHandler(b, nil)
				hdr := signedTemplate(b, "PUT", "/bench/key", hash, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					req, _ := http.NewRequest("PUT", "http://bench.local/bench/key", bytes.NewReader(data))
					req.Header = hdr.Clone()
					w := &discardWriter{h: http.Header{}}
					h.ServeHTTP(w, req)
					if w.code != 200 {
						b.Fatalf("status %d", w.code)
					}
				}
			})
		}
	}
}

func BenchmarkGetObject(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 16 << 20} {
		data := bytes.Repeat([]byte{0x5a}, size)
		b.Run(sizeName(size), func(b *testing.B) {
			h := benchHandler(b, data)
			hdr := signedTemplate(b, "GET", "/bench/key", sha256Empty, 0)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest("GET", "http://bench.local/bench/key", nil)
				req.Header = hdr.Clone()
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, req)
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}

const sha256Empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
