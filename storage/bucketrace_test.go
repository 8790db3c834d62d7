package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// applyGate wraps a drive: the first Apply whose ops match is held
// before (gated) or reported after (not gated) it reaches the drive.
type applyGate struct {
	Drive
	match   func([]drive.Op) bool
	gated   bool
	entered chan<- int // position, once the matching Apply arrived (gated) or applied (not gated)
	gate    <-chan struct{}
	pos     int
	once    sync.Once
}

func (g *applyGate) Apply(ctx context.Context, ops []drive.Op) error {
	if !g.match(ops) {
		return g.Drive.Apply(ctx, ops)
	}
	first := false
	g.once.Do(func() { first = true })
	if !first {
		return g.Drive.Apply(ctx, ops)
	}
	if g.gated {
		g.entered <- g.pos
		<-g.gate
		return g.Drive.Apply(ctx, ops)
	}
	err := g.Drive.Apply(ctx, ops)
	g.entered <- g.pos
	return err
}

// TestDeleteBucketDeadlocksOnUploadInItsStripe checks that DeleteBucket
// returns when the bucket holds an upload whose key's commit lock is the
// stripe of (bucket, ""). DeleteBucket holds the bucket's lock and
// aborts the bucket's uploads, each abort taking the commit lock of
// (bucket, key). The commit locks are 256 stripes of sync.Mutex, which
// is not reentrant: were the bucket's lock the commit lock of
// (bucket, ""), DeleteBucket would wait for itself for ever, and keep
// the stripe locked for every later write of every key in it, in any
// bucket.
func TestDeleteBucketDeadlocksOnUploadInItsStripe(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	key := ""
	for i := 0; ; i++ {
		if k := fmt.Sprintf("upload-%d", i); lockStripe("b", k) == lockStripe("b", "") {
			key = k
			break
		}
	}
	if _, err := s.NewMultipartUpload(ctx, "b", key, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.DeleteBucket(ctx, "b") }()
	select {
	case err := <-done:
		if err != nil {
			t.Logf("delete bucket: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("DeleteBucket of a bucket holding an upload of %q (lock stripe %d, the bucket's own) has not returned after 10 s: it waits for the stripe lock it holds", key, lockStripe("b", key))
	}
}

// TestDeleteBucketRacingPut checks that a PUT and a DeleteBucket of its
// bucket never both succeed. The PUT checks its bucket and starts to
// commit its record (held before it reaches the drives); DeleteBucket
// starts then, when a listing finds no object (the record is not on the
// drives yet). Were both to succeed, the PUT would be acknowledged
// (200) into a bucket that no longer exists, its object lost to the
// client (NoSuchBucket), its record and data left on the drives, and a
// bucket created later under the same name, by anyone, would list and
// serve it. DeleteBucket must wait for the commit and find the bucket
// not empty (or the PUT find the bucket gone).
func TestDeleteBucketRacingPut(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	st := s.setFor("b", "k")
	okey := objectKey("b", "k")
	isPut := func(ops []drive.Op) bool {
		for _, op := range ops {
			if !op.Delete && bytes.Equal(op.Key, okey) {
				return true
			}
		}
		return false
	}
	entered := make(chan int, 6)
	gate := make(chan struct{})
	for p, d := range st.drives() {
		st.replace(p, &applyGate{Drive: d, match: isPut, gated: true, entered: entered, gate: gate, pos: p})
	}
	body := randBytes(5, 1000)
	putDone := make(chan error, 1)
	go func() {
		_, err := tryPut(ctx, s, "k", body, nil)
		putDone <- err
	}()
	for range 6 { // the PUT passed its bucket check and is committing
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the PUT did not reach the drives")
		}
	}
	delErr := make(chan error, 1)
	go func() { delErr <- s.DeleteBucket(ctx, "b") }()
	var derr error
	waited := false
	select {
	case derr = <-delErr:
	case <-time.After(time.Second):
		waited = true // for the PUT's commit
	}
	close(gate)
	perr := <-putDone
	if waited {
		derr = <-delErr
	}
	s.settle()
	if derr == nil && perr == nil {
		_, gerr := get(t, s, "b", "k", 0, -1)
		// A bucket made again under the name inherits the object.
		if err := s.MakeBucket(ctx, "b", ""); err != nil {
			t.Fatal(err)
		}
		got, err := get(t, s, "b", "k", 0, -1)
		t.Fatalf("DeleteBucket and the PUT racing it both succeeded: the acknowledged object reads %v; "+
			"after MakeBucket of the same name the new bucket serves it (%d bytes, equal %v, err %v)",
			gerr, len(got), bytes.Equal(got, body), err)
	}
	if perr != nil && !errors.Is(perr, ErrBucketNotFound) {
		t.Fatalf("put: %v", perr)
	}
	if perr == nil {
		if !errors.Is(derr, ErrBucketNotEmpty) {
			t.Fatalf("DeleteBucket after the PUT committed: %v, want ErrBucketNotEmpty", derr)
		}
		if got, err := get(t, s, "b", "k", 0, -1); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("the acknowledged object reads %d bytes (equal %v): %v", len(got), bytes.Equal(got, body), err)
		}
	}
}

// TestDeleteBucketRacingUploads checks the same of the other writes that
// create something in a bucket: an upload's creation and its completion,
// each held before its records reach the drives while DeleteBucket
// starts. DeleteBucket must wait for them: after a creation it aborts
// the new upload and deletes the bucket; after a completion it finds the
// object and answers BucketNotEmpty. Either way no upload or object
// outlives the bucket into a later one of the same name.
func TestDeleteBucketRacingUploads(t *testing.T) {
	for _, tc := range []string{"create", "complete"} {
		t.Run(tc, func(t *testing.T) {
			s, _ := testStore(t)
			ctx := context.Background()
			if err := s.MakeBucket(ctx, "b", ""); err != nil {
				t.Fatal(err)
			}
			var up string
			var pi PartInfo
			if tc == "complete" {
				up, pi = startUpload(t, s, "b", "k")
				s.settle()
			}
			okey := objectKey("b", "k")
			match := func(ops []drive.Op) bool {
				for _, op := range ops {
					if op.Delete || len(op.Key) == 0 {
						continue
					}
					if tc == "create" && op.Key[0] == prefixUpload || tc == "complete" && bytes.Equal(op.Key, okey) {
						return true
					}
				}
				return false
			}
			st := s.setFor("b", "k")
			entered := make(chan int, 6)
			gate := make(chan struct{})
			for p, d := range st.drives() {
				st.replace(p, &applyGate{Drive: d, match: match, gated: true, entered: entered, gate: gate, pos: p})
			}
			wrote := make(chan error, 1)
			go func() {
				var err error
				if tc == "create" {
					up, err = s.NewMultipartUpload(ctx, "b", "k", nil)
				} else {
					_, err = s.CompleteMultipartUpload(ctx, "b", "k", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{})
				}
				wrote <- err
			}()
			for range 6 {
				select {
				case <-entered:
				case <-time.After(10 * time.Second):
					t.Fatal("the write did not reach the drives")
				}
			}
			delErr := make(chan error, 1)
			go func() { delErr <- s.DeleteBucket(ctx, "b") }()
			select {
			case err := <-delErr:
				close(gate)
				t.Fatalf("DeleteBucket returned (%v) while a %s in the bucket was committing", err, tc)
			case <-time.After(time.Second):
			}
			close(gate)
			werr, derr := <-wrote, <-delErr
			s.settle()
			if werr != nil {
				t.Fatalf("%s: %v", tc, werr)
			}
			if tc == "complete" {
				if !errors.Is(derr, ErrBucketNotEmpty) {
					t.Fatalf("DeleteBucket after the completion: %v, want ErrBucketNotEmpty", derr)
				}
				if _, err := s.ObjectInfo(ctx, "b", "k", GetOptions{}); err != nil {
					t.Fatalf("the completed object: %v", err)
				}
				return
			}
			if derr != nil {
				t.Fatalf("DeleteBucket after the creation: %v", derr)
			}
			if err := s.MakeBucket(ctx, "b", ""); err != nil {
				t.Fatal(err)
			}
			ups, err := s.ListMultipartUploads(ctx, "b", ListUploadsOptions{})
			if err != nil || len(ups.Uploads) != 0 {
				t.Fatalf("a new bucket of the name lists %d uploads of the deleted one (%v)", len(ups.Uploads), err)
			}
		})
	}
}
