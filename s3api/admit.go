package s3api

import (
	"context"
	"sync"
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
//
// One principal (an access key, or an anonymous caller's address) holds
// at most half of the slots: an object body may arrive as slowly as a
// byte every StallTimeout, as on a bad link, so a caller allowed to
// write could otherwise take every slot with slow bodies and stop
// everyone else; now it stops only itself.
type admission struct {
	slots   chan struct{}
	share   int // slots one principal may hold
	wait    time.Duration
	waiting atomic.Int64 // requests waiting for a slot now
	refused atomic.Int64 // requests that gave up waiting, ever

	mu     sync.Mutex
	shares map[string]*principalSlots // principals with a request admitted or waiting
}

// principalSlots are one principal's slots, held and waited for.
type principalSlots struct {
	held  chan struct{} // capacity admission.share
	users int           // requests holding or waiting: the entry goes at 0
}

// newAdmission admits up to n requests at once, at most half of them
// (rounded up) for one principal; n <= 0 admits all.
func newAdmission(n int, wait time.Duration) *admission {
	if n <= 0 {
		return nil
	}
	return &admission{slots: make(chan struct{}, n), share: (n + 1) / 2, wait: wait, shares: map[string]*principalSlots{}}
}

// enter waits for a slot for principal who and returns the function
// that gives it back. It fails with errSlowDown after a.wait, or with
// ctx's error when the client goes away first.
func (a *admission) enter(ctx context.Context, who string) (leave func(), err error) {
	if a == nil {
		return func() {}, nil
	}
	ps := a.join(who)
	// Fast path: a share and a slot free now.
	select {
	case ps.held <- struct{}{}:
		select {
		case a.slots <- struct{}{}:
			return a.leaver(who, ps), nil
		default:
			<-ps.held
		}
	default:
	}
	a.waiting.Add(1)
	defer a.waiting.Add(-1)
	t := time.NewTimer(a.wait)
	defer t.Stop()
	for _, ch := range []chan struct{}{ps.held, a.slots} {
		select {
		case ch <- struct{}{}:
		case <-t.C:
			a.refused.Add(1)
			a.abandon(who, ps, ch == a.slots)
			return nil, errSlowDown
		case <-ctx.Done():
			a.abandon(who, ps, ch == a.slots)
			return nil, ctx.Err()
		}
	}
	return a.leaver(who, ps), nil
}

// join counts a request of who's and returns its slots.
func (a *admission) join(who string) *principalSlots {
	a.mu.Lock()
	defer a.mu.Unlock()
	ps := a.shares[who]
	if ps == nil {
		ps = &principalSlots{held: make(chan struct{}, a.share)}
		a.shares[who] = ps
	}
	ps.users++
	return ps
}

// part uncounts a request of who's, dropping the entry with its last.
func (a *admission) part(who string, ps *principalSlots) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ps.users--; ps.users == 0 {
		delete(a.shares, who)
	}
}

// abandon undoes a wait that failed, holding the share if heldShare.
func (a *admission) abandon(who string, ps *principalSlots, heldShare bool) {
	if heldShare {
		<-ps.held
	}
	a.part(who, ps)
}

// leaver returns the function that gives back a slot and its share.
func (a *admission) leaver(who string, ps *principalSlots) func() {
	return func() {
		<-a.slots
		<-ps.held
		a.part(who, ps)
	}
}

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
