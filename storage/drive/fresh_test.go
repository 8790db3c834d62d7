package drive

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFreshCheckStartsAfterSince checks freshCheck's promise under
// contention: every caller gets the result of a run that began at or
// after the time it named, and concurrent callers share runs.
func TestFreshCheckStartsAfterSince(t *testing.T) {
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
				err := f.run(since, check)
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

// TestFreshCheckReuse checks when a finished run is reused: for a time
// before it began, not for a time after.
func TestFreshCheckReuse(t *testing.T) {
	var f freshCheck
	runs := 0
	check := func() error { runs++; return fmt.Errorf("run %d", runs) }
	before := time.Now()
	if err := f.run(before, check); err == nil || err.Error() != "run 1" {
		t.Fatalf("first call: %v", err)
	}
	// A caller whose write began before run 1 shares it.
	if err := f.run(before, check); err == nil || err.Error() != "run 1" || runs != 1 {
		t.Fatalf("a time before run 1 began: %v after %d runs, want run 1 reused", err, runs)
	}
	// A caller asking after run 1 began gets a new run.
	if err := f.run(time.Now(), check); err == nil || err.Error() != "run 2" {
		t.Fatalf("a time after run 1 began: %v, want run 2", err)
	}
	if err := f.run(time.Now(), func() error { return nil }); err != nil {
		t.Fatalf("a passing check: %v", err)
	}
}
