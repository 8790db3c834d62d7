package sigv4

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestAmzHeadersMustBeSigned: an x-amz-* header the signature does not
// cover fails the request, header-signed or presigned, as AWS answers
// it; signed ones, and unsigned headers of other names, pass.
func TestAmzHeadersMustBeSigned(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		signed, after map[string]string // headers set before and after signing
		want          error
	}{
		{"all signed", map[string]string{"X-Amz-Meta-Colour": "blue"}, nil, nil},
		{"other header added", nil, map[string]string{"User-Agent": "x", "Content-Type": "text/plain"}, nil},
		{"copy source added", nil, map[string]string{"X-Amz-Copy-Source": "/b/secret"}, ErrHeadersNotSigned},
		{"metadata added", nil, map[string]string{"x-amz-meta-colour": "red"}, ErrHeadersNotSigned},
		{"encryption added", nil, map[string]string{"X-Amz-Server-Side-Encryption": "AES256"}, ErrHeadersNotSigned},
	}
	for _, tt := range tests {
		t.Run("header/"+tt.name, func(t *testing.T) {
			r := newClientRequest(t, "PUT", "http://h/b/k", nil)
			for k, v := range tt.signed {
				r.Header.Set(k, v)
			}
			if err := SignRequest(r, exampleAccessKey, exampleSecret, "us-east-1", now, emptySHA256); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.after {
				r.Header.Set(k, v)
			}
			_, err := verifierAt(now).Verify(throughWire(t, r))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
		t.Run("presigned/"+tt.name, func(t *testing.T) {
			if len(tt.signed) > 0 {
				t.Skip("PresignURL signs host only")
			}
			s, err := PresignURL("PUT", &url.URL{Scheme: "http", Host: "h", Path: "/b/k"}, exampleAccessKey, exampleSecret, "us-east-1", now, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			r := newClientRequest(t, "PUT", s, nil)
			for k, v := range tt.after {
				r.Header.Set(k, v)
			}
			_, err = verifierAt(now).Verify(throughWire(t, r))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestRequireContentSHA256: S3 refuses a header-signed request without
// x-amz-content-sha256; without the option its absence means an empty
// payload.
func TestRequireContentSHA256(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := newClientRequest(t, "GET", "http://h/b/k", nil)
	if err := SignRequest(r, exampleAccessKey, exampleSecret, "us-east-1", now, emptySHA256); err != nil {
		t.Fatal(err)
	}
	// Re-sign without the header: SignRequest always sets it.
	r.Header.Del("X-Amz-Content-Sha256")
	r.Header.Del("Authorization")
	r = signWithoutContentSHA(t, r, now)
	v := verifierAt(now)
	if _, err := v.Verify(throughWire(t, r)); err != nil {
		t.Fatalf("without the option: %v", err)
	}
	v.RequireContentSHA256 = true
	if _, err := v.Verify(throughWire(t, r)); !errors.Is(err, ErrMissingContentSHA256) {
		t.Fatalf("with the option: %v, want ErrMissingContentSHA256", err)
	}
}

// signWithoutContentSHA signs r (host and x-amz-date) as a generic AWS
// SigV4 client does, with no x-amz-content-sha256 header.
func signWithoutContentSHA(t *testing.T, r *http.Request, now time.Time) *http.Request {
	t.Helper()
	r.Header.Set("X-Amz-Date", now.Format(iso8601))
	signed := []string{"host", "x-amz-date"}
	cred := credential{accessKey: exampleAccessKey, date: now.Format(yyyymmdd), region: "us-east-1"}
	creq := canonicalRequest(r, canonicalPaths(r.URL)[0], "", signed, emptySHA256)
	sig := signString(deriveKey(exampleSecret, cred.date, cred.region), now.Format(iso8601), cred.scope(), creq)
	r.Header.Set("Authorization", algorithm+" Credential="+exampleAccessKey+"/"+cred.scope()+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+hex.EncodeToString(sig[:]))
	return r
}
