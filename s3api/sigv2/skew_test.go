package sigv2

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestFarFutureDateRefused: a Date centuries ahead makes now.Sub(t)
// saturate at the minimum Duration, whose negation is itself; a skew
// check on the difference let such a request through forever.
func TestFarFutureDateRefused(t *testing.T) {
	now := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	v := verifierAt(now)
	for _, at := range []time.Time{now.Add(20 * time.Minute), now.Add(-20 * time.Minute),
		time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)} {
		r, _ := http.NewRequest("DELETE", "http://h/b/k", nil)
		if err := SignRequest(r, exampleAccessKey, exampleSecret, "", at); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(r, ""); !errors.Is(err, ErrRequestTimeTooSkewed) {
			t.Errorf("request dated %s at %s: %v, want ErrRequestTimeTooSkewed", at, now, err)
		}
	}
}
