package sigv4

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestVerifierRegion: a Verifier with Region accepts scopes naming that
// region and refuses others with a *RegionError of the request's style;
// one without accepts any region.
func TestVerifierRegion(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const target = "http://localhost:9000/bucket/key"
	data := []byte("streamed through aws-chunked")

	// Each way of signing a request for region signRegion.
	styles := []struct {
		name      string
		presigned bool
		verify    func(t *testing.T, v *Verifier, signRegion string) error
	}{
		{"header", false, func(t *testing.T, v *Verifier, region string) error {
			r := newClientRequest(t, "GET", target, nil)
			if err := SignRequest(r, exampleAccessKey, exampleSecret, region, now, emptySHA256); err != nil {
				t.Fatal(err)
			}
			_, err := v.Verify(throughWire(t, r))
			return err
		}},
		{"presigned", true, func(t *testing.T, v *Verifier, region string) error {
			u, err := PresignURL("GET", mustURL(t, target), exampleAccessKey, exampleSecret, region, now, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(throughWire(t, newClientRequest(t, "GET", u, nil)))
			return err
		}},
		{"streaming", false, func(t *testing.T, v *Verifier, region string) error {
			// The seed names the region; the chunks chain from it under
			// the seed's scope, so the whole body decodes only when the
			// seed was accepted.
			r := newClientRequest(t, "PUT", target, nil)
			r.Header.Set("Content-Encoding", "aws-chunked")
			r.Header.Set("X-Amz-Decoded-Content-Length", "28")
			if err := SignRequest(r, exampleAccessKey, exampleSecret, region, now, StreamingPayload); err != nil {
				t.Fatal(err)
			}
			sr := throughWire(t, r)
			a, err := v.Verify(sr)
			if err != nil {
				return err
			}
			authz := sr.Header.Get("Authorization")
			cs := newChunkSigner(exampleSecret, region, now, authz[strings.LastIndex(authz, "=")+1:])
			sr.Body = io.NopCloser(bytes.NewReader(encodeSigned(cs, [][]byte{data}, nil)))
			b, err := a.Body(sr)
			if err != nil {
				return err
			}
			got, err := io.ReadAll(b)
			if err == nil && !bytes.Equal(got, data) {
				t.Fatalf("decoded %q, want %q", got, data)
			}
			return err
		}},
	}
	tests := []struct {
		name       string
		verifier   string // Verifier.Region
		signRegion string
		wrong      bool
	}{
		{"no region named, us-east-1", "", "us-east-1", false},
		{"no region named, any region", "", "eu-de-1", false},
		{"no region named, odd region", "", "moon_base-7", false},
		{"named, same region", "eu-de-1", "eu-de-1", false},
		{"named, us-east-1 refused", "eu-de-1", "us-east-1", true},
		{"named, case differs", "eu-de-1", "EU-DE-1", true},
		{"named, prefix", "eu-de-1", "eu-de", true},
		{"named us-east-1, other refused", "us-east-1", "eu-de-1", true},
	}
	for _, st := range styles {
		for _, tt := range tests {
			t.Run(st.name+"/"+tt.name, func(t *testing.T) {
				v := verifierAt(now)
				v.Region = tt.verifier
				err := st.verify(t, v, tt.signRegion)
				if !tt.wrong {
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					return
				}
				var re *RegionError
				if !errors.As(err, &re) || re.Got != tt.signRegion || re.Want != tt.verifier || re.Presigned != st.presigned {
					t.Fatalf("err = %v, want a RegionError got %q want %q presigned %t", err, tt.signRegion, tt.verifier, st.presigned)
				}
				style := ErrAuthorizationHeaderMalformed
				if st.presigned {
					style = ErrMalformedPresign
				}
				if !errors.Is(err, ErrWrongRegion) || !errors.Is(err, style) {
					t.Fatalf("err = %v does not match ErrWrongRegion and %v", err, style)
				}
			})
		}
	}
}

// TestVerifierRegionBeforeKey: the region is refused before the access
// key is looked up, so an unknown key signing for the wrong region learns
// the region, not whether the key exists (as AWS's regional endpoints
// answer), and a long region is cut in the error.
func TestVerifierRegionBeforeKey(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v := verifierAt(now)
	v.Region = "eu-de-1"
	long := strings.Repeat("r", 300)
	r := newClientRequest(t, "GET", "http://localhost:9000/bucket/key", nil)
	if err := SignRequest(r, "unknown-key", "unknown-secret", long, now, emptySHA256); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(throughWire(t, r))
	var re *RegionError
	if !errors.As(err, &re) || errors.Is(err, ErrInvalidAccessKeyID) {
		t.Fatalf("err = %v, want a RegionError", err)
	}
	if len(re.Got) != 64 || re.Want != "eu-de-1" {
		t.Fatalf("RegionError %+v: want Got cut to 64 bytes", re)
	}
}
