package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
)

// cleanupTimeout bounds the clean-up; removing 100,000 objects with
// multi-object DELETEs of 1,000 keys takes seconds to minutes.
const cleanupTimeout = 30 * time.Minute

// cleanup removes everything the run wrote: unfinished multipart uploads
// and objects under the run's prefix, then the bucket if the run created
// it. It runs on a context detached from ctx, so that an interrupted run
// still cleans up; a second SIGINT (the command restores the default
// action) ends the process instead.
func (r *run) cleanup(ctx context.Context) Cleanup {
	if r.cfg.Keep {
		return Cleanup{Kept: true}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var out Cleanup
	fail := func(err error) {
		if out.Error == "" && err != nil {
			out.Error = err.Error()
		}
	}
	live := &liveCounter{}
	prog := r.startProgress(cctx, "cleanup", []string{"removing"}, []*liveCounter{live}, 0)
	defer prog.stop()

	if r.cfg.Workload == WorkloadMultipart {
		for up := range r.client.ListIncompleteUploads(cctx, r.bucket, r.base, true) {
			if up.Err != nil {
				fail(fmt.Errorf("bench: clean-up: list uploads: %w", up.Err))
				break
			}
			if err := r.core.AbortMultipartUpload(cctx, r.bucket, up.Key, up.UploadID); err != nil {
				fail(fmt.Errorf("bench: clean-up: abort upload of %s: %w", up.Key, err))
				continue
			}
			out.UploadsAborted++
		}
	}

	for attempt := 1; ; attempt++ {
		out.ObjectsRemoved += r.removeObjects(cctx, live, fail)
		if !r.created || out.Error != "" {
			break
		}
		err := r.client.RemoveBucket(cctx, r.bucket)
		if err == nil {
			out.BucketRemoved = true
			break
		}
		// A PUT that the interruption abandoned on the client side may
		// still complete on the server after the listing passed its key:
		// list and delete again before giving up on the bucket.
		if minio.ToErrorResponse(err).Code != "BucketNotEmpty" || attempt == cleanupPasses {
			fail(fmt.Errorf("bench: clean-up: remove bucket %s: %w", r.bucket, err))
			break
		}
		select {
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		case <-cctx.Done():
			fail(fmt.Errorf("bench: clean-up: remove bucket %s: %w", r.bucket, cctx.Err()))
			return out
		}
	}
	return out
}

// cleanupPasses bounds the list-and-delete passes over a bucket the run
// created; more than one is needed only when a PUT lands after the first
// listing.
const cleanupPasses = 3

// removeObjects lists the run's objects and deletes them, returning how
// many it removed; failures go to fail.
func (r *run) removeObjects(cctx context.Context, live *liveCounter, fail func(error)) int64 {
	// List and delete concurrently: the listing feeds multi-object DELETEs.
	lctx, lcancel := context.WithCancel(cctx)
	defer lcancel()
	objects := make(chan minio.ObjectInfo, 1000)
	var listed int64
	var listErr error
	listDone := make(chan struct{})
	go func() {
		defer close(listDone)
		defer close(objects)
		for obj := range r.client.ListObjects(lctx, r.bucket, minio.ListObjectsOptions{Prefix: r.base, Recursive: true}) {
			if obj.Err != nil {
				listErr = obj.Err
				return
			}
			select {
			case objects <- obj:
				listed++
				live.ops.Add(1)
			case <-lctx.Done():
				return
			}
		}
	}()
	var removeErrs int64
	for e := range r.client.RemoveObjects(cctx, r.bucket, objects, minio.RemoveObjectsOptions{}) {
		removeErrs++
		fail(fmt.Errorf("bench: clean-up: remove %s: %w", e.ObjectName, e.Err))
	}
	// Should RemoveObjects stop early, the lister must not block on it.
	lcancel()
	<-listDone
	if listErr != nil {
		fail(fmt.Errorf("bench: clean-up: list: %w", listErr))
	}
	return listed - removeErrs
}
