package storage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBucketUsage(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	for _, b := range []string{"b", "other"} {
		if err := s.MakeBucket(ctx, b, ""); err != nil {
			t.Fatal(err)
		}
	}
	put(t, s, "b", "inline", randBytes(1, 100))
	put(t, s, "b", "files", randBytes(2, 100<<10)) // above the inline limit: data files
	put(t, s, "b", "empty", nil)
	put(t, s, "b", "gone", randBytes(3, 10))
	put(t, s, "b", "over", randBytes(4, 50))
	put(t, s, "b", "over", randBytes(5, 70)) // replaces the 50 bytes
	if err := s.DeleteObject(ctx, "b", "gone", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "other", "x", randBytes(6, 1000)) // another bucket: not counted

	// A completed multipart object counts as one object of its parts'
	// sizes; an upload in progress counts as an upload.
	up, err := s.NewMultipartUpload(ctx, "b", "big", nil)
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := partBody(1, MinPartSize), partBody(2, 1000)
	putPart(t, s, "big", up, 1, p1)
	putPart(t, s, "big", up, 2, p2)
	if _, err := s.CompleteMultipartUpload(ctx, "b", "big", up, []CompletePart{{1, md5hex(p1)}, {2, md5hex(p2)}}, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	open, err := s.NewMultipartUpload(ctx, "b", "pending", nil)
	if err != nil {
		t.Fatal(err)
	}
	putPart(t, s, "pending", open, 1, partBody(3, 300))
	putPart(t, s, "pending", open, 2, partBody(4, 400))
	if _, err := s.NewMultipartUpload(ctx, "b", "pending-empty", nil); err != nil {
		t.Fatal(err)
	}

	objBytes := int64(100 + 100<<10 + 0 + 70 + MinPartSize + 1000)
	minus1 := func(n int64) int64 { return max(n-1, 0) } // a stand-in for the plaintext size
	cases := []struct {
		name string
		opts UsageOptions
		want BucketUsage
	}{
		{"stored sizes", UsageOptions{}, BucketUsage{Bucket: "b", Objects: 5, Versions: 5, CurrentBytes: objBytes,
			TotalBytes: objBytes, StoredBytes: objBytes, Uploads: 2, UploadBytes: 700}},
		// The mapping applies per part: "big" has two, "empty" stays 0.
		{"logical per part", UsageOptions{LogicalSize: minus1}, BucketUsage{Bucket: "b", Objects: 5, Versions: 5,
			CurrentBytes: objBytes - 5, TotalBytes: objBytes - 5, StoredBytes: objBytes, Uploads: 2, UploadBytes: 698}},
		{"without uploads", UsageOptions{SkipUploads: true}, BucketUsage{Bucket: "b", Objects: 5, Versions: 5,
			CurrentBytes: objBytes, TotalBytes: objBytes, StoredBytes: objBytes}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			got, err := s.BucketUsage(ctx, "b", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got.ComputedAt.Before(before) || got.ComputedAt.After(time.Now().Add(time.Second)) {
				t.Errorf("ComputedAt %v", got.ComputedAt)
			}
			got.ComputedAt = time.Time{}
			if got != tc.want {
				t.Errorf("usage\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}

	t.Run("no such bucket", func(t *testing.T) {
		if _, err := s.BucketUsage(ctx, "nope", UsageOptions{}); !errors.Is(err, ErrBucketNotFound) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.BucketUsage(cctx, "b", UsageOptions{}); err == nil {
			t.Fatal("a canceled walk succeeded")
		}
	})
}

// TestBucketUsageDegraded: with as many drives offline as parity
// allows, the walk still counts everything; beyond, it fails rather than
// undercount.
func TestBucketUsageDegraded(t *testing.T) {
	s, fds, _ := faultStore(t, nil)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		put(t, s, "b", fmt.Sprintf("k%02d", i), randBytes(uint64(i), 10*i))
	}
	want := int64(0)
	for i := range 20 {
		want += int64(10 * i)
	}
	s.settle() // every drive holds every record before two go
	fds[0].set(func(f *faultDrive) { f.offline = true })
	fds[3].set(func(f *faultDrive) { f.offline = true })
	got, err := s.BucketUsage(ctx, "b", UsageOptions{})
	if err != nil || got.Objects != 20 || got.TotalBytes != want {
		t.Fatalf("two drives offline: %+v %v", got, err)
	}
	fds[5].set(func(f *faultDrive) { f.offline = true })
	if _, err := s.BucketUsage(ctx, "b", UsageOptions{}); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("three drives offline: %v, want ErrReadQuorum", err)
	}
}

// TestBucketUsageModel compares the walk with a model after random
// puts, overwrites and deletes.
func TestBucketUsageModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	s, _ := testStore(t)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	model := map[string]int{}
	for i := range 60 {
		key := fmt.Sprintf("k%d", r.IntN(15))
		if r.IntN(4) == 0 {
			err := s.DeleteObject(ctx, "b", key, DeleteOptions{})
			if _, ok := model[key]; ok != (err == nil) {
				t.Fatalf("step %d: delete %s: %v (in model: %v)", i, key, err, ok)
			}
			delete(model, key)
			continue
		}
		n := r.IntN(40 << 10)
		put(t, s, "b", key, randBytes(uint64(i), n))
		model[key] = n
	}
	var want int64
	for _, n := range model {
		want += int64(n)
	}
	got, err := s.BucketUsage(ctx, "b", UsageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Objects != int64(len(model)) || got.Versions != got.Objects || got.CurrentBytes != want || got.TotalBytes != want {
		t.Fatalf("usage %+v, model: %d objects of %d bytes", got, len(model), want)
	}
}

func BenchmarkBucketUsage(b *testing.B) {
	for _, n := range []int{1000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			s, _ := testStore(b)
			ctx := context.Background()
			if err := s.MakeBucket(ctx, "b", ""); err != nil {
				b.Fatal(err)
			}
			body := randBytes(1, 100)
			for i := range n {
				put(b, s, "b", fmt.Sprintf("key/%06d", i), body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				u, err := s.BucketUsage(ctx, "b", UsageOptions{})
				if err != nil || u.Objects != int64(n) {
					b.Fatalf("%+v %v", u, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/object")
		})
	}
}
