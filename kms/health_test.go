package kms

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestManagerHealth: Health reports the backend up from the start, down
// from the first call that failed with ErrBackend (since when, and the
// failure's text), and up again from the first call the backend answers,
// an answer that refuses the call included; failures that are answers
// (a key missing, disabled, a seal that does not open) never take it
// down. Operators see it in the admin API's /cluster and objstore_kms_up.
func TestManagerHealth(t *testing.T) {
	tests := []struct {
		name     string
		fail     error // what the backend answers first
		down     bool  // the backend is then taken to be down
		recovery error // what it answers next, which ends any outage
	}{
		{"refused", errScriptedDown, true, nil},
		{"refused, then a key not found", errScriptedDown, true, fmt.Errorf("%w: version 9", ErrKeyNotFound)},
		{"refused, then a key disabled", errScriptedDown, true, fmt.Errorf("%w: deactivated", ErrKeyDisabled)},
		{"unclassified failure", errors.New("pkcs11: C_Encrypt: CKR_DEVICE_ERROR"), true, nil},
		{"key not found", fmt.Errorf("%w: version 9", ErrKeyNotFound), false, nil},
		{"key disabled", fmt.Errorf("%w: deactivated", ErrKeyDisabled), false, nil},
		{"seal does not open", fmt.Errorf("%w: tag mismatch", ErrSealed), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answer atomic.Pointer[error]
			set := func(err error) { answer.Store(&err) }
			c := &scriptedCustodian{}
			c.encrypt = func(ctx context.Context, id KeyID) error { return *answer.Load() }
			c.decrypt = c.encrypt
			made := time.Now()
			m := NewManager(c)
			ctx := context.Background()

			h := m.Health()
			if h.Backend != "kmip" || h.Down || h.Cause != "" || h.Since.Before(made) || h.Since.After(time.Now()) {
				t.Fatalf("new Manager: %+v, want kmip up since it was made", h)
			}

			set(tt.fail)
			before := time.Now()
			if _, err := m.GenerateDataKey(ctx, "k", nil); err == nil {
				t.Fatal("GenerateDataKey succeeded on a failing backend")
			}
			h = m.Health()
			if h.Down != tt.down {
				t.Fatalf("after %v: %+v, down %v wanted", tt.fail, h, tt.down)
			}
			if !tt.down {
				if h.Cause != "" || h.Since.After(before) {
					t.Fatalf("after an answer: %+v, want up since the Manager was made, no cause", h)
				}
				return
			}
			if h.Since.Before(before) || h.Since.After(time.Now()) {
				t.Errorf("down since %v, want the failed call's time (after %v)", h.Since, before)
			}
			if h.Cause != tt.fail.Error() {
				t.Errorf("cause %q, want the failure's text %q", h.Cause, tt.fail)
			}
			// While down, calls refused at once do not move since or cause.
			since := h.Since
			set(errScriptedDown)
			_, _ = m.GenerateDataKey(ctx, "k", nil)
			if h = m.Health(); !h.Down || !h.Since.Equal(since) || h.Cause != tt.fail.Error() {
				t.Errorf("after a probe that failed again: %+v, want down since %v, cause %q", h, since, tt.fail)
			}

			set(tt.recovery)
			back := time.Now()
			_, err := m.GenerateDataKey(ctx, "k", nil)
			if (err == nil) != (tt.recovery == nil) {
				t.Fatalf("recovery call: %v, want %v", err, tt.recovery)
			}
			h = m.Health()
			if h.Down || h.Cause != "" || h.Since.Before(back) || h.Since.After(time.Now()) {
				t.Errorf("after the backend answered: %+v, want up since %v, no cause", h, back)
			}
		})
	}
}
