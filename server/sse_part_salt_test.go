package server

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// partFiles returns the part.1 shard files under dir, by drive
// folder (the path up to "/data/").
func partFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() != "part.1" {
			return err
		}
		i := strings.LastIndex(p, string(filepath.Separator)+"data"+string(filepath.Separator))
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if _, dup := out[p[:i]]; dup {
			t.Errorf("two part files on drive %s", p[:i])
		}
		out[p[:i]] = append([]byte(filepath.Base(filepath.Dir(p))+"|"), b...) // data id, then the shard
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSSEPartReuploadFreshKeystream: a part uploaded again under its
// number (a retry after a timeout, or new content: S3 allows both) must
// be sealed under a key of its own. Derived from the upload's object key
// and the part number alone, with nonces counting packages from zero, it
// would be sealed under the same key and nonces: the forbidden nonce
// reuse of AES-GCM and ChaCha20-Poly1305, giving away the XOR of the two
// plaintexts to anyone who saw both ciphertexts on a drive (and, with
// AES-GCM, the means to forge packages). Here the second body differs
// from the first in its last byte only; the stored shards must be
// unrelated. Then the salted parts must read back: a one-part object,
// and a two-part one whose second part was uploaded twice.
func TestSSEPartReuploadFreshKeystream(t *testing.T) {
	dir := t.TempDir()
	_, c := startServerWith(t, Config{DataDir: dir})
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "bkt", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	core := minio.Core{Client: c}
	up, err := core.NewMultipartUpload(ctx, "bkt", "k", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p1 := randBody(1, 1<<20)
	p2 := bytes.Clone(p1)
	p2[len(p2)-1] ^= 1
	if _, err := core.PutObjectPart(ctx, "bkt", "k", up, 1, bytes.NewReader(p1), int64(len(p1)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	before := partFiles(t, dir)
	if _, err := core.PutObjectPart(ctx, "bkt", "k", up, 1, bytes.NewReader(p2), int64(len(p2)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	after := partFiles(t, dir)
	if len(before) == 0 || len(after) == 0 {
		t.Fatalf("found %d and %d part files", len(before), len(after))
	}
	worst := 0.0
	for drv, a := range before {
		b, ok := after[drv]
		if !ok || len(a) != len(b) || len(a) == 0 {
			continue
		}
		ida, _, _ := bytes.Cut(a, []byte("|"))
		idb, _, _ := bytes.Cut(b, []byte("|"))
		if bytes.Equal(ida, idb) {
			t.Fatalf("drive %s: the same data directory %s before and after", drv, ida)
		}
		a, b = a[len(ida)+1:], b[len(idb)+1:]
		same := 0
		for i := range a {
			if a[i] == b[i] {
				same++
			}
		}
		frac := float64(same) / float64(len(a))
		if frac > worst {
			worst = frac
		}
	}
	if worst > 0.5 {
		t.Fatalf("the two ciphertexts of part 1 agree on %.1f%% of their bytes on one drive (a fresh key gives ~0.4%%): the part key and nonces were reused", 100*worst)
	}

	// The salted parts read back: a one-part object (stored as one
	// stream, its salt in the object's record) and one of two parts.
	etag1, err := core.PutObjectPart(ctx, "bkt", "k", up, 1, bytes.NewReader(p2), int64(len(p2)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.CompleteMultipartUpload(ctx, "bkt", "k", up, []minio.CompletePart{{PartNumber: 1, ETag: etag1.ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := getAll(t, c, "bkt", "k", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, p2) {
		t.Fatalf("one-part object: %d bytes, %v", len(got), err)
	}
	up2, err := core.NewMultipartUpload(ctx, "bkt", "k2", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	big := randBody(2, 5<<20)
	var parts []minio.CompletePart
	for i, body := range [][]byte{big, p1, p2} {
		pn := min(i+1, 2) // part 2 uploaded twice, the second upload kept
		pi, err := core.PutObjectPart(ctx, "bkt", "k2", up2, pn, bytes.NewReader(body), int64(len(body)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if i != 1 {
			parts = append(parts, minio.CompletePart{PartNumber: pn, ETag: pi.ETag})
		}
	}
	if _, err := core.CompleteMultipartUpload(ctx, "bkt", "k2", up2, parts, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Clone(big), p2...)
	if got, err := getAll(t, c, "bkt", "k2", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("two-part object: %d bytes (want %d), %v", len(got), len(want), err)
	}
	// A range across the part boundary.
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(int64(len(big))-10, int64(len(big))+10); err != nil {
		t.Fatal(err)
	}
	if got, err := getAll(t, c, "bkt", "k2", opts); err != nil || !bytes.Equal(got, want[len(big)-10:len(big)+11]) {
		t.Fatalf("range across parts: %d bytes, %v", len(got), err)
	}
}
