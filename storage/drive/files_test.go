package drive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestStagingCommitRead(t *testing.T) {
	d, dir := openTest(t, Options{})
	ctx := context.Background()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	tests := []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"4KiB", 4 << 10},
		{"uneven", 1<<20 + 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := make([]byte, tt.size)
			rng.Read(content)
			id := NewDataID()
			sf, err := d.CreateStaging(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Several writes, as the erasure writer does per block.
			for rest := content; len(rest) > 0; {
				n := min(len(rest), 1+rng.Intn(100<<10))
				if w, err := sf.Write(rest[:n]); err != nil || w != n {
					t.Fatalf("Write = %d, %v", w, err)
				}
				rest = rest[n:]
			}
			if es := entries(t, filepath.Join(dir, "tmp")); len(es) != 1 {
				t.Fatalf("tmp/ holds %v, want the one staging file", es)
			}
			if err := sf.Commit(ctx, id, "part.1"); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if err := sf.Abort(); err != nil {
				t.Errorf("Abort after Commit = %v, want nil (no-op)", err)
			}
			if es := entries(t, filepath.Join(dir, "tmp")); len(es) != 0 {
				t.Errorf("tmp/ holds %v after Commit", es)
			}
			want := filepath.Join(dir, "data", id[:2], id, "part.1")
			if _, err := os.Stat(want); err != nil {
				t.Fatalf("committed file not at %s: %v", want, err)
			}

			f, err := d.OpenData(ctx, id, "part.1")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Size() != int64(tt.size) {
				t.Fatalf("Size = %d, want %d", f.Size(), tt.size)
			}
			for i := 0; i < 20 && tt.size > 0; i++ {
				off := rng.Intn(tt.size)
				n := rng.Intn(tt.size - off + 1)
				buf := make([]byte, n)
				if got, err := f.ReadAt(buf, int64(off)); got != n || (err != nil && err != io.EOF) {
					t.Fatalf("ReadAt(%d, %d) = %d, %v", n, off, got, err)
				}
				if !bytes.Equal(buf, content[off:off+n]) {
					t.Fatalf("ReadAt(%d, %d) returned other bytes", n, off)
				}
			}
			// Reading past the end is io.EOF, unwrapped, as io.ReaderAt says.
			buf := make([]byte, 10)
			if _, err := f.ReadAt(buf, int64(tt.size)); err != io.EOF {
				t.Errorf("ReadAt at the end = %v, want io.EOF", err)
			}

			if err := d.RemoveData(ctx, id); err != nil {
				t.Fatalf("RemoveData: %v", err)
			}
			if _, err := d.OpenData(ctx, id, "part.1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("OpenData after RemoveData = %v, want ErrNotFound", err)
			}
			if err := d.RemoveData(ctx, id); err != nil {
				t.Fatalf("RemoveData of an absent id = %v, want nil", err)
			}
		})
	}
}

func TestCommitTwiceSameName(t *testing.T) {
	d, dir := openTest(t, Options{})
	ctx := context.Background()
	id := NewDataID()
	commitFile(t, d, id, "part.1", []byte("first"))

	sf, err := d.CreateStaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sf.Write([]byte("second")); err != nil {
		t.Fatal(err)
	}
	if err := sf.Commit(ctx, id, "part.1"); !errors.Is(err, ErrExists) {
		t.Fatalf("second Commit = %v, want ErrExists", err)
	}
	if err := sf.Commit(ctx, id, "part.2"); err == nil {
		t.Fatal("Commit after a failed Commit succeeded")
	}
	if err := sf.Abort(); err != nil {
		t.Fatalf("Abort after failed Commit: %v", err)
	}
	if got := readAll(t, d, id, "part.1"); string(got) != "first" {
		t.Fatalf("committed file now holds %q, want first (never overwritten)", got)
	}
	if es := entries(t, filepath.Join(dir, "tmp")); len(es) != 0 {
		t.Errorf("tmp/ holds %v after Abort", es)
	}
	// Another name in the same data id is fine.
	commitFile(t, d, id, "part.2", []byte("other"))
	if got := readAll(t, d, id, "part.2"); string(got) != "other" {
		t.Fatalf("part.2 = %q", got)
	}
}

func TestStagingAbort(t *testing.T) {
	d, dir := openTest(t, Options{})
	ctx := context.Background()
	sf, err := d.CreateStaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sf.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := sf.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := sf.Abort(); err != nil {
		t.Errorf("second Abort = %v", err)
	}
	if _, err := sf.Write([]byte("y")); err == nil {
		t.Error("Write after Abort succeeded")
	}
	if err := sf.Commit(ctx, NewDataID(), "x"); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if es := entries(t, filepath.Join(dir, "tmp")); len(es) != 0 {
		t.Errorf("tmp/ holds %v after Abort", es)
	}
	if es := entries(t, filepath.Join(dir, "data")); len(es) != 0 {
		t.Errorf("data/ holds %v after Abort", es)
	}
}

// TestConcurrentCommitsOneID: parts of one data id committed in parallel
// (multipart) race to create the same directories; all must land.
func TestConcurrentCommitsOneID(t *testing.T) {
	d, _ := openTest(t, Options{})
	id := NewDataID()
	const parts = 16
	var wg sync.WaitGroup
	errs := make(chan error, parts)
	for p := 0; p < parts; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			ctx := context.Background()
			sf, err := d.CreateStaging(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer sf.Abort()
			if _, err := fmt.Fprintf(sf, "part %d", p); err != nil {
				errs <- err
				return
			}
			errs <- sf.Commit(ctx, id, fmt.Sprintf("part.%d", p))
		}(p)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for p := 0; p < parts; p++ {
		if got := readAll(t, d, id, fmt.Sprintf("part.%d", p)); string(got) != fmt.Sprintf("part %d", p) {
			t.Errorf("part.%d = %q", p, got)
		}
	}
}

func TestOpenDataNotFound(t *testing.T) {
	d, _ := openTest(t, Options{})
	ctx := context.Background()
	id := NewDataID()
	commitFile(t, d, id, "a", []byte("x"))
	tests := []struct {
		name       string
		id, object string
	}{
		{"unknown id", NewDataID(), "a"},
		{"unknown name", id, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.OpenData(ctx, tt.id, tt.object)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("OpenData = %v, want ErrNotFound", err)
			}
			if errors.Is(err, ErrOffline) {
				t.Fatalf("OpenData = %v: a missing file on a healthy drive is not offline", err)
			}
		})
	}
}

func TestOpenCleansTmp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	d, err := Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := NewDataID()
	commitFile(t, d, id, "kept", []byte("committed"))
	sf, err := d.CreateStaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sf.Write([]byte("never committed")); err != nil {
		t.Fatal(err)
	}
	// Leftovers of a crash: the open staging file and a stray directory.
	mustWrite(t, filepath.Join(dir, "tmp", "stray", "deep"), "x")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if es := entries(t, filepath.Join(dir, "tmp")); len(es) != 2 {
		t.Fatalf("tmp/ holds %v before reopen, want 2 entries", es)
	}
	d, err = Open(dir, testFormat(), Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if es := entries(t, filepath.Join(dir, "tmp")); len(es) != 0 {
		t.Errorf("tmp/ holds %v after Open, want nothing", es)
	}
	if got := readAll(t, d, id, "kept"); string(got) != "committed" {
		t.Errorf("committed file = %q after reopen", got)
	}
}

func TestWalkData(t *testing.T) {
	d, dir := openTest(t, Options{})
	ctx := context.Background()
	var want []string
	for i := 0; i < 30; i++ {
		id := NewDataID()
		commitFile(t, d, id, "part.1", []byte("x"))
		want = append(want, id)
	}
	// Things that are not data ids are skipped.
	mustWrite(t, filepath.Join(dir, "data", "zz", "junk"), "x")
	mustWrite(t, filepath.Join(dir, "data", "README"), "x")
	mustMkdir(t, filepath.Join(dir, "data", "ab", "not-an-id"))
	mustMkdir(t, filepath.Join(dir, "data", "ab", "cd"+want[0][2:])) // wrong prefix directory
	sort.Strings(want)

	var got []string
	if err := d.WalkData(ctx, func(id string) error { got = append(got, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("WalkData = %v\nwant %v", got, want)
	}

	t.Run("fn error stops the walk", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := d.WalkData(ctx, func(string) error { n++; return stop })
		if err != stop || n != 1 {
			t.Fatalf("WalkData = %v after %d calls, want stop after 1", err, n)
		}
	})
	t.Run("cancelled while walking", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		n := 0
		err := d.WalkData(ctx, func(string) error { n++; cancel(); return nil })
		if !errors.Is(err, context.Canceled) || n != 1 {
			t.Fatalf("WalkData = %v after %d calls, want Canceled after 1", err, n)
		}
	})
	t.Run("after RemoveData", func(t *testing.T) {
		if err := d.RemoveData(ctx, want[0]); err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := d.WalkData(ctx, func(id string) error { got = append(got, id); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want[1:]) {
			t.Fatalf("WalkData = %v, want %v", got, want[1:])
		}
	})
}

func TestCheckAndDiskUsage(t *testing.T) {
	d, dir := openTest(t, Options{})
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check on a healthy drive: %v", err)
	}
	if es := entries(t, filepath.Join(dir, "tmp")); len(es) != 0 {
		t.Errorf("Check left %v in tmp/", es)
	}
	total, free, err := d.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	if total == 0 || free > total {
		t.Errorf("DiskUsage = %d total, %d free", total, free)
	}
}
