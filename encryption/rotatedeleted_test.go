package encryption

import (
	"context"
	"testing"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/storage"
)

// deletingStore drops bucket "b" right after listing it, as a
// DeleteBucket racing the rotation does.
type deletingStore struct{ *memStore }

func (d deletingStore) ListBuckets(ctx context.Context) ([]storage.BucketInfo, error) {
	out, err := d.memStore.ListBuckets(ctx)
	d.mu.Lock()
	delete(d.buckets, "b")
	d.mu.Unlock()
	return out, err
}

// TestRotateBucketDeletedMeanwhile: a bucket with no key, deleted between
// the listing and its visit, is no rewrap failure.
func TestRotateBucketDeletedMeanwhile(t *testing.T) {
	ctx := context.Background()
	_, st, k := newTestKeys(t)
	keys, err := New(k, deletingStore{st}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := keys.RotateMasterKey(ctx, kms.DefaultKeyID)
	if err != nil || len(rep.Failed) > 0 {
		t.Fatalf("rotate: %+v, %v", rep, err)
	}
}
