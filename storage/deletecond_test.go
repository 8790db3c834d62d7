package storage

import (
	"context"
	"errors"
	"testing"
)

// TestDeletePrecondition: a delete's precondition sees the version it
// would remove and, failing, leaves it in place; it is not called for a
// missing object.
func TestDeletePrecondition(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "eu")
	put(t, s, "b", "k", []byte("keep me"))
	info, err := s.ObjectInfo(ctx, "b", "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	refuse := errors.New("not this one")
	var seen *ObjectInfo
	err = s.DeleteObject(ctx, "b", "k", DeleteOptions{Precondition: func(cur *ObjectInfo) error {
		seen = cur
		return refuse
	}})
	if !errors.Is(err, refuse) {
		t.Fatalf("delete with a failing precondition: %v", err)
	}
	if seen == nil || seen.ETag != info.ETag || seen.Size != info.Size {
		t.Fatalf("precondition saw %+v, want the current version %+v", seen, info)
	}
	if got, err := get(t, s, "b", "k", 0, -1); err != nil || string(got) != "keep me" {
		t.Fatalf("after a refused delete: %q, %v", got, err)
	}
	if err := s.DeleteObject(ctx, "b", "k", DeleteOptions{Precondition: func(*ObjectInfo) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	called := false
	err = s.DeleteObject(ctx, "b", "k", DeleteOptions{Precondition: func(*ObjectInfo) error { called = true; return nil }})
	if !errors.Is(err, ErrObjectNotFound) || called {
		t.Fatalf("delete of a missing object: %v, precondition called %t", err, called)
	}
}
