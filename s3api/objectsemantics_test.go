package s3api

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Object-level behaviour checked against AWS's documentation and RFC
// 9110, each test naming its source.

// TestCompleteChecksumPartsConsecutive: AWS's CompletedPart
// reference (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompletedPart.html,
// PartNumber): "General purpose buckets - In CompleteMultipartUpload,
// when a additional checksum (including x-amz-checksum-crc32,
// x-amz-checksum-crc32c, x-amz-checksum-sha1, or x-amz-checksum-sha256)
// is applied to each part, the PartNumber must start at 1 and the part
// numbers must be consecutive. Otherwise, Amazon S3 generates an HTTP 400
// Bad Request status code and an InvalidPartOrder error code." Uploads
// with a gap (1,3), a late start (2,3) or both kinds of gap are refused
// for COMPOSITE uploads of each algorithm.
func TestCompleteChecksumPartsConsecutive(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("mpgap")
	big := randomBytes(t, 41, 5<<20)
	last := []byte("the last part")

	tests := []struct {
		name    string
		alg     minio.ChecksumType
		numbers []int // the part numbers uploaded and listed in Complete
	}{
		{"CRC32 1,3", minio.ChecksumCRC32, []int{1, 3}},
		{"SHA256 1,3", minio.ChecksumSHA256, []int{1, 3}},
		{"CRC32C 2,3", minio.ChecksumCRC32C, []int{2, 3}},
		{"SHA1 1,2,4", minio.ChecksumSHA1, []int{1, 2, 4}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("gap%d", i)
			resp, out := e.do(rawRequest{method: "POST", path: "/mpgap/" + key + "?uploads",
				header: map[string]string{"x-amz-checksum-algorithm": tt.alg.String(), "x-amz-checksum-type": "COMPOSITE"}})
			var ini initiateMultipartUploadResult
			if err := xml.Unmarshal(out, &ini); err != nil || resp.StatusCode != 200 {
				t.Fatalf("create: %d %s %v", resp.StatusCode, out, err)
			}
			body := "<CompleteMultipartUpload>"
			for j, n := range tt.numbers {
				data := big
				if j == len(tt.numbers)-1 {
					data = last
				}
				sum := tt.alg.EncodeToString(data)
				resp, out := e.do(rawRequest{method: "PUT", path: fmt.Sprintf("/mpgap/%s?uploadId=%s&partNumber=%d", key, ini.UploadID, n),
					body: data, header: map[string]string{tt.alg.Key(): sum}})
				if resp.StatusCode != 200 {
					t.Fatalf("part %d: %d %s", n, resp.StatusCode, out)
				}
				body += fmt.Sprintf("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag><%s>%s</%s></Part>",
					n, resp.Header.Get("ETag"), "Checksum"+tt.alg.String(), sum, "Checksum"+tt.alg.String())
			}
			body += "</CompleteMultipartUpload>"
			resp, out = e.do(rawRequest{method: "POST", path: "/mpgap/" + key + "?uploadId=" + ini.UploadID, body: []byte(body)})
			wantError(t, resp, out, 400, "InvalidPartOrder")
		})
	}
}

// TestNotModifiedCacheHeaders: AWS's GetObject and HeadObject
// references send conditional requests to RFC 7232 ("For more
// information about conditional requests, see RFC 7232",
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html),
// whose section 4.1 says: "The server generating a 304 response MUST
// generate any of the following header fields that would have been sent
// in a 200 (OK) response to the same request: Cache-Control,
// Content-Location, Date, ETag, Expires, and Vary." A cache revalidating
// an object (a CDN or reverse proxy in front of a public bucket, a
// browser) keeps its Cache-Control and Expires from the 304.
func TestNotModifiedCacheHeaders(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("nm304")
	expires := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	info := e.mustPut("nm304", "page.html", []byte("<p>hello</p>"), minio.PutObjectOptions{
		ContentType: "text/html", CacheControl: "public, max-age=3600", Expires: expires})
	etag := `"` + info.ETag + `"`
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)

	tests := []struct {
		name   string
		method string
		header map[string]string
	}{
		{"GET If-None-Match", "GET", map[string]string{"If-None-Match": etag}},
		{"HEAD If-None-Match", "HEAD", map[string]string{"If-None-Match": etag}},
		{"GET If-Modified-Since", "GET", map[string]string{"If-Modified-Since": future}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(rawRequest{method: tt.method, path: "/nm304/page.html", header: tt.header})
			if resp.StatusCode != http.StatusNotModified {
				t.Fatalf("status %d, want 304: %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("ETag"); got != etag {
				t.Errorf("ETag %q, want %q", got, etag)
			}
			if got := resp.Header.Get("Cache-Control"); got != "public, max-age=3600" {
				t.Errorf("Cache-Control %q, want %q (RFC 7232 4.1)", got, "public, max-age=3600")
			}
			if got := resp.Header.Get("Expires"); got != expires.Format(http.TimeFormat) {
				t.Errorf("Expires %q, want %q (RFC 7232 4.1)", got, expires.Format(http.TimeFormat))
			}
		})
	}
}

// TestPartNumberEmptyPartContentRange: GetObject and HeadObject with
// partNumber of a multipart object whose part is empty must not name a
// byte range such as "bytes 0--1/0" (or "bytes N-(N-1)/N" for an empty
// last part after others), which is no valid range: RFC 9110 14.4 makes
// a byte range "first-pos - last-pos" with last-pos not below
// first-pos, and AWS's GetObject documents Content-Range as "the
// portion of the object returned in the response". An empty part is
// legal (only parts before the last have a minimum size, see
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html), so
// an uploader that streams an empty file as one part makes such an
// object. The same read of an empty object not uploaded in parts is a
// 200 without Content-Range; a client parsing the header (a
// range-resuming downloader) must not meet an invalid one.
func TestPartNumberEmptyPartContentRange(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("emptypart")
	e.store.minPartSize = 1 << 10 // keep the first part of the second case small

	complete := func(t *testing.T, key string, parts [][]byte) {
		t.Helper()
		resp, out := e.do(rawRequest{method: "POST", path: "/emptypart/" + key + "?uploads"})
		var ini initiateMultipartUploadResult
		if err := xml.Unmarshal(out, &ini); err != nil || resp.StatusCode != 200 {
			t.Fatalf("create: %d %s %v", resp.StatusCode, out, err)
		}
		body := "<CompleteMultipartUpload>"
		for i, p := range parts {
			resp, out := e.do(rawRequest{method: "PUT", path: fmt.Sprintf("/emptypart/%s?uploadId=%s&partNumber=%d", key, ini.UploadID, i+1), body: p})
			if resp.StatusCode != 200 {
				t.Fatalf("part %d: %d %s", i+1, resp.StatusCode, out)
			}
			body += fmt.Sprintf("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, resp.Header.Get("ETag"))
		}
		body += "</CompleteMultipartUpload>"
		resp, out = e.do(rawRequest{method: "POST", path: "/emptypart/" + key + "?uploadId=" + ini.UploadID, body: []byte(body)})
		if resp.StatusCode != 200 {
			t.Fatalf("complete: %d %s", resp.StatusCode, out)
		}
	}
	complete(t, "one-empty-part", [][]byte{{}})
	complete(t, "empty-last-part", [][]byte{randomBytes(t, 7, 2<<10), {}})

	tests := []struct {
		key  string
		part int
	}{
		{"one-empty-part", 1},
		{"empty-last-part", 2},
	}
	for _, tt := range tests {
		for _, method := range []string{"GET", "HEAD"} {
			t.Run(fmt.Sprintf("%s %s part %d", method, tt.key, tt.part), func(t *testing.T) {
				resp, body := e.do(rawRequest{method: method, path: fmt.Sprintf("/emptypart/%s?partNumber=%d", tt.key, tt.part)})
				if resp.StatusCode != 200 && resp.StatusCode != 206 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				if resp.Header.Get("Content-Length") != "0" || len(body) != 0 {
					t.Fatalf("Content-Length %q, body %d bytes; want an empty part", resp.Header.Get("Content-Length"), len(body))
				}
				if cr := resp.Header.Get("Content-Range"); cr != "" {
					var first, last, size int64
					if n, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &first, &last, &size); n != 3 || err != nil || first < 0 || last < first || last >= size {
						t.Fatalf("status %d with Content-Range %q, which is no valid byte range", resp.StatusCode, cr)
					}
				}
			})
		}
	}
}

// TestEmptyVersionID: a versionId parameter present but empty is
// refused by S3 with 400 InvalidArgument "Version id cannot be the empty
// string" (the answer AWS's SDKs surface, e.g.
// https://github.com/amazon-archives/aws-sdk-core-ruby/issues/76, and
// what S3-compatible servers align on:
// https://github.com/versity/versitygw/pull/2381 "S3 returns
// InvalidArgument when an object action receives a versionId query
// parameter with no value", https://github.com/noobaa/noobaa-core/pull/7970).
// A client whose version variable came out empty must get that error,
// not the current version read, copied or deleted.
func TestEmptyVersionID(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("vempty")
	e.mustPut("vempty", "k", []byte("v"), minio.PutObjectOptions{})

	tests := []struct {
		name string
		rr   rawRequest
	}{
		{"GetObject", rawRequest{method: "GET", path: "/vempty/k?versionId="}},
		{"GetObjectAttributes", rawRequest{method: "GET", path: "/vempty/k?attributes&versionId=",
			header: map[string]string{"x-amz-object-attributes": "ETag"}}},
		{"CopyObject source", rawRequest{method: "PUT", path: "/vempty/copy",
			header: map[string]string{"x-amz-copy-source": "/vempty/k?versionId="}}},
		{"DeleteObject", rawRequest{method: "DELETE", path: "/vempty/k?versionId="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, out := e.do(tt.rr)
			wantErrorMessage(t, resp, out, 400, "InvalidArgument", "Version id cannot be the empty string")
		})
	}
	t.Run("HeadObject", func(t *testing.T) {
		resp, _ := e.do(rawRequest{method: "HEAD", path: "/vempty/k?versionId="})
		if resp.StatusCode != 400 {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
	})
	// The object must still be there: the refused delete deleted nothing.
	if _, err := e.client.StatObject(context.Background(), "vempty", "k", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("object gone after the refused requests: %v", err)
	}
}
