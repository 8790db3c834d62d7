package bench

import (
	"sync/atomic"
	"time"
)

// liveCounter is what the progress line reads while clients run: one per
// operation row, shared by every client, updated with atomics.
type liveCounter struct {
	ops, errors, bytes, objects atomic.Int64
}

// recorder accumulates one client's outcomes of one operation. Only its
// client writes it; it is read after the clients stop.
type recorder struct {
	hist     Histogram
	errors   int64
	bytes    int64
	objects  int64
	firstErr error
	live     *liveCounter
}

// success records an operation that started at t0 and moved bytes bytes (or
// listed objects objects).
func (r *recorder) success(t0 time.Time, bytes, objects int64) {
	r.hist.RecordDuration(time.Since(t0))
	r.bytes += bytes
	r.objects += objects
	r.live.ops.Add(1)
	r.live.bytes.Add(bytes)
	r.live.objects.Add(objects)
}

// failure records a failed operation; the first error's text is reported.
func (r *recorder) failure(err error) {
	r.errors++
	if r.firstErr == nil {
		r.firstErr = err
	}
	r.live.errors.Add(1)
}

// Latency summarises an operation's latencies, in milliseconds, from the
// run's histogram (quantiles within 0.4%, Mean and Max exact).
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// OpStats is one row of the report: the successful operations of one kind,
// their rate and latency, and the failed ones.
type OpStats struct {
	// Op is the operation: put, get, delete, list (one ListObjectsV2
	// page), multipart (one whole upload), part (one of its parts), or
	// prepare (the PUTs that pre-created objects).
	Op string `json:"op"`
	// Ops counts successful operations, Errors failed ones.
	Ops    int64 `json:"ops"`
	Errors int64 `json:"errors"`
	// Bytes moved by successful operations (body bytes only).
	Bytes int64 `json:"bytes"`
	// Objects listed (list only).
	Objects int64 `json:"objects,omitempty"`
	// Seconds is the length of the phase the row was measured over.
	Seconds       float64 `json:"seconds"`
	OpsPerSec     float64 `json:"ops_per_sec"`
	MiBPerSec     float64 `json:"mib_per_sec"`
	ObjectsPerSec float64 `json:"objects_per_sec,omitempty"`
	// Latency of the successful operations, in milliseconds.
	Latency Latency `json:"latency_ms"`
	// FirstError is the text of the first failure, if any.
	FirstError string `json:"first_error,omitempty"`
}

// mergeStats folds the clients' recorders of one operation into its row.
func mergeStats(op string, recs []*recorder, elapsed time.Duration) *OpStats {
	var h Histogram
	st := &OpStats{Op: op, Seconds: elapsed.Seconds()}
	for _, r := range recs {
		h.Merge(&r.hist)
		st.Errors += r.errors
		st.Bytes += r.bytes
		st.Objects += r.objects
		if st.FirstError == "" && r.firstErr != nil {
			st.FirstError = r.firstErr.Error()
		}
	}
	st.Ops = int64(h.Count())
	if s := st.Seconds; s > 0 {
		st.OpsPerSec = float64(st.Ops) / s
		st.MiBPerSec = float64(st.Bytes) / s / (1 << 20)
		st.ObjectsPerSec = float64(st.Objects) / s
	}
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	st.Latency = Latency{
		P50:  ms(h.Quantile(0.50)),
		P90:  ms(h.Quantile(0.90)),
		P99:  ms(h.Quantile(0.99)),
		Max:  ms(h.Max()),
		Mean: h.Mean() / 1e6,
	}
	return st
}

// Cleanup reports what the run removed at the end.
type Cleanup struct {
	// Kept is true when --keep left everything in place.
	Kept bool `json:"kept,omitempty"`
	// ObjectsRemoved and UploadsAborted under the run's prefix.
	ObjectsRemoved int64 `json:"objects_removed"`
	UploadsAborted int64 `json:"uploads_aborted,omitempty"`
	// BucketRemoved is true when the run created its bucket and removed it.
	BucketRemoved bool `json:"bucket_removed"`
	// Error is the first clean-up failure, if any.
	Error string `json:"error,omitempty"`
}

// S3Result is the outcome of RunS3; WriteS3Table prints it for people and
// encoding/json for programs.
type S3Result struct {
	Workload Workload `json:"workload"`
	Endpoint string   `json:"endpoint"`
	Bucket   string   `json:"bucket"`
	// BucketCreated: the run created the bucket named with Bucket, which
	// was missing; it stays after the run.
	BucketCreated bool   `json:"bucket_created,omitempty"`
	Prefix        string `json:"prefix"`
	Size          int64  `json:"size"`
	PartSize      int64  `json:"part_size,omitempty"`
	Mix           string `json:"mix,omitempty"`
	Concurrency   int    `json:"concurrency"`
	Seed          uint64 `json:"seed"`
	// Objects is how many objects were pre-created.
	Objects int `json:"objects,omitempty"`
	// Seconds is the length of the measured phase.
	Seconds float64 `json:"seconds"`
	// Settled is how long the run paused between pre-creating and
	// measuring (S3Config.Settle), in seconds.
	Settled float64 `json:"settled_seconds,omitempty"`
	// Interrupted is true when the context was cancelled (SIGINT).
	Interrupted bool `json:"interrupted,omitempty"`
	// StandInPuts counts the mixed workload's operations drawn as a GET
	// or DELETE that were PUTs, their client having no object left.
	StandInPuts int64 `json:"stand_in_puts,omitempty"`
	// RanOut: a delete run ended when its objects were gone, before its
	// Duration.
	RanOut bool `json:"ran_out,omitempty"`
	// Prepare is the pre-creation phase, when the workload has one.
	Prepare *OpStats `json:"prepare,omitempty"`
	// Ops holds one row per operation of the workload.
	Ops     []OpStats `json:"operations"`
	Cleanup Cleanup   `json:"cleanup"`
}

// Failed is the number of the workload's operations that failed: the
// first row's (a multipart upload's failed part also fails its upload,
// and is not counted twice).
func (r *S3Result) Failed() int64 {
	if r.Workload == WorkloadMixed {
		var n int64
		for _, o := range r.Ops {
			n += o.Errors
		}
		return n
	}
	if len(r.Ops) == 0 {
		return 0
	}
	return r.Ops[0].Errors
}

// Row returns the row of operation op, or nil.
func (r *S3Result) Row(op string) *OpStats {
	for i := range r.Ops {
		if r.Ops[i].Op == op {
			return &r.Ops[i]
		}
	}
	return nil
}
