package storage

import (
	"context"
	"errors"
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
