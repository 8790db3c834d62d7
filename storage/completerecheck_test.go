package storage

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
)

// TestCompleteRecheckDriveFailure: part 1 is acknowledged on
// drives 0-3 (4 and 5 missed its record). A drive's listing fails
// between the completion's first read of the parts and its re-check
// under the lock: the re-check no longer sees part 1 on a read quorum,
// takes that for "parts changed", tries again, and the next try, not
// finding part 1 either, answers InvalidPart (400: the client gives up
// and aborts the upload) for a part that was acknowledged and whose
// shards are all still there. Not knowing is a quorum error (503), not
// a changed part.
func TestCompleteRecheckDriveFailure(t *testing.T) {
	ctx := context.Background()
	s, fds, _ := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	up, err := s.NewMultipartUpload(ctx, "b", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{4, 5} {
		fds[p].set(func(f *faultDrive) { f.fail["apply"] = errInjectedIO })
	}
	body := randBytes(31, 300_000)
	pi, err := s.PutObjectPart(ctx, "b", "k", up, 1, bytes.NewReader(body), PutOptions{Size: int64(len(body)),
		Finish: func() (string, map[string]string, error) { return md5hex(body), nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	fds[4].clear()
	fds[5].clear()
	var once sync.Once
	s.completeHook = func(point string) {
		if point == "parts-read" {
			once.Do(func() {
				fds[3].mu.Lock()
				fds[3].fail["iter"] = errInjectedIO
				fds[3].mu.Unlock()
			})
		}
	}
	_, err = s.CompleteMultipartUpload(ctx, "b", "k", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{})
	if errors.Is(err, ErrInvalidPart) {
		t.Fatalf("completion with drive 3's listing failing during it: %v; want a quorum error (503) for an acknowledged part", err)
	}
	t.Logf("completion: %v", err)
}
