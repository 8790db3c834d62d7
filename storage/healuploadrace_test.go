package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// pausedPartHeal sets up an upload of b/k whose part 1 lacks its shard on
// drive 3 and starts a heal pass that stops, the shard rebuilt, just
// before its commit. It returns the upload, its part, the part's data id,
// a test of drive 3's shard, and release, which lets the pass go on and
// returns its error.
func pausedPartHeal(t *testing.T) (s *Store, fds []*faultDrive, up string, pi PartInfo, id string, has func() bool, release func() error) {
	t.Helper()
	s, fds, dirs := faultStore(t, nil)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	up, pi = startUpload(t, s, "b", "k")
	s.settle()
	parts, err := s.readParts(ctx, s.sets[0], up)
	if err != nil || len(parts) != 1 {
		t.Fatalf("parts %v: %v", parts, err)
	}
	id, file := parts[0].DataID, parts[0].File
	if err := os.RemoveAll(filepath.Join(dirs[3], "data", id[:2], id)); err != nil {
		t.Fatal(err)
	}
	d3 := s.sets[0].drives()[3]
	has = func() bool {
		f, err := d3.OpenData(ctx, id, file)
		if err != nil {
			return false
		}
		f.Close()
		return true
	}
	reached, cont := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.healHook = func(point string) {
		if point != "shards-rebuilt" {
			return
		}
		first := false
		once.Do(func() { first = true })
		if first { // the pass's heal of the part: nothing else is damaged
			close(reached)
			<-cont
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Heal(ctx, HealOptions{})
		done <- err
	}()
	<-reached
	return s, fds, up, pi, id, has, func() error {
		close(cont)
		return <-done
	}
}

// TestPartHealRacingClientWrites: the heal of an upload's part, held
// with its shard rebuilt while the client uploads the part again,
// aborts or completes the upload, writes nothing: it commits a shard
// only to a drive whose part record is still the one it healed, each
// upload of a part has a data id of its own, and the record is checked
// under the object's lock, which those writes hold.
func TestPartHealRacingClientWrites(t *testing.T) {
	ctx := context.Background()
	body := randBytes(11, 200_000)
	finish := func() (string, map[string]string, error) { return md5hex(body), nil, nil }
	for _, tc := range []struct {
		name string
		gone bool // the held part's data are gone from every drive
		// write races the heal; want is the object after it (nil: none).
		write func(t *testing.T, s *Store, up string, pi PartInfo) (want []byte)
	}{
		{"part uploaded again", true, func(t *testing.T, s *Store, up string, _ PartInfo) []byte {
			pi, err := s.PutObjectPart(ctx, "b", "k", up, 1, bytes.NewReader(body), PutOptions{Size: int64(len(body)), Finish: finish})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); err != nil {
				t.Fatal(err)
			}
			return body
		}},
		{"upload aborted", true, func(t *testing.T, s *Store, up string, _ PartInfo) []byte {
			if err := s.AbortMultipartUpload(ctx, "b", "k", up); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{"upload completed", false, func(t *testing.T, s *Store, up string, pi PartInfo) []byte {
			if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); err != nil {
				t.Fatal(err)
			}
			return randBytes(9, 300_000) // startUpload's part
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, up, pi, id, has, release := pausedPartHeal(t)
			want := tc.write(t, s, up, pi)
			if err := release(); err != nil {
				t.Fatalf("pass: %v", err)
			}
			s.settle()
			s.healq.wait()
			if tc.gone && has() {
				t.Errorf("drive 3 holds the shard of the part the heal held, gone from every other drive")
			}
			if _, err := s.ListParts(ctx, "b", "k", up, 0, 0); !errors.Is(err, ErrUploadNotFound) {
				t.Errorf("upload after the race: %v, want ErrUploadNotFound", err)
			}
			got, err := get(t, s, "b", "k", 0, -1)
			switch {
			case want == nil && !errors.Is(err, ErrObjectNotFound):
				t.Errorf("get after abort: %d bytes, %v", len(got), err)
			case want != nil && (err != nil || !bytes.Equal(got, want)):
				t.Errorf("get: %d bytes, %v; want the %d bytes acknowledged", len(got), err, len(want))
			}
			healTwice(t, s)
			if tc.gone && has() {
				t.Errorf("the part's data %s came back on drive 3", id)
			}
		})
	}
}

// TestPartHealAndObjectHealOfOneShard: the pass's heal of an upload's
// part is held with drive 3's shard rebuilt; the upload is completed
// without drive 3, and the heal that queues gives drive 3 the version
// but fails to drop the upload's records there, so drive 3 names the
// part's data twice. That heal rebuilds and commits the shard; the
// part's heal must not then remove it to commit its own copy (as a heal
// of the same key would not: heals of one key hold its heal lock, end
// to end). Drive 3 would be without a shard a heal reported healed,
// until the next heal of the object if that commit fails or the process
// dies there (crash point heal-swap).
func TestPartHealAndObjectHealOfOneShard(t *testing.T) {
	s, fds, up, pi, _, has, release := pausedPartHeal(t)
	ctx := context.Background()
	var mu sync.Mutex
	objectHealed, lost := false, false
	s.healHook = func(point string) {
		if point == "shard-removed" {
			mu.Lock()
			if objectHealed && !has() {
				lost = true
			}
			mu.Unlock()
		}
	}
	failUploadDrop(fds[3], up)
	_, healedBefore, _, _ := s.healq.stats()
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, healed, _, _ := s.healq.stats(); healed > healedBefore {
			if !has() {
				t.Fatalf("the queued heal left drive 3 without the shard")
			}
			mu.Lock()
			objectHealed = true
			mu.Unlock()
			break
		}
	} // else the queued heal waits for the part's heal
	if err := release(); err != nil {
		t.Fatalf("pass: %v", err)
	}
	s.settle()
	s.healq.wait()
	mu.Lock()
	defer mu.Unlock()
	if lost {
		t.Errorf("drive 3 was without the shard of k after a heal had reported it healed")
	}
	if !has() {
		t.Errorf("drive 3 lost the shard of k")
	}
}

// failUploadDrop makes f fail the batches that delete upload up's
// record: a completion's, and a heal's drop of what a completion left;
// a heal's write of the completed version passes.
func failUploadDrop(f *faultDrive, up string) {
	ukey := uploadKey("b", "k", up)
	f.set(func(f *faultDrive) {
		f.failOps = func(ops []drive.Op) error {
			for _, op := range ops {
				if op.Delete && bytes.Equal(op.Key, ukey) {
					return errInjectedIO
				}
			}
			return nil
		}
	})
}

// TestCompletedUploadLeftoversDropped: a completion missed drive 3, and
// the heal that gave drive 3 the version failed to drop the upload's
// records there. Once every drive holds the same object record, the
// object heal does not look at the upload any more, and the pass left
// it to the object heal: drive 3 kept the records for ever, and every
// pass counted the set's drives short of it, so that a drive being
// rebuilt in the set never ended its rebuild.
func TestCompletedUploadLeftoversDropped(t *testing.T) {
	s, fds, dirs := faultStore(t, nil)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	up, pi := startUpload(t, s, "b", "k")
	failUploadDrop(fds[3], up)
	if _, err := s.CompleteMultipartUpload(ctx, "b", "k", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.settle()
	s.healq.wait()
	fds[3].clear()
	_, err1 := fds[3].Get(ctx, objectKey("b", "k"))
	_, err2 := fds[3].Get(ctx, uploadKey("b", "k", up))
	if err1 != nil || err2 != nil {
		t.Fatalf("setup: drive 3 should hold the version (%v) and the upload (%v)", err1, err2)
	}
	s.markRebuilding(dirs[5])
	healTwice(t, s)
	if s.beingRebuilt(dirs[5]) {
		t.Errorf("drive 5 still being rebuilt after two passes that gave it everything")
	}
}
