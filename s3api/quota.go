package s3api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/objstore/objstore/sse"
	"github.com/objstore/objstore/storage"
)

// QuotaKey is the bucket metadata entry holding a bucket's hard quota:
// bytes as a decimal string; absent or "0" means none. The admin API
// writes it; Quotas enforces it.
const QuotaKey = "quota"

// errQuotaExceeded refuses a write that would leave a bucket above its
// quota (QuotaExceeded, 403).
var errQuotaExceeded = errors.New("s3api: bucket quota exceeded")

// errQuotasClosed answers usage requests after Quotas.Close.
var errQuotasClosed = errors.New("s3api: quotas closed")

// UsageStore is the object layer Quotas wraps: *storage.Store.
type UsageStore interface {
	ObjectLayer
	BucketUsage(ctx context.Context, bucket string, opts storage.UsageOptions) (storage.BucketUsage, error)
	UpdateBucketMetadata(ctx context.Context, bucket string, fn func(md map[string]string) error) (storage.BucketInfo, error)
}

// QuotaOptions configures Quotas.
type QuotaOptions struct {
	// Encrypted says the Handler over Quotas encrypts (Config.Keys is
	// set): usage then counts plaintext bytes, as clients see them.
	Encrypted bool
	// MaxAge is how old a bucket's count may grow before a background
	// walk recounts it; default 15 minutes.
	MaxAge time.Duration
	// Tick is how often the background loop looks for buckets to
	// recount (stale, or whose changes could not be counted); default
	// min(MaxAge/4, 10s).
	Tick time.Duration
	// Logger receives failed walks; nil discards.
	Logger *slog.Logger
}

// Quotas is an ObjectLayer that keeps each bucket's usage and refuses
// writes that would take a bucket over its quota (QuotaKey). Hand it to
// the Handler as Config.Store; it passes everything to the object layer
// it wraps.
//
// Usage is a walk over the bucket's metadata (storage's BucketUsage, a
// snapshot at its ComputedAt) plus the changes this process saw since
// that snapshot: each successful write, completion, delete and abort
// adds what it changed, exactly where the object layer tells (the
// version a write replaced comes from its Precondition hook, called
// under the object's lock; a delete looks the version up first). What
// cannot be counted exactly marks the bucket for a recount, and every
// count is redone once older than MaxAge, so errors never accumulate.
// Nothing is persisted: after a restart or crash the first walk is the
// truth. A bucket is counted from its first use (an admin request, or a
// write to a bucket with a quota), then kept up to date.
//
// Quotas are hard and apply to logical bytes of every version plus the
// parts of multipart uploads in progress. A write whose size is known
// up front (PUT, copy, UploadPart) reserves its bytes before any data is
// read, so concurrent writes cannot overshoot together; a body of
// unknown size is cut off once it would pass the room left when it
// started. A completion adds no bytes (its parts are counted) and is
// refused only when the bucket is over its quota already (lowered since
// the parts were uploaded). An overwrite is checked as if it added its
// whole size: the version it replaces is only known under the object's
// lock, after the data is written. Deletes and aborts are never refused.
//
// Quotas is safe for concurrent use.
type Quotas struct {
	UsageStore

	opts    QuotaOptions
	logical func(stored int64) int64
	log     *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	walks  chan struct{} // walk slots: bounds concurrent walks

	mu      sync.Mutex
	closed  bool
	buckets map[string]*usageState
}

// usageState is one counted bucket. Fields are guarded by Quotas.mu.
type usageState struct {
	valid bool
	base  storage.BucketUsage // the last walk
	delta usageDelta          // changes since base's snapshot
	since *usageDelta         // while a walk runs: changes since its snapshot
	walk  chan struct{}       // while a walk runs; closed when it ends
	err   error               // of the last walk
	dirty bool                // a change could not be counted: recount
	// reserved are bytes admitted for writes still running.
	reserved int64
}

// usageDelta is a change of usage.
type usageDelta struct {
	objects, versions, current, total, stored, uploads, uploadBytes int64
}

func (d *usageDelta) add(o usageDelta) {
	d.objects += o.objects
	d.versions += o.versions
	d.current += o.current
	d.total += o.total
	d.stored += o.stored
	d.uploads += o.uploads
	d.uploadBytes += o.uploadBytes
}

// current is base plus delta. Counts never go below zero: a negative
// one is an uncounted overlap that the next walk settles.
func (st *usageState) current() storage.BucketUsage {
	u, d := st.base, st.delta
	u.Objects = max(u.Objects+d.objects, 0)
	u.Versions = max(u.Versions+d.versions, 0)
	u.CurrentBytes = max(u.CurrentBytes+d.current, 0)
	u.TotalBytes = max(u.TotalBytes+d.total, 0)
	u.StoredBytes = max(u.StoredBytes+d.stored, 0)
	u.Uploads = max(u.Uploads+d.uploads, 0)
	u.UploadBytes = max(u.UploadBytes+d.uploadBytes, 0)
	return u
}

// used is what the quota is checked against.
func (st *usageState) used() int64 {
	u := st.current()
	return u.TotalBytes + u.UploadBytes + st.reserved
}

// NewQuotas wraps store and starts the background loop that counts the
// buckets that have a quota and recounts stale ones. Close stops it.
func NewQuotas(store UsageStore, opts QuotaOptions) *Quotas {
	if opts.MaxAge <= 0 {
		opts.MaxAge = 15 * time.Minute
	}
	if opts.Tick <= 0 {
		opts.Tick = min(opts.MaxAge/4, 10*time.Second)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	q := &Quotas{UsageStore: store, opts: opts, log: opts.Logger, walks: make(chan struct{}, 2), buckets: map[string]*usageState{}}
	q.logical = func(n int64) int64 { return n }
	if opts.Encrypted {
		q.logical = plainSize
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.wg.Add(1)
	go q.run()
	return q
}

// Close stops the background loop and the walks in flight and waits for
// them.
func (q *Quotas) Close() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cancel()
	q.wg.Wait()
	return nil
}

// Usage returns a bucket's usage, counting it first if this process has
// not yet (which waits for a walk over the bucket).
func (q *Quotas) Usage(ctx context.Context, bucket string) (storage.BucketUsage, error) {
	q.mu.Lock()
	st := q.state(bucket)
	if st.valid {
		defer q.mu.Unlock()
		return st.current(), nil
	}
	ch := q.startWalk(bucket, st)
	q.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return storage.BucketUsage{}, fmt.Errorf("s3api: usage of %s: %w", bucket, ctx.Err())
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !st.valid {
		if st.err == nil {
			st.err = errors.New("s3api: usage walk stopped")
		}
		return storage.BucketUsage{}, st.err
	}
	return st.current(), nil
}

// Recount walks the bucket now and returns the fresh count.
func (q *Quotas) Recount(ctx context.Context, bucket string) (storage.BucketUsage, error) {
	for {
		q.mu.Lock()
		st := q.state(bucket)
		running := st.walk != nil
		ch := q.startWalk(bucket, st)
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return storage.BucketUsage{}, fmt.Errorf("s3api: usage of %s: %w", bucket, ctx.Err())
		}
		if running {
			continue // that walk started before the call: walk again
		}
		q.mu.Lock()
		valid, err, u := st.valid, st.err, st.current()
		q.mu.Unlock()
		if err != nil || !valid {
			if err == nil {
				err = errors.New("s3api: usage walk stopped")
			}
			return storage.BucketUsage{}, err
		}
		return u, nil
	}
}

// CachedUsage returns a bucket's usage if it has been counted, without
// waiting; otherwise it starts the count in the background.
func (q *Quotas) CachedUsage(bucket string) (storage.BucketUsage, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.state(bucket)
	if !st.valid {
		q.startWalk(bucket, st)
		return storage.BucketUsage{}, false
	}
	return st.current(), true
}

// state returns the bucket's state, created (empty) if needed. Under mu.
func (q *Quotas) state(bucket string) *usageState {
	st := q.buckets[bucket]
	if st == nil {
		st = &usageState{}
		q.buckets[bucket] = st
	}
	return st
}

// startWalk starts a walk of bucket unless one runs, and returns the
// channel closed when it ends. Under mu.
func (q *Quotas) startWalk(bucket string, st *usageState) chan struct{} {
	if st.walk != nil {
		return st.walk
	}
	if q.closed {
		st.err = errQuotasClosed
		done := make(chan struct{})
		close(done)
		return done
	}
	st.walk = make(chan struct{})
	ch := st.walk
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		q.walkBucket(bucket, st)
	}()
	return ch
}

// walkBucket counts bucket and makes the result its base. Changes that
// end after the walk's snapshot are collected in since and become the
// new delta; a change that ends between the mark and the snapshot is
// counted twice until the next walk (a window of microseconds).
func (q *Quotas) walkBucket(bucket string, st *usageState) {
	var res storage.BucketUsage
	var err error
	select {
	case q.walks <- struct{}{}:
		q.mu.Lock()
		st.since = &usageDelta{}
		st.dirty = false
		q.mu.Unlock()
		res, err = q.UsageStore.BucketUsage(q.ctx, bucket, storage.UsageOptions{LogicalSize: q.logical})
		<-q.walks
	case <-q.ctx.Done():
		err = fmt.Errorf("s3api: usage of %s: %w", bucket, q.ctx.Err())
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err == nil {
		st.base, st.valid = res, true
		if st.since != nil {
			st.delta = *st.since
		}
	} else {
		q.log.Warn("s3api: bucket usage walk failed", "bucket", bucket, "err", err)
		st.dirty = true
	}
	st.err = err
	st.since = nil
	close(st.walk)
	st.walk = nil
	if errors.Is(err, storage.ErrBucketNotFound) && q.buckets[bucket] == st {
		delete(q.buckets, bucket)
	}
}

// run counts the buckets with a quota at start, then recounts stale
// and dirty buckets every Tick.
func (q *Quotas) run() {
	defer q.wg.Done()
	if bs, err := q.ListBuckets(q.ctx); err == nil {
		q.mu.Lock()
		for _, b := range bs {
			if quotaOf(b) > 0 {
				q.startWalk(b.Name, q.state(b.Name))
			}
		}
		q.mu.Unlock()
	}
	t := time.NewTicker(q.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-q.ctx.Done():
			return
		case <-t.C:
		}
		q.mu.Lock()
		for name, st := range q.buckets {
			stale := st.valid && time.Since(st.base.ComputedAt) > q.opts.MaxAge
			if st.walk == nil && (st.dirty || stale) {
				q.startWalk(name, st)
			}
		}
		q.mu.Unlock()
	}
}

// quotaOf is a bucket's quota in bytes, 0 for none (or unreadable).
func quotaOf(b storage.BucketInfo) int64 {
	n, err := strconv.ParseInt(b.Metadata[QuotaKey], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// change is one write, delete or abort in flight: the quota it was
// admitted under and the state its result is counted in.
type change struct {
	q      *Quotas
	bucket string
	quota  int64
	st     *usageState // the bucket's state when the change began (nil: not counted)
	held   int64       // bytes reserved
}

// begin starts a change. With a quota it waits for the bucket's count.
func (q *Quotas) begin(ctx context.Context, bucket string) (*change, error) {
	c := &change{q: q, bucket: bucket}
	if info, err := q.BucketInfo(ctx, bucket); err == nil {
		c.quota = quotaOf(info)
	}
	if c.quota > 0 {
		if _, err := q.Usage(ctx, bucket); err != nil {
			return nil, fmt.Errorf("s3api: quota of %s: %w", bucket, err)
		}
	}
	q.mu.Lock()
	c.st = q.buckets[bucket]
	q.mu.Unlock()
	return c, nil
}

// tracked reports whether the change's result will be counted.
func (c *change) tracked() bool { return c.st != nil }

// admit reserves n more bytes, or refuses them when they would take the
// bucket over its quota.
func (c *change) admit(n int64) error {
	if c.quota <= 0 || c.st == nil {
		return nil
	}
	c.q.mu.Lock()
	defer c.q.mu.Unlock()
	if used := c.st.used(); used+n > c.quota {
		return fmt.Errorf("%w: bucket %s: %d bytes used of %d, %d more refused", errQuotaExceeded, c.bucket, used, c.quota, n)
	}
	c.st.reserved += max(n, 0)
	c.held += max(n, 0)
	return nil
}

// room is how many more bytes the quota admits now; -1 without a quota.
func (c *change) room() int64 {
	if c.quota <= 0 || c.st == nil {
		return -1
	}
	c.q.mu.Lock()
	defer c.q.mu.Unlock()
	return max(c.quota-c.st.used(), 0)
}

// end releases the reservation and, when ok, counts d. A bucket first
// counted while the change ran cannot tell whether its walk saw the
// change: it is marked for a recount instead.
func (c *change) end(d usageDelta, ok bool) {
	c.q.mu.Lock()
	defer c.q.mu.Unlock()
	if c.st != nil {
		c.st.reserved -= c.held
	}
	c.held = 0
	cur := c.q.buckets[c.bucket]
	switch {
	case !ok || cur == nil:
	case cur != c.st:
		cur.dirty = true
	default:
		cur.delta.add(d)
		if cur.since != nil {
			cur.since.add(d)
		}
	}
}

// infoLogical is the logical size of a stored version.
func (q *Quotas) infoLogical(info storage.ObjectInfo) int64 {
	if len(info.Parts) == 0 {
		return q.logical(info.Size)
	}
	var n int64
	for _, p := range info.Parts {
		n += q.logical(p.Size)
	}
	return n
}

// versionDelta is the change of a new version that replaced (or, with
// another version id, demoted) prev, nil for a new key.
func (q *Quotas) versionDelta(info storage.ObjectInfo, prev *storage.ObjectInfo) usageDelta {
	n := q.infoLogical(info)
	d := usageDelta{objects: 1, versions: 1, current: n, total: n, stored: info.Size}
	if prev != nil {
		old := q.infoLogical(*prev)
		d.objects, d.current = 0, n-old
		if prev.VersionID == info.VersionID {
			d.versions, d.total, d.stored = 0, n-old, info.Size-prev.Size
		}
	}
	return d
}

// observe chains a Precondition hook so that it also records the
// version the write replaces (called under the object's lock).
func observe(pre func(*storage.ObjectInfo) error, prev **storage.ObjectInfo) func(*storage.ObjectInfo) error {
	return func(cur *storage.ObjectInfo) error {
		if pre != nil {
			if err := pre(cur); err != nil {
				return err
			}
		}
		if cur != nil {
			c := *cur
			*prev = &c
		} else {
			*prev = nil
		}
		return nil
	}
}

// storedLimit is the most stored bytes a body of at most room logical
// bytes takes.
func (q *Quotas) storedLimit(room int64) int64 {
	if !q.opts.Encrypted {
		return room
	}
	if n := sse.CiphertextSize(room); n >= 0 {
		return n
	}
	return room
}

// quotaReader cuts a body of unknown size off once it passes limit.
type quotaReader struct {
	r     io.Reader
	left  int64
	fault error
}

func (r *quotaReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.left -= int64(n)
	if r.left < 0 {
		return n, r.fault
	}
	return n, err
}

// PutObject admits the body's size against the quota before reading it.
func (q *Quotas) PutObject(ctx context.Context, bucket, key string, body io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error) {
	c, err := q.begin(ctx, bucket)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if body, err = c.admitBody(body, opts.Size); err != nil {
		return storage.ObjectInfo{}, err
	}
	var prev *storage.ObjectInfo
	opts.Precondition = observe(opts.Precondition, &prev)
	info, err := q.UsageStore.PutObject(ctx, bucket, key, body, opts)
	c.end(q.versionDelta(info, prev), err == nil)
	return info, err
}

// admitBody reserves a body of known stored size, or limits one of
// unknown size to the room left.
func (c *change) admitBody(body io.Reader, stored int64) (io.Reader, error) {
	if stored >= 0 {
		return body, c.admit(c.q.logical(stored))
	}
	room := c.room()
	if room < 0 {
		return body, nil
	}
	if room == 0 {
		return nil, fmt.Errorf("%w: bucket %s: no room left", errQuotaExceeded, c.bucket)
	}
	fault := fmt.Errorf("%w: bucket %s: the body passed the %d bytes left", errQuotaExceeded, c.bucket, room)
	return &quotaReader{r: body, left: c.q.storedLimit(room), fault: fault}, nil
}

// PutObjectPart admits the part's size against the quota: parts of
// uploads in progress count.
func (q *Quotas) PutObjectPart(ctx context.Context, bucket, key, uploadID string, partNumber int, body io.Reader, opts storage.PutOptions) (storage.PartInfo, error) {
	c, err := q.begin(ctx, bucket)
	if err != nil {
		return storage.PartInfo{}, err
	}
	if body, err = c.admitBody(body, opts.Size); err != nil {
		return storage.PartInfo{}, err
	}
	part, err := q.UsageStore.PutObjectPart(ctx, bucket, key, uploadID, partNumber, body, opts)
	// A part that replaces one of the same number is counted twice until
	// the next walk: the one replaced is not reported.
	c.end(usageDelta{uploadBytes: q.logical(part.Size)}, err == nil)
	return part, err
}

// NewMultipartUpload counts the upload.
func (q *Quotas) NewMultipartUpload(ctx context.Context, bucket, key string, md map[string]string) (string, error) {
	c, err := q.begin(ctx, bucket)
	if err != nil {
		return "", err
	}
	id, err := q.UsageStore.NewMultipartUpload(ctx, bucket, key, md)
	c.end(usageDelta{uploads: 1}, err == nil)
	return id, err
}

// uploadBytes is the logical size of every part of an upload, -1 when
// it cannot be listed.
func (q *Quotas) uploadBytes(ctx context.Context, bucket, key, uploadID string) int64 {
	var n int64
	marker := 0
	for {
		res, err := q.ListParts(ctx, bucket, key, uploadID, marker, 1000)
		if err != nil {
			return -1
		}
		for _, p := range res.Parts {
			n += q.logical(p.Size)
		}
		if !res.IsTruncated {
			return n
		}
		marker = res.NextPartNumberMarker
	}
}

// CompleteMultipartUpload turns the upload's parts into a version. It
// adds no bytes, so it is refused only when the bucket would stay above
// its quota.
func (q *Quotas) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []storage.CompletePart, opts storage.CompleteOptions) (storage.ObjectInfo, error) {
	c, err := q.begin(ctx, bucket)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	uploaded := int64(-1)
	if c.tracked() {
		uploaded = q.uploadBytes(ctx, bucket, key, uploadID)
	}
	finish := opts.Finish
	opts.Finish = func(chosen []storage.PartInfo) (map[string]string, error) {
		var n int64
		for _, p := range chosen {
			n += q.logical(p.Size)
		}
		if uploaded < 0 {
			uploaded = n
		}
		if err := c.admit(n - uploaded); err != nil {
			return nil, err
		}
		if finish != nil {
			return finish(chosen)
		}
		return nil, nil
	}
	var prev *storage.ObjectInfo
	opts.Precondition = observe(opts.Precondition, &prev)
	info, err := q.UsageStore.CompleteMultipartUpload(ctx, bucket, key, uploadID, parts, opts)
	d := q.versionDelta(info, prev)
	d.uploads, d.uploadBytes = -1, -max(uploaded, 0)
	c.end(d, err == nil)
	return info, err
}

// AbortMultipartUpload uncounts the upload and its parts.
func (q *Quotas) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	c, err := q.begin(ctx, bucket)
	if err != nil {
		return err
	}
	uploaded := int64(0)
	if c.tracked() {
		if uploaded = q.uploadBytes(ctx, bucket, key, uploadID); uploaded < 0 {
			q.markDirty(bucket)
			uploaded = 0
		}
	}
	err = q.UsageStore.AbortMultipartUpload(ctx, bucket, key, uploadID)
	c.end(usageDelta{uploads: -1, uploadBytes: -uploaded}, err == nil)
	return err
}

// DeleteObject uncounts the version it deletes, looked up first.
func (q *Quotas) DeleteObject(ctx context.Context, bucket, key string, opts storage.DeleteOptions) error {
	c, err := q.begin(ctx, bucket)
	if err != nil {
		return err
	}
	var d usageDelta
	exact := false
	if c.tracked() {
		if info, err := q.ObjectInfo(ctx, bucket, key, storage.GetOptions{VersionID: opts.VersionID}); err == nil && info.VersionID == storage.NullVersionID {
			// While versioning is off the null version is the only one:
			// deleting it removes the object.
			n := q.infoLogical(info)
			d, exact = usageDelta{objects: -1, versions: -1, current: -n, total: -n, stored: -info.Size}, true
		}
	}
	err = q.UsageStore.DeleteObject(ctx, bucket, key, opts)
	if err == nil && c.tracked() && !exact {
		q.markDirty(bucket)
	}
	c.end(d, err == nil)
	return err
}

// DeleteBucket forgets the bucket's count.
func (q *Quotas) DeleteBucket(ctx context.Context, bucket string) error {
	err := q.UsageStore.DeleteBucket(ctx, bucket)
	if err == nil {
		q.mu.Lock()
		delete(q.buckets, bucket)
		q.mu.Unlock()
	}
	return err
}

// markDirty asks for a recount of bucket.
func (q *Quotas) markDirty(bucket string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if st := q.buckets[bucket]; st != nil {
		st.dirty = true
	}
}
