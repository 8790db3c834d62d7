package drive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stubSync replaces syncFile for one test with fn, which receives the
// file and how many bytes it held when the sync began.
func stubSync(t *testing.T, fn func(f *os.File, size int64) error) {
	t.Helper()
	old := syncFile
	syncFile = func(f *os.File) error {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		return fn(f, fi.Size())
	}
	t.Cleanup(func() { syncFile = old })
}

// TestStagingSyncsAsItGoes: a staging file larger than stagingSyncEvery
// is synced in the background while it is written (the device persists
// a large shard while the body still arrives), then once more at Commit;
// a smaller one only at Commit. The content is what was written.
func TestStagingSyncsAsItGoes(t *testing.T) {
	d, _ := openTest(t, Options{})
	ctx := context.Background()
	rng := rand.New(rand.NewSource(1))
	tests := []struct {
		name           string
		size           int
		wantBackground bool
	}{
		{"small", stagingSyncEvery - 1, false},
		{"large", 3*stagingSyncEvery + 12345, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var sizes []int64 // file size at each sync
			stubSync(t, func(f *os.File, size int64) error {
				mu.Lock()
				sizes = append(sizes, size)
				mu.Unlock()
				return f.Sync()
			})
			content := make([]byte, tt.size)
			rng.Read(content)
			sf := newStaging(t, d)
			// Written in the erasure coder's shard-sized pieces.
			for p := content; len(p) > 0; {
				n := min(len(p), 256<<10)
				if _, err := sf.Write(p[:n]); err != nil {
					t.Fatal(err)
				}
				p = p[n:]
			}
			id := NewDataID()
			if err := sf.Commit(ctx, id, "part.1"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := append([]int64(nil), sizes...)
			mu.Unlock()
			if len(got) == 0 || got[len(got)-1] != int64(tt.size) {
				t.Fatalf("syncs saw sizes %v: the last must be Commit's, of all %d bytes", got, tt.size)
			}
			background := got[:len(got)-1]
			if tt.wantBackground && len(background) == 0 {
				t.Errorf("no sync before Commit of a %d-byte file", tt.size)
			}
			if !tt.wantBackground && len(background) != 0 {
				t.Errorf("syncs before Commit at sizes %v of a %d-byte file", background, tt.size)
			}
			for _, s := range background {
				if s < stagingSyncEvery {
					t.Errorf("a background sync began at %d bytes, before %d were written", s, stagingSyncEvery)
				}
			}
			f, err := d.OpenData(ctx, id, "part.1")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			b, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
			if err != nil || !bytes.Equal(b, content) {
				t.Fatalf("committed %d bytes (%v), want the %d written", len(b), err, len(content))
			}
		})
	}
}

// syncEIO is the error a failing sync returns.
func syncEIO(f *os.File) error { return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO} }

// failFirstSync makes the first sync wait for release (if not nil) and
// then fail with EIO; later syncs sync. It returns the count of syncs.
func failFirstSync(t *testing.T, release <-chan struct{}) *atomic.Int32 {
	t.Helper()
	var calls atomic.Int32
	stubSync(t, func(f *os.File, _ int64) error {
		if calls.Add(1) == 1 {
			if release != nil {
				<-release
			}
			return syncEIO(f)
		}
		return f.Sync()
	})
	return &calls
}

// newStaging creates a staging file on d, aborted when the test ends.
func newStaging(t *testing.T, d *Drive) StagingFile {
	t.Helper()
	sf, err := d.CreateStaging(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sf.Abort() })
	return sf
}

// TestStagingBackgroundSyncFailure: Linux reports a lost write-back to
// one fsync only, so when a background sync gets EIO the Commit's own
// sync may well succeed. The file must still never be declared durable:
// Commit fails with the EIO and nothing reaches data/. Writes go on (a
// heal must not lose its other drives' shards for this one), but no
// further background sync starts on the failing file.
func TestStagingBackgroundSyncFailure(t *testing.T) {
	d, dir := openTest(t, Options{})
	ctx := context.Background()
	calls := failFirstSync(t, nil)
	sf := newStaging(t, d)
	chunk := make([]byte, 1<<20)
	for range 3 * stagingSyncEvery / len(chunk) {
		if _, err := sf.Write(chunk); err != nil {
			t.Fatalf("write after the background sync failed: %v", err)
		}
		time.Sleep(time.Millisecond) // lets the failing sync finish before the next threshold
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d syncs while writing %d bytes, want the one that failed", n, 3*stagingSyncEvery)
	}
	err := sf.Commit(ctx, NewDataID(), "part.1")
	if !errors.Is(err, syscall.EIO) || !errors.Is(err, ErrOffline) {
		t.Fatalf("Commit after a background sync failed: %v, want EIO and ErrOffline", err)
	}
	if err := sf.Abort(); err != nil {
		t.Fatal(err)
	}
	if es := entries(t, filepath.Join(dir, "data")); len(es) != 0 {
		t.Errorf("data/ holds %v after the failed Commit", es)
	}
	if es := entries(t, filepath.Join(dir, "tmp")); len(es) != 0 {
		t.Errorf("tmp/ holds %v after Abort", es)
	}
}

// TestStagingSyncFailsDuringCommit: the background sync still running
// when Commit begins fails afterwards; Commit waits for it and fails.
func TestStagingSyncFailsDuringCommit(t *testing.T) {
	d, _ := openTest(t, Options{})
	ctx := context.Background()
	release := make(chan struct{})
	failFirstSync(t, release)
	sf := newStaging(t, d)
	if _, err := sf.Write(make([]byte, stagingSyncEvery)); err != nil {
		t.Fatal(err)
	}
	committed := make(chan error, 1)
	go func() { committed <- sf.Commit(ctx, NewDataID(), "part.1") }()
	select {
	case err := <-committed:
		close(release)
		t.Fatalf("Commit returned (%v) before the background sync did", err)
	case <-time.After(30 * time.Millisecond):
	}
	close(release)
	if err := <-committed; !errors.Is(err, syscall.EIO) {
		t.Fatalf("Commit = %v, want the background sync's EIO", err)
	}
}

// TestStagingOneSyncAtATime: however fast the writes come, one
// background sync runs at a time.
func TestStagingOneSyncAtATime(t *testing.T) {
	d, _ := openTest(t, Options{})
	var running, most atomic.Int32
	stubSync(t, func(*os.File, int64) error {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		return nil
	})
	sf := newStaging(t, d)
	chunk := make([]byte, 1<<20)
	for range 6 * stagingSyncEvery / len(chunk) {
		if _, err := sf.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := sf.Abort(); err != nil {
		t.Fatal(err)
	}
	if n := most.Load(); n != 1 {
		t.Errorf("at most %d background syncs ran at once, want 1", n)
	}
	if n := running.Load(); n != 0 {
		t.Errorf("%d syncs still running after Abort", n)
	}
}

// TestStagingAbortWaitsForSync: Abort closes the file only after the
// background sync that uses it returned.
func TestStagingAbortWaitsForSync(t *testing.T) {
	d, _ := openTest(t, Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	stubSync(t, func(f *os.File, _ int64) error {
		once.Do(func() { close(entered) })
		<-release
		return f.Sync()
	})
	sf := newStaging(t, d)
	if _, err := sf.Write(make([]byte, stagingSyncEvery)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no background sync began after writing stagingSyncEvery bytes")
	}
	aborted := make(chan error, 1)
	go func() { aborted <- sf.Abort() }()
	select {
	case err := <-aborted:
		close(release)
		t.Fatalf("Abort returned (%v) while the background sync was still running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-aborted; err != nil {
		t.Fatal(err)
	}
}

// TestStagingSyncAheadRefused: while Options.SyncAhead says no (the
// store has other writes in progress), a large staging file is synced
// only at Commit, as every file was before background syncs.
func TestStagingSyncAheadRefused(t *testing.T) {
	var ahead atomic.Bool
	d, _ := openTest(t, Options{SyncAhead: ahead.Load})
	ctx := context.Background()
	var calls atomic.Int32
	stubSync(t, func(f *os.File, _ int64) error {
		calls.Add(1)
		return f.Sync()
	})
	chunk := make([]byte, 1<<20)
	n := 2 * stagingSyncEvery / len(chunk)
	// on(i) is SyncAhead's answer while chunk i is written: asked at each
	// threshold, not once per file.
	for _, tc := range []struct {
		name     string
		on       func(i int) bool
		wantSync bool
	}{
		{"refused", func(int) bool { return false }, false},
		{"allowed", func(int) bool { return true }, true},
		{"allowed from half-way", func(i int) bool { return i >= n/2 }, true},
	} {
		calls.Store(0)
		sf := newStaging(t, d)
		for i := range n {
			ahead.Store(tc.on(i))
			if _, err := sf.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		if err := sf.Commit(ctx, NewDataID(), "part.1"); err != nil {
			t.Fatal(err)
		}
		got := calls.Load()
		if !tc.wantSync && got != 1 {
			t.Errorf("%s: %d syncs, want only Commit's", tc.name, got)
		}
		if tc.wantSync && got < 2 {
			t.Errorf("%s: %d syncs, want a background one and Commit's", tc.name, got)
		}
	}
}
