package s3api

import (
	"encoding/xml"
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7"
)

// wantErrorMessage is wantError that also checks the message, which AWS
// words per case and some clients show to their users.
func wantErrorMessage(t *testing.T, resp *http.Response, body []byte, status int, code, msg string) {
	t.Helper()
	wantError(t, resp, body, status, code)
	var er errorResponse
	if err := xml.Unmarshal(body, &er); err != nil {
		t.Fatal(err)
	}
	if er.Message != msg {
		t.Fatalf("message = %q, want %q", er.Message, msg)
	}
}

// TestChecksumRequestErrors: the checksum declarations AWS refuses on a
// PUT (and DeleteObjects, which must carry a digest), with AWS's codes and
// messages, beside the declarations that stay accepted.
func TestChecksumRequestErrors(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("ckerr")
	data := []byte("the object's bytes")
	other := []byte("other bytes")
	del := []byte(`<Delete><Object><Key>gone</Key></Object></Delete>`)

	const (
		sdkOnly    = "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found."
		sdkInvalid = "Value for x-amz-sdk-checksum-algorithm header is invalid."
	)
	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		header map[string]string
		status int    // 200: accepted
		code   string // the error's code
		msg    string // and message; "" leaves it unchecked
	}{
		// The SDK header announces a checksum; alone, AWS refuses it
		// rather than computing one.
		{"sdk algorithm alone", "PUT", "/ckerr/a", data, map[string]string{
			"x-amz-sdk-checksum-algorithm": "CRC32"}, 400, "InvalidRequest", sdkOnly},
		{"sdk algorithm and Content-MD5", "PUT", "/ckerr/a", data, map[string]string{
			"x-amz-sdk-checksum-algorithm": "CRC32", "Content-MD5": md5b64(data)}, 400, "InvalidRequest", sdkOnly},
		{"sdk algorithm with its header", "PUT", "/ckerr/a", data, map[string]string{
			"x-amz-sdk-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": minio.ChecksumCRC32.EncodeToString(data)}, 200, "", ""},
		// minio-go's way of asking for a checksum without a value, as
		// on CreateMultipartUpload: computed and stored.
		{"x-amz-checksum-algorithm without a value", "PUT", "/ckerr/a", data, map[string]string{
			"x-amz-checksum-algorithm": "CRC32"}, 200, "", ""},
		{"sdk algorithm disagrees with the header", "PUT", "/ckerr/a", data, map[string]string{
			"x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-crc32": minio.ChecksumCRC32.EncodeToString(data)},
			400, "InvalidRequest", sdkInvalid},
		{"sdk algorithm disagrees with the trailer", "PUT", "/ckerr/a", data, map[string]string{
			"x-amz-sdk-checksum-algorithm": "SHA1", "x-amz-trailer": "x-amz-checksum-crc64nvme"},
			400, "InvalidRequest", sdkInvalid},
		{"unknown sdk algorithm", "PUT", "/ckerr/a", data, map[string]string{
			"x-amz-sdk-checksum-algorithm": "BLAKE3"}, 400, "InvalidRequest", sdkInvalid},

		// A mismatch names the algorithm, a malformed value its header.
		{"CRC32 mismatch", "PUT", "/ckerr/b", data, map[string]string{
			"x-amz-checksum-crc32": minio.ChecksumCRC32.EncodeToString(other)},
			400, "BadDigest", "The CRC32 you specified did not match the calculated checksum."},
		{"CRC32C mismatch", "PUT", "/ckerr/b", data, map[string]string{
			"x-amz-checksum-crc32c": crc32cB64(other)},
			400, "BadDigest", "The CRC32C you specified did not match the calculated checksum."},
		{"CRC64NVME mismatch", "PUT", "/ckerr/b", data, map[string]string{
			"x-amz-checksum-crc64nvme": crc64Of(other)},
			400, "BadDigest", "The CRC64NVME you specified did not match the calculated checksum."},
		{"SHA256 mismatch", "PUT", "/ckerr/b", data, map[string]string{
			"x-amz-checksum-sha256": minio.ChecksumSHA256.EncodeToString(other)},
			400, "BadDigest", "The SHA256 you specified did not match the calculated checksum."},
		{"malformed CRC32", "PUT", "/ckerr/b", data, map[string]string{
			"x-amz-checksum-crc32": "AAAA"},
			400, "InvalidRequest", "Value for x-amz-checksum-crc32 header is invalid."},
		{"malformed SHA1", "PUT", "/ckerr/b", data, map[string]string{
			"x-amz-checksum-sha1": "not base64"},
			400, "InvalidRequest", "Value for x-amz-checksum-sha1 header is invalid."},
		{"Content-MD5 mismatch", "PUT", "/ckerr/b", data, map[string]string{
			"Content-MD5": md5b64(other)},
			400, "BadDigest", "The Content-MD5 you specified did not match what we received."},

		// DeleteObjects needs a digest of its body.
		{"DeleteObjects without a digest", "POST", "/ckerr?delete", del, nil,
			400, "InvalidRequest", "Missing required header for this request: Content-MD5"},
		{"DeleteObjects with Content-MD5", "POST", "/ckerr?delete", del, map[string]string{
			"Content-MD5": md5b64(del)}, 200, "", ""},
		{"DeleteObjects with a checksum", "POST", "/ckerr?delete", del, map[string]string{
			"x-amz-sdk-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": minio.ChecksumCRC32.EncodeToString(del)}, 200, "", ""},
		{"DeleteObjects with a wrong checksum", "POST", "/ckerr?delete", del, map[string]string{
			"x-amz-checksum-crc32": minio.ChecksumCRC32.EncodeToString(other)},
			400, "BadDigest", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(rawRequest{method: tt.method, path: tt.path, body: tt.body, header: tt.header})
			if tt.status == 200 {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				return
			}
			if tt.msg == "" {
				wantError(t, resp, body, tt.status, tt.code)
				return
			}
			wantErrorMessage(t, resp, body, tt.status, tt.code, tt.msg)
		})
	}
	if _, ok := e.store.buckets["ckerr"].objects["b"]; ok {
		t.Fatal("an object was stored despite a bad checksum")
	}
}
