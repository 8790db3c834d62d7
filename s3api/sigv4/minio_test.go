package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// These tests sign with minio-go's own signer (a real S3 client, and the
// one the project's bench and integration tests use), send the request
// through net/http's wire format, and verify it here.

// sha256Hasher adapts crypto/sha256 to the md5simd.Hasher minio-go's
// streaming signer wants.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

func minioVerifier() *Verifier {
	return &Verifier{Secret: func(ak string) (string, bool) {
		return exampleSecret, ak == exampleAccessKey
	}}
}

func crc32cBase64(b []byte) string {
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return base64.StdEncoding.EncodeToString(out[:])
}

func TestMinioSignV4(t *testing.T) {
	for _, raw := range awkwardURLs {
		t.Run(raw, func(t *testing.T) {
			body := []byte("hello from minio-go")
			r := newClientRequest(t, "PUT", raw, body)
			r.Header.Set("X-Amz-Content-Sha256", hexSHA(body))
			r.Header.Set("Content-Type", "application/octet-stream")
			r.Header.Set("X-Amz-Meta-Note", "  two  spaces ")
			r.Header.Set("User-Agent", "MinIO (linux; amd64) minio-go/v7.4.1")
			signed := signer.SignV4(*r, exampleAccessKey, exampleSecret, "", "us-east-1")
			sr := throughWire(t, signed)
			a, err := minioVerifier().Verify(sr)
			if err != nil {
				t.Fatalf("Verify: %v\nAuthorization: %s", err, signed.Header.Get("Authorization"))
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

func TestMinioPreSignV4(t *testing.T) {
	for _, raw := range awkwardURLs {
		t.Run(raw, func(t *testing.T) {
			r := newClientRequest(t, "GET", raw, nil)
			signed := signer.PreSignV4(*r, exampleAccessKey, exampleSecret, "", "eu-west-1", 600)
			sr := throughWire(t, newClientRequest(t, "GET", signed.URL.String(), nil))
			a, err := minioVerifier().Verify(sr)
			if err != nil {
				t.Fatalf("Verify %s: %v", signed.URL, err)
			}
			if !a.Presigned || a.Region != "eu-west-1" {
				t.Fatalf("auth = %v", a)
			}
		})
	}
}

// minioStreaming signs a PUT of payload with minio-go's streaming signer,
// with a CRC32C trailer when trailer is set, and returns the server side.
func minioStreaming(t *testing.T, payload []byte, trailer bool) *http.Request {
	r := newClientRequest(t, "PUT", "http://localhost:9000/bucket/big%20object", payload)
	if trailer {
		r.Trailer = http.Header{"x-amz-checksum-crc32c": {crc32cBase64(payload)}}
	}
	signed := signer.StreamingSignV4(r, exampleAccessKey, exampleSecret, "", "us-east-1",
		int64(len(payload)), time.Now().UTC(), sha256Hasher{sha256.New()})
	return throughWire(t, signed)
}

func TestMinioStreamingSignV4(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1, 1000, 64 << 10, 64<<10 + 1, 200 << 10} {
		for _, trailer := range []bool{false, true} {
			payload := make([]byte, size)
			for i := range payload {
				payload[i] = byte(rng.Uint32())
			}
			sr := minioStreaming(t, payload, trailer)
			a, err := minioVerifier().Verify(sr)
			if err != nil {
				t.Fatalf("size %d trailer %t: Verify: %v", size, trailer, err)
			}
			want := StreamingPayload
			if trailer {
				want = StreamingPayloadTrailer
			}
			if a.PayloadHash != want {
				t.Fatalf("PayloadHash = %s, want %s", a.PayloadHash, want)
			}
			b, err := a.Body(sr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(b)
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("size %d trailer %t: decoded %d bytes, %v", size, trailer, len(got), err)
			}
			if trailer {
				if v := b.Trailers()["x-amz-checksum-crc32c"]; len(v) != 1 || v[0] != crc32cBase64(payload) {
					t.Fatalf("trailers = %v", b.Trailers())
				}
			}
		}
	}
}

func TestMinioStreamingTamper(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 100<<10)
	sr := minioStreaming(t, payload, true)
	a, err := minioVerifier().Verify(sr)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(sr.Body)
	// Flip one payload byte in the second chunk: the first chunk (64 KiB)
	// still arrives, then the signature check stops the rest.
	i := bytes.Index(raw[70<<10:], []byte("xxxx")) + 70<<10
	raw[i] = 'y'
	sr.Body = io.NopCloser(bytes.NewReader(raw))
	b, err := a.Body(sr)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(b)
	if !errorsIs(err, ErrSignatureDoesNotMatch) || len(got) != 64<<10 {
		t.Fatalf("read %d bytes, err %v; want 65536 and a signature error", len(got), err)
	}
}

func TestMinioUnsignedTrailer(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 20000)
	for _, anonymous := range []bool{false, true} {
		r := newClientRequest(t, "PUT", "http://localhost:9000/bucket/obj", payload)
		r.Header.Set("X-Amz-Content-Sha256", StreamingUnsignedTrailer)
		trailer := http.Header{"x-amz-checksum-crc32c": {crc32cBase64(payload)}}
		var signed *http.Request
		if anonymous {
			signed = signer.UnsignedTrailer(*r, trailer)
		} else {
			signed = signer.SignV4Trailer(*r, exampleAccessKey, exampleSecret, "", "us-east-1", trailer)
		}
		sr := throughWire(t, signed)
		a, err := minioVerifier().Verify(sr)
		switch {
		case anonymous && !errorsIs(err, ErrMissingAuth):
			t.Fatalf("anonymous: Verify err = %v", err)
		case !anonymous && err != nil:
			t.Fatalf("Verify: %v", err)
		}
		b, err := a.Body(sr) // a is nil for the anonymous request
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(b)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("anonymous %t: decoded %d bytes, %v", anonymous, len(got), err)
		}
		if v := b.Trailers()["x-amz-checksum-crc32c"]; len(v) != 1 || v[0] != crc32cBase64(payload) {
			t.Fatalf("trailers = %v", b.Trailers())
		}
	}
}
