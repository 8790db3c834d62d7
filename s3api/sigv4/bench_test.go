package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func BenchmarkVerify(b *testing.B) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v := verifierAt(now)
	b.Run("header", func(b *testing.B) {
		r := signedRequest(b, now)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("presigned", func(b *testing.B) {
		u, _ := url.Parse("http://localhost:9000/bucket/key?versionId=3")
		s, err := PresignURL("GET", u, exampleAccessKey, exampleSecret, "us-east-1", now, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		r := throughWire(b, newClientRequest(b, "GET", s, nil))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBody measures decoding and verification of a 1 MiB payload in
// each mode; signed modes are bounded by SHA-256 plus one HMAC per chunk.
func BenchmarkBody(b *testing.B) {
	const size = 1 << 20
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	cases := []struct {
		name string
		mode string
		body func(s *chunkSigner) []byte
	}{
		{"unsigned/1MiB", UnsignedPayload, func(*chunkSigner) []byte { return payload }},
		{"sha256/1MiB", hexSHA(payload), func(*chunkSigner) []byte { return payload }},
		{"signed/64KiB-chunks/1MiB", StreamingPayload, func(s *chunkSigner) []byte {
			return encodeSigned(s, split(payload, 64<<10), nil)
		}},
		{"signed/1MiB-chunks/1MiB", StreamingPayload, func(s *chunkSigner) []byte {
			return encodeSigned(s, split(payload, 1<<20), nil)
		}},
		{"signed-trailer/64KiB-chunks/1MiB", StreamingPayloadTrailer, func(s *chunkSigner) []byte {
			return encodeSigned(s, split(payload, 64<<10), []header{{"x-amz-checksum-crc32c", crc32cBase64(payload)}})
		}},
		{"unsigned-trailer/64KiB-chunks/1MiB", StreamingUnsignedTrailer, func(*chunkSigner) []byte {
			return encodeUnsigned(split(payload, 64<<10), []header{{"x-amz-checksum-crc32c", crc32cBase64(payload)}})
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			a, s := fuzzAuth(c.mode)
			body := c.body(s)
			rd := bytes.NewReader(body)
			r := &http.Request{Method: "PUT", URL: &url.URL{Path: "/b/k"}, Header: http.Header{}, Body: io.NopCloser(rd), ContentLength: int64(len(body))}
			if c.mode == StreamingPayloadTrailer || c.mode == StreamingUnsignedTrailer {
				r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
			}
			buf := make([]byte, 128<<10)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				body, err := a.Body(r)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, onlyReader{body}, buf)
				if err != nil || n != size {
					b.Fatalf("copied %d, %v", n, err)
				}
			}
		})
	}
}

// onlyReader hides WriterTo/ReaderFrom so CopyBuffer uses buf.
type onlyReader struct{ io.Reader }
