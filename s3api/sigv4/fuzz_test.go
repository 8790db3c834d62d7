package sigv4

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add(exampleAuthz("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))
	// As minio-go and the AWS SDKs write it: ", " separators.
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
	f.Add("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e/20130524/r/s3/aws4_request,SignedHeaders=host,Signature=" + strings.Repeat("a", 64))
	f.Add("AWS4-HMAC-SHA256 ,,,Credential==,")
	f.Add("")
	v := verifierAt(exampleTime)
	pinned := verifierAt(exampleTime)
	pinned.Region = "us-east-1"
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err == nil {
			// What parses re-serializes to something that parses the same.
			again, err := parseAuthorization(algorithm + " Credential=" + a.cred.accessKey + "/" + a.cred.scope() +
				", SignedHeaders=" + strings.Join(a.signed, ";") + ", Signature=" + hexString(a.signature[:]))
			if err != nil || again.cred != a.cred || again.signature != a.signature || strings.Join(again.signed, ";") != strings.Join(a.signed, ";") {
				t.Fatalf("re-parse of %q: %+v, %v", h, again, err)
			}
		} else if !errors.Is(err, ErrAuthorizationHeaderMalformed) && !errors.Is(err, ErrUnsupportedAlgorithm) {
			t.Fatalf("parse error without a sentinel: %v", err)
		}
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: "lifecycle"}, Host: "examplebucket.s3.amazonaws.com",
			Header: http.Header{"Authorization": {h}, "X-Amz-Date": {"20130524T000000Z"}, "X-Amz-Content-Sha256": {emptySHA256}}}
		auth, err := v.Verify(r)
		if (auth == nil) == (err == nil) {
			t.Fatalf("Verify returned auth %v and err %v", auth, err)
		}
		// With a region named, whatever authenticates names it.
		auth, err = pinned.Verify(r)
		if (auth == nil) == (err == nil) || auth != nil && auth.Region != pinned.Region {
			t.Fatalf("Verify with Region %q returned auth %v and err %v", pinned.Region, auth, err)
		}
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

// FuzzCanonicalRequest: arbitrary methods, paths, queries and headers never
// panic, and whatever SignRequest signs, Verify accepts.
func FuzzCanonicalRequest(f *testing.F) {
	f.Add("GET", "/bucket/key", "versionId=1", "Range", "bytes=0-9")
	f.Add("PUT", "/bucket/a b+c/€/日本//x", "b=2&a=1&a=0&c&=&==", "X-Amz-Meta-A", "  x   y ")
	f.Add("POST", "", "uploads", "Content-Type", "")
	f.Add("DELETE", "/%", "%zz=%", "x", "\t")
	f.Add("GET", "/b/k", "prefix=a+b%2B&marker=%E2%82%AC", "Content-Length", "12")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v := verifierAt(now)
	f.Fuzz(func(t *testing.T, method, path, rawQuery, name, value string) {
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, Host: "localhost:9000", Header: http.Header{}}
		if validTrailerName(strings.ToLower(name)) {
			r.Header[name] = []string{value}
		}
		for _, p := range canonicalPaths(r.URL) {
			_ = canonicalRequest(r, p, canonicalQuery(parseQuery(rawQuery), ""), []string{"host", strings.ToLower(name)}, UnsignedPayload)
		}
		if hasPresignParams(parseQuery(rawQuery)) {
			return
		}
		if err := SignRequest(r, exampleAccessKey, exampleSecret, "us-east-1", now, UnsignedPayload); err != nil {
			t.Fatalf("SignRequest: %v", err)
		}
		if _, err := v.Verify(r); err != nil {
			t.Fatalf("Verify of a request SignRequest signed: %v\n%s %q ? %q, %q: %q", err, method, path, rawQuery, name, value)
		}
	})
}

// fuzzAuth is a fixed signing context so the corpus can hold validly signed bodies.
func fuzzAuth(mode string) (*Auth, *chunkSigner) {
	const seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	a := &Auth{PayloadHash: mode, key: deriveKey(exampleSecret, "20130524", "us-east-1"),
		scope: "20130524/us-east-1/s3/aws4_request", amzDate: "20130524T000000Z"}
	copy(a.seed[:], mustHex(seed))
	return a, newChunkSigner(exampleSecret, "us-east-1", exampleTime, seed)
}

func mustHex(s string) []byte {
	out := make([]byte, len(s)/2)
	for i := range out {
		out[i] = byte(unhex(s[2*i])<<4 | unhex(s[2*i+1]))
	}
	return out
}

var fuzzModes = []string{StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer}

// FuzzChunkedReader: arbitrary bodies in each streaming mode never panic
// and never yield more bytes than were framed or declared.
func FuzzChunkedReader(f *testing.F) {
	payload := []byte("hello, chunked world")
	_, s := fuzzAuth(StreamingPayload)
	f.Add(uint8(0), encodeSigned(s, split(payload, 7), nil), "", int64(len(payload)))
	_, s = fuzzAuth(StreamingPayloadTrailer)
	f.Add(uint8(1), encodeSigned(s, split(payload, 7), []header{{"x-amz-checksum-crc32c", crc32cBase64(payload)}}), "x-amz-checksum-crc32c", int64(-1))
	f.Add(uint8(2), encodeUnsigned(split(payload, 5), []header{{"x-amz-checksum-crc32", "AAAAAA=="}}), "x-amz-checksum-crc32", int64(len(payload)))
	f.Add(uint8(2), []byte("0\r\nx-amz-checksum-crc32:AAAAAA==\n\r\n\r\n"), "x-amz-checksum-crc32", int64(0))
	f.Add(uint8(2), []byte("ffffff\r\n"), "", int64(-1))
	f.Add(uint8(0), []byte("1;chunk-signature=zz\r\n"), "", int64(5))
	f.Fuzz(func(t *testing.T, m uint8, body []byte, declared string, decodedLen int64) {
		mode := fuzzModes[int(m)%len(fuzzModes)]
		a, _ := fuzzAuth(mode)
		r := &http.Request{Method: "PUT", URL: &url.URL{Path: "/b/k"}, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		if declared != "" {
			r.Header.Set("X-Amz-Trailer", declared)
		}
		if decodedLen >= 0 {
			r.Header.Set("X-Amz-Decoded-Content-Length", strconv.FormatInt(decodedLen, 10))
		}
		b, err := a.Body(r)
		if err != nil {
			return
		}
		var total int64
		buf := make([]byte, 1+len(body)%4096)
		for {
			n, err := b.Read(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("Read returned %d", n)
			}
			total += int64(n)
			if total > int64(len(body)) || (decodedLen >= 0 && total > decodedLen) {
				t.Fatalf("%d bytes out of a %d-byte body declared as %d", total, len(body), decodedLen)
			}
			if err == io.EOF {
				if decodedLen >= 0 && total != decodedLen {
					t.Fatalf("EOF after %d bytes, declared %d", total, decodedLen)
				}
				return
			}
			if err != nil {
				if b.Trailers() != nil {
					t.Fatal("trailers after a failed read")
				}
				return
			}
		}
	})
}

// FuzzPresign: arbitrary query strings never panic; only a correct
// signature authenticates.
func FuzzPresign(f *testing.F) {
	signedAt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, raw := range []string{"http://h/b/k", "http://h/b/k?versionId=3&acl", "http://h/b/k?a=1&a=0"} {
		u, _ := url.Parse(raw)
		s, err := PresignURL("GET", u, exampleAccessKey, exampleSecret, "us-east-1", signedAt, time.Hour)
		if err != nil {
			f.Fatal(err)
		}
		su, _ := url.Parse(s)
		f.Add(su.RawQuery)
	}
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=99999999999999999999")
	f.Add("X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Signature=")
	f.Add("AWSAccessKeyId=AK&Signature=x&Expires=1")
	v := verifierAt(signedAt.Add(time.Minute))
	pinned := verifierAt(signedAt.Add(time.Minute))
	pinned.Region = "us-east-1"
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/b/k", RawQuery: rawQuery}, Host: "h", Header: http.Header{}}
		a, err := v.Verify(r)
		if (a == nil) == (err == nil) {
			t.Fatalf("Verify returned auth %v and err %v", a, err)
		}
		if err == nil && (!a.Presigned || !strings.Contains(rawQuery, "X-Amz-Signature=")) {
			t.Fatalf("authenticated %q as %v", rawQuery, a)
		}
		// With a region named, whatever authenticates names it.
		a, err = pinned.Verify(r)
		if (a == nil) == (err == nil) || a != nil && a.Region != pinned.Region {
			t.Fatalf("Verify with Region %q returned auth %v and err %v", pinned.Region, a, err)
		}
	})
}
