package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
)

// run is the state of one RunS3 call shared by its clients. Everything but
// the atomics is written before the clients start and only read after.
type run struct {
	cfg     S3Config
	client  *minio.Client
	core    minio.Core
	bucket  string
	created bool // this run created the bucket, so it removes it
	// createdNamed: the bucket named in the config was missing and this
	// run created it (it stays: a named bucket is never removed).
	createdNamed bool
	base         string // key prefix of everything this run writes
	seed         uint64
	payload      payload
	objects      []string // pre-created keys, all of cfg.Size bytes

	tickets atomic.Int64  // operations started, against cfg.Ops
	newSeq  atomic.Uint64 // numbers the keys of new objects
	stop    atomic.Bool   // the measured phase is over
	// standIns counts the mixed workload's PUTs drawn as a GET or DELETE
	// by a client that had no object left.
	standIns atomic.Int64
}

// Operation names, the rows of the report.
const (
	opPut       = "put"
	opGet       = "get"
	opDelete    = "delete"
	opList      = "list"
	opMultipart = "multipart"
	opPart      = "part" // one UploadPart of a multipart upload
	opPrepare   = "prepare"
)

// ops returns the rows the workload reports, in order.
func (r *run) ops() []string {
	switch r.cfg.Workload {
	case WorkloadGet:
		return []string{opGet}
	case WorkloadMixed:
		return []string{opGet, opPut, opDelete}
	case WorkloadList:
		return []string{opList}
	case WorkloadDelete:
		return []string{opDelete}
	case WorkloadMultipart:
		return []string{opMultipart, opPart}
	}
	return []string{opPut}
}

// needsObjects reports whether the workload works on pre-created objects.
func (r *run) needsObjects() bool {
	switch r.cfg.Workload {
	case WorkloadGet, WorkloadMixed, WorkloadList, WorkloadDelete:
		return true
	}
	return false
}

// openBucket creates the run's bucket, or checks the named one (creating it
// if missing, but never marking it for removal).
func (r *run) openBucket(ctx context.Context, runID string) error {
	if r.cfg.Bucket == "" {
		r.bucket = "objstore-bench-" + runID
		if err := r.client.MakeBucket(ctx, r.bucket, minio.MakeBucketOptions{Region: r.cfg.Region}); err != nil {
			return fmt.Errorf("bench: create bucket %s: %w", r.bucket, err)
		}
		r.created = true
		return nil
	}
	r.bucket = r.cfg.Bucket
	ok, err := r.client.BucketExists(ctx, r.bucket)
	if err != nil {
		return fmt.Errorf("bench: bucket %s: %w", r.bucket, err)
	}
	if !ok {
		if err := r.client.MakeBucket(ctx, r.bucket, minio.MakeBucketOptions{Region: r.cfg.Region}); err != nil {
			return fmt.Errorf("bench: create bucket %s: %w", r.bucket, err)
		}
		r.createdNamed = true
	}
	return nil
}

// objectKey is the key of pre-created object i.
func (r *run) objectKey(i int) string { return fmt.Sprintf("%sobj/%09d", r.base, i) }

// newKey returns the key of a new object and the payload offset of its body.
func (r *run) newKey() (string, int64) {
	n := r.newSeq.Add(1)
	return fmt.Sprintf("%snew/%09d", r.base, n), r.payload.startFor(n + 1<<40)
}

// putOptions are the options of every PutObject: one request, signed or
// unsigned payload as configured.
func (r *run) putOptions() minio.PutObjectOptions {
	return minio.PutObjectOptions{
		DisableMultipart:     true,
		DisableContentSha256: r.cfg.UnsignedPayload,
		ContentType:          "application/octet-stream",
	}
}

// put writes one object of cfg.Size bytes whose body starts at payload
// offset start.
func (r *run) put(ctx context.Context, body *bodyReader, key string, start int64) error {
	body.reset(r.payload, start, r.cfg.Size)
	_, err := r.client.PutObject(ctx, r.bucket, key, body, r.cfg.Size, r.putOptions())
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// prepare pre-creates cfg.Objects objects with cfg.PrepareConcurrency
// clients. It stops at the first failure: a workload over missing objects
// would measure errors.
func (r *run) prepare(ctx context.Context) (*OpStats, error) {
	n := r.cfg.Objects
	keys := make([]string, n)
	var next atomic.Int64
	var failed atomic.Bool
	var firstErr error
	var mu sync.Mutex
	recs := make([]*recorder, r.cfg.PrepareConcurrency)
	live := &liveCounter{}
	prog := r.startProgress(ctx, opPrepare, []string{opPut}, []*liveCounter{live}, int64(n))
	start := time.Now()
	var wg sync.WaitGroup
	for w := range recs {
		rec := &recorder{live: live}
		recs[w] = rec
		wg.Go(func() {
			var body bodyReader
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				key := r.objectKey(i)
				t0 := time.Now()
				err := r.put(ctx, &body, key, r.payload.startFor(uint64(i)))
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						failed.Store(true)
					}
					return
				}
				rec.success(t0, r.cfg.Size, 0)
				keys[i] = key
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	prog.stop()
	st := mergeStats(opPrepare, recs, elapsed)
	if firstErr != nil || ctx.Err() != nil {
		// Keep only the keys that were written, so the count is honest.
		done := keys[:0]
		for _, k := range keys {
			if k != "" {
				done = append(done, k)
			}
		}
		r.objects = done
		if firstErr != nil {
			return st, fmt.Errorf("bench: pre-create %d objects: %w", n, firstErr)
		}
		return st, ctx.Err()
	}
	r.objects = keys
	return st, nil
}

// errOverrun fails the operations still running well after the
// measured phase ended (overrunGrace).
var errOverrun = errors.New("bench: still running long after the measured phase ended (server stalled?); cancelled")

// next reports whether a client may start another operation.
func (r *run) next(ctx context.Context) bool {
	if r.stop.Load() || ctx.Err() != nil {
		return false
	}
	if r.cfg.Ops > 0 {
		return r.tickets.Add(1) <= r.cfg.Ops
	}
	return true
}

// measure runs the clients of the measured phase and returns one OpStats
// per row of the workload and the phase's length in seconds.
func (r *run) measure(ctx context.Context) ([]OpStats, float64) {
	names := r.ops()
	lives := make([]*liveCounter, len(names))
	for i := range lives {
		lives[i] = &liveCounter{}
	}
	recs := make([][]*recorder, len(names)) // [op][client]
	clients := make([]*client, r.cfg.Concurrency)
	for w := range clients {
		c := &client{run: r, id: w, rng: rand.New(rand.NewPCG(r.seed, uint64(w)+1)), buf: make([]byte, 256<<10)}
		c.recs = make(map[string]*recorder, len(names))
		for i, name := range names {
			rec := &recorder{live: lives[i]}
			c.recs[name] = rec
			recs[i] = append(recs[i], rec)
		}
		clients[w] = c
	}
	// Pre-created objects go to the clients round robin; each client owns
	// its share, so a DELETE never races a GET of the same key.
	if r.cfg.Workload == WorkloadMixed || r.cfg.Workload == WorkloadDelete {
		for i, k := range r.objects {
			c := clients[i%len(clients)]
			c.owned = append(c.owned, k)
		}
	}
	prog := r.startProgress(ctx, string(r.cfg.Workload), names, lives, r.cfg.Ops)
	start := time.Now()
	opCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if d := r.cfg.Duration; d > 0 {
		timer := time.AfterFunc(d, func() { r.stop.Store(true) })
		defer timer.Stop()
		overrun := time.AfterFunc(d+overrunGrace(d), func() { cancel(errOverrun) })
		defer overrun.Stop()
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { c.loop(opCtx) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	prog.stop()
	out := make([]OpStats, len(names))
	for i, name := range names {
		out[i] = *mergeStats(name, recs[i], elapsed)
	}
	return out, elapsed.Seconds()
}
