package storage

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateBucketMetadata(t *testing.T) {
	s, dirs := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	bi, err := s.UpdateBucketMetadata(ctx, "b", func(md map[string]string) error {
		md["sse"] = "sealed-key-1"
		return nil
	})
	if err != nil || bi.Metadata["sse"] != "sealed-key-1" {
		t.Fatalf("update: %+v %v", bi, err)
	}
	veto := errors.New("no")
	if _, err := s.UpdateBucketMetadata(ctx, "b", func(md map[string]string) error {
		md["sse"] = "changed"
		return veto
	}); !errors.Is(err, veto) {
		t.Fatalf("veto: %v", err)
	}
	s.UpdateBucketMetadata(ctx, "b", func(md map[string]string) error {
		md["policy"] = "{}"
		return nil
	})
	if _, err := s.UpdateBucketMetadata(ctx, "nope", func(map[string]string) error { return nil }); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("missing bucket: %v", err)
	}
	s.Close()
	s2 := reopen(t, dirs)
	bi, err = s2.BucketInfo(ctx, "b")
	if err != nil || bi.Metadata["sse"] != "sealed-key-1" || bi.Metadata["policy"] != "{}" {
		t.Fatalf("after reopen: %+v %v", bi, err)
	}
	// The returned map is a copy.
	bi.Metadata["sse"] = "mutated"
	if again, _ := s2.BucketInfo(ctx, "b"); again.Metadata["sse"] != "sealed-key-1" {
		t.Fatal("BucketInfo shares its map")
	}
}

func reopen(t *testing.T, dirs []string) *Store {
	t.Helper()
	drives := make([]DriveConfig, len(dirs))
	for i, d := range dirs {
		drives[i] = DriveConfig{Path: d, Zone: "z"}
	}
	s, err := Open(context.Background(), Config{Drives: drives, DataShards: 4, ParityShards: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPurgeBucketMetadata checks that a value removed from a bucket's
// metadata is gone from the drives' table files after the purge, not
// only hidden behind a newer record.
func TestPurgeBucketMetadata(t *testing.T) {
	s, dirs := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	secret := "sealed-bucket-key-6f1c9d2a8b3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccdd"
	set := func(fn func(md map[string]string)) {
		t.Helper()
		if _, err := s.UpdateBucketMetadata(ctx, "b", func(md map[string]string) error { fn(md); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	set(func(md map[string]string) { md["sse-key/default"] = secret })
	// A purge while the value is current puts it into table files: the
	// check below can see it there.
	if err := s.PurgeBucketMetadata(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if n := tablesHolding(t, dirs, secret); n == 0 {
		t.Fatal("the value is in no table file before it was removed: the test sees nothing")
	}
	set(func(md map[string]string) { delete(md, "sse-key/default") })
	if n := tablesHolding(t, dirs, secret); n == 0 {
		t.Fatal("a removal alone rewrote the tables: nothing left to check the purge with")
	}
	if err := s.PurgeBucketMetadata(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if n := tablesHolding(t, dirs, secret); n != 0 {
		t.Fatalf("%d table files still hold the removed value after the purge", n)
	}
	if err := s.PurgeBucketMetadata(ctx, "nope"); err != nil {
		t.Fatalf("purge of an absent bucket: %v", err) // nothing to rewrite is fine
	}
}

// tablesHolding counts the pebble table files under dirs holding s.
func tablesHolding(t *testing.T, dirs []string, s string) int {
	t.Helper()
	n := 0
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".sst") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(s)) {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return n
}
