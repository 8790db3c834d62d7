package encryption

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/storage"
)

// memStore is the bucket metadata part of the object layer, in memory,
// with the same locking contract as storage.Store.UpdateBucketMetadata.
type memStore struct {
	mu      sync.Mutex
	buckets map[string]map[string]string
	objects int
}

func (m *memStore) BucketInfo(_ context.Context, b string) (storage.BucketInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.buckets[b]
	if !ok {
		return storage.BucketInfo{}, storage.ErrBucketNotFound
	}
	return storage.BucketInfo{Name: b, Metadata: maps.Clone(md)}, nil
}

// PurgeBucketMetadata has nothing to do: memStore keeps no old copies.
func (m *memStore) PurgeBucketMetadata(context.Context, string) error { return nil }

func (m *memStore) ListBuckets(ctx context.Context) ([]storage.BucketInfo, error) {
	m.mu.Lock()
	names := make([]string, 0, len(m.buckets))
	for b := range m.buckets {
		names = append(names, b)
	}
	m.mu.Unlock()
	var out []storage.BucketInfo
	for _, b := range names {
		i, _ := m.BucketInfo(ctx, b)
		out = append(out, i)
	}
	return out, nil
}

func (m *memStore) UpdateBucketMetadata(_ context.Context, b string, fn func(map[string]string) error) (storage.BucketInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.buckets[b]
	if !ok {
		return storage.BucketInfo{}, storage.ErrBucketNotFound
	}
	md = maps.Clone(md)
	if err := fn(md); err != nil {
		return storage.BucketInfo{}, err
	}
	m.buckets[b] = md
	return storage.BucketInfo{Name: b, Metadata: maps.Clone(md)}, nil
}

func (m *memStore) ListObjects(context.Context, string, storage.ListOptions) (storage.ListResult, error) {
	objs := make([]storage.ObjectInfo, m.objects)
	return storage.ListResult{Objects: objs}, nil
}

func (m *memStore) ListMultipartUploads(context.Context, string, storage.ListUploadsOptions) (storage.ListUploadsResult, error) {
	return storage.ListUploadsResult{Uploads: make([]storage.MultipartUpload, 2)}, nil
}

func newTestKeys(t *testing.T) (*Keys, *memStore, kms.KMS) {
	t.Helper()
	ctx := context.Background()
	k, err := kms.NewKeyring(ctx, kms.KeyringConfig{Path: filepath.Join(t.TempDir(), "ring"), RawKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	if err := kms.EnsureKey(ctx, k, kms.DefaultKeyID); err != nil {
		t.Fatal(err)
	}
	st := &memStore{buckets: map[string]map[string]string{"a": {}, "b": {}}, objects: 5}
	keys, err := New(k, st, Options{CacheSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	return keys, st, k
}

func TestBucketKeys(t *testing.T) {
	ctx := context.Background()
	t.Run("concurrent first writers agree", func(t *testing.T) {
		keys, _, _ := newTestKeys(t)
		var wg sync.WaitGroup
		got := make([]BucketKey, 8)
		for i := range got {
			wg.Go(func() {
				b, err := keys.BucketKey(ctx, "a", "")
				if err != nil {
					t.Error(err)
				}
				got[i] = b
			})
		}
		wg.Wait()
		for _, b := range got[1:] {
			if b.ID != got[0].ID || !bytes.Equal(b.Key, got[0].Key) {
				t.Fatalf("writers disagree: %v vs %v", b, got[0])
			}
		}
	})
	t.Run("reopen after eviction", func(t *testing.T) {
		keys, _, _ := newTestKeys(t)
		a, _ := keys.BucketKey(ctx, "a", "")
		keys.BucketKey(ctx, "b", "")
		keys.forget("a")
		again, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID)
		if err != nil || !bytes.Equal(again.Key, a.Key) {
			t.Fatalf("reopen: %v", err)
		}
	})
	t.Run("unknown master key", func(t *testing.T) {
		keys, _, _ := newTestKeys(t)
		if _, err := keys.BucketKey(ctx, "a", "nope"); !errors.Is(err, ErrKeyNotFound) {
			t.Fatalf("err %v", err)
		}
		if _, err := keys.BucketKey(ctx, "a", "bad/id"); !errors.Is(err, ErrKeyNotFound) {
			t.Fatalf("invalid id: %v", err)
		}
	})
	t.Run("shred", func(t *testing.T) {
		keys, _, k := newTestKeys(t)
		k.CreateKey(ctx, "other")
		a, _ := keys.BucketKey(ctx, "a", "")
		keys.BucketKey(ctx, "a", "other")
		b, _ := keys.BucketKey(ctx, "b", "")
		rep, err := keys.ShredBucket(ctx, "a")
		if err != nil || len(rep.Keys) != 2 || rep.Objects != 5 || rep.Uploads != 2 {
			t.Fatalf("report %+v, %v", rep, err)
		}
		if _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); !errors.Is(err, ErrShredded) {
			t.Fatalf("open after shred: %v", err)
		}
		fresh, err := keys.BucketKey(ctx, "a", "")
		if err != nil || fresh.ID == a.ID || bytes.Equal(fresh.Key, a.Key) {
			t.Fatalf("fresh key after shred: %v", err)
		}
		if _, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID); !errors.Is(err, ErrShredded) {
			t.Fatalf("old id after a fresh key: %v", err)
		}
		if _, err := keys.OpenBucketKey(ctx, "b", kms.DefaultKeyID, b.ID); err != nil {
			t.Fatalf("other bucket: %v", err)
		}
	})
	t.Run("rotate", func(t *testing.T) {
		keys, st, _ := newTestKeys(t)
		a, _ := keys.BucketKey(ctx, "a", "")
		before := st.buckets["a"][mdKeyPrefix+"default"]
		rep, err := keys.RotateMasterKey(ctx, kms.DefaultKeyID)
		if err != nil || rep.Version != 2 || len(rep.Rewrapped) != 1 {
			t.Fatalf("report %+v, %v", rep, err)
		}
		after := st.buckets["a"][mdKeyPrefix+"default"]
		_, sealed, _ := parseEntry(after)
		s, _ := kms.ParseSealed(sealed)
		if after == before || s.Version != 2 {
			t.Fatalf("not rewrapped (version %d)", s.Version)
		}
		keys.forget("a")
		again, err := keys.OpenBucketKey(ctx, "a", kms.DefaultKeyID, a.ID)
		if err != nil || !bytes.Equal(again.Key, a.Key) {
			t.Fatalf("after rotation: %v", err)
		}
	})
	t.Run("config", func(t *testing.T) {
		keys, _, _ := newTestKeys(t)
		if _, ok, _ := keys.Config(ctx, "a"); ok {
			t.Fatal("config before any was set")
		}
		for _, tc := range []struct {
			cfg  BucketConfig
			want error
		}{
			{BucketConfig{Algorithm: AlgorithmAES256}, nil},
			{BucketConfig{Algorithm: AlgorithmKMS, KeyID: "default"}, nil},
			{BucketConfig{Algorithm: AlgorithmKMS, KeyID: "missing"}, ErrKeyNotFound},
			{BucketConfig{Algorithm: AlgorithmAES256, KeyID: "default"}, ErrInvalidConfig},
			{BucketConfig{Algorithm: "rot13"}, ErrInvalidConfig},
		} {
			err := keys.SetConfig(ctx, "a", &tc.cfg)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("%+v: %v, want %v", tc.cfg, err, tc.want)
			}
			if tc.want == nil {
				if got, ok, _ := keys.Config(ctx, "a"); !ok || got != tc.cfg {
					t.Errorf("read back %+v", got)
				}
			}
		}
		if err := keys.SetConfig(ctx, "a", nil); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := keys.Config(ctx, "a"); ok {
			t.Fatal("config after delete")
		}
	})
}

// slowKMS is a KMS whose GenerateDataKey takes delay, or fails after it
// (down), as a KMS that answers slowly or times out does.
type slowKMS struct {
	kms.KMS
	delay time.Duration
	down  bool
	calls atomic.Int32
}

func (s *slowKMS) GenerateDataKey(ctx context.Context, id kms.KeyID, aad []byte) (kms.DataKey, error) {
	s.calls.Add(1)
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return kms.DataKey{}, ctx.Err()
	}
	if s.down {
		return kms.DataKey{}, fmt.Errorf("%w: timed out", kms.ErrBackend)
	}
	return s.KMS.GenerateDataKey(ctx, id, aad)
}

// TestFirstWritesDoNotQueue: the first writes to a bucket create its key
// at once (not one after another, each asking the KMS under the bucket's
// lock: they share one KMS call, see TestFirstWritersOneDataKey), agree
// on one key, and a KMS that fails them fails them all in one timeout.
func TestFirstWritesDoNotQueue(t *testing.T) {
	_, st, k := newTestKeys(t)
	const delay, writers = 300 * time.Millisecond, 4
	for _, down := range []bool{false, true} {
		slow := &slowKMS{KMS: k, delay: delay, down: down}
		keys, err := New(slow, st, Options{})
		if err != nil {
			t.Fatal(err)
		}
		bucket := map[bool]string{false: "a", true: "b"}[down]
		start := time.Now()
		got := make([]BucketKey, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() { got[i], errs[i] = keys.BucketKey(context.Background(), bucket, "") })
		}
		wg.Wait()
		if took := time.Since(start); took > 2*delay {
			t.Fatalf("down=%v: %d first writes took %v with a %v KMS: they queued", down, writers, took, delay)
		}
		for i := range writers {
			switch {
			case down && !errors.Is(errs[i], kms.ErrBackend):
				t.Fatalf("KMS down: writer %d: %v", i, errs[i])
			case !down && (errs[i] != nil || got[i].ID != got[0].ID || !bytes.Equal(got[i].Key, got[0].Key)):
				t.Fatalf("writer %d: %v, key %s vs %s", i, errs[i], got[i].ID, got[0].ID)
			}
		}
	}
}
