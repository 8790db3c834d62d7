package bench

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: every power-of-two range of values
// is cut into 2^subBits buckets, so a bucket is at most 1/2^subBits = 0.78% of
// the values it holds wide. Reporting a bucket's midpoint halves that.
const (
	subBits   = 7
	subCount  = 1 << subBits
	linearTop = 2 * subCount // values below this get a bucket each
	// maxShift is the shift of the largest int64: bits.Len64 = 63.
	maxShift   = 63 - 1 - subBits
	numBuckets = (maxShift+1)*subCount + subCount
	// numGroups: buckets are allocated in groups of subCount, one group
	// per power of two, when a value first lands in it.
	numGroups = numBuckets / subCount
)

// Histogram records non-negative int64 values (latencies in nanoseconds) in
// log-linear buckets, in the manner of an HDR histogram: values below 256 are
// exact; above, each power of two [2^e, 2^(e+1)) is split into 128 equal
// buckets. Quantiles are therefore within 0.4% of the true sample quantile
// (the bucket's midpoint against any value in it), whatever the range. The
// 7,296 counters are allocated 128 (one power of two) at a time, when a value
// first needs them: latencies that span a few powers of two cost a few KiB.
//
// The zero value is an empty histogram ready to use. A Histogram is not safe
// for concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	groups [numGroups][]uint64 // bucket i is groups[i/subCount][i%subCount]
	n      uint64
	min    int64
	max    int64
	sum    float64
}

// add adds c to bucket i's count.
func (h *Histogram) add(i int, c uint64) {
	g := &h.groups[i/subCount]
	if *g == nil {
		*g = make([]uint64, subCount)
	}
	(*g)[i%subCount] += c
}

// bucketOf maps v >= 0 to its bucket index.
//
//	v < 256:  index v (width 1)
//	v >= 256: msb = bits.Len64(v)-1 >= 8, shift = msb-7 >= 1,
//	          top = v>>shift in [128, 256), index = shift*128 + top
//
// Consecutive shifts tile the index space without gaps: shift s covers
// [s*128+128, s*128+256), which is where shift s+1 starts.
func bucketOf(v int64) int {
	if v < linearTop {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - 1 - subBits
	return shift*subCount + int(v>>shift)
}

// bucketRange returns the smallest and largest value bucket i holds.
func bucketRange(i int) (lo, hi int64) {
	if i < linearTop {
		return int64(i), int64(i)
	}
	shift := i/subCount - 1
	top := int64(i - shift*subCount)
	lo = top << shift
	hi = lo + (int64(1) << shift) - 1
	return lo, hi
}

// Record adds one value; negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.add(bucketOf(v), 1)
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// RecordDuration adds one duration, in nanoseconds.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	for gi, g := range o.groups {
		for j, c := range g {
			if c != 0 {
				h.add(gi*subCount+j, c)
			}
		}
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Min returns the smallest value recorded (exact), 0 when empty.
func (h *Histogram) Min() int64 { return h.min }

// Max returns the largest value recorded (exact), 0 when empty.
func (h *Histogram) Max() int64 { return h.max }

// Mean returns the mean of the values recorded (exact), 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the q-quantile (0 <= q <= 1) of the values recorded: the
// value of rank ceil(q*n) in sorted order (the smallest for q = 0), reported
// as the midpoint of its bucket clamped to [Min, Max]. It returns 0 when the
// histogram is empty; q outside [0, 1] is clamped.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	if !(q > 0) { // also catches NaN
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for gi, g := range h.groups {
		for j, c := range g {
			seen += c
			if seen >= rank {
				lo, hi := bucketRange(gi*subCount + j)
				mid := lo + (hi-lo)/2
				return min(max(mid, h.min), h.max)
			}
		}
	}
	return h.max
}
