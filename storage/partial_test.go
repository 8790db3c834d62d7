package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// interrupt makes the next metadata commit reach only the drives in
// reached and never be rolled back there, as if the process died in the
// middle of it: the other drives refuse the commit, and the reached ones
// refuse everything after their one commit.
func interrupt(fds []*faultDrive, reached ...int) {
	in := map[int]bool{}
	for _, p := range reached {
		in[p] = true
	}
	for p, fd := range fds {
		fd.set(func(f *faultDrive) {
			f.fail["apply"] = errInjectedIO
			if in[p] {
				f.allow["apply"] = 1
			}
		})
	}
}

func clearAll(fds []*faultDrive) {
	for _, fd := range fds {
		fd.clear()
	}
}

// TestHealUnfinishedWrites: writes interrupted between the metadata
// commits of different drives are rolled back when too few drives got
// them to have been acknowledged, and finished when enough did.
func TestHealUnfinishedWrites(t *testing.T) {
	ctx := context.Background()
	t.Run("overwrite on two drives is rolled back", func(t *testing.T) {
		s, fds, _ := faultStore(t, nil)
		want := fill(t, s, false)
		interrupt(fds, 0, 1)
		if _, err := s.PutObject(ctx, "b", "multiblock", bytes.NewReader(randBytes(9, 100<<10)), PutOptions{Size: 100 << 10}); !errors.Is(err, ErrWriteQuorum) {
			t.Fatalf("interrupted put: %v", err)
		}
		if _, err := s.PutObject(ctx, "b", "fresh", bytes.NewReader([]byte("tiny")), PutOptions{Size: 4}); !errors.Is(err, ErrWriteQuorum) {
			t.Fatalf("interrupted inline put: %v", err)
		}
		clearAll(fds)
		verify(t, s, want) // the unfinished writes are invisible
		healTwice(t, s)
		verify(t, s, want)
	})
	t.Run("delete on two drives is undone", func(t *testing.T) {
		s, fds, _ := faultStore(t, nil)
		want := fill(t, s, false)
		interrupt(fds, 2, 3)
		if err := s.DeleteObject(ctx, "b", "one-block", DeleteOptions{}); !errors.Is(err, ErrWriteQuorum) {
			t.Fatalf("interrupted delete: %v", err)
		}
		clearAll(fds)
		verify(t, s, want)
		healTwice(t, s)
		verify(t, s, want)
	})
	t.Run("delete on four drives is finished", func(t *testing.T) {
		s, fds, _ := faultStore(t, nil)
		want := fill(t, s, false)
		interrupt(fds, 0, 1, 2, 3)
		if err := s.DeleteObject(ctx, "b", "multiblock", DeleteOptions{}); err != nil {
			t.Fatalf("delete with a quorum: %v", err)
		}
		delete(want, "multiblock")
		clearAll(fds)
		verify(t, s, want)
		healTwice(t, s)
		verify(t, s, want)
	})
	t.Run("metadata update on three drives", func(t *testing.T) {
		s, fds, _ := faultStore(t, nil)
		want := fill(t, s, false)
		interrupt(fds, 0, 1, 2)
		if _, err := s.UpdateMetadata(ctx, "b", "inline", "", map[string]string{"x-amz-meta-a": "1"}, nil); !errors.Is(err, ErrWriteQuorum) {
			t.Fatalf("interrupted update: %v", err)
		}
		clearAll(fds)
		healTwice(t, s)
		verify(t, s, want)
	})
}

// TestHealUnfinishedMultipart: a completion that reached too few drives
// gives the upload back (it can be completed again); one that reached a
// quorum drops the upload's records from the drives it missed.
func TestHealUnfinishedMultipart(t *testing.T) {
	ctx := context.Background()
	upload := func(t *testing.T, s *Store) (string, []CompletePart, []byte) {
		up, err := s.NewMultipartUpload(ctx, "b", "mp", nil)
		if err != nil {
			t.Fatal(err)
		}
		body := randBytes(77, 3000)
		pi, err := s.PutObjectPart(ctx, "b", "mp", up, 1, bytes.NewReader(body), PutOptions{
			Size: int64(len(body)), Finish: func() (string, map[string]string, error) { return md5hex(body), nil, nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		return up, []CompletePart{{Number: 1, ETag: pi.ETag}}, body
	}
	t.Run("completion on two drives", func(t *testing.T) {
		s, fds, _ := faultStore(t, nil)
		want := fill(t, s, false)
		up, parts, body := upload(t, s)
		interrupt(fds, 4, 5)
		if _, err := s.CompleteMultipartUpload(ctx, "b", "mp", up, parts, CompleteOptions{}); !errors.Is(err, ErrWriteQuorum) {
			t.Fatalf("interrupted completion: %v", err)
		}
		clearAll(fds)
		healTwice(t, s)
		verify(t, s, want)
		if _, err := s.CompleteMultipartUpload(ctx, "b", "mp", up, parts, CompleteOptions{}); err != nil {
			t.Fatalf("completion after the heal: %v", err)
		}
		want["mp"] = body
		verify(t, s, want)
		healTwice(t, s)
	})
	t.Run("completion on four drives", func(t *testing.T) {
		s, fds, _ := faultStore(t, nil)
		want := fill(t, s, false)
		up, parts, body := upload(t, s)
		interrupt(fds, 0, 1, 2, 3)
		if _, err := s.CompleteMultipartUpload(ctx, "b", "mp", up, parts, CompleteOptions{}); err != nil {
			t.Fatalf("completion with a quorum: %v", err)
		}
		want["mp"] = body
		clearAll(fds)
		verify(t, s, want)
		healTwice(t, s)
		if res, _ := s.ListMultipartUploads(ctx, "b", ListUploadsOptions{}); len(res.Uploads) != 0 {
			t.Fatalf("uploads left: %+v", res.Uploads)
		}
	})
	t.Run("upload records", func(t *testing.T) {
		s, fds, _ := faultStore(t, nil)
		fill(t, s, false)
		up, _, _ := upload(t, s)
		// One drive lost the upload's records: they come back.
		d := s.sets[0].drives()[3]
		rewriteValue(t, d, uploadKey("b", "mp", up), nil)
		rewriteValue(t, d, partKey(up, 1), nil)
		// A creation that reached two drives only is removed.
		interrupt(fds, 1, 2)
		if _, err := s.NewMultipartUpload(ctx, "b", "half", nil); !errors.Is(err, ErrWriteQuorum) {
			t.Fatalf("interrupted creation: %v", err)
		}
		clearAll(fds)
		st := healTwice(t, s)
		if st.UploadsScanned != 2 {
			t.Errorf("scanned %d uploads, want 2", st.UploadsScanned)
		}
		res, err := s.ListMultipartUploads(ctx, "b", ListUploadsOptions{})
		if err != nil || len(res.Uploads) != 1 || res.Uploads[0].UploadID != up {
			t.Fatalf("uploads after heal: %+v %v", res.Uploads, err)
		}
		// Part shards of uploads are verified and rebuilt too.
		lp, err := s.ListParts(ctx, "b", "mp", up, 0, 0)
		if err != nil || len(lp.Parts) != 1 {
			t.Fatalf("parts: %+v %v", lp, err)
		}
	})
}

// TestOrphans: data directories and staging files no metadata names, and
// part records of uploads that exist nowhere, are removed once older than
// the grace period, never before.
func TestOrphans(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	s, fds, dirs := faultStore(t, func(c *Config) { c.Now = clock; c.OrphanGrace = time.Hour })
	want := fill(t, s, false)
	mk := func(d Drive, id string) {
		sf, err := d.CreateStaging(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sf.Write([]byte("orphan"))
		if err := sf.Commit(ctx, id, "part.1"); err != nil {
			t.Fatal(err)
		}
	}
	old, young := newID(), newID()
	for _, fd := range fds {
		mk(fd, old)
		mk(fd, young)
	}
	past := now.Add(-2 * time.Hour)
	for _, dir := range dirs {
		os.Chtimes(filepath.Join(dir, "data", old[:2], old), past, past)
	}
	stale, err := fds[0].CreateStaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stale.Write([]byte("abandoned"))
	staleName := filepath.Join(dirs[0], "tmp")
	entries, _ := os.ReadDir(staleName)
	for _, e := range entries {
		os.Chtimes(filepath.Join(staleName, e.Name()), past, past)
	}
	orphanUpload := newID()
	part := partEntry{Number: 1, Size: 1, DataID: newID(), File: "part.1", ModTime: past.UnixNano()}
	for _, fd := range fds {
		if err := fd.Apply(ctx, []drive.Op{{Key: partKey(orphanUpload, 1), Value: encodePart(&part)}}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Heal(ctx, HealOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Six old directories, one staging file, one part record (on every
	// drive).
	if st.OrphansRemoved != 8 {
		t.Errorf("removed %d orphans, want 8", st.OrphansRemoved)
	}
	for i, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "data", old[:2], old)); !os.IsNotExist(err) {
			t.Errorf("drive %d: old orphan still there (%v)", i, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "data", young[:2], young)); err != nil {
			t.Errorf("drive %d: young directory removed: %v", i, err)
		}
	}
	if entries, _ := os.ReadDir(staleName); len(entries) != 0 {
		t.Errorf("staging files left: %v", entries)
	}
	stale.Abort()
	verify(t, s, want)
	checkFullRedundancy(t, s)
}

// TestStartupOrphanScan: directories left by a crash between data and
// metadata go at the next start, without waiting for the grace period.
func TestStartupOrphanScan(t *testing.T) {
	s, dirs := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	put(t, s, "b", "kept", randBytes(1, 100<<10))
	orphan := newID()
	for _, d := range s.sets[0].drives() {
		sf, _ := d.CreateStaging(ctx)
		sf.Write([]byte("x"))
		if err := sf.Commit(ctx, orphan, "part.1"); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	drives := make([]DriveConfig, len(dirs))
	for i, d := range dirs {
		drives[i] = DriveConfig{Path: d}
	}
	s2, err := Open(ctx, Config{Drives: drives, DataShards: 4, ParityShards: 2, BlockSize: 64 << 10, InlineLimit: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	deadline := time.Now().Add(10 * time.Second)
	for _, dir := range dirs {
		for countDataDirs(t, dir) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d data dirs, want 1", dir, countDataDirs(t, dir))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if got, err := get(t, s2, "b", "kept", 0, -1); err != nil || !bytes.Equal(got, randBytes(1, 100<<10)) {
		t.Fatalf("kept object: %v", err)
	}
}
