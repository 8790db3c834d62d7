package drive

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFreshCheckStartsAfterCaller checks freshCheck's promise under
// contention: every caller gets the result of a run that began after it
// called, and concurrent callers share runs.
func TestFreshCheckStartsAfterCaller(t *testing.T) {
	var f freshCheck
	var begun atomic.Int64 // runs begun so far
	check := func() error {
		n := begun.Add(1)
		time.Sleep(200 * time.Microsecond) // keep runs overlapping callers
		return fmt.Errorf("run %d", n)
	}
	const callers, rounds = 16, 50
	var wg sync.WaitGroup
	var calls atomic.Int64
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			for range rounds {
				before := begun.Load()
				err := f.run(check)
				calls.Add(1)
				var n int64
				if err == nil {
					errs <- fmt.Errorf("a nil result: no run")
					return
				}
				if _, serr := fmt.Sscanf(err.Error(), "run %d", &n); serr != nil {
					errs <- fmt.Errorf("unexpected result %q", err)
					return
				}
				if n <= before {
					errs <- fmt.Errorf("got run %d, but %d runs had begun before the call", n, before)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if runs := begun.Load(); runs >= calls.Load() {
		t.Fatalf("%d runs for %d calls: concurrent callers never shared a run", runs, calls.Load())
	}
}

// TestFreshCheckSequential checks that calls one after another each run
// the check and get its own result.
func TestFreshCheckSequential(t *testing.T) {
	var f freshCheck
	n := 0
	for i := 1; i <= 3; i++ {
		err := f.run(func() error { n++; return fmt.Errorf("run %d", n) })
		if want := fmt.Sprintf("run %d", i); err == nil || err.Error() != want {
			t.Fatalf("call %d: got %v, want %s", i, err, want)
		}
	}
	if err := f.run(func() error { return nil }); err != nil {
		t.Fatalf("a passing check: %v", err)
	}
}
