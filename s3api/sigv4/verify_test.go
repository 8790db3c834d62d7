package sigv4

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// throughWire writes a client request as net/http's client would and reads
// it back as the server would.
func throughWire(t testing.TB, r *http.Request) *http.Request {
	t.Helper()
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatalf("write request: %v", err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&b))
	if err != nil {
		t.Fatalf("read request: %v\n%s", err, b.String())
	}
	return sr
}

func newClientRequest(t testing.TB, method, rawURL string, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		r.Body, r.ContentLength = nil, 0
	}
	return r
}

// Paths and queries that break signers: spaces, '+', unicode, "//", '$',
// '~', encoded '/', empty values, repeated keys, keys without '='.
var awkwardURLs = []string{
	"http://localhost:9000/bucket/plain.txt",
	"http://localhost:9000/bucket/with%20space",
	"http://localhost:9000/bucket/plus+sign",
	"http://localhost:9000/bucket/plus%2Bsign",
	"http://localhost:9000/bucket/%E2%82%AC%20euro/%E6%97%A5%E6%9C%AC",
	"http://localhost:9000/bucket//double//slash/",
	"http://localhost:9000/bucket/dollar$and&amp=@:,;",
	"http://localhost:9000/bucket/tilde~and_-.",
	"http://localhost:9000/bucket/a%2Fb",
	"http://localhost:9000/bucket/%25literal-percent",
	"http://localhost:9000/bucket?uploads",
	"http://localhost:9000/bucket?list-type=2&prefix=&delimiter=%2F",
	"http://localhost:9000/bucket?b=2&a=1&a=0&c",
	"http://localhost:9000/bucket?prefix=a+b&marker=x%20y",
	"http://localhost:9000/bucket?k=%E2%82%AC&k2=%3D%26%3F",
	"http://localhost:9000/bucket?versionId=&versions",
	"http://localhost:9000/",
	"http://[::1]:9000/bucket/key",
}

func TestSignRequestRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, raw := range awkwardURLs {
		t.Run(raw, func(t *testing.T) {
			body := []byte("payload")
			r := newClientRequest(t, "PUT", raw, body)
			r.Header.Set("Content-Type", "text/plain")
			r.Header.Add("X-Amz-Meta-Multi", "one")
			r.Header.Add("X-Amz-Meta-Multi", "two")
			r.Header.Set("X-Amz-Meta-Spaces", "  inner   runs  of spaces ")
			if err := SignRequest(r, exampleAccessKey, exampleSecret, "eu-central-1", now, hexSHA(body)); err != nil {
				t.Fatal(err)
			}
			sr := throughWire(t, r)
			a, err := verifierAt(now).Verify(sr)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if a.Region != "eu-central-1" || a.PayloadHash != hexSHA(body) {
				t.Fatalf("auth = %v", a)
			}
			b, err := a.Body(sr)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(b); err != nil || !bytes.Equal(got, body) {
				t.Fatalf("body = %q, %v", got, err)
			}
		})
	}
}

// signedRequest returns a server-side request signed at now.
func signedRequest(t testing.TB, now time.Time) *http.Request {
	r := newClientRequest(t, "GET", "http://localhost:9000/bucket/key?versionId=3", nil)
	r.Header.Set("Range", "bytes=0-9")
	if err := SignRequest(r, exampleAccessKey, exampleSecret, "us-east-1", now, emptySHA256); err != nil {
		t.Fatal(err)
	}
	return throughWire(t, r)
}

func TestVerifyRejectsMutations(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		mutate func(r *http.Request)
		want   error
	}{
		{"method", func(r *http.Request) { r.Method = "DELETE" }, ErrSignatureDoesNotMatch},
		{"path", func(r *http.Request) { r.URL.Path = "/bucket/kez" }, ErrSignatureDoesNotMatch},
		{"path trailing slash", func(r *http.Request) { r.URL.Path += "/" }, ErrSignatureDoesNotMatch},
		{"query value", func(r *http.Request) { r.URL.RawQuery = "versionId=4" }, ErrSignatureDoesNotMatch},
		{"query added", func(r *http.Request) { r.URL.RawQuery += "&acl" }, ErrSignatureDoesNotMatch},
		{"query removed", func(r *http.Request) { r.URL.RawQuery = "" }, ErrSignatureDoesNotMatch},
		{"signed header", func(r *http.Request) { r.Header.Set("Range", "bytes=0-99") }, ErrSignatureDoesNotMatch},
		{"host", func(r *http.Request) { r.Host = "evil:9000" }, ErrSignatureDoesNotMatch},
		{"time within skew", func(r *http.Request) { r.Header.Set("X-Amz-Date", "20260301T120001Z") }, ErrSignatureDoesNotMatch},
		{"payload hash", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload) }, ErrSignatureDoesNotMatch},
		{"unknown key", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), exampleAccessKey, "NOSUCHKEY", 1))
		}, ErrInvalidAccessKeyID},
		{"other key", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), exampleAccessKey, "other", 1))
		}, ErrSignatureDoesNotMatch},
		{"region", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "us-east-1", "us-west-2", 1))
		}, ErrSignatureDoesNotMatch},
		{"signed headers list", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "host;range;", "host;", 1))
		}, ErrSignatureDoesNotMatch},
	}
	if _, err := verifierAt(now).Verify(signedRequest(t, now)); err != nil {
		t.Fatalf("unmutated request: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signedRequest(t, now)
			tt.mutate(r)
			if _, err := verifierAt(now).Verify(r); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyClockSkew(t *testing.T) {
	signed := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		now     time.Time
		maxSkew time.Duration
		want    error
	}{
		{"same time", signed, 0, nil},
		{"14m later", signed.Add(14 * time.Minute), 0, nil},
		{"14m earlier", signed.Add(-14 * time.Minute), 0, nil},
		{"16m later", signed.Add(16 * time.Minute), 0, ErrRequestTimeTooSkewed},
		{"16m earlier", signed.Add(-16 * time.Minute), 0, ErrRequestTimeTooSkewed},
		{"custom 1m, 2m later", signed.Add(2 * time.Minute), time.Minute, ErrRequestTimeTooSkewed},
		{"custom 1h, 30m later", signed.Add(30 * time.Minute), time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := verifierAt(tt.now)
			v.MaxSkew = tt.maxSkew
			_, err := v.Verify(signedRequest(t, signed))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyMalformedAuthorization(t *testing.T) {
	const cred = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
	const sh = "SignedHeaders=host;x-amz-content-sha256;x-amz-date"
	const sig = "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
	tests := []struct {
		name, authz, date string
		want              error
	}{
		{"sigv2", "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", "", ErrUnsupportedAlgorithm},
		{"sigv4a", "AWS4-ECDSA-P256-SHA256 " + cred + ", " + sh + ", " + sig, "", ErrUnsupportedAlgorithm},
		{"bearer", "Bearer abc", "", ErrUnsupportedAlgorithm},
		{"algorithm glued", "AWS4-HMAC-SHA256X " + cred, "", ErrUnsupportedAlgorithm},
		{"empty", "", "", ErrUnsupportedAlgorithm},
		{"algorithm only", "AWS4-HMAC-SHA256", "", ErrAuthorizationHeaderMalformed},
		{"missing credential", "AWS4-HMAC-SHA256 " + sh + ", " + sig, "", ErrAuthorizationHeaderMalformed},
		{"missing signed headers", "AWS4-HMAC-SHA256 " + cred + ", " + sig, "", ErrAuthorizationHeaderMalformed},
		{"missing signature", "AWS4-HMAC-SHA256 " + cred + ", " + sh, "", ErrAuthorizationHeaderMalformed},
		{"duplicate credential", "AWS4-HMAC-SHA256 " + cred + ", " + cred + ", " + sh + ", " + sig, "", ErrAuthorizationHeaderMalformed},
		{"unknown element", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig + ", Foo=bar", "", ErrAuthorizationHeaderMalformed},
		{"element without =", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig + ", junk", "", ErrAuthorizationHeaderMalformed},
		{"short scope", "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3, " + sh + ", " + sig, "", ErrAuthorizationHeaderMalformed},
		{"bad scope service", "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/ec2/aws4_request, " + sh + ", " + sig, "", ErrAuthorizationHeaderMalformed},
		{"bad scope terminator", "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws5_request, " + sh + ", " + sig, "", ErrAuthorizationHeaderMalformed},
		{"bad scope date", "AWS4-HMAC-SHA256 Credential=AK/2013-05-24/us-east-1/s3/aws4_request, " + sh + ", " + sig, "", ErrAuthorizationHeaderMalformed},
		{"empty region", "AWS4-HMAC-SHA256 Credential=AK/20130524//s3/aws4_request, " + sh + ", " + sig, "", ErrAuthorizationHeaderMalformed},
		{"empty access key", "AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request, " + sh + ", " + sig, "", ErrAuthorizationHeaderMalformed},
		{"scope date differs", "AWS4-HMAC-SHA256 Credential=AK/20130525/us-east-1/s3/aws4_request, " + sh + ", " + sig, "", ErrAuthorizationHeaderMalformed},
		{"host not signed", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-date, " + sig, "", ErrAuthorizationHeaderMalformed},
		{"upper-case signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host;x-amz-date, " + sig, "", ErrAuthorizationHeaderMalformed},
		{"empty signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, " + sig, "", ErrAuthorizationHeaderMalformed},
		{"content sha not signed", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;x-amz-date, " + sig, "", ErrAuthorizationHeaderMalformed},
		{"short signature", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=abc", "", ErrAuthorizationHeaderMalformed},
		{"non-hex signature", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=" + strings.Repeat("g", 64), "", ErrAuthorizationHeaderMalformed},
		{"bad date", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig, "2013-05-24T00:00:00Z", ErrMissingDate},
		{"no date", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig, "-", ErrMissingDate},
		{"valid", "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig, "", nil},
		{"valid, no spaces", "AWS4-HMAC-SHA256 " + cred + "," + sh + "," + sig, "", nil},
		{"valid, reordered", "AWS4-HMAC-SHA256 " + sig + ", " + cred + ", " + sh, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []header{
				{"Host", "examplebucket.s3.amazonaws.com"},
				{"x-amz-content-sha256", emptySHA256},
				{"Authorization", tt.authz},
			}
			switch tt.date {
			case "":
				headers = append(headers, header{"x-amz-date", "20130524T000000Z"})
			case "-":
			default:
				headers = append(headers, header{"x-amz-date", tt.date})
			}
			r := serverRequest(t, "GET", "/?lifecycle", headers, nil)
			_, err := verifierAt(exampleTime).Verify(r)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyAuthKinds(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		build func(t *testing.T) *http.Request
		want  error
	}{
		{"anonymous", func(t *testing.T) *http.Request {
			return serverRequest(t, "GET", "/bucket/key", []header{{"Host", "h"}}, nil)
		}, ErrMissingAuth},
		{"sigv2 presigned", func(t *testing.T) *http.Request {
			return serverRequest(t, "GET", "/bucket/key?AWSAccessKeyId=AK&Expires=1&Signature=x", []header{{"Host", "h"}}, nil)
		}, ErrUnsupportedAlgorithm},
		{"header and query", func(t *testing.T) *http.Request {
			r := signedRequest(t, now)
			r.URL.RawQuery += "&X-Amz-Credential=x"
			return r
		}, ErrAuthorizationHeaderMalformed},
		{"two authorization headers", func(t *testing.T) *http.Request {
			r := signedRequest(t, now)
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r
		}, ErrAuthorizationHeaderMalformed},
		{"unknown streaming mode", func(t *testing.T) *http.Request {
			r := newClientRequest(t, "PUT", "http://h/bucket/key", nil)
			r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
			if err := SignRequest(r, exampleAccessKey, exampleSecret, "us-east-1", now, emptySHA256); err != nil {
				t.Fatal(err)
			}
			r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
			return throughWire(t, r)
		}, ErrUnsupportedAlgorithm},
		{"garbage payload hash", func(t *testing.T) *http.Request {
			r := signedRequest(t, now)
			r.Header.Set("X-Amz-Content-Sha256", "not-a-hash")
			return r
		}, ErrInvalidContentSHA256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := verifierAt(now).Verify(tt.build(t))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if a != nil {
				t.Fatalf("auth %v returned with an error", a)
			}
		})
	}
}

func TestVerifyDateHeader(t *testing.T) {
	// A client that signs the Date header and sends no X-Amz-Date: the
	// string to sign carries the Date in ISO 8601.
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := newClientRequest(t, "GET", "http://h/bucket/key", nil)
	r.Header.Set("Date", now.Format(http.TimeFormat))
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	cred := credential{accessKey: exampleAccessKey, date: "20260301", region: "us-east-1"}
	signed := []string{"date", "host", "x-amz-content-sha256"}
	creq := canonicalRequest(r, "/bucket/key", "", signed, emptySHA256)
	sig := signString(deriveKey(exampleSecret, cred.date, cred.region), now.Format(iso8601), cred.scope(), creq)
	r.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%x",
		exampleAccessKey, cred.scope(), strings.Join(signed, ";"), sig))
	if _, err := verifierAt(now.Add(time.Minute)).Verify(throughWire(t, r)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestPresignRoundTrip(t *testing.T) {
	signedAt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, raw := range awkwardURLs {
		t.Run(raw, func(t *testing.T) {
			u := mustURL(t, raw)
			s, err := PresignURL("GET", u, exampleAccessKey, exampleSecret, "us-east-1", signedAt, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			r := throughWire(t, newClientRequest(t, "GET", s, nil))
			a, err := verifierAt(signedAt.Add(30 * time.Minute)).Verify(r)
			if err != nil {
				t.Fatalf("Verify %s: %v", s, err)
			}
			if !a.Presigned || a.PayloadHash != UnsignedPayload {
				t.Fatalf("auth = %v", a)
			}
			// The server sees the same object key and query as the caller meant.
			if r.URL.Path != u.Path && !(u.Path == "" && r.URL.Path == "/") {
				t.Fatalf("path %q arrived as %q", u.Path, r.URL.Path)
			}
		})
	}
}

func TestPresignRejectsMutations(t *testing.T) {
	signedAt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := signedAt.Add(time.Minute)
	s, err := PresignURL("GET", mustURL(t, "http://localhost:9000/bucket/key?versionId=7"), exampleAccessKey, exampleSecret, "us-east-1", signedAt, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				panic("test bug: " + old + " not in " + s)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	tests := []struct {
		name   string
		method string
		edit   func(string) string
		want   error
	}{
		{"valid", "GET", func(s string) string { return s }, nil},
		{"method", "PUT", func(s string) string { return s }, ErrSignatureDoesNotMatch},
		{"path", "GET", replace("/bucket/key", "/bucket/kez"), ErrSignatureDoesNotMatch},
		{"query", "GET", replace("versionId=7", "versionId=8"), ErrSignatureDoesNotMatch},
		{"query added", "GET", func(s string) string { return s + "&acl" }, ErrSignatureDoesNotMatch},
		{"host", "GET", replace("localhost:9000", "localhost:9001"), ErrSignatureDoesNotMatch},
		{"time", "GET", replace("X-Amz-Date=20260301T120000Z", "X-Amz-Date=20260301T120001Z"), ErrSignatureDoesNotMatch},
		{"expires", "GET", replace("X-Amz-Expires=3600", "X-Amz-Expires=7200"), ErrSignatureDoesNotMatch},
		{"expires too long", "GET", replace("X-Amz-Expires=3600", "X-Amz-Expires=604801"), ErrInvalidExpires},
		{"expires zero", "GET", replace("X-Amz-Expires=3600", "X-Amz-Expires=0"), ErrInvalidExpires},
		{"expires negative", "GET", replace("X-Amz-Expires=3600", "X-Amz-Expires=-5"), ErrInvalidExpires},
		{"expires text", "GET", replace("X-Amz-Expires=3600", "X-Amz-Expires=1h"), ErrInvalidExpires},
		{"unknown key", "GET", replace(exampleAccessKey, "NOSUCHKEY"), ErrInvalidAccessKeyID},
		{"other key", "GET", replace(exampleAccessKey, "other"), ErrSignatureDoesNotMatch},
		{"signed headers", "GET", replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3Brange"), ErrSignatureDoesNotMatch},
		{"algorithm", "GET", replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256"), ErrUnsupportedAlgorithm},
		{"no algorithm", "GET", replace("X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""), ErrMalformedPresign},
		{"no expires", "GET", replace("X-Amz-Expires=3600&", ""), ErrMalformedPresign},
		{"two signatures", "GET", func(s string) string { return s + "&X-Amz-Signature=" + strings.Repeat("0", 64) }, ErrMalformedPresign},
		{"bad date", "GET", replace("X-Amz-Date=20260301T120000Z", "X-Amz-Date=2026-03-01"), ErrMalformedPresign},
		{"bad credential", "GET", replace("%2Fs3%2F", "%2Fsqs%2F"), ErrMalformedPresign},
		{"no host signed", "GET", replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=range"), ErrMalformedPresign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := throughWire(t, newClientRequest(t, tt.method, tt.edit(s), nil))
			_, err := verifierAt(now).Verify(r)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPresignTimes(t *testing.T) {
	signedAt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, err := PresignURL("GET", mustURL(t, "http://h/b/k"), exampleAccessKey, exampleSecret, "us-east-1", signedAt, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"at signing", signedAt, nil},
		{"just before expiry", signedAt.Add(10 * time.Minute), nil},
		{"expired", signedAt.Add(10*time.Minute + time.Second), ErrExpiredPresign},
		{"clock slightly behind", signedAt.Add(-14 * time.Minute), nil},
		{"from the future", signedAt.Add(-16 * time.Minute), ErrPresignNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := verifierAt(tt.now).Verify(throughWire(t, newClientRequest(t, "GET", s, nil)))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPresignURLArguments(t *testing.T) {
	u := mustURL(t, "http://h/b/k")
	tests := []struct {
		name    string
		u       *url.URL
		ak, sk  string
		expires time.Duration
	}{
		{"no host", mustURL(t, "/b/k"), "ak", "sk", time.Hour},
		{"zero expiry", u, "ak", "sk", 0},
		{"over 7 days", u, "ak", "sk", 7*24*time.Hour + time.Second},
		{"fractional second", u, "ak", "sk", 1500 * time.Millisecond},
		{"no access key", u, "", "sk", time.Hour},
		{"no secret", u, "ak", "", time.Hour},
		{"already presigned", mustURL(t, "http://h/b/k?X-Amz-Signature=x"), "ak", "sk", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := PresignURL("GET", tt.u, tt.ak, tt.sk, "us-east-1", time.Now(), tt.expires); err == nil {
				t.Fatalf("PresignURL = %s, want an error", s)
			}
		})
	}
	// Seven days exactly is the documented maximum.
	if _, err := PresignURL("GET", u, "ak", "sk", "us-east-1", time.Now(), 7*24*time.Hour); err != nil {
		t.Fatalf("7 days: %v", err)
	}
}

func TestAuthPrintsNoKey(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a, err := verifierAt(now).Verify(signedRequest(t, now))
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("%x", a.key[:])
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{a, *a} {
			if s := fmt.Sprintf(format, v); strings.Contains(s, key) || strings.Contains(s, fmt.Sprint(a.key[0], " ", a.key[1])) {
				t.Fatalf("%s prints the signing key: %s", format, s)
			}
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", ""},
		{"acl", "acl="},
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a=", "a=&a=1&a=2"},
		{"prefix=a+b", "prefix=a%20b"},
		{"prefix=a%2Bb", "prefix=a%2Bb"},
		{"k=%7e%2f", "k=~%2F"},
		{"&&x=1&", "x=1"},
		{"bad=%zz", "bad=%25zz"},
		{"X-Amz-Signature=abc&a=1", "a=1"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			if got := canonicalQuery(parseQuery(tt.raw), "X-Amz-Signature"); got != tt.want {
				t.Fatalf("canonicalQuery(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestTrimAll(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a", "a"},
		{"  a  ", "a"},
		{"a   b  c", "a b c"},
		{"\ta b\t", "a b"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := trimAll(tt.in); got != tt.want {
			t.Errorf("trimAll(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
