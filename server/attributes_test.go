package server

import (
	"bytes"
	"context"
	"math/rand"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// TestGetObjectAttributesEncrypted checks GetObjectAttributes over the
// real store with encryption on: sizes are the plaintext's (the store
// holds sealed packages), and an SSE-C object needs its key.
func TestGetObjectAttributesEncrypted(t *testing.T) {
	ctx := context.Background()
	srv, _ := startSSEServer(t, t.TempDir(), true)
	user, secret := srv.Credentials()
	c, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""), Region: "us-east-1", TrailingHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Keys().CreateKey(ctx, "tenant-a"); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "attrs", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 11<<20)
	rand.New(rand.NewSource(5)).Read(data)
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{9}, 32))
	kmsKey, _ := encrypt.NewSSEKMS("tenant-a", nil)
	for _, tc := range []struct {
		name string
		sse  encrypt.ServerSide
	}{{"SSE-S3", nil}, {"SSE-KMS", kmsKey}, {"SSE-C", ssec}} {
		t.Run(tc.name, func(t *testing.T) {
			up, err := c.PutObject(ctx, "attrs", tc.name, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
				PartSize: 5 << 20, Checksum: minio.ChecksumCRC32C, ServerSideEncryption: tc.sse})
			if err != nil {
				t.Fatal(err)
			}
			if tc.sse != nil && tc.sse.Type() == encrypt.SSEC {
				_, err := c.GetObjectAttributes(ctx, "attrs", tc.name, minio.ObjectAttributesOptions{})
				if errCode(err) != "InvalidRequest" {
					t.Fatalf("without the SSE-C key: %v", err)
				}
			}
			a, err := c.GetObjectAttributes(ctx, "attrs", tc.name, minio.ObjectAttributesOptions{ServerSideEncryption: tc.sse})
			if err != nil {
				t.Fatal(err)
			}
			if a.ETag != up.ETag || a.ObjectSize != len(data) || a.ObjectParts.PartsCount != 3 || len(a.ObjectParts.Parts) != 3 {
				t.Fatalf("ETag %q (want %q) size %d parts %+v", a.ETag, up.ETag, a.ObjectSize, a.ObjectParts)
			}
			for i, want := range []int{5 << 20, 5 << 20, 1 << 20} {
				if p := a.ObjectParts.Parts[i]; p.Size != want || p.ChecksumCRC32C == "" {
					t.Fatalf("part %d: %+v, want size %d with a CRC32C", i+1, *p, want)
				}
			}
			if a.Checksum.ChecksumCRC32C == "" || a.Checksum.ChecksumType != "COMPOSITE" {
				t.Fatalf("checksum %+v", a.Checksum)
			}
		})
	}
}
