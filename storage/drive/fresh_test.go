package drive

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFreshCheckStartsAfterCall checks freshCheck's promise under
// contention: every caller gets the result of a run that began after it
// called, and concurrent callers share runs.
func TestFreshCheckStartsAfterCall(t *testing.T) {
	var f freshCheck
	var (
		mu     sync.Mutex
		starts []time.Time // starts[n-1]: when run n began
	)
	check := func() error {
		mu.Lock()
		starts = append(starts, time.Now())
		n := len(starts)
		mu.Unlock()
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
				since := time.Now()
				err := f.run(check)
				calls.Add(1)
				var n int
				if err == nil {
					errs <- fmt.Errorf("a nil result: no run")
					return
				}
				if _, serr := fmt.Sscanf(err.Error(), "run %d", &n); serr != nil {
					errs <- fmt.Errorf("unexpected result %q", err)
					return
				}
				mu.Lock()
				began := starts[n-1]
				mu.Unlock()
				if began.Before(since) {
					errs <- fmt.Errorf("got run %d, which began %v before the caller's time", n, since.Sub(began))
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
	if runs := len(starts); int64(runs) >= calls.Load() {
		t.Fatalf("%d runs for %d calls: concurrent callers never shared a run", runs, calls.Load())
	}
}

// TestFreshCheckSequential checks that calls one after another each
// get a run of their own.
func TestFreshCheckSequential(t *testing.T) {
	var f freshCheck
	runs := 0
	check := func() error { runs++; return fmt.Errorf("run %d", runs) }
	for want := 1; want <= 3; want++ {
		if err := f.run(check); err == nil || err.Error() != fmt.Sprintf("run %d", want) {
			t.Fatalf("call %d: %v, want run %d", want, err, want)
		}
	}
	if err := f.run(func() error { return nil }); err != nil {
		t.Fatalf("a passing check: %v", err)
	}
}
