package s3api

import (
	"context"
	"sync/atomic"
	"time"
)

// admission bounds how many requests run their operation at once. Each
// streaming PUT or GET holds about 10 MB of buffers for its whole life,
// so without a bound a burst of clients (or one client opening a
// thousand connections) could grow the process until the kernel kills it
// and every request in flight fails. Requests over the bound wait, in
// no particular order, for a slot; one that waits longer than wait
// answers 503 SlowDown, which S3 clients retry with back-off.
type admission struct {
	slots   chan struct{}
	wait    time.Duration
	waiting atomic.Int64 // requests waiting for a slot now
	refused atomic.Int64 // requests that gave up waiting, ever
}

// newAdmission admits up to n requests at once; n <= 0 admits all.
func newAdmission(n int, wait time.Duration) *admission {
	if n <= 0 {
		return nil
	}
	return &admission{slots: make(chan struct{}, n), wait: wait}
}

// enter waits for a slot and returns the function that gives it back.
// It fails with errSlowDown after a.wait, or with ctx's error when the
// client goes away first.
func (a *admission) enter(ctx context.Context) (leave func(), err error) {
	if a == nil {
		return func() {}, nil
	}
	select {
	case a.slots <- struct{}{}:
		return a.leave, nil
	default:
	}
	a.waiting.Add(1)
	defer a.waiting.Add(-1)
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return a.leave, nil
	case <-t.C:
		a.refused.Add(1)
		return nil, errSlowDown
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (a *admission) leave() { <-a.slots }

// AdmissionStats is what the admission bound is doing, for metrics.
type AdmissionStats struct {
	Limit   int   // requests admitted at once; 0: unbounded
	Running int64 // requests holding a slot now
	Waiting int64 // requests waiting for a slot now
	Refused int64 // requests answered SlowDown since start
}

// Admission reports the state of Config.MaxRequests' bound.
func (h *Handler) Admission() AdmissionStats {
	a := h.admit
	if a == nil {
		return AdmissionStats{}
	}
	return AdmissionStats{Limit: cap(a.slots), Running: int64(len(a.slots)), Waiting: a.waiting.Load(), Refused: a.refused.Load()}
}
