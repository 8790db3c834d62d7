package server

import (
	"bytes"
	"context"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// TestCompleteRetried: a CompleteMultipartUpload sent again after it
// succeeded (its client timed out waiting for the answer) gets the same
// answer, as from AWS, through the real store and every encryption
// mode; an SSE-C retry must still carry the object's key.
func TestCompleteRetried(t *testing.T) {
	ctx := context.Background()
	srv, c := startSSEServer(t, t.TempDir(), true)
	if err := srv.Keys().CreateKey(ctx, "tenant-r"); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "retry", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	core := &minio.Core{Client: c}
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{9}, 32))
	kms, _ := encrypt.NewSSEKMS("tenant-r", nil)
	part1, part2 := randBody(1, 5<<20), randBody(2, 1000)
	for _, mode := range []struct {
		name string
		sse  encrypt.ServerSide
	}{{"SSE-S3", encrypt.NewSSE()}, {"SSE-KMS", kms}, {"SSE-C", ssec}} {
		t.Run(mode.name, func(t *testing.T) {
			key := "obj-" + mode.name
			id, err := core.NewMultipartUpload(ctx, "retry", key, minio.PutObjectOptions{ServerSideEncryption: mode.sse})
			if err != nil {
				t.Fatal(err)
			}
			var parts []minio.CompletePart
			for n, body := range [][]byte{part1, part2} {
				p, err := core.PutObjectPart(ctx, "retry", key, id, n+1, bytes.NewReader(body), int64(len(body)), minio.PutObjectPartOptions{SSE: mode.sse})
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag})
			}
			opts := minio.PutObjectOptions{ServerSideEncryption: mode.sse}
			first, err := core.CompleteMultipartUpload(ctx, "retry", key, id, parts, opts)
			if err != nil {
				t.Fatal(err)
			}
			again, err := core.CompleteMultipartUpload(ctx, "retry", key, id, parts, opts)
			if err != nil || again.ETag != first.ETag {
				t.Fatalf("retry: %+v, %v; first %+v", again, err, first)
			}
			if _, err := core.CompleteMultipartUpload(ctx, "retry", key, id, parts[:1], opts); errCode(err) != "NoSuchUpload" {
				t.Fatalf("retry with other parts: %v", err)
			}
			if mode.sse == ssec {
				wrong, _ := encrypt.NewSSEC(bytes.Repeat([]byte{8}, 32))
				if _, err := core.CompleteMultipartUpload(ctx, "retry", key, id, parts, minio.PutObjectOptions{ServerSideEncryption: wrong}); err == nil {
					t.Fatal("retry with another SSE-C key accepted")
				}
			}
			var read minio.GetObjectOptions
			if mode.sse == ssec {
				read.ServerSideEncryption = ssec
			}
			got, err := getAll(t, c, "retry", key, read)
			if err != nil || !bytes.Equal(got, append(bytes.Clone(part1), part2...)) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
			// Once the object is replaced, the upload is no more.
			if _, err := c.PutObject(ctx, "retry", key, bytes.NewReader([]byte("new")), 3, minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := core.CompleteMultipartUpload(ctx, "retry", key, id, parts, opts); errCode(err) != "NoSuchUpload" {
				t.Fatalf("retry after an overwrite: %v", err)
			}
		})
	}
}
