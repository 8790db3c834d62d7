package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the definition Histogram.Quantile approximates: the
// value of rank ceil(q*n) in sorted order.
func exactQuantile(sorted []int64, q float64) int64 {
	if q <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func TestHistogramQuantiles(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dists := []struct {
		name string
		draw func() int64
	}{
		{"uniform-1s", func() int64 { return rng.Int64N(1e9) }},
		{"log-uniform-1µs-100s", func() int64 { return int64(math.Exp(rng.Float64()*(math.Log(1e11)-math.Log(1e3)) + math.Log(1e3))) }},
		{"exponential-mean-5ms", func() int64 { return int64(rng.ExpFloat64() * 5e6) }},
		{"bimodal-100µs-and-2s", func() int64 {
			if rng.IntN(100) < 97 {
				return 1e5 + rng.Int64N(2e4)
			}
			return 2e9 + rng.Int64N(1e8)
		}},
		{"small-integers", func() int64 { return rng.Int64N(300) }},
		{"constant", func() int64 { return 123456789 }},
		{"huge", func() int64 { return math.MaxInt64 - rng.Int64N(1e15) }},
	}
	qs := []float64{0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1}
	for _, d := range dists {
		t.Run(d.name, func(t *testing.T) {
			for _, n := range []int{1, 7, 1000, 50_000} {
				var h Histogram
				vals := make([]int64, n)
				for i := range vals {
					vals[i] = d.draw()
					h.Record(vals[i])
				}
				slices.Sort(vals)
				if h.Count() != uint64(n) || h.Min() != vals[0] || h.Max() != vals[n-1] {
					t.Fatalf("n=%d: count %d min %d max %d, want %d %d %d", n, h.Count(), h.Min(), h.Max(), n, vals[0], vals[n-1])
				}
				for _, q := range qs {
					want, got := exactQuantile(vals, q), h.Quantile(q)
					if rel := math.Abs(float64(got)-float64(want)) / math.Max(float64(want), 1); rel > 0.01 {
						t.Errorf("n=%d q=%v: got %d, want %d (%.3f%% off, more than 1%%)", n, q, got, want, 100*rel)
					}
				}
			}
		})
	}
}

// TestHistogramBuckets checks the bucket layout itself: buckets tile the
// int64 range in order without gaps, every value falls in the bucket
// bucketOf names, and no bucket is wider than 1/128 of its smallest value,
// which is what bounds the quantile error by 1/256.
func TestHistogramBuckets(t *testing.T) {
	prevHi := int64(-1)
	for i := range numBuckets {
		lo, hi := bucketRange(i)
		if i < subCount {
			// Indices below 128 are the values 0..127; 128..255 continue
			// the linear part.
			if lo != int64(i) || hi != int64(i) {
				t.Fatalf("bucket %d: [%d, %d], want exact", i, lo, hi)
			}
		}
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if hi < lo {
			t.Fatalf("bucket %d: [%d, %d]", i, lo, hi)
		}
		if lo >= linearTop && float64(hi-lo+1) > float64(lo)/subCount {
			t.Fatalf("bucket %d: [%d, %d] wider than 1/128 of %d", i, lo, hi, lo)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d: bucketOf(%d)=%d bucketOf(%d)=%d", i, lo, bucketOf(lo), hi, bucketOf(hi))
		}
		prevHi = hi
		if i == numBuckets-1 && hi != math.MaxInt64 {
			t.Fatalf("last bucket ends at %d, want MaxInt64", hi)
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		var h Histogram
		if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 || h.Count() != 0 {
			t.Fatal("empty histogram not all zero")
		}
	})
	t.Run("negative-is-zero", func(t *testing.T) {
		var h Histogram
		h.Record(-5)
		if h.Quantile(0.5) != 0 || h.Min() != 0 {
			t.Fatalf("got %d", h.Quantile(0.5))
		}
	})
	t.Run("q-out-of-range", func(t *testing.T) {
		var h Histogram
		for v := int64(1000); v <= 2000; v++ {
			h.Record(v)
		}
		if h.Quantile(-1) != 1000 || h.Quantile(2) != 2000 || h.Quantile(math.NaN()) != 1000 {
			t.Fatalf("got %d %d %d", h.Quantile(-1), h.Quantile(2), h.Quantile(math.NaN()))
		}
	})
	t.Run("mean-exact", func(t *testing.T) {
		var h Histogram
		h.RecordDuration(time.Millisecond)
		h.RecordDuration(3 * time.Millisecond)
		if h.Mean() != 2e6 {
			t.Fatalf("mean %v", h.Mean())
		}
	})
}

func TestHistogramMerge(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	var all, a, b Histogram
	for range 10_000 {
		v := rng.Int64N(1e10)
		all.Record(v)
		if rng.IntN(2) == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(nil)
	m.Merge(&Histogram{})
	if m.Count() != all.Count() || m.Min() != all.Min() || m.Max() != all.Max() || math.Abs(m.Mean()-all.Mean()) > 1e-6*all.Mean() {
		t.Fatalf("merged %d/%d/%d/%v, want %d/%d/%d/%v", m.Count(), m.Min(), m.Max(), m.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
	for _, q := range []float64{0.1, 0.5, 0.99} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("q=%v: merged %d, direct %d", q, m.Quantile(q), all.Quantile(q))
		}
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	v := int64(1)
	b.ReportAllocs()
	for b.Loop() {
		h.Record(v)
		v = v*6364136223846793005 + 1442695040888963407
		v &= 1<<40 - 1
	}
}

// TestHistogramSparse: counters are allocated per power of two in use, and
// recording into an allocated one allocates nothing.
func TestHistogramSparse(t *testing.T) {
	var h Histogram
	for v := int64(1_000_000); v < 3_000_000; v += 997 {
		h.Record(v)
	}
	groups := 0
	for _, g := range h.groups {
		if g != nil {
			groups++
		}
	}
	// 1e6..3e6 ns spans [2^19, 2^20), [2^20, 2^21) and [2^21, 2^22).
	if groups != 3 {
		t.Fatalf("%d groups allocated for values in [1ms, 3ms), want 3", groups)
	}
	if a := testing.AllocsPerRun(100, func() { h.Record(2_000_000) }); a != 0 {
		t.Fatalf("%v allocations per Record", a)
	}
}
