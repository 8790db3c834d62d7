package sigv4

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The requests and signatures below are the worked examples of AWS's S3
// API reference (sig-v4-header-based-auth, sigv4-query-string-auth,
// sigv4-streaming, sigv4-streaming-trailers), all signed with the example
// key at 20130524T000000Z in us-east-1.

func exampleAuthz(signed, sig string) string {
	return "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=" +
		signed + ",Signature=" + sig
}

func TestAWSHeaderExamples(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		target  string
		headers []header
		body    string
	}{
		{
			name: "GET object with range", method: "GET", target: "/test.txt",
			headers: []header{
				{"Host", "examplebucket.s3.amazonaws.com"},
				{"Range", "bytes=0-9"},
				{"x-amz-content-sha256", emptySHA256},
				{"x-amz-date", "20130524T000000Z"},
				{"Authorization", exampleAuthz("host;range;x-amz-content-sha256;x-amz-date",
					"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")},
			},
		},
		{
			// The key "test$file.text" is signed as /test%24file.text.
			name: "PUT object", method: "PUT", target: "/test$file.text",
			headers: []header{
				{"Host", "examplebucket.s3.amazonaws.com"},
				{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
				{"x-amz-date", "20130524T000000Z"},
				{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
				{"x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
				{"Authorization", exampleAuthz("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
					"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")},
			},
			body: "Welcome to Amazon S3.",
		},
		{
			name: "GET bucket lifecycle", method: "GET", target: "/?lifecycle",
			headers: []header{
				{"Host", "examplebucket.s3.amazonaws.com"},
				{"x-amz-date", "20130524T000000Z"},
				{"x-amz-content-sha256", emptySHA256},
				{"Authorization", exampleAuthz("host;x-amz-content-sha256;x-amz-date",
					"fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")},
			},
		},
		{
			name: "list objects", method: "GET", target: "/?max-keys=2&prefix=J",
			headers: []header{
				{"Host", "examplebucket.s3.amazonaws.com"},
				{"x-amz-date", "20130524T000000Z"},
				{"x-amz-content-sha256", emptySHA256},
				{"Authorization", exampleAuthz("host;x-amz-content-sha256;x-amz-date",
					"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := serverRequest(t, tt.method, tt.target, tt.headers, []byte(tt.body))
			a, err := verifierAt(exampleTime).Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if a.AccessKey != exampleAccessKey || a.Region != "us-east-1" || a.Presigned || !a.Time.Equal(exampleTime) {
				t.Fatalf("auth = %v", a)
			}
			b, err := a.Body(r)
			if err != nil {
				t.Fatalf("Body: %v", err)
			}
			got, err := io.ReadAll(b)
			if err != nil || string(got) != tt.body {
				t.Fatalf("body = %q, %v; want %q", got, err, tt.body)
			}

			// The same request with one byte of the signature changed fails.
			authz := r.Header.Get("Authorization")
			r.Header.Set("Authorization", authz[:len(authz)-1]+flipHex(authz[len(authz)-1]))
			if _, err := verifierAt(exampleTime).Verify(r); !errors.Is(err, ErrSignatureDoesNotMatch) {
				t.Fatalf("tampered signature: err = %v", err)
			}
		})
	}
}

func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestAWSPresignedExample(t *testing.T) {
	const target = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	r := serverRequest(t, "GET", target, []header{{"Host", "examplebucket.s3.amazonaws.com"}}, nil)
	a, err := verifierAt(exampleTime.Add(3600e9)).Verify(r)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !a.Presigned || a.PayloadHash != UnsignedPayload || a.AccessKey != exampleAccessKey {
		t.Fatalf("auth = %v", a)
	}
	// One day later plus a second, the URL has expired.
	if _, err := verifierAt(exampleTime.Add(86401e9)).Verify(r); !errors.Is(err, ErrExpiredPresign) {
		t.Fatalf("after expiry: err = %v", err)
	}
	// PresignURL reproduces the documented URL exactly.
	got, err := PresignURL("GET", mustURL(t, "https://examplebucket.s3.amazonaws.com/test.txt"),
		exampleAccessKey, exampleSecret, "us-east-1", exampleTime, 86400e9)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://examplebucket.s3.amazonaws.com" + target; got != want {
		t.Fatalf("PresignURL =\n %s\nwant\n %s", got, want)
	}
}

// The 65 KiB object of 'a' sent as chunks of 64 KiB, 1 KiB and 0.
var exampleChunks = [][]byte{bytes.Repeat([]byte{'a'}, 65536), bytes.Repeat([]byte{'a'}, 1024)}

func exampleChunkedRequest(t testing.TB, mode, seed string, body []byte) *http.Request {
	signed := "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class"
	headers := []header{
		{"Host", "s3.amazonaws.com"},
		{"x-amz-date", "20130524T000000Z"},
		{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
		{"x-amz-content-sha256", mode},
		{"Content-Encoding", "aws-chunked"},
		{"x-amz-decoded-content-length", "66560"},
		{"Content-Length", "66824"},
	}
	if mode == StreamingPayloadTrailer {
		signed = "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer"
		headers = append(headers[:6], header{"x-amz-trailer", "x-amz-checksum-crc32c"}, header{"Content-Length", "66946"})
	}
	headers = append(headers, header{"Authorization", exampleAuthz(signed, seed)})
	return serverRequest(t, "PUT", "/examplebucket/chunkObject.txt", headers, body)
}

func TestAWSChunkedExample(t *testing.T) {
	const seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	body := "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" +
		strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" +
		strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
	if len(body) != 66824 {
		t.Fatalf("documented body is %d bytes, want 66824", len(body))
	}
	// The independent test signer reproduces the documented body.
	if enc := encodeSigned(newChunkSigner(exampleSecret, "us-east-1", exampleTime, seed), exampleChunks, nil); string(enc) != body {
		t.Fatal("test signer disagrees with the documented chunk signatures")
	}
	r := exampleChunkedRequest(t, StreamingPayload, seed, []byte(body))
	a, err := verifierAt(exampleTime).Verify(r)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	b, err := a.Body(r)
	if err != nil {
		t.Fatalf("Body: %v", err)
	}
	if b.DecodedLength() != 66560 {
		t.Fatalf("DecodedLength = %d", b.DecodedLength())
	}
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{'a'}, 66560)) {
		t.Fatalf("decoded %d bytes, err %v", len(got), err)
	}
	if b.Trailers() != nil {
		t.Fatalf("trailers = %v, want nil", b.Trailers())
	}
}

func TestAWSTrailerExample(t *testing.T) {
	const seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
	body := "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n" +
		strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n" +
		strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n" +
		"x-amz-checksum-crc32c:sOO8/Q==\r\n" +
		"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"
	// The trailer's value is the CRC32C of the payload, computed here
	// independently of the document.
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.Checksum(bytes.Repeat([]byte{'a'}, 66560), crc32.MakeTable(crc32.Castagnoli)))
	if base64.StdEncoding.EncodeToString(crc[:]) != "sOO8/Q==" {
		t.Fatal("documented CRC32C does not match the payload")
	}
	enc := encodeSigned(newChunkSigner(exampleSecret, "us-east-1", exampleTime, seed), exampleChunks,
		[]header{{"x-amz-checksum-crc32c", "sOO8/Q=="}})
	if string(enc) != body {
		t.Fatal("test signer disagrees with the documented trailer signatures")
	}
	r := exampleChunkedRequest(t, StreamingPayloadTrailer, seed, []byte(body))
	a, err := verifierAt(exampleTime).Verify(r)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	b, err := a.Body(r)
	if err != nil {
		t.Fatalf("Body: %v", err)
	}
	if b.Trailers() != nil {
		t.Fatal("trailers visible before EOF")
	}
	got, err := io.ReadAll(b)
	if err != nil || len(got) != 66560 {
		t.Fatalf("decoded %d bytes, err %v", len(got), err)
	}
	if v := b.Trailers()["x-amz-checksum-crc32c"]; len(v) != 1 || v[0] != "sOO8/Q==" {
		t.Fatalf("trailers = %v", b.Trailers())
	}
}
