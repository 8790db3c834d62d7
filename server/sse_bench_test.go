package server

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/sse"
	"github.com/objstore/objstore/storage"
)

// BenchmarkSSEPath measures the whole object path for 64 MiB objects,
// with and without encryption: "store" runs the object layer (erasure
// 4+2 onto six drive folders) with the plain body or sse.EncryptReader's
// output, reading back through WriteRange or WriteRange into
// sse.DecryptWriter; "http" runs PUT and GET through the S3 API with
// minio-go (every object there is encrypted, SSE-S3).
//
//	go test ./server/ -run '^$' -bench SSEPath -benchtime 5x
func BenchmarkSSEPath(b *testing.B) {
	const size = 64 << 20
	ctx := context.Background()
	srv, c := startSSEServer(b, b.TempDir(), true)
	if err := c.MakeBucket(ctx, "bench", minio.MakeBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	body := randBody(1, size)
	store := srv.Store()
	key, err := sse.NewObjectKey()
	if err != nil {
		b.Fatal(err)
	}
	for _, enc := range []bool{false, true} {
		name := "plain"
		if enc {
			name = "encrypted"
		}
		b.Run("store/put/"+name+"/64MiB", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				var r io.Reader = bytes.NewReader(body)
				n := int64(size)
				if enc {
					r, _ = sse.EncryptReader(r, key, 0)
					n = sse.CiphertextSize(size)
				}
				if _, err := store.PutObject(ctx, "bench", name, r, storage.PutOptions{Size: n}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("store/get/"+name+"/64MiB", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				rd, err := store.OpenObject(ctx, "bench", name, storage.GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				defer rd.Close() // the store outlives the loop; pins only hold back removals
				if !enc {
					if err := rd.WriteRange(ctx, io.Discard, 0, size); err != nil {
						b.Fatal(err)
					}
					continue
				}
				span, _ := sse.Range(0, size, size)
				dw, _ := sse.DecryptWriter(io.Discard, key, 0, span)
				if err := rd.WriteRange(ctx, dw, span.CipherOffset, span.CipherLength); err != nil {
					b.Fatal(err)
				}
				if err := dw.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("http/put/SSE-S3/64MiB", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := c.PutObject(ctx, "bench", "http", bytes.NewReader(body), size, minio.PutObjectOptions{DisableMultipart: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http/get/SSE-S3/64MiB", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			o, err := c.GetObject(ctx, "bench", "http", minio.GetObjectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, o); err != nil || n != size {
				b.Fatal(n, err)
			}
			o.Close()
		}
	})
}
