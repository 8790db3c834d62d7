package server

import (
	"bytes"
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/objstore/objstore/storage"
)

// TestEnvelopeRemoved: a record whose encryption envelope was removed
// on the drives (an attacker with disk access, say) is refused as
// corrupt; before, its ciphertext was served as the object, SSE-C ones
// with no key asked for.
func TestEnvelopeRemoved(t *testing.T) {
	ctx := context.Background()
	srv, c := startSSEServer(t, t.TempDir(), true)
	if err := c.MakeBucket(ctx, "env", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{5}, 32))
	body := []byte("a secret that must never come back as ciphertext")
	for _, sse := range []encrypt.ServerSide{encrypt.NewSSE(), ssec} {
		if _, err := c.PutObject(ctx, "env", "o", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ServerSideEncryption: sse}); err != nil {
			t.Fatal(err)
		}
		info, err := srv.Store().ObjectInfo(ctx, "env", "o", storage.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		md := maps.Clone(info.Metadata)
		maps.DeleteFunc(md, func(k, _ string) bool { return strings.HasPrefix(k, "x-objstore-sse") })
		if len(md) == len(info.Metadata) {
			t.Fatalf("no envelope in %v", info.Metadata)
		}
		if _, err := srv.Store().UpdateMetadata(ctx, "env", "o", info.VersionID, md, nil); err != nil {
			t.Fatal(err)
		}
		got, err := getAll(t, c, "env", "o", minio.GetObjectOptions{})
		if errCode(err) != "InternalError" {
			t.Fatalf("GET of a record without its envelope: %d bytes %q, %v", len(got), got, err)
		}
		if _, err := c.StatObject(ctx, "env", "o", minio.StatObjectOptions{}); err == nil {
			t.Fatal("HEAD of a record without its envelope succeeded")
		}
	}
}
