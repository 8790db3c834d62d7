package kms

import (
	"errors"
	"fmt"
	"testing"
)

// TestDisabledIsOneSentinel: a backend's ErrKeyDisabled passes
// Manager.fail as ErrKeyDisabled alone, not also as ErrBackend (the
// "every error matches exactly one sentinel" contract).
func TestDisabledIsOneSentinel(t *testing.T) {
	m := &Manager{name: "kmip"}
	err := m.fail("Encrypt", "k", 1, fmt.Errorf("%w: permission denied", ErrKeyDisabled))
	if !errors.Is(err, ErrKeyDisabled) || errors.Is(err, ErrBackend) {
		t.Fatalf("%v: disabled %v, backend %v", err, errors.Is(err, ErrKeyDisabled), errors.Is(err, ErrBackend))
	}
}
