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

// TestPayloadModes: the payload declarations SigV2 accepts and refuses.
func TestPayloadModes(t *testing.T) {
	now := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		presigned bool
		values    []string
		want      error
	}{
		{"unsigned trailer, header auth", false, []string{"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, nil},
		{"unsigned trailer, presigned", true, []string{"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, ErrUnsupportedPayload},
		{"signed chunks", false, []string{"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, ErrUnsupportedPayload},
		{"two values", false, []string{"UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD"}, ErrAuthorizationHeaderMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("PUT", "http://h/b/k", nil)
			for _, v := range tc.values {
				r.Header.Add("X-Amz-Content-Sha256", v)
			}
			var err error
			if tc.presigned {
				err = PresignRequest(r, exampleAccessKey, exampleSecret, "", now.Add(time.Minute))
			} else {
				err = SignRequest(r, exampleAccessKey, exampleSecret, "", now)
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := verifierAt(now).Verify(r, ""); !errors.Is(err, tc.want) {
				t.Errorf("%v, want %v", err, tc.want)
			}
		})
	}
}
