package s3api

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestListVersionsMarkers: ListObjectVersions refuses the
// version-id-markers AWS refuses, with 400 InvalidArgument (traces of real S3 in versity/versitygw#2174 and
// #1811, and johannesboyne/gofakes3's s3assumer test s300004, run
// against S3):
//   - a version-id-marker without a key-marker: "A version-id marker
//     cannot be specified without a key marker." (ArgumentName
//     version-id-marker);
//   - an empty version-id-marker beside a key-marker: "A version-id
//     marker cannot be empty.";
//   - a version id no store could have made: "Invalid version id
//     specified" (as objstore itself answers a malformed versionId on
//     GetObject and DeleteObject).
//
// A client whose paginator lost the key marker is told, rather than
// restarted from the first key (boto3, the aws cli and the SDKs pass
// both markers through).
func TestListVersionsMarkers(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("versions")
	for _, k := range []string{"a", "b", "c"} {
		e.mustPut("versions", k, []byte(k), minio.PutObjectOptions{})
	}
	tests := []struct {
		name, query, msg string
	}{
		{"version-id-marker without key-marker", "versions&version-id-marker=null", "A version-id marker cannot be specified without a key marker."},
		{"empty version-id-marker", "versions&key-marker=a&version-id-marker=", "A version-id marker cannot be empty."},
		{"malformed version-id-marker", "versions&key-marker=a&version-id-marker=abc", "Invalid version id specified"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(rawRequest{method: http.MethodGet, path: "/versions?" + tc.query})
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 InvalidArgument %q; body %s", resp.StatusCode, tc.msg, body)
			}
			var er errorResponse
			if err := xml.Unmarshal(body, &er); err != nil {
				t.Fatal(err)
			}
			if er.Code != "InvalidArgument" || !strings.Contains(er.Message, tc.msg) {
				t.Fatalf("got %s %q, want InvalidArgument %q", er.Code, er.Message, tc.msg)
			}
		})
	}
	// What must keep working: the markers a truncated page hands out.
	resp, body := e.do(rawRequest{method: http.MethodGet, path: "/versions?versions&key-marker=a&version-id-marker=null"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<Key>b</Key>") || strings.Contains(string(body), "<Key>a</Key>") {
		t.Fatalf("key-marker=a&version-id-marker=null: %d %s", resp.StatusCode, body)
	}
	// An empty key-marker counts as given: S3 answers the first page
	// (gofakes3's s300004 again).
	resp, body = e.do(rawRequest{method: http.MethodGet, path: "/versions?versions&key-marker=&version-id-marker=null"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<Key>a</Key>") {
		t.Fatalf("key-marker=&version-id-marker=null: %d %s", resp.StatusCode, body)
	}
}

// TestListUploadsBadUploadIDMarker: ListMultipartUploads given an
// upload-id-marker no upload could have (not of the form of objstore's
// ids, 32 hex digits) beside a key-marker answers as AWS does, 400 InvalidArgument "Invalid
// uploadId marker" (ArgumentName upload-id-marker): versity/versitygw
// #1797, and moto (getmoto/moto, moto/s3/models.py,
// list_multipart_uploads), which raises it for a marker that is not an
// upload of key-marker. A client that mangled the marker it was given
// (or hands one from another server) is told, rather than silently
// skipping the rest of that key's uploads.
func TestListUploadsBadUploadIDMarker(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("uploads")
	for range 2 {
		if _, err := e.core.NewMultipartUpload(t.Context(), "uploads", "k", minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := e.do(rawRequest{method: http.MethodGet, path: "/uploads?uploads&key-marker=k&upload-id-marker=not-an-upload-id"})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 InvalidArgument \"Invalid uploadId marker\"; body %s", resp.StatusCode, body)
	}
	var er errorResponse
	if err := xml.Unmarshal(body, &er); err != nil {
		t.Fatal(err)
	}
	if er.Code != "InvalidArgument" || er.Message != "Invalid uploadId marker" {
		t.Fatalf("got %s %q, want InvalidArgument \"Invalid uploadId marker\"", er.Code, er.Message)
	}
}

// TestListBucketsDefaultPage: AWS documents (ListBuckets,
// ContinuationToken: "If you specify the bucket-region, prefix, or
// continuation-token query parameters without using max-buckets ...,
// Amazon S3 applies a default page size of 10,000 and provides a
// continuation token if there are more buckets.") a page of at most
// 10,000 when prefix or continuation-token is given without
// max-buckets, for clients that rely on the bound (to size a buffer, or
// to stop after one page and follow the token).
func TestListBucketsDefaultPage(t *testing.T) {
	e := newTestEnv(t)
	const n = 10001
	for i := range n {
		if err := e.store.MakeBucket(t.Context(), fmt.Sprintf("pb-%05d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := e.do(rawRequest{method: http.MethodGet, path: "/?prefix=pb-"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %.300s", resp.StatusCode, body)
	}
	var res struct {
		Buckets           []string `xml:"Buckets>Bucket>Name"`
		ContinuationToken string   `xml:"ContinuationToken"`
	}
	if err := xml.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Buckets) != 10000 || res.ContinuationToken == "" {
		t.Fatalf("prefix without max-buckets: %d buckets, continuation token %q; want 10000 and a token", len(res.Buckets), res.ContinuationToken)
	}
}
