package sigv4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

var streamTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// streamingSetup signs a streaming PUT in mode with the given trailer
// declaration and decoded length (-1: header absent), verifies it, and
// returns the Auth, the server request (body unset) and a chunk signer
// seeded with the request's signature.
func streamingSetup(t testing.TB, mode string, declared string, decodedLen int64) (*Auth, *http.Request, *chunkSigner) {
	t.Helper()
	r := newClientRequest(t, "PUT", "http://localhost:9000/bucket/object", nil)
	r.Header.Set("Content-Encoding", "aws-chunked")
	if declared != "" {
		r.Header.Set("X-Amz-Trailer", declared)
	}
	if decodedLen >= 0 {
		r.Header.Set("X-Amz-Decoded-Content-Length", strconv.FormatInt(decodedLen, 10))
	}
	if err := SignRequest(r, exampleAccessKey, exampleSecret, "us-east-1", streamTime, mode); err != nil {
		t.Fatal(err)
	}
	sr := throughWire(t, r)
	a, err := verifierAt(streamTime).Verify(sr)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	authz := sr.Header.Get("Authorization")
	seed := authz[strings.LastIndex(authz, "=")+1:]
	return a, sr, newChunkSigner(exampleSecret, "us-east-1", streamTime, seed)
}

// decode runs body through a.Body and reads it all with reads of random
// sizes, the underlying body also arriving in random pieces.
func decode(t testing.TB, a *Auth, r *http.Request, body []byte, rng *rand.Rand) ([]byte, http.Header, error) {
	t.Helper()
	r.Body = io.NopCloser(&choppyReader{data: body, rng: rng})
	b, err := a.Body(r)
	if err != nil {
		return nil, nil, err
	}
	var out []byte
	buf := make([]byte, 200<<10)
	for {
		n := len(buf)
		if rng != nil {
			n = 1 + rng.IntN(len(buf))
		}
		m, err := b.Read(buf[:n])
		out = append(out, buf[:m]...)
		if err == io.EOF {
			return out, b.Trailers(), nil
		}
		if err != nil {
			return out, nil, err
		}
	}
}

// choppyReader returns data in random-sized pieces (all of it when rng is nil).
type choppyReader struct {
	data []byte
	rng  *rand.Rand
}

func (c *choppyReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data))
	if c.rng != nil {
		n = 1 + c.rng.IntN(n)
	}
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestChunkedRoundTripProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	modes := []string{StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer}
	for i := range 60 {
		mode := modes[i%3]
		payload := randomBytes(rng, rng.IntN(300<<10))
		chunkSize := 1 + rng.IntN(100<<10)
		var trailers []header
		declared := ""
		if mode != StreamingPayload {
			trailers = []header{} // a trailer section, possibly empty
		}
		if mode != StreamingPayload && rng.IntN(4) > 0 {
			trailers = []header{{"x-amz-checksum-crc32c", crc32cBase64(payload)}}
			declared = "x-amz-checksum-crc32c"
			if rng.IntN(2) == 0 {
				trailers = append(trailers, header{"x-amz-meta-extra", "v"})
				declared += ", x-amz-meta-extra"
			}
		}
		decodedLen := int64(len(payload))
		if rng.IntN(3) == 0 {
			decodedLen = -1
		}
		name := fmt.Sprintf("%d/%s/%dB/chunk%d", i, mode, len(payload), chunkSize)
		a, r, s := streamingSetup(t, mode, declared, decodedLen)
		var body []byte
		if mode == StreamingUnsignedTrailer {
			body = encodeUnsigned(split(payload, chunkSize), trailers)
		} else {
			body = encodeSigned(s, split(payload, chunkSize), trailers)
		}
		got, tr, err := decode(t, a, r, body, rng)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("%s: decoded %d of %d bytes, err %v", name, len(got), len(payload), err)
		}
		if len(tr) != len(trailers) {
			t.Fatalf("%s: trailers %v, want %v", name, tr, trailers)
		}
		for _, h := range trailers {
			if v := tr[h.name]; len(v) != 1 || v[0] != h.value {
				t.Fatalf("%s: trailer %s = %v, want %s", name, h.name, v, h.value)
			}
		}
	}
}

func TestChunkedBadSignatureReturnsNoByteOfThatChunk(t *testing.T) {
	const chunkSize = 1000
	payload := bytes.Repeat([]byte("abcdefghij"), 500) // five chunks
	for bad := range 6 {                               // 5 = the final chunk
		for _, mode := range []string{StreamingPayload, StreamingPayloadTrailer} {
			t.Run(fmt.Sprintf("%s/chunk%d", mode, bad), func(t *testing.T) {
				declared, trailers := "", []header(nil)
				if mode == StreamingPayloadTrailer {
					declared, trailers = "x-amz-checksum-crc32c", []header{{"x-amz-checksum-crc32c", crc32cBase64(payload)}}
				}
				a, r, s := streamingSetup(t, mode, declared, int64(len(payload)))
				body := encodeSigned(s, split(payload, chunkSize), trailers)
				// Corrupt the bad-th chunk signature's last hex digit.
				idx := -1
				for range bad + 1 {
					idx += 1 + bytes.Index(body[idx+1:], []byte("chunk-signature="))
				}
				sigEnd := idx + len("chunk-signature=") + 63
				body[sigEnd] = flipHex(body[sigEnd])[0]
				got, _, err := decode(t, a, r, body, nil)
				if !errors.Is(err, ErrSignatureDoesNotMatch) {
					t.Fatalf("err = %v", err)
				}
				if len(got) != min(bad, 5)*chunkSize || !bytes.Equal(got, payload[:len(got)]) {
					t.Fatalf("returned %d bytes before the bad chunk %d", len(got), bad)
				}
			})
		}
	}
}

func TestChunkedReorderedChunks(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 300)
	a, r, s := streamingSetup(t, StreamingPayload, "", -1)
	chunks := split(payload, 1000)
	body := encodeSigned(s, chunks, nil)
	// Swap the framed first and second chunks: each carries a valid
	// signature, but not in that place of the chain.
	first := bytes.Index(body, []byte("\r\n3e8;")) + 2
	second := bytes.Index(body[first:], []byte("\r\n3e8;")) + first + 2
	swapped := append(append(append([]byte{}, body[first:second]...), body[:first]...), body[second:]...)
	if _, _, err := decode(t, a, r, swapped, nil); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Fatalf("swapped chunks: err = %v", err)
	}
}

func TestChunkedTruncatedAnywhere(t *testing.T) {
	payload := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	trailers := []header{{"x-amz-checksum-crc32c", crc32cBase64(payload)}}
	for _, mode := range []string{StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer} {
		t.Run(mode, func(t *testing.T) {
			declared, tr := "", []header(nil)
			if mode != StreamingPayload {
				declared, tr = trailers[0].name, trailers
			}
			_, _, s := streamingSetup(t, mode, declared, int64(len(payload)))
			var body []byte
			if mode == StreamingUnsignedTrailer {
				body = encodeUnsigned(split(payload, 10), tr)
			} else {
				body = encodeSigned(s, split(payload, 10), tr)
			}
			for cut := range len(body) {
				a, r, _ := streamingSetup(t, mode, declared, int64(len(payload)))
				got, gotTr, err := decode(t, a, r, body[:cut], nil)
				if err == nil {
					// Only the optional closing CRLF may be missing.
					if !bytes.Equal(got, payload) || len(gotTr) != len(tr) || len(body)-cut > 2 {
						t.Fatalf("cut at %d of %d accepted: %d bytes, trailers %v", cut, len(body), len(got), gotTr)
					}
					continue
				}
				if !errors.Is(err, ErrIncompleteBody) && !errors.Is(err, ErrMalformedChunk) {
					t.Fatalf("cut at %d: err = %v", cut, err)
				}
			}
		})
	}
}

func TestChunkedMalformed(t *testing.T) {
	sig := strings.Repeat("0", 64)
	tests := []struct {
		name, mode, declared string
		decodedLen           int64
		body                 func(s *chunkSigner) string
		want                 error
	}{
		{"bad hex size", StreamingUnsignedTrailer, "", -1, func(*chunkSigner) string { return "zz\r\nabc\r\n0\r\n\r\n" }, ErrMalformedChunk},
		{"negative size", StreamingUnsignedTrailer, "", -1, func(*chunkSigner) string { return "-1\r\n" }, ErrMalformedChunk},
		{"empty size", StreamingPayload, "", -1, func(*chunkSigner) string { return ";chunk-signature=" + sig + "\r\n" }, ErrMalformedChunk},
		{"huge size", StreamingPayload, "", -1, func(*chunkSigner) string { return "ffffffffffffffff;chunk-signature=" + sig + "\r\n" }, ErrMalformedChunk},
		{"just over the limit", StreamingPayload, "", -1, func(*chunkSigner) string { return "1000001;chunk-signature=" + sig + "\r\n" }, ErrMalformedChunk},
		{"17 hex digits", StreamingUnsignedTrailer, "", -1, func(*chunkSigner) string { return "00000000000000001\r\n" }, ErrMalformedChunk},
		{"missing chunk-signature", StreamingPayload, "", -1, func(*chunkSigner) string { return "3\r\nabc\r\n" }, ErrMalformedChunk},
		{"short chunk-signature", StreamingPayload, "", -1, func(*chunkSigner) string { return "3;chunk-signature=abc\r\nabc\r\n" }, ErrMalformedChunk},
		{"empty body", StreamingPayload, "", -1, func(*chunkSigner) string { return "" }, ErrIncompleteBody},
		{"missing final chunk", StreamingPayload, "", -1, func(s *chunkSigner) string {
			return "3;chunk-signature=" + s.chunk([]byte("abc")) + "\r\nabc\r\n"
		}, ErrIncompleteBody},
		{"missing final chunk, unsigned", StreamingUnsignedTrailer, "", -1, func(*chunkSigner) string { return "3\r\nabc\r\n" }, ErrIncompleteBody},
		{"chunk longer than size", StreamingPayload, "", -1, func(s *chunkSigner) string {
			return "3;chunk-signature=" + s.chunk([]byte("abc")) + "\r\nabcd\r\n"
		}, ErrMalformedChunk},
		{"chunk longer than size, unsigned", StreamingUnsignedTrailer, "", -1, func(*chunkSigner) string { return "3\r\nabcd\r\n0\r\n\r\n" }, ErrMalformedChunk},
		{"header line too long", StreamingUnsignedTrailer, "", -1, func(*chunkSigner) string { return "3;" + strings.Repeat("x", 5000) + "\r\n" }, ErrMalformedChunk},
		{"data after final chunk", StreamingPayload, "", -1, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\n\r\nmore"
		}, ErrMalformedChunk},
		{"trailer in a mode without trailers", StreamingPayload, "", -1, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
		}, ErrMalformedChunk},
		{"decoded length exceeded", StreamingUnsignedTrailer, "", 2, func(*chunkSigner) string { return "3\r\nabc\r\n0\r\n\r\n" }, ErrMalformedChunk},
		{"decoded length short", StreamingUnsignedTrailer, "", 4, func(*chunkSigner) string { return "3\r\nabc\r\n0\r\n\r\n" }, ErrIncompleteBody},
		{"decoded length short, signed", StreamingPayload, "", 4, func(s *chunkSigner) string {
			return "3;chunk-signature=" + s.chunk([]byte("abc")) + "\r\nabc\r\n0;chunk-signature=" + s.chunk(nil) + "\r\n\r\n"
		}, ErrIncompleteBody},
		{"undeclared trailer", StreamingUnsignedTrailer, "x-amz-checksum-crc32", -1, func(*chunkSigner) string {
			return "0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-meta-sneaky:1\r\n\r\n"
		}, ErrMalformedChunk},
		{"declared trailer missing", StreamingUnsignedTrailer, "x-amz-checksum-crc32", -1, func(*chunkSigner) string {
			return "0\r\n\r\n"
		}, ErrIncompleteBody},
		{"one of two declared trailers missing", StreamingUnsignedTrailer, "x-amz-checksum-crc32,x-amz-meta-a", -1, func(*chunkSigner) string {
			return "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
		}, ErrIncompleteBody},
		{"trailer without colon", StreamingUnsignedTrailer, "x-amz-checksum-crc32", -1, func(*chunkSigner) string {
			return "0\r\nx-amz-checksum-crc32 AAAAAA==\r\n\r\n"
		}, ErrMalformedChunk},
		{"duplicate trailer", StreamingUnsignedTrailer, "x-amz-checksum-crc32", -1, func(*chunkSigner) string {
			return "0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
		}, ErrMalformedChunk},
		{"trailer signature in unsigned mode", StreamingUnsignedTrailer, "x-amz-checksum-crc32", -1, func(*chunkSigner) string {
			return "0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:" + sig + "\r\n\r\n"
		}, ErrMalformedChunk},
		{"too many trailer lines", StreamingUnsignedTrailer, "x-amz-checksum-crc32", -1, func(*chunkSigner) string {
			return "0\r\n" + strings.Repeat("\r\n", 40)
		}, ErrMalformedChunk},
		{"wrong trailer signature", StreamingPayloadTrailer, "x-amz-checksum-crc32", -1, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:" +
				s.trailer("x-amz-checksum-crc32:AAAAAB==\n") + "\r\n\r\n"
		}, ErrSignatureDoesNotMatch},
		{"missing trailer signature", StreamingPayloadTrailer, "x-amz-checksum-crc32", -1, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
		}, ErrIncompleteBody},
		{"missing trailer signature at EOF", StreamingPayloadTrailer, "x-amz-checksum-crc32", -1, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\nx-amz-checksum-crc32:AAAAAA==\r\n"
		}, ErrIncompleteBody},
		{"trailer after trailer signature", StreamingPayloadTrailer, "x-amz-checksum-crc32", -1, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\nx-amz-trailer-signature:" + s.trailer("") +
				"\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
		}, ErrMalformedChunk},
		{"short trailer signature", StreamingPayloadTrailer, "x-amz-checksum-crc32", -1, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:abc\r\n\r\n"
		}, ErrMalformedChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r, s := streamingSetup(t, tt.mode, tt.declared, tt.decodedLen)
			got, _, err := decode(t, a, r, []byte(tt.body(s)), nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v (after %q), want %v", err, got, tt.want)
			}
		})
	}
}

// The "missing trailer signature" case above ends in a blank line that the
// decoder skips while it waits for the signature (minio-go's layout), so it
// reports the body as incomplete; this checks the accepted layouts.
func TestChunkedTrailerLayouts(t *testing.T) {
	const crc = "AAAAAA=="
	tests := []struct {
		name, mode string
		body       func(s *chunkSigner) string
	}{
		{"AWS signed", StreamingPayloadTrailer, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\nx-amz-checksum-crc32:" + crc +
				"\r\nx-amz-trailer-signature:" + s.trailer("x-amz-checksum-crc32:"+crc+"\n") + "\r\n\r\n"
		}},
		{"minio-go signed", StreamingPayloadTrailer, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\nx-amz-checksum-crc32:" + crc +
				"\n\r\nx-amz-trailer-signature:" + s.trailer("x-amz-checksum-crc32:"+crc+"\n") + "\r\n\r\n"
		}},
		{"signed, no closing CRLF", StreamingPayloadTrailer, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\nx-amz-checksum-crc32:" + crc +
				"\r\nx-amz-trailer-signature:" + s.trailer("x-amz-checksum-crc32:"+crc+"\n") + "\r\n"
		}},
		{"signed, blank line first", StreamingPayloadTrailer, func(s *chunkSigner) string {
			return "0;chunk-signature=" + s.chunk(nil) + "\r\n\r\nx-amz-checksum-crc32:" + crc +
				"\r\nx-amz-trailer-signature:" + s.trailer("x-amz-checksum-crc32:"+crc+"\n") + "\r\n"
		}},
		{"AWS unsigned", StreamingUnsignedTrailer, func(*chunkSigner) string {
			return "0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n"
		}},
		{"minio-go unsigned", StreamingUnsignedTrailer, func(*chunkSigner) string {
			return "0\r\nx-amz-checksum-crc32:" + crc + "\n\r\n\r\n"
		}},
		{"unsigned, space after colon", StreamingUnsignedTrailer, func(*chunkSigner) string {
			return "0\r\nX-Amz-Checksum-CRC32: " + crc + "\r\n\r\n"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r, s := streamingSetup(t, tt.mode, "x-amz-checksum-crc32", 0)
			_, tr, err := decode(t, a, r, []byte(tt.body(s)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if v := tr["x-amz-checksum-crc32"]; len(v) != 1 || v[0] != crc {
				t.Fatalf("trailers = %v", tr)
			}
		})
	}
}

func TestChunkedHugeSizeAllocatesNothing(t *testing.T) {
	a, r, _ := streamingSetup(t, StreamingPayload, "", -1)
	// A chunk of 16 MiB announced, a few bytes sent: the buffer grows only
	// with the data, never to the announced size.
	r.Body = io.NopCloser(strings.NewReader("1000000;chunk-signature=" + strings.Repeat("0", 64) + "\r\nabc"))
	b, err := a.Body(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(b); !errors.Is(err, ErrIncompleteBody) {
		t.Fatalf("err = %v", err)
	}
	if c := cap(b.chunked.buf); c > firstBuf {
		t.Fatalf("buffer grew to %d bytes for 3 bytes of data", c)
	}
}

func TestChunkedSteadyStateAllocs(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 64<<10)
	allocs := func(chunks int) float64 {
		a, r, s := streamingSetup(t, StreamingPayload, "", -1)
		var parts [][]byte
		for range chunks {
			parts = append(parts, payload)
		}
		body := encodeSigned(s, parts, nil)
		rd := bytes.NewReader(body)
		r.Body = io.NopCloser(rd)
		buf := make([]byte, 32<<10)
		return testing.AllocsPerRun(5, func() {
			rd.Reset(body)
			b, err := a.Body(r)
			if err != nil {
				t.Fatal(err)
			}
			for {
				if _, err := b.Read(buf); err == io.EOF {
					return
				} else if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	few, many := allocs(2), allocs(32)
	if many != few {
		t.Fatalf("allocations grow with chunks: %v for 2 chunks, %v for 32", few, many)
	}
}

func TestBodyModes(t *testing.T) {
	payload := []byte("the payload")
	tests := []struct {
		name    string
		hash    string
		body    []byte
		wantErr error
	}{
		{"sha256 ok", hexSHA(payload), payload, nil},
		{"sha256 upper-case hex", strings.ToUpper(hexSHA(payload)), payload, nil},
		{"sha256 mismatch", hexSHA(payload), []byte("the paylaod"), ErrContentSHA256Mismatch},
		{"sha256 truncated", hexSHA(payload), payload[:5], ErrContentSHA256Mismatch},
		{"empty sha, empty body", emptySHA256, nil, nil},
		{"unsigned", UnsignedPayload, []byte("anything at all"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Auth{PayloadHash: tt.hash}
			r := serverRequest(t, "PUT", "/b/k", []header{{"Host", "h"}}, tt.body)
			b, err := a.Body(r)
			if err != nil {
				t.Fatal(err)
			}
			if b.DecodedLength() != int64(len(tt.body)) {
				t.Fatalf("DecodedLength = %d, want %d", b.DecodedLength(), len(tt.body))
			}
			got, err := io.ReadAll(b)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !bytes.Equal(got, tt.body) {
				t.Fatalf("body = %q", got)
			}
			// Errors are sticky.
			if _, err2 := b.Read(make([]byte, 1)); tt.wantErr != nil && !errors.Is(err2, tt.wantErr) {
				t.Fatalf("second Read err = %v", err2)
			}
		})
	}
}

func TestBodyReadErrorPassesThrough(t *testing.T) {
	boom := errors.New("connection reset")
	for _, hash := range []string{hexSHA(nil), StreamingUnsignedTrailer} {
		r := serverRequest(t, "PUT", "/b/k", []header{{"Host", "h"}}, nil)
		r.Body = io.NopCloser(io.MultiReader(strings.NewReader("5\r\nab"), errReader{boom}))
		b, err := (&Auth{PayloadHash: hash}).Body(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(b); !errors.Is(err, boom) {
			t.Fatalf("%s: err = %v, want the body's error", hash, err)
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestAnonymousBody(t *testing.T) {
	tests := []struct {
		name, hash string
		want       error
	}{
		{"no header", "", nil},
		{"unsigned", UnsignedPayload, nil},
		{"unsigned trailer", StreamingUnsignedTrailer, nil},
		{"signed streaming", StreamingPayload, ErrMissingAuth},
		{"signed trailer", StreamingPayloadTrailer, ErrMissingAuth},
		{"garbage", "xyz", ErrInvalidContentSHA256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := []header{{"Host", "h"}}
			if tt.hash != "" {
				h = append(h, header{"X-Amz-Content-Sha256", tt.hash})
			}
			_, err := (*Auth)(nil).Body(serverRequest(t, "PUT", "/b/k", h, nil))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestChunkedBodyHeaders(t *testing.T) {
	tests := []struct {
		name, mode string
		headers    []header
		want       error
	}{
		{"bad decoded length", StreamingUnsignedTrailer, []header{{"X-Amz-Decoded-Content-Length", "-3"}}, ErrMalformedChunk},
		{"text decoded length", StreamingUnsignedTrailer, []header{{"X-Amz-Decoded-Content-Length", "ten"}}, ErrMalformedChunk},
		{"trailer signature declared", StreamingUnsignedTrailer, []header{{"X-Amz-Trailer", "x-amz-trailer-signature"}}, ErrMalformedChunk},
		{"trailer without trailer mode", StreamingPayload, []header{{"X-Amz-Trailer", "x-amz-checksum-crc32"}}, ErrMalformedChunk},
		{"bad trailer name", StreamingUnsignedTrailer, []header{{"X-Amz-Trailer", "bad name"}}, ErrMalformedChunk},
		{"too many trailers", StreamingUnsignedTrailer, []header{{"X-Amz-Trailer", "a,b,c,d,e,f,g,h,i"}}, ErrMalformedChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := serverRequest(t, "PUT", "/b/k", append(tt.headers, header{"Host", "h"}), nil)
			if _, err := (&Auth{PayloadHash: tt.mode}).Body(r); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// Headers built in code (not parsed) may hold a name with no values.
func TestBodyEmptyHeaderValues(t *testing.T) {
	for _, name := range []string{"X-Amz-Decoded-Content-Length", "X-Amz-Trailer", "X-Amz-Content-Sha256", "Authorization"} {
		r := &http.Request{Method: "PUT", URL: &url.URL{Path: "/b/k"}, Header: http.Header{name: {}}}
		_, _ = verifierAt(streamTime).Verify(r)
		for _, mode := range fuzzModes {
			_, _ = (&Auth{PayloadHash: mode}).Body(r)
		}
		_, _ = (*Auth)(nil).Body(r)
	}
}

func TestContentEncoding(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"aws-chunked"}, ""},
		{[]string{"aws-chunked,gzip"}, "gzip"},
		{[]string{"gzip, AWS-Chunked"}, "gzip"},
		{[]string{"aws-chunked", "br"}, "br"},
		{[]string{"gzip,deflate"}, "gzip,deflate"},
	}
	for _, tt := range tests {
		if got := ContentEncoding(http.Header{"Content-Encoding": tt.in}); got != tt.want {
			t.Errorf("ContentEncoding(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
