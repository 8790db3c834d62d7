package sigv4

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// longSignedHeaderNames returns n distinct lower-case header names
// after "host": "aaa", "aab", ... (3 characters each, so about 15,000
// of them fit in the 64 KiB the server allows for a request's headers).
func longSignedHeaderNames(n int) string {
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
	names := make([]string, 0, n+1)
	names = append(names, "host")
	for i := 0; len(names) <= n; i++ {
		a, b, c := i/(len(alpha)*len(alpha)), i/len(alpha)%len(alpha), i%len(alpha)
		names = append(names, string([]byte{alpha[a], alpha[b], alpha[c]}))
	}
	return strings.Join(names, ";")
}

// unknownKeyRequest is a header-signed request by an access key
// the server does not know (so nothing about it is authenticated) whose
// SignedHeaders lists n+1 distinct names.
func unknownKeyRequest(n int) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/bucket", nil)
	r.Header.Set("X-Amz-Date", exampleTime.Format(iso8601))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=NOSUCHKEY/20130524/us-east-1/s3/aws4_request, SignedHeaders="+
		longSignedHeaderNames(n)+", Signature="+strings.Repeat("0", 64))
	return r
}

// TestSignedHeadersCostIsLinear: an unauthenticated caller must not be
// able to buy seconds of CPU with one request. SignedHeaders is parsed
// (duplicates checked) before the access key is looked up, and one ~60 KB
// Authorization header holds 15,000 names; a duplicate check that scans
// the names before each is quadratic (about 0.7 s of CPU a request on
// the project's VM). The X-Amz-SignedHeaders of a presigned URL goes
// through the same parser.
//
// The test compares 1,000 names with 16,000, each the best of five runs:
// a linear parse costs about 16 times more, a quadratic one about 256
// times; the bound of 64 leaves room for a loaded machine.
func TestSignedHeadersCostIsLinear(t *testing.T) {
	v := verifierAt(exampleTime)
	cost := func(n int) time.Duration {
		best := time.Duration(1 << 62)
		for range 5 {
			r := unknownKeyRequest(n)
			start := time.Now()
			_, err := v.Verify(r)
			d := time.Since(start)
			if !errors.Is(err, ErrInvalidAccessKeyID) {
				t.Fatalf("n=%d: Verify = %v, want ErrInvalidAccessKeyID", n, err)
			}
			best = min(best, d)
		}
		return best
	}
	small, large := cost(1000), cost(16000)
	ratio := float64(large) / float64(max(small, time.Microsecond))
	t.Logf("1,000 names: %v; 16,000 names: %v; ratio %.0f", small, large, ratio)
	if ratio > 64 && large > 20*time.Millisecond {
		t.Errorf("parsing SignedHeaders of an unauthenticated request grows quadratically: 16x the names cost %.0fx the time (%v for 16,000 names)", ratio, large)
	}
}
