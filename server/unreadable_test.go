package server

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestUnreadableObjectIsAnError: an object whose first block cannot be
// read (three of six shards corrupt) answers an error, not a 200 with
// its headers and nothing after them.
func TestUnreadableObjectIsAnError(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, c := startServerWith(t, Config{DataDir: dir})
	if err := c.MakeBucket(ctx, "rot", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := randBody(3, 1<<20)
	if _, err := c.PutObject(ctx, "rot", "obj", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	var shards []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "part.1" {
			shards = append(shards, path)
		}
		return nil
	})
	if len(shards) != 6 {
		t.Fatalf("found %d shard files, want 6", len(shards))
	}
	for _, p := range shards[:3] {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, 64<<10), 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	resp, got := signedDo(t, srv, "GET", "/rot/obj", nil, nil)
	if resp.StatusCode < 500 || !strings.Contains(string(got), "<Error>") {
		t.Fatalf("GET of an unreadable object: %d, %d bytes %.200q", resp.StatusCode, len(got), got)
	}
}
