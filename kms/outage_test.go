package kms

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// scriptedCustodian is a Custodian whose Encrypt, Decrypt and
// CurrentVersion run the test's functions.
type scriptedCustodian struct {
	current func(ctx context.Context, id KeyID) (int, error)
	encrypt func(ctx context.Context, id KeyID) error
	decrypt func(ctx context.Context, id KeyID) error
}

func (c *scriptedCustodian) Backend() Backend                              { return BackendKMIP }
func (c *scriptedCustodian) CreateKey(ctx context.Context, id KeyID) error { return nil }
func (c *scriptedCustodian) RotateKey(ctx context.Context, id KeyID) error { return nil }
func (c *scriptedCustodian) CurrentVersion(ctx context.Context, id KeyID) (int, error) {
	if c.current != nil {
		return c.current(ctx, id)
	}
	return 1, nil
}
func (c *scriptedCustodian) Status(ctx context.Context, id KeyID) (KeyStatus, error) {
	return KeyStatus{}, nil
}
func (c *scriptedCustodian) ListKeys(ctx context.Context) ([]KeyStatus, error) { return nil, nil }
func (c *scriptedCustodian) Encrypt(ctx context.Context, id KeyID, version int, plaintext, aad []byte) ([]byte, []byte, error) {
	if err := c.encrypt(ctx, id); err != nil {
		return nil, nil, err
	}
	return make([]byte, 12), make([]byte, len(plaintext)+16), nil
}
func (c *scriptedCustodian) Decrypt(ctx context.Context, id KeyID, version int, nonce, ciphertext, aad []byte) ([]byte, error) {
	if err := c.decrypt(ctx, id); err != nil {
		return nil, err
	}
	return make([]byte, len(ciphertext)-16), nil
}
func (c *scriptedCustodian) Close() error { return nil }

var errScriptedDown = fmt.Errorf("%w: connection refused", ErrBackend)

// TestOutageProbePanicTeachesNothing: the probe of an outage panics (a bug
// in a backend, recovered by net/http for the request). It gives its
// place up and teaches nothing, so the next call probes and, the backend
// answering again, ends the outage. Before, the place stayed taken and
// every later call failed at once until a restart.
func TestOutageProbePanicTeachesNothing(t *testing.T) {
	var mode atomic.Int32 // 0 down, 1 panic, 2 up
	c := &scriptedCustodian{}
	c.encrypt = func(ctx context.Context, id KeyID) error {
		switch mode.Load() {
		case 0:
			return errScriptedDown
		case 1:
			panic("backend bug")
		}
		return nil
	}
	c.decrypt = c.encrypt
	c.current = func(ctx context.Context, id KeyID) (int, error) { return 1, c.encrypt(ctx, id) }
	m := NewManager(c)
	ctx := context.Background()
	if _, err := m.GenerateDataKey(ctx, "k", nil); !errors.Is(err, ErrBackend) {
		t.Fatalf("first call: %v", err)
	}
	mode.Store(1)
	func() {
		defer func() { _ = recover() }() // as net/http does for a handler
		_, _ = m.GenerateDataKey(ctx, "k", nil)
	}()
	mode.Store(2)
	for i := range 5 {
		if _, err := m.GenerateDataKey(ctx, "k", nil); err != nil {
			t.Fatalf("call %d after the backend answers again: %v", i, err)
		}
	}
}

// TestOutageStuckProbeGivesWay: a PKCS#11 call cannot be cancelled
// (pkcs11.withSession: "ctx bounds only the wait for a free session"). A
// probe stuck in one gives its place up when its caller goes away, so
// that other calls reach the HSM, which answers them again. Before, the
// stuck probe kept every other call failing at once for as long as it
// hung, for ever if it never returned.
func TestOutageStuckProbeGivesWay(t *testing.T) {
	c, stick, entered := stuckOnce(t)
	c.current = func(ctx context.Context, id KeyID) (int, error) { return 1, c.encrypt(ctx, id) }
	m := NewManager(c)
	if _, err := m.GenerateDataKey(context.Background(), "k", nil); !errors.Is(err, ErrBackend) {
		t.Fatalf("first call: %v", err)
	}
	stick()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	go func() { _, _ = m.GenerateDataKey(ctx, "k", nil) }()
	<-entered
	<-ctx.Done() // the probe's caller gave up
	// The HSM answers every other session now: once the probe's place is
	// given up (context.AfterFunc, soon after), calls reach it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := m.GenerateDataKey(context.Background(), "k", nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the stuck probe's caller went away: %v", err)
		}
	}
	for i := range 3 {
		if _, err := m.GenerateDataKey(context.Background(), "k", nil); err != nil {
			t.Fatalf("call %d while the HSM answers (one call stuck in a session): %v", i, err)
		}
	}
}

// TestOutageMemoryAnswerDoesNotEndIt: CurrentVersion is answered from
// memory where the backend can (KMIP and PKCS#11 cache it), so its
// success does not end an outage. Before, the first GenerateDataKey
// during an outage ended it without asking the backend, and while its
// Encrypt hung every other call went to the hung backend again, each
// waiting out the timeout in its request slot: what the breaker is for.
func TestOutageMemoryAnswerDoesNotEndIt(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	var inBackend atomic.Int32
	c := &scriptedCustodian{}
	var first atomic.Bool
	first.Store(true)
	c.encrypt = func(ctx context.Context, id KeyID) error {
		if first.Swap(false) {
			return errScriptedDown // the call that timed out: backend down
		}
		inBackend.Add(1)
		select { // hung backend: answers after its timeout
		case <-hang:
		case <-time.After(5 * time.Second):
		}
		return errScriptedDown
	}
	c.decrypt = c.encrypt
	m := NewManager(c)
	ctx := context.Background()
	if _, err := m.GenerateDataKey(ctx, "k", nil); !errors.Is(err, ErrBackend) {
		t.Fatalf("first call: %v", err)
	}
	// The probe: CurrentVersion from memory, then Encrypt hangs.
	go func() { _, _ = m.GenerateDataKey(ctx, "k", nil) }()
	for inBackend.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// Another caller while the probe is at the backend: must fail at once.
	done := make(chan error, 1)
	go func() {
		_, err := m.GenerateDataKey(ctx, "k", nil)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrBackend) {
			t.Fatalf("second caller: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("second caller went to the hung backend while the first probed it (%d calls in the backend at once)", inBackend.Load())
	}
}

// TestOutageProbeLease: a probe stuck in the backend while its caller
// still waits (a PKCS#11 call cannot be cancelled) gives its place up
// after the lease, so that the outage ends once the backend answers
// other calls; within the lease, other calls still fail at once.
func TestOutageProbeLease(t *testing.T) {
	c, stick, entered := stuckOnce(t)
	m := NewManager(c)
	m.c.lease = time.Second
	if _, err := m.GenerateDataKey(context.Background(), "k", nil); !errors.Is(err, ErrBackend) {
		t.Fatalf("first call: %v", err)
	}
	stick()
	go func() { _, _ = m.GenerateDataKey(context.Background(), "k", nil) }() // a patient caller
	<-entered
	if _, err := m.GenerateDataKey(context.Background(), "k", nil); !errors.Is(err, ErrBackend) {
		t.Fatalf("a call while the probe is in the backend, within its lease: %v, want ErrBackend at once", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := m.GenerateDataKey(context.Background(), "k", nil); err != nil {
		t.Fatalf("a call once the stuck probe's lease ran out, the backend answering: %v", err)
	}
}

// stuckOnce returns a custodian that fails as a backend down until stick
// is called, then holds the next call until the test ends (a C call that
// ignores its context; entered is closed once it is held) and answers
// every later one.
func stuckOnce(t *testing.T) (c *scriptedCustodian, stick func(), entered chan struct{}) {
	var mode atomic.Int32 // 0 down, 1 the next call sticks, 2 up
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	entered = make(chan struct{})
	c = &scriptedCustodian{}
	c.encrypt = func(ctx context.Context, id KeyID) error {
		switch mode.Load() {
		case 0:
			return errScriptedDown
		case 1:
			if mode.CompareAndSwap(1, 2) {
				close(entered)
				<-stuck
			}
		}
		return nil
	}
	c.decrypt = c.encrypt
	return c, func() { mode.Store(1) }, entered
}
