package drive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

func TestKVRoundTrip(t *testing.T) {
	d, _ := openTest(t, Options{})
	ctx := context.Background()
	tests := []struct {
		name  string
		key   []byte
		value []byte
	}{
		{"plain", []byte("bucket/key"), []byte("value")},
		{"empty value", []byte("empty"), []byte{}},
		{"binary", []byte{0, 0xff, 0, 1}, []byte{0, 1, 2, 0xff}},
		{"empty key", []byte{}, []byte("empty key works")},
		{"large value", []byte("large"), bytes.Repeat([]byte("x"), 1<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.Apply(ctx, []Op{{Key: tt.key, Value: tt.value}}); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			got, err := d.Get(ctx, tt.key)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if !bytes.Equal(got, tt.value) || got == nil {
				t.Fatalf("Get = %q (nil=%v), want %q", trunc(got), got == nil, trunc(tt.value))
			}
			// The result is the caller's copy.
			if len(got) > 0 {
				got[0] ^= 0xff
				again, _ := d.Get(ctx, tt.key)
				if !bytes.Equal(again, tt.value) {
					t.Fatal("modifying Get's result changed the stored value")
				}
			}
			if err := d.Apply(ctx, []Op{{Key: tt.key, Delete: true, Value: []byte("ignored")}}); err != nil {
				t.Fatalf("Apply delete: %v", err)
			}
			if _, err := d.Get(ctx, tt.key); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after delete = %v, want ErrNotFound", err)
			}
		})
	}
}

func trunc(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

func TestApplyCopiesInput(t *testing.T) {
	d, _ := openTest(t, Options{})
	ctx := context.Background()
	k, v := []byte("k"), []byte("v1")
	if err := d.Apply(ctx, []Op{{Key: k, Value: v}}); err != nil {
		t.Fatal(err)
	}
	k[0], v[1] = 'x', '9'
	got, err := d.Get(ctx, []byte("k"))
	if err != nil || string(got) != "v1" {
		t.Fatalf("Get = %q, %v; want v1 (Apply must copy its input)", got, err)
	}
	if err := d.Apply(ctx, nil); err != nil {
		t.Fatalf("empty Apply: %v", err)
	}
}

func TestKVPersistsAcrossReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	ctx := context.Background()
	d, err := Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ops := []Op{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}}
	if err := d.Apply(ctx, ops); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, op := range ops {
		got, err := d.Get(ctx, op.Key)
		if err != nil || !bytes.Equal(got, op.Value) {
			t.Errorf("after reopen Get(%s) = %q, %v; want %q", op.Key, got, err, op.Value)
		}
	}
}

// TestApplyLazy: an unsynced batch is seen at once, is made durable by
// the next synced one, and survives a clean close.
func TestApplyLazy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	ctx := context.Background()
	d, err := Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, []Op{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	if err := d.ApplyLazy(ctx, []Op{{Key: []byte("a"), Delete: true}, {Key: []byte("c"), Value: []byte("3")}}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if _, err := d.Get(ctx, []byte("a")); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: a deleted lazily: %v", when, err)
		}
		if got, err := d.Get(ctx, []byte("c")); err != nil || string(got) != "3" {
			t.Errorf("%s: c set lazily: %q, %v", when, got, err)
		}
	}
	check("at once")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err = Open(dir, testFormat(), Options{}); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	check("after a close and reopen")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := d.ApplyLazy(cancelled, []Op{{Key: []byte("x"), Value: []byte("y")}}); err == nil {
		t.Error("ApplyLazy with a cancelled context succeeded")
	}
}

// TestApplyAtomic: readers taking snapshots while batches commit see each
// batch either whole or not at all, and a batch mixing sets and deletes
// takes effect as one.
func TestApplyAtomic(t *testing.T) {
	d, _ := openTest(t, Options{})
	ctx := context.Background()
	const batches, perBatch = 40, 25
	key := func(b, i int) []byte { return []byte(fmt.Sprintf("gen%03d/%03d", b, i)) }

	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 4)
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				it, err := d.NewIter(ctx, []byte("gen"), []byte("geo"))
				if err != nil {
					errs <- err
					return
				}
				counts := map[string]int{}
				for ok := it.First(); ok; ok = it.Next() {
					counts[string(it.Key()[:6])]++
				}
				if err := it.Close(); err != nil {
					errs <- err
					return
				}
				for g, n := range counts {
					if n != perBatch {
						errs <- fmt.Errorf("snapshot saw %d of %d keys of %s", n, perBatch, g)
						return
					}
				}
			}
		}()
	}
	for b := 0; b < batches; b++ {
		ops := make([]Op, 0, 2*perBatch)
		for i := 0; i < perBatch; i++ {
			ops = append(ops, Op{Key: key(b, i), Value: []byte("v")})
			if b > 0 {
				ops = append(ops, Op{Key: key(b-1, i), Delete: true})
			}
		}
		if err := d.Apply(ctx, ops); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	it, err := d.NewIter(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if !bytes.HasPrefix(it.Key(), []byte(fmt.Sprintf("gen%03d/", batches-1))) {
			t.Errorf("stale key %q survived its batch's delete", it.Key())
		}
		n++
	}
	if n != perBatch {
		t.Errorf("%d keys at the end, want %d", n, perBatch)
	}
}

// TestApplyConcurrent: many goroutines applying at once all land.
func TestApplyConcurrent(t *testing.T) {
	d, _ := openTest(t, Options{})
	ctx := context.Background()
	const workers, each = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				k := []byte(fmt.Sprintf("w%02d/%02d", w, i))
				if err := d.Apply(ctx, []Op{{Key: k, Value: k}}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := 0; w < workers; w++ {
		for i := 0; i < each; i++ {
			k := []byte(fmt.Sprintf("w%02d/%02d", w, i))
			if v, err := d.Get(ctx, k); err != nil || !bytes.Equal(v, k) {
				t.Fatalf("Get(%s) = %q, %v", k, v, err)
			}
		}
	}
}

func TestIterBounds(t *testing.T) {
	d, _ := openTest(t, Options{})
	ctx := context.Background()
	var ops []Op
	for _, k := range []string{"a", "b", "b/1", "b/2", "c", "d"} {
		ops = append(ops, Op{Key: []byte(k), Value: []byte("v" + k)})
	}
	if err := d.Apply(ctx, ops); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		lower, upper []byte
		seek         []byte // nil: First
		want         []string
	}{
		{"all", nil, nil, nil, []string{"a", "b", "b/1", "b/2", "c", "d"}},
		{"lower inclusive", []byte("b"), nil, nil, []string{"b", "b/1", "b/2", "c", "d"}},
		{"upper exclusive", nil, []byte("c"), nil, []string{"a", "b", "b/1", "b/2"}},
		{"prefix", []byte("b/"), []byte("b0"), nil, []string{"b/1", "b/2"}},
		{"empty range", []byte("x"), []byte("y"), nil, nil},
		{"seek inside", nil, nil, []byte("b/"), []string{"b/1", "b/2", "c", "d"}},
		{"seek exact", nil, nil, []byte("c"), []string{"c", "d"}},
		{"seek below lower", []byte("c"), nil, []byte("a"), []string{"c", "d"}},
		{"seek at upper", nil, []byte("c"), []byte("c"), nil},
		{"seek past end", nil, nil, []byte("z"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := d.NewIter(ctx, tt.lower, tt.upper)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			ok := it.First()
			if tt.seek != nil {
				ok = it.SeekGE(tt.seek)
			}
			for ; ok; ok = it.Next() {
				got = append(got, string(it.Key()))
				if string(it.Value()) != "v"+string(it.Key()) {
					t.Errorf("Value(%s) = %q", it.Key(), it.Value())
				}
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if it.Key() != nil || it.Value() != nil {
				t.Error("Key/Value not nil on an exhausted iterator")
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestIterBoundsCopied: changing the bound slices after NewIter does not
// change the iteration.
func TestIterBoundsCopied(t *testing.T) {
	d, _ := openTest(t, Options{})
	ctx := context.Background()
	if err := d.Apply(ctx, []Op{{Key: []byte("a")}, {Key: []byte("b")}, {Key: []byte("c")}}); err != nil {
		t.Fatal(err)
	}
	lower, upper := []byte("b"), []byte("c")
	it, err := d.NewIter(ctx, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	lower[0], upper[0] = 'a', 'z'
	var got []string
	for ok := it.First(); ok; ok = it.Next() {
		got = append(got, string(it.Key()))
	}
	if fmt.Sprint(got) != "[b]" {
		t.Errorf("got %q, want [b]", got)
	}
}

// TestIterManyKeysProperty compares random iterations over many keys with
// a sorted model.
func TestIterManyKeysProperty(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	d, _ := openTest(t, Options{})
	ctx := context.Background()

	model := map[string]string{}
	for b := 0; b < 20; b++ {
		var ops []Op
		for i := 0; i < 500; i++ {
			k := randKey(rng)
			if rng.Intn(5) == 0 {
				ops = append(ops, Op{Key: []byte(k), Delete: true})
				delete(model, k)
				continue
			}
			v := fmt.Sprintf("v%d", rng.Int63())
			ops = append(ops, Op{Key: []byte(k), Value: []byte(v)})
			model[k] = v
		}
		if err := d.Apply(ctx, ops); err != nil {
			t.Fatal(err)
		}
	}
	keys := make([]string, 0, len(model))
	for k := range model {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("%d keys", len(keys))

	for round := 0; round < 50; round++ {
		lo, hi := randKey(rng), randKey(rng)
		if lo > hi {
			lo, hi = hi, lo
		}
		var lower, upper []byte
		if rng.Intn(4) > 0 {
			lower = []byte(lo)
		}
		if rng.Intn(4) > 0 {
			upper = []byte(hi)
		}
		var want []string
		for _, k := range keys {
			if (lower == nil || k >= lo) && (upper == nil || k < hi) {
				want = append(want, k)
			}
		}
		it, err := d.NewIter(ctx, lower, upper)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		ok := it.First()
		if rng.Intn(2) == 0 && len(want) > 0 {
			// SeekGE to a random key of the model (or just before it).
			j := rng.Intn(len(want))
			seek := want[j]
			if rng.Intn(2) == 0 && len(seek) > 1 {
				seek = seek[:len(seek)-1]
				for j > 0 && want[j-1] >= seek {
					j--
				}
			}
			want = want[j:]
			ok = it.SeekGE([]byte(seek))
		}
		for ; ok; ok = it.Next() {
			got = append(got, string(it.Key()))
			if v := string(it.Value()); v != model[string(it.Key())] {
				t.Fatalf("value of %q = %q, want %q", it.Key(), v, model[string(it.Key())])
			}
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d [%q, %q): %d keys, want %d", round, lower, upper, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("round %d key %d = %q, want %q", round, i, got[i], want[i])
			}
		}
	}
}

func randKey(rng *rand.Rand) string {
	const alphabet = "ab/c\x00\xff"
	n := 1 + rng.Intn(12)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.Intn(len(alphabet))]
	}
	return string(b)
}

func TestIterCancelledContext(t *testing.T) {
	d, _ := openTest(t, Options{})
	var ops []Op
	for i := 0; i < 2*ctxCheckEvery; i++ {
		ops = append(ops, Op{Key: []byte(fmt.Sprintf("k%04d", i))})
	}
	if err := d.Apply(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	it, err := d.NewIter(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
		if n == 10 {
			cancel()
		}
	}
	if !errors.Is(it.Err(), context.Canceled) {
		t.Fatalf("Err = %v after cancel, want context.Canceled", it.Err())
	}
	if n >= 2*ctxCheckEvery {
		t.Fatalf("iterated all %d keys despite the cancelled context", n)
	}
}

func TestCloseClosesLeakedIterators(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	d, err := Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Apply(ctx, []Op{{Key: []byte("a")}}); err != nil {
		t.Fatal(err)
	}
	it, err := d.NewIter(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !it.First() {
		t.Fatal("First = false")
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close with a leaked iterator: %v", err)
	}
	if it.Next() || it.Key() != nil {
		t.Error("iterator still usable after the drive closed")
	}
	if !errors.Is(it.Err(), ErrClosed) {
		t.Errorf("Err = %v, want ErrClosed", it.Err())
	}
	if err := it.Close(); err != nil {
		t.Errorf("Close of a force-closed iterator = %v, want nil", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	for name, fn := range map[string]func() error{
		"Get":   func() error { _, err := d.Get(ctx, []byte("a")); return err },
		"Apply": func() error { return d.Apply(ctx, []Op{{Key: []byte("b")}}) },
		"NewIter": func() error {
			_, err := d.NewIter(ctx, nil, nil)
			return err
		},
		"CreateStaging": func() error { _, err := d.CreateStaging(ctx); return err },
		"Check":         func() error { return d.Check(ctx) },
	} {
		if err := fn(); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrOffline) {
			t.Errorf("%s after Close = %v, want ErrClosed (an ErrOffline)", name, err)
		}
	}
}

// TestCloseDuringApply: Close while writers are active waits for the calls
// in progress; each call either succeeds (and is durable) or fails with
// ErrClosed, never panics inside pebble.
func TestCloseDuringApply(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	d, err := Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked [][]byte
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				k := []byte(fmt.Sprintf("w%d/%05d", w, i))
				err := d.Apply(ctx, []Op{{Key: k, Value: k}})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				acked = append(acked, k)
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(50 * time.Millisecond)
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	d, err = Open(dir, testFormat(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if len(acked) == 0 {
		t.Fatal("no Apply succeeded before Close")
	}
	for _, k := range acked {
		if _, err := d.Get(ctx, k); err != nil {
			t.Fatalf("acknowledged key %s lost across Close/Open: %v", k, err)
		}
	}
}

// TestSyncDelayFollowsOptions checks that the delay function, not the
// fixed gap, decides the pause after a WAL sync: a delay that keeps
// syncs apart makes concurrent commits share them, which is visible as
// fewer calls than commits; the call count also shows it is asked.
func TestSyncDelayFollowsOptions(t *testing.T) {
	var calls atomic.Int64
	d, _ := openTest(t, Options{SyncDelay: func() time.Duration {
		calls.Add(1)
		return 50 * time.Millisecond
	}})
	ctx := context.Background()
	const writers = 16
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			if err := d.Apply(ctx, []Op{{Key: fmt.Appendf(nil, "k%02d", i), Value: []byte("v")}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	n := calls.Load()
	if n == 0 {
		t.Fatal("SyncDelay was never called")
	}
	// Each call follows one sync. With a 50 ms pause after each, 16
	// concurrent commits cannot each get a sync of their own.
	if n >= writers {
		t.Errorf("%d syncs for %d concurrent commits: the delay did not group them", n, writers)
	}
}

// TestSyncDelayIsHonoured checks that the pause SyncDelay returns is the
// one pebble keeps: a synced commit right after another waits out the
// rest of it. Only a lower bound is checked, which a slow machine cannot
// break; a delay that was called but ignored lets the second commit
// through at once.
func TestSyncDelayIsHonoured(t *testing.T) {
	const pause = 300 * time.Millisecond
	d, _ := openTest(t, Options{SyncDelay: func() time.Duration { return pause }})
	ctx := context.Background()
	if err := d.Apply(ctx, []Op{{Key: []byte("first"), Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := d.Apply(ctx, []Op{{Key: []byte("second"), Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	// The pause counts from the first sync, a little before start.
	if waited := time.Since(start); waited < pause*2/3 {
		t.Fatalf("the commit after a sync waited %v; SyncDelay asked for %v", waited, pause)
	}
}

// TestPebbleDiskHealthChecks checks that pebble's disk-health checks,
// which feed the DiskSlow log events, sit under the drive's tableFS:
// pebble installs them only on a file system it defaults itself, and
// tableFS replaced the default. (Found in review.)
func TestPebbleDiskHealthChecks(t *testing.T) {
	d := &Drive{}
	po := d.pebbleOptions(Options{})
	defer d.fsCloser.Close()
	def := &pebble.Options{}
	def.EnsureDefaults()
	tf, ok := po.FS.(tableFS)
	if !ok {
		t.Fatalf("the drive's pebble file system is %T, want tableFS", po.FS)
	}
	if got, want := fmt.Sprintf("%T", tf.FS), fmt.Sprintf("%T", def.FS); got != want {
		t.Fatalf("tableFS wraps %s, want pebble's health-checking %s", got, want)
	}
}

// healthGoroutines counts the goroutines of pebble's disk-health checks.
func healthGoroutines() int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "vfs.(*diskHealthChecking")
}

// TestDiskHealthGoroutinesReleased opens and closes a drive, and fails to
// open one whose folder another drive holds, a number of times: neither
// may leave pebble's disk-health goroutines behind (the monitor retries a
// failed open every few seconds). (Found in review.)
func TestDiskHealthGoroutinesReleased(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	before := healthGoroutines()
	for range 5 {
		d, err := Open(dir, testFormat(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(context.Background(), []Op{{Key: []byte("k"), Value: []byte("v")}}); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	waitHealth := func(limit int) int {
		// The tickers stop asynchronously; give them a moment.
		deadline := time.Now().Add(2 * time.Second)
		for healthGoroutines() > limit && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		return healthGoroutines()
	}
	if n := waitHealth(before); n > before {
		t.Errorf("%d disk-health goroutines after 5 opens and closes, %d before", n, before)
	}
	held, err := Open(dir, testFormat(), Options{NoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	running := healthGoroutines()
	for range 10 {
		if d, err := Open(dir, testFormat(), Options{NoCreate: true}); err == nil {
			d.Close()
			t.Fatal("a second open of a held drive folder succeeded")
		}
	}
	if n := waitHealth(running); n > running {
		t.Errorf("%d disk-health goroutines after 10 failed opens, %d before them", n, running)
	}
}

// TestApplyAfterFolderRemovedBeforeSync: a commit whose WAL sync comes
// after an rm -rf of the drive folder is not reported durable, even when
// another check of the folder ran while the commit waited for its sync.
// (Found in review against a version that accepted any stat begun after
// the write began.)
func TestApplyAfterFolderRemovedBeforeSync(t *testing.T) {
	var delay atomic.Int64
	d, dir := openTest(t, Options{OnlineCheckTTL: -1, SyncDelay: func() time.Duration { return time.Duration(delay.Load()) }})
	ctx := context.Background()
	// Every sync from here on arms a 400 ms pause before the next. (The
	// delay stays set: pebble reads it after a sync's waiters are woken,
	// so resetting it once k1's Apply returned raced with that read and,
	// on a busy machine, let k2 sync at once.)
	delay.Store(int64(400 * time.Millisecond))
	if err := d.Apply(ctx, []Op{{Key: []byte("k1"), Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Apply(ctx, []Op{{Key: []byte("k2"), Value: []byte("v")}}) }()
	time.Sleep(50 * time.Millisecond) // k2 is written and waits for its sync
	if err := d.ready(false); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrOffline) {
		t.Fatalf("Apply whose sync followed the folder's removal: %v, want ErrOffline", err)
	}
}

// TestPebbleBlockSize checks that every level writes metaBlockSize
// blocks, not pebble's 4 KiB default (see metaBlockSize for why).
func TestPebbleBlockSize(t *testing.T) {
	d := &Drive{}
	po := d.pebbleOptions(Options{})
	defer d.fsCloser.Close()
	for i, l := range po.Levels {
		if l.BlockSize != metaBlockSize {
			t.Errorf("level %d block size %d, want %d", i, l.BlockSize, metaBlockSize)
		}
	}
}
