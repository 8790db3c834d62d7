package server

import (
	"bytes"
	"context"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/sse"
	"github.com/objstore/objstore/storage"
)

// BenchmarkDecryptGET puts what an encrypted GET costs next to a plain
// one on the same server, for 64 MiB objects (erasure 4+2, six drive
// folders).
//
// http/plain reads, with minio-go, an object stored without an encryption
// envelope (put through the object layer, as objects from before
// encryption are): s3api streams it without decrypting. http/SSE-S3 reads
// the same bytes PUT through the S3 API, so sealed under SSE-S3 by
// default: s3api opens every package. store/plain and store/SSE-S3 are
// the object layer alone into io.Discard, the encrypted one through an
// sse.DecryptPipeline the way s3api's plainReader drives it (storage's
// WriteRange writes the ciphertext one erasure block shard at a time).
//
// Besides MB/s each reports cpu-ms/op, the process's CPU time (user and
// system, client included) per GET: on a machine shared with other jobs
// the wall-clock figures swing by 2x, the CPU spent much less.
//
//	go test ./server -run '^$' -bench DecryptGET -benchtime 20x -count 3
func BenchmarkDecryptGET(b *testing.B) {
	const size = 64 << 20
	ctx := context.Background()
	srv, c := startSSEServer(b, b.TempDir(), true)
	if err := c.MakeBucket(ctx, "bench", minio.MakeBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	body := randBody(3, size)
	store := srv.Store()
	if _, err := store.PutObject(ctx, "bench", "plain", bytes.NewReader(body), storage.PutOptions{Size: size}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "bench", "sse", bytes.NewReader(body), size, minio.PutObjectOptions{DisableMultipart: true}); err != nil {
		b.Fatal(err)
	}
	key, err := sse.NewObjectKey()
	if err != nil {
		b.Fatal(err)
	}
	enc, err := sse.EncryptReader(bytes.NewReader(body), key, 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.PutObject(ctx, "bench", "store-sse", enc, storage.PutOptions{Size: sse.CiphertextSize(size)}); err != nil {
		b.Fatal(err)
	}
	// Both HTTP objects must read back as the body, or the comparison
	// compares nothing.
	for _, k := range []string{"plain", "sse"} {
		got, err := getAll(b, c, "bench", k, minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, body) {
			b.Fatalf("%s: read back %d bytes, %v", k, len(got), err)
		}
	}

	for _, name := range []string{"plain", "SSE-S3"} {
		b.Run("store/"+name+"/64MiB", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if name == "plain" {
					rd, err := store.OpenObject(ctx, "bench", "plain", storage.GetOptions{})
					if err != nil {
						b.Fatal(err)
					}
					if err := rd.WriteRange(ctx, io.Discard, 0, size); err != nil {
						b.Fatal(err)
					}
					rd.Close()
					continue
				}
				rd, err := store.OpenObject(ctx, "bench", "store-sse", storage.GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				span, _ := sse.Range(0, size, size)
				pl := sse.NewDecryptPipeline(io.Discard)
				dw, err := pl.DecryptWriter(key, 0, span)
				if err != nil {
					b.Fatal(err)
				}
				werr := rd.WriteRange(ctx, dw, span.CipherOffset, span.CipherLength)
				rd.Close()
				cerr := dw.Close()
				if perr := pl.Close(); werr != nil || cerr != nil || perr != nil {
					b.Fatal(werr, cerr, perr)
				}
			}
		})
	}
	for _, name := range []string{"plain", "SSE-S3"} {
		object := "plain"
		if name == "SSE-S3" {
			object = "sse"
		}
		b.Run("http/"+name+"/64MiB", func(b *testing.B) {
			// The raw body read with 1 MiB buffers, as a client streaming
			// to a file does; minio.Object through io.Copy would read it
			// 8 KiB at a time and measure mostly the client.
			core := minio.Core{Client: c}
			buf := make([]byte, 1<<20)
			b.SetBytes(size)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				rc, _, _, err := core.GetObject(ctx, "bench", object, minio.GetObjectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{rc}, buf)
				rc.Close()
				if err != nil || n != size {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// reportCPU starts counting the process's CPU time; the function it
// returns reports it per operation as cpu-ms/op.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		}
	}
}

// cpuTime is the user plus system time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
