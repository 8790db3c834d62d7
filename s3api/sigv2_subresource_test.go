package s3api

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/objstore/objstore/s3api/sigv2"
)

// TestSigV2UnsignedQueryPicksOperation: under SigV2 only the
// sub-resources of sigv2's list are signed, and routeOp picks the
// operation by "policyStatus" too. Anyone holding a SigV2 presigned URL
// for ListObjects of a bucket (or replaying a SigV2 header-signed
// listing within its 15 minutes) must not be able to append
// "&policyStatus" and have GetBucketPolicyStatus served under the
// signer's identity, an operation the signer never signed: the request
// must fail its signature (403 SignatureDoesNotMatch), as it does when a
// signed sub-resource such as "policy" is appended.
func TestSigV2UnsignedQueryPicksOperation(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("v2bucket")

	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/v2bucket", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sigv2.PresignRequest(req, testAccessKey, testSecretKey, "", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	send := func(u string) (*http.Response, []byte) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	// The URL as signed lists the bucket.
	if resp, body := send(req.URL.String()); resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned ListObjects: %d %s", resp.StatusCode, body)
	}
	// A signed sub-resource appended breaks the signature...
	resp, body := send(req.URL.String() + "&policy")
	wantError(t, resp, body, http.StatusForbidden, "SignatureDoesNotMatch")
	// ...and so must one that picks another operation just the same.
	resp, body = send(req.URL.String() + "&policyStatus")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("SigV2 presigned ListObjects URL + &policyStatus: %d %s; want 403 SignatureDoesNotMatch (the operation was switched to GetBucketPolicyStatus without a signature covering it)", resp.StatusCode, body)
	}
}
