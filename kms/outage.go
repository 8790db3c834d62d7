package kms

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// outage wraps a Custodian so that a backend that stopped answering is
// asked by one call at a time. A call that fails with ErrBackend while its
// caller still waits (refused, timed out, failing) marks the backend down;
// while it is down, one call at a time goes to the backend to find out
// whether it is back and every other call fails at once with ErrBackend
// naming the first failure. The first call that gets an answer (any
// answer but ErrBackend) from the backend ends the outage; the current
// version of a key, which backends answer from memory, does not. A probe
// gives up its place when its caller goes away or after lease, so that a
// call stuck in the backend (a PKCS#11 call cannot be cancelled) does not
// keep the outage going once the backend answers others again.
//
// Without this, every request that needs the KMS waits out the backend's
// timeout while it hangs (10 s for KMIP), each holding the request slot
// it was admitted to: enough of them fill the server's slots, and reads
// that need no KMS at all (bucket keys in the cache) wait behind them.
type outage struct {
	Custodian

	// lease is how long a probe holds its place while its caller still
	// waits (0: probeLease). A PKCS#11 call cannot be cancelled: a probe
	// stuck in the HSM would otherwise keep every other call failing for
	// as long as it hangs, while the HSM may serve other sessions again.
	lease time.Duration

	mu    sync.Mutex
	down  bool
	since time.Time // when it went down, or came back up (or was made)
	cause error
	probe uint64    // the probe asking the backend now; 0: none
	start time.Time // when it began
	seq   uint64    // numbers the probes
}

// probeLease is outage.lease's default, the KMIP backend's default
// timeout: a probe still in a backend call after it is taken to be stuck
// and another may start. With a longer KMIP timeout
// (OBJSTORE_KMS_KMIP_TIMEOUT) a slow probe may thus have company, one
// more every 10 s at most.
const probeLease = 10 * time.Second

// errNoAnswer is what a call that did not return (it panicked) taught:
// nothing.
var errNoAnswer = errors.New("kms: the call did not return")

// enter reports whether a call may go to the backend now, and the
// number of its probe if it is the probe of an outage (0 otherwise).
func (o *outage) enter() (probe uint64, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	lease := o.lease
	if lease <= 0 {
		lease = probeLease
	}
	switch {
	case !o.down:
		return 0, nil
	case o.probe == 0 || time.Since(o.start) > lease:
		o.seq++
		o.probe, o.start = o.seq, time.Now()
		return o.probe, nil
	}
	return 0, fmt.Errorf("%w: unavailable since %s (%v); one call at a time asks it until it answers",
		ErrBackend, o.since.UTC().Format(time.RFC3339), o.cause)
}

// state reports whether the backend is down, since when, and why.
func (o *outage) state() (down bool, since time.Time, cause error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.down, o.since, o.cause
}

// release gives up probe's place (its caller went away), so that the
// next call asks the backend: the probe's own call may be stuck in it.
func (o *outage) release(probe uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.probe == probe {
		o.probe = 0
	}
}

// exit records what the call learnt about the backend. A call that may
// be answered from the backend's memory (memo: the current version of
// a key, which KMIP and PKCS#11 cache) teaches nothing by succeeding.
func (o *outage) exit(ctx context.Context, probe uint64, err error, memo bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if probe != 0 && o.probe == probe {
		o.probe = 0
	}
	answered := err == nil || isClassified(err) && !errors.Is(err, ErrBackend)
	switch {
	case err == errNoAnswer, answered && memo:
		// Nothing learnt about the backend.
	case answered:
		if o.down {
			o.since = time.Now() // back up
		}
		o.down, o.cause, o.probe = false, nil, 0 // it answered
	case ctx.Err() != nil:
		// The caller went away: nothing learnt.
	case !o.down:
		o.down, o.since, o.cause = true, time.Now(), err
	}
}

// guard runs f, one of the backend's calls, unless the backend is down
// and another call probes it. A probe whose caller goes away gives up
// its place at once, and one that panics teaches nothing but gives it
// up too.
func guard[T any](o *outage, ctx context.Context, memo bool, f func() (T, error)) (v T, err error) {
	probe, err := o.enter()
	if err != nil {
		return v, err
	}
	if probe != 0 {
		stop := context.AfterFunc(ctx, func() { o.release(probe) })
		defer stop()
	}
	err = errNoAnswer
	defer func() { o.exit(ctx, probe, err, memo) }()
	v, err = f()
	return v, err
}

func (o *outage) CreateKey(ctx context.Context, id KeyID) error {
	_, err := guard(o, ctx, false, func() (struct{}, error) { return struct{}{}, o.Custodian.CreateKey(ctx, id) })
	return err
}

func (o *outage) RotateKey(ctx context.Context, id KeyID) error {
	_, err := guard(o, ctx, false, func() (struct{}, error) { return struct{}{}, o.Custodian.RotateKey(ctx, id) })
	return err
}

func (o *outage) CurrentVersion(ctx context.Context, id KeyID) (int, error) {
	return guard(o, ctx, true, func() (int, error) { return o.Custodian.CurrentVersion(ctx, id) })
}

func (o *outage) Status(ctx context.Context, id KeyID) (KeyStatus, error) {
	return guard(o, ctx, false, func() (KeyStatus, error) { return o.Custodian.Status(ctx, id) })
}

func (o *outage) ListKeys(ctx context.Context) ([]KeyStatus, error) {
	return guard(o, ctx, false, func() ([]KeyStatus, error) { return o.Custodian.ListKeys(ctx) })
}

func (o *outage) Encrypt(ctx context.Context, id KeyID, version int, plaintext, aad []byte) ([]byte, []byte, error) {
	type out struct{ nonce, ct []byte }
	r, err := guard(o, ctx, false, func() (out, error) {
		n, c, err := o.Custodian.Encrypt(ctx, id, version, plaintext, aad)
		return out{n, c}, err
	})
	return r.nonce, r.ct, err
}

func (o *outage) Decrypt(ctx context.Context, id KeyID, version int, nonce, ciphertext, aad []byte) ([]byte, error) {
	return guard(o, ctx, false, func() ([]byte, error) { return o.Custodian.Decrypt(ctx, id, version, nonce, ciphertext, aad) })
}
