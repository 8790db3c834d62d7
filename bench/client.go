package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/minio/minio-go/v7"
)

// client is one of the run's concurrent S3 clients. Its fields are its own:
// nothing here is shared with another client.
type client struct {
	run   *run
	id    int
	rng   *rand.Rand
	buf   []byte // GET bodies are read into it and dropped
	body  bodyReader
	owned []string // keys only this client reads and deletes (mixed, delete)
	recs  map[string]*recorder

	// list: the walk in progress.
	token  string
	walked int64
}

// loop issues operations until the run says stop.
func (c *client) loop(ctx context.Context) {
	r := c.run
	for {
		if r.cfg.Workload == WorkloadDelete && len(c.owned) == 0 {
			return
		}
		if !r.next(ctx) {
			return
		}
		var stop bool
		switch r.cfg.Workload {
		case WorkloadPut:
			stop = c.doPut(ctx)
		case WorkloadGet:
			stop = c.doGet(ctx, r.objects[c.rng.IntN(len(r.objects))])
		case WorkloadMixed:
			stop = c.doMixed(ctx)
		case WorkloadList:
			stop = c.doList(ctx)
		case WorkloadDelete:
			stop = c.doDelete(ctx)
		case WorkloadMultipart:
			stop = c.doMultipart(ctx)
		}
		if stop {
			return
		}
	}
}

// finish records an operation's outcome and reports whether the client must
// stop: an error after ctx is cancelled is the interruption, not a result.
func (c *client) finish(ctx context.Context, op string, t0 time.Time, bytes, objects int64, err error) bool {
	if err != nil {
		if ctx.Err() != nil {
			if cause := context.Cause(ctx); errors.Is(cause, errOverrun) {
				c.recs[op].failure(fmt.Errorf("%w: %w", cause, err))
			}
			return true
		}
		c.recs[op].failure(err)
		return false
	}
	c.recs[op].success(t0, bytes, objects)
	return false
}

func (c *client) doPut(ctx context.Context) bool {
	key, start := c.run.newKey()
	t0 := time.Now()
	err := c.run.put(ctx, &c.body, key, start)
	if err == nil && c.run.cfg.Workload == WorkloadMixed {
		c.owned = append(c.owned, key)
	}
	return c.finish(ctx, opPut, t0, c.run.cfg.Size, 0, err)
}

// errShortBody reports a GET whose body was not the object's size.
var errShortBody = errors.New("bench: GET body length differs from the object size")

func (c *client) doGet(ctx context.Context, key string) bool {
	r := c.run
	t0 := time.Now()
	n, err := c.get(ctx, key)
	if err == nil && n != r.cfg.Size {
		err = fmt.Errorf("get %s: %w: %d bytes, want %d", key, errShortBody, n, r.cfg.Size)
	}
	return c.finish(ctx, opGet, t0, n, 0, err)
}

// get reads one object to the end and returns its length.
func (c *client) get(ctx context.Context, key string) (int64, error) {
	rc, _, _, err := c.run.core.GetObject(ctx, c.run.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", key, err)
	}
	defer rc.Close()
	var n int64
	for {
		m, err := rc.Read(c.buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("get %s: read body: %w", key, err)
		}
	}
}

func (c *client) doDelete(ctx context.Context) bool {
	i := c.rng.IntN(len(c.owned))
	key := c.owned[i]
	t0 := time.Now()
	err := c.run.client.RemoveObject(ctx, c.run.bucket, key, minio.RemoveObjectOptions{})
	if err != nil {
		err = fmt.Errorf("delete %s: %w", key, err)
	} else {
		last := len(c.owned) - 1
		c.owned[i] = c.owned[last]
		c.owned = c.owned[:last]
	}
	return c.finish(ctx, opDelete, t0, 0, 0, err)
}

// doMixed draws the operation from the mix. With nothing left to read or
// delete, the client writes instead, so the run never stalls.
func (c *client) doMixed(ctx context.Context) bool {
	m := c.run.cfg.Mix
	x := c.rng.IntN(m.total())
	switch {
	case x < m.Get && len(c.owned) > 0:
		return c.doGet(ctx, c.owned[c.rng.IntN(len(c.owned))])
	case x >= m.Get+m.Put && len(c.owned) > 0:
		return c.doDelete(ctx)
	case x < m.Get || x >= m.Get+m.Put:
		c.run.standIns.Add(1) // reported: the mix is not what was asked
	}
	return c.doPut(ctx)
}

// doList requests one ListObjectsV2 page of the pre-created objects,
// continuing this client's walk. When a walk ends, it checks that the walk
// saw every object: a listing that loses keys is an error, not a fast run.
func (c *client) doList(ctx context.Context) bool {
	r := c.run
	t0 := time.Now()
	// Core.ListObjectsV2 takes no context; a page is short, so an
	// interruption waits for at most one.
	res, err := r.core.ListObjectsV2(r.bucket, r.base+"obj/", "", c.token, "", r.cfg.PageSize)
	if err != nil {
		c.token, c.walked = "", 0
		return c.finish(ctx, opList, t0, 0, 0, fmt.Errorf("list: %w", err))
	}
	n := int64(len(res.Contents))
	c.walked += n
	c.token = res.NextContinuationToken
	if !res.IsTruncated || c.token == "" {
		walked := c.walked
		c.token, c.walked = "", 0
		if want := int64(len(r.objects)); walked != want {
			return c.finish(ctx, opList, t0, 0, 0, fmt.Errorf("list: a full walk saw %d objects, want %d", walked, want))
		}
	}
	return c.finish(ctx, opList, t0, 0, n, nil)
}

// doMultipart uploads one object in cfg.PartSize parts: initiate, the parts
// in order, complete. Each part is also recorded on its own row. A failed
// upload is aborted.
func (c *client) doMultipart(ctx context.Context) bool {
	r := c.run
	size, partSize := r.cfg.Size, r.cfg.PartSize
	parts := max(1, int((size+partSize-1)/partSize))
	key, start := r.newKey()
	t0 := time.Now()
	id, err := r.core.NewMultipartUpload(ctx, r.bucket, key, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return c.finish(ctx, opMultipart, t0, 0, 0, fmt.Errorf("multipart %s: initiate: %w", key, err))
	}
	done := make([]minio.CompletePart, 0, parts)
	for p := range parts {
		off := int64(p) * partSize
		n := min(partSize, size-off)
		c.body.reset(r.payload, start+off, n)
		tp := time.Now()
		part, err := r.core.PutObjectPart(ctx, r.bucket, key, id, p+1, &c.body, n,
			minio.PutObjectPartOptions{DisableContentSha256: r.cfg.UnsignedPayload})
		if err != nil {
			err = fmt.Errorf("multipart %s: part %d: %w", key, p+1, err)
			c.abort(ctx, key, id)
			c.finish(ctx, opPart, tp, 0, 0, err)
			// The upload fails with its part (or, interrupted, counts as
			// neither): finish on its own row decides which.
			return c.finish(ctx, opMultipart, t0, 0, 0, err)
		}
		c.finish(ctx, opPart, tp, n, 0, nil)
		done = append(done, minio.CompletePart{PartNumber: part.PartNumber, ETag: part.ETag})
	}
	if _, err := r.core.CompleteMultipartUpload(ctx, r.bucket, key, id, done, minio.PutObjectOptions{}); err != nil {
		c.abort(ctx, key, id)
		return c.finish(ctx, opMultipart, t0, 0, 0, fmt.Errorf("multipart %s: complete: %w", key, err))
	}
	return c.finish(ctx, opMultipart, t0, size, 0, nil)
}

// abort removes a failed upload's parts, even when ctx is cancelled; the
// clean-up also aborts any upload left under the run's prefix.
func (c *client) abort(ctx context.Context, key, id string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = c.run.core.AbortMultipartUpload(actx, c.run.bucket, key, id)
}
