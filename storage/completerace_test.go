package storage

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// dataDirs returns the data ids that have a directory in any of the
// drive folders dirs.
func dataDirs(t *testing.T, dirs []string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, dir := range dirs {
		found, err := filepath.Glob(filepath.Join(dir, "data", "*", "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			ids[filepath.Base(f)] = true
		}
	}
	return ids
}

// checkCompleted checks that b/k reads as want, that no drive keeps a
// record of upload up, and that the only data directories left are the
// object's parts'.
func checkCompleted(t *testing.T, s *Store, dirs []string, up string, want []byte) {
	t.Helper()
	ctx := context.Background()
	s.settle()
	got, err := get(t, s, "b", "k", 0, -1)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("get: %d bytes, %v; want the %d bytes completed", len(got), err, len(want))
	}
	ups, parts, errs := s.uploadRecords(ctx, s.sets[0], "b", "k", up)
	for p := range ups {
		if errs[p] != nil || ups[p] != nil || len(parts[p]) != 0 {
			t.Errorf("drive %d keeps the upload's records: upload %v, parts %v, err %v", p, ups[p] != nil, slices.Sorted(maps.Keys(parts[p])), errs[p])
		}
	}
	_, v, err := s.lookup(ctx, "b", "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := map[string]bool{}
	for _, p := range v.Parts {
		wantIDs[p.DataID] = true
	}
	if got := dataDirs(t, dirs); !maps.Equal(got, wantIDs) {
		t.Errorf("data directories %v, want the object's parts' %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(wantIDs)))
	}
}

// TestCompleteRacingPartUpload: a part is uploaded after a completion
// read the upload's parts and before it took the object's lock. The
// completion must not commit the parts as it read them: an upload of a
// part number again removes the replaced part's data, and the version
// would name data that are gone (the completion succeeded and every
// later GET failed "data corrupt beyond repair"). It commits the parts
// as they are under the lock, checked against the client's list.
func TestCompleteRacingPartUpload(t *testing.T) {
	ctx := context.Background()
	first := randBytes(9, 300_000) // startUpload's part 1
	other := randBytes(21, 200_000)
	for _, tc := range []struct {
		name   string
		number int    // the part uploaded in the race
		body   []byte // its body
		// wantErr is the completion's error (nil: it succeeds); on error
		// the client completes again with the part's new ETag.
		wantErr error
		want    []byte // the object after
	}{
		{"part 1 again, other data", 1, other, ErrInvalidPart, other},
		{"part 1 again, same data", 1, first, nil, first},
		{"part 2, not listed", 2, other, nil, first},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, dirs := faultStore(t, nil)
			if err := s.MakeBucket(ctx, "b", ""); err != nil {
				t.Fatal(err)
			}
			up, pi := startUpload(t, s, "b", "k")
			var raced PartInfo
			var once sync.Once
			s.completeHook = func(point string) {
				if point != "parts-read" {
					return
				}
				once.Do(func() {
					var err error
					raced, err = s.PutObjectPart(ctx, "b", "k", up, tc.number, bytes.NewReader(tc.body), PutOptions{Size: int64(len(tc.body)),
						Finish: func() (string, map[string]string, error) { return md5hex(tc.body), nil, nil }})
					if err != nil {
						t.Errorf("part upload in the race: %v", err)
					}
				})
			}
			_, err := s.CompleteMultipartUpload(ctx, "b", "k", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{})
			if tc.wantErr == nil && err != nil || !errors.Is(err, tc.wantErr) {
				t.Fatalf("completion: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up, []CompletePart{{Number: 1, ETag: raced.ETag}}, CompleteOptions{}); err != nil {
					t.Fatalf("completion with the new ETag: %v", err)
				}
			}
			checkCompleted(t, s, dirs, up, tc.want)
		})
	}
}

// TestCompleteRacingPartUploadsBounded: parts that keep changing under a
// completion make it give up after completeAttempts tries, with
// ErrConflict (409, to be retried), rather than loop; the upload is left
// whole and completes once they stop.
func TestCompleteRacingPartUploadsBounded(t *testing.T) {
	ctx := context.Background()
	s, _, dirs := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	up, pi := startUpload(t, s, "b", "k")
	body := randBytes(22, 1000)
	tries := 0
	s.completeHook = func(point string) {
		if point != "parts-read" {
			return
		}
		tries++
		if _, err := s.PutObjectPart(ctx, "b", "k", up, 2, bytes.NewReader(body), PutOptions{Size: int64(len(body)),
			Finish: func() (string, map[string]string, error) { return md5hex(body), nil, nil }}); err != nil {
			t.Errorf("part upload in the race: %v", err)
		}
	}
	list := []CompletePart{{Number: 1, ETag: pi.ETag}}
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up, list, CompleteOptions{}); !errors.Is(err, ErrConflict) || tries != completeAttempts {
		t.Fatalf("completion: %v after %d tries, want ErrConflict after %d", err, tries, completeAttempts)
	}
	s.completeHook = nil
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up, list, CompleteOptions{}); err != nil {
		t.Fatalf("completion once the parts stay: %v", err)
	}
	checkCompleted(t, s, dirs, up, randBytes(9, 300_000))
}

// TestPartUploadCommittingAfterComplete: a part whose data were written
// before a completion but whose record commits after it (the lock the
// completion held) finds no upload: it answers ErrUploadNotFound, its
// data go, and the object keeps the parts the completion used.
func TestPartUploadCommittingAfterComplete(t *testing.T) {
	ctx := context.Background()
	s, _, dirs := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	up, pi := startUpload(t, s, "b", "k")
	body := randBytes(23, 200_000)
	written, cont := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := s.PutObjectPart(ctx, "b", "k", up, 1, bytes.NewReader(body), PutOptions{Size: int64(len(body)),
			Finish: func() (string, map[string]string, error) {
				close(written) // the body is read, the shards not yet committed
				<-cont
				return md5hex(body), nil, nil
			}})
		done <- err
	}()
	<-written
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); err != nil {
		t.Fatalf("completion: %v", err)
	}
	close(cont)
	if err := <-done; !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("part upload after the completion: %v, want ErrUploadNotFound", err)
	}
	checkCompleted(t, s, dirs, up, randBytes(9, 300_000))
	if _, err := s.PutObjectPart(ctx, "b", "k", up, 1, bytes.NewReader(body), PutOptions{Size: int64(len(body))}); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("part upload after the completion: %v, want ErrUploadNotFound", err)
	}
}
