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
// answer but ErrBackend) ends the outage.
//
// Without this, every request that needs the KMS waits out the backend's
// timeout while it hangs (10 s for KMIP), each holding the request slot
// it was admitted to: enough of them fill the server's slots, and reads
// that need no KMS at all (bucket keys in the cache) wait behind them.
type outage struct {
	Custodian

	mu      sync.Mutex
	down    bool
	since   time.Time
	cause   error
	probing bool
}

// enter reports whether a call may go to the backend now, and whether it
// is the probe of an outage.
func (o *outage) enter() (probe bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case !o.down:
		return false, nil
	case !o.probing:
		o.probing = true
		return true, nil
	}
	return false, fmt.Errorf("%w: unavailable since %s (%v); one call at a time asks it until it answers",
		ErrBackend, o.since.UTC().Format(time.RFC3339), o.cause)
}

// exit records what the call learnt about the backend.
func (o *outage) exit(ctx context.Context, probe bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if probe {
		o.probing = false
	}
	switch {
	case err == nil || isClassified(err) && !errors.Is(err, ErrBackend):
		o.down, o.cause = false, nil // it answered
	case ctx.Err() != nil:
		// The caller went away: nothing learnt.
	case !o.down:
		o.down, o.since, o.cause = true, time.Now(), err
	}
}

func guard[T any](o *outage, ctx context.Context, f func() (T, error)) (T, error) {
	probe, err := o.enter()
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := f()
	o.exit(ctx, probe, err)
	return v, err
}

func (o *outage) CreateKey(ctx context.Context, id KeyID) error {
	_, err := guard(o, ctx, func() (struct{}, error) { return struct{}{}, o.Custodian.CreateKey(ctx, id) })
	return err
}

func (o *outage) RotateKey(ctx context.Context, id KeyID) error {
	_, err := guard(o, ctx, func() (struct{}, error) { return struct{}{}, o.Custodian.RotateKey(ctx, id) })
	return err
}

func (o *outage) CurrentVersion(ctx context.Context, id KeyID) (int, error) {
	return guard(o, ctx, func() (int, error) { return o.Custodian.CurrentVersion(ctx, id) })
}

func (o *outage) Status(ctx context.Context, id KeyID) (KeyStatus, error) {
	return guard(o, ctx, func() (KeyStatus, error) { return o.Custodian.Status(ctx, id) })
}

func (o *outage) ListKeys(ctx context.Context) ([]KeyStatus, error) {
	return guard(o, ctx, func() ([]KeyStatus, error) { return o.Custodian.ListKeys(ctx) })
}

func (o *outage) Encrypt(ctx context.Context, id KeyID, version int, plaintext, aad []byte) ([]byte, []byte, error) {
	type out struct{ nonce, ct []byte }
	r, err := guard(o, ctx, func() (out, error) {
		n, c, err := o.Custodian.Encrypt(ctx, id, version, plaintext, aad)
		return out{n, c}, err
	})
	return r.nonce, r.ct, err
}

func (o *outage) Decrypt(ctx context.Context, id KeyID, version int, nonce, ciphertext, aad []byte) ([]byte, error) {
	return guard(o, ctx, func() ([]byte, error) { return o.Custodian.Decrypt(ctx, id, version, nonce, ciphertext, aad) })
}
