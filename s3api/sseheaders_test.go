package s3api

import (
	"context"
	"fmt"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestSSEHeadersWhereNotTaken: the SSE-S3/SSE-KMS headers are refused
// on reads and on UploadPart, as AWS refuses them, and taken on part
// copies and on the completion of an upload, where minio-go sends them.
func TestSSEHeadersWhereNotTaken(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("ssehdr")
	e.mustPut("ssehdr", "obj", []byte("hello"), minio.PutObjectOptions{})
	id, err := e.core.NewMultipartUpload(ctx, "ssehdr", "mp", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-context"} {
		val := map[string]string{"x-amz-server-side-encryption": "AES256",
			"x-amz-server-side-encryption-aws-kms-key-id": "k", "x-amz-server-side-encryption-context": "e30="}[h]
		for _, rr := range []rawRequest{
			{method: "GET", path: "/ssehdr/obj"},
			{method: "HEAD", path: "/ssehdr/obj"},
			{method: "PUT", path: "/ssehdr/mp?partNumber=1&uploadId=" + id, body: []byte("part")},
		} {
			t.Run(fmt.Sprintf("%s %s %s", h, rr.method, rr.path), func(t *testing.T) {
				if rr.header == nil {
					rr.header = map[string]string{}
				}
				rr.header[h] = val
				resp, out := e.do(rr)
				code := "InvalidArgument"
				if rr.method == "HEAD" {
					code = "" // no body
				}
				wantError(t, resp, out, 400, code)
			})
		}
	}
	// minio-go's functional tests send the destination's SSE-S3 header
	// on UploadPartCopy.
	resp, out := e.do(rawRequest{method: "PUT", path: "/ssehdr/mp?partNumber=1&uploadId=" + id,
		header: map[string]string{"x-amz-copy-source": "/ssehdr/obj", "x-amz-server-side-encryption": "AES256"}})
	if resp.StatusCode != 200 {
		t.Fatalf("part copy: %d %s", resp.StatusCode, out)
	}
	resp, out = e.do(rawRequest{method: "PUT", path: "/ssehdr/mp?partNumber=1&uploadId=" + id, body: []byte("part")})
	if resp.StatusCode != 200 {
		t.Fatalf("part: %d %s", resp.StatusCode, out)
	}
	body := fmt.Sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>", md5hex([]byte("part")))
	resp, out = e.do(rawRequest{method: "POST", path: "/ssehdr/mp?uploadId=" + id, body: []byte(body),
		header: map[string]string{"x-amz-server-side-encryption": "AES256"}})
	if resp.StatusCode != 200 {
		t.Fatalf("complete with the SSE header minio-go sends: %d %s", resp.StatusCode, out)
	}
}

// TestUploadPartCopyEmptyRange: a copy-source-range header that is
// present but empty is malformed, as AWS answers it, not the whole object.
func TestUploadPartCopyEmptyRange(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("emptyrange")
	e.mustPut("emptyrange", "src", []byte("hello"), minio.PutObjectOptions{})
	id, err := e.core.NewMultipartUpload(ctx, "emptyrange", "dst", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp, out := e.do(rawRequest{method: "PUT", path: "/emptyrange/dst?partNumber=1&uploadId=" + id,
		header: map[string]string{"x-amz-copy-source": "/emptyrange/src", "x-amz-copy-source-range": ""}})
	wantError(t, resp, out, 400, "InvalidArgument")
	resp, out = e.do(rawRequest{method: "PUT", path: "/emptyrange/dst?partNumber=1&uploadId=" + id,
		header: map[string]string{"x-amz-copy-source": "/emptyrange/src"}})
	if resp.StatusCode != 200 {
		t.Fatalf("without a range: %d %s", resp.StatusCode, out)
	}
}
