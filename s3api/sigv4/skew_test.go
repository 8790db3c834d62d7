package sigv4

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestFarFutureDateRefused: see the sigv2 test of the same name; the
// check on now.Sub(t) let an x-amz-date in year 9999 through forever.
func TestFarFutureDateRefused(t *testing.T) {
	now := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	v := &Verifier{Secret: func(k string) (string, bool) { return "secretsecret", k == "AKID" }, Now: func() time.Time { return now }}
	for _, at := range []time.Time{now.Add(20 * time.Minute), now.Add(-20 * time.Minute), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)} {
		r, _ := http.NewRequest("DELETE", "http://h/b/k", nil)
		if err := SignRequest(r, "AKID", "secretsecret", "us-east-1", at, UnsignedPayload); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(r); !errors.Is(err, ErrRequestTimeTooSkewed) {
			t.Errorf("request dated %s at %s: %v, want ErrRequestTimeTooSkewed", at, now, err)
		}
	}
}
