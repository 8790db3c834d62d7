package s3api

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGoldenXML pins the wire format of every response document. Run
// with -update after an intended change and review the diff.
func TestGoldenXML(t *testing.T) {
	t0 := s3Time(time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC))
	own := owner{ID: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", DisplayName: "owner"}
	sums := checksums{ChecksumCRC32C: "yZRlqg==-2"}
	cases := []struct {
		file string
		doc  any
	}{
		{"error.xml", errorResponse{Code: "NoSuchKey", Message: "The specified key does not exist.",
			Key: "a/b", Resource: "/bucket/a/b", RequestID: "4442587FB7D0A2F9", HostID: "aG9zdA=="}},
		{"list_all_my_buckets_result.xml", listAllMyBucketsResult{Owner: own, Buckets: []bucketItem{
			{Name: "alpha", CreationDate: t0}, {Name: "beta", CreationDate: t0}}}},
		{"list_bucket_result_v1.xml", listBucketResultV1{Name: "bucket", Prefix: "a/", Marker: "a/0",
			NextMarker: "a/c/", MaxKeys: 2, Delimiter: "/", IsTruncated: true,
			Contents:       []objectItem{{Key: "a/b", LastModified: t0, ETag: `"9b2cf535f27731c974343645a3985328"`, Size: 3, Owner: &own, StorageClass: "STANDARD"}},
			CommonPrefixes: []commonPrefix{{Prefix: "a/c/"}}}},
		{"list_bucket_result_v2.xml", listBucketResultV2{Name: "bucket", Prefix: "sp%20", StartAfter: "sp%20a",
			ContinuationToken: "c3Ag", NextContinuationToken: "c3AgYWNl", KeyCount: 2, MaxKeys: 2, Delimiter: "/",
			IsTruncated: true, EncodingType: "url",
			Contents: []objectItem{{Key: "sp%20ace", LastModified: t0, ETag: `"e5f1b2b1a1d3e7a3c6b5a4f3e2d1c0b9"`, Size: 10,
				ChecksumAlgorithm: []string{"CRC32C"}, ChecksumType: "FULL_OBJECT", StorageClass: "STANDARD"}},
			CommonPrefixes: []commonPrefix{{Prefix: "sp%20dir/"}}}},
		{"list_versions_result.xml", listVersionsResult{Name: "bucket", KeyMarker: "", MaxKeys: 1000,
			Versions: []versionItem{{Key: "k", VersionID: "null", IsLatest: true, LastModified: t0,
				ETag: `"9b2cf535f27731c974343645a3985328"`, Size: 3, Owner: own, StorageClass: "STANDARD"}}}},
		{"initiate_multipart_upload_result.xml", initiateMultipartUploadResult{Bucket: "bucket", Key: "big/object", UploadID: "0123abcd"}},
		{"complete_multipart_upload_result.xml", completeMultipartUploadResult{Location: "http://127.0.0.1:9000/bucket/big/object",
			Bucket: "bucket", Key: "big/object", ETag: `"3858f62230ac3c915f300c664312c11f-2"`, checksums: sums, ChecksumType: "COMPOSITE"}},
		{"list_parts_result.xml", listPartsResult{Bucket: "bucket", Key: "big/object", UploadID: "0123abcd",
			Initiator: own, Owner: own, StorageClass: "STANDARD", PartNumberMarker: 0, NextPartNumberMarker: 1,
			MaxParts: 1, IsTruncated: true, ChecksumAlgorithm: "CRC32C", ChecksumType: "COMPOSITE",
			Parts: []partItem{{PartNumber: 1, LastModified: t0, ETag: `"5d41402abc4b2a76b9719d911017c592"`, Size: 5242880,
				checksums: checksums{ChecksumCRC32C: "yZRlqg=="}}}}},
		{"list_multipart_uploads_result.xml", listMultipartUploadsResult{Bucket: "bucket", KeyMarker: "", UploadIDMarker: "",
			NextKeyMarker: "big/object", NextUploadIDMarker: "0123abcd", Prefix: "big/", Delimiter: "/", MaxUploads: 1,
			IsTruncated: true, Uploads: []uploadItem{{Key: "big/object", UploadID: "0123abcd", Initiator: own, Owner: own,
				StorageClass: "STANDARD", Initiated: t0, ChecksumAlgorithm: "CRC32C"}},
			CommonPrefixes: []commonPrefix{{Prefix: "big/dir/"}}}},
		{"delete_result.xml", deleteResult{Deleted: []deletedItem{{Key: "gone"}, {Key: "v", VersionID: "null"}},
			Errors: []deleteError{{Key: "bad", Code: "AccessDenied", Message: "Access Denied"}}}},
		{"copy_object_result.xml", copyObjectResult{ETag: `"9b2cf535f27731c974343645a3985328"`, LastModified: t0,
			checksums: checksums{ChecksumCRC32C: "yZRlqg=="}, ChecksumType: "FULL_OBJECT"}},
		{"copy_part_result.xml", copyPartResult{ETag: `"9b2cf535f27731c974343645a3985328"`, LastModified: t0}},
		{"get_object_attributes_response.xml", func() getObjectAttributesResult {
			size, marker, next, maxParts, truncated := int64(10485763), 0, 1, 1, true
			return getObjectAttributesResult{ETag: "3858f62230ac3c915f300c664312c11f-2",
				Checksum: &checksumAttr{checksums: checksums{ChecksumCRC32C: "yZRlqg=="}, ChecksumType: "COMPOSITE"},
				ObjectParts: &objectPartsAttrs{PartsCount: 2, PartNumberMarker: &marker, NextPartNumberMarker: &next,
					MaxParts: &maxParts, IsTruncated: &truncated,
					Parts: []objectPartAttr{{checksums: checksums{ChecksumCRC32C: "yZRlqg=="}, PartNumber: 1, Size: 5242880}}},
				StorageClass: "STANDARD", ObjectSize: &size}
		}()},
		{"location_constraint.xml", locationConstraint{Location: "eu-central-1"}},
		{"versioning_configuration.xml", versioningConfiguration{}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := marshalXML(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldenXML -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from the golden file:\n got: %s\nwant: %s", tc.file, got, want)
			}
		})
	}
}
