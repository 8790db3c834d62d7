package s3api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/storage"
)

func TestValidBucketName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"abc", true},
		{"my-bucket.example", true},
		{"a1b2c3", true},
		{strings.Repeat("a", 63), true},
		{"123", true},
		{"ab", false},
		{strings.Repeat("a", 64), false},
		{"Abc", false},
		{"ab_c", false},
		{"-abc", false},
		{"abc-", false},
		{".abc", false},
		{"abc.", false},
		{"a..b", false},
		{"a.-b", false},
		{"a-.b", false},
		{"192.168.5.4", false},
		{"1.2.3", true},
		{"xn--abc", false},
		{"sthree-abc", false},
		{"amzn-s3-demo-bucket", false},
		{"abc-s3alias", false},
		{"abc--ol-s3", false},
		{"abc.mrap", false},
		{"abc--x-s3", false},
		{"abc--table-s3", false},
		{"ab c", false},
		{"abc/d", false},
		{"", false},
		{"unicodé", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validBucketName(tt.name); got != tt.ok {
				t.Fatalf("validBucketName(%q) = %v, want %v", tt.name, got, tt.ok)
			}
		})
	}
}

func TestRange(t *testing.T) {
	const size = 100
	tests := []struct {
		name        string
		header      string
		present     bool  // false: ignore the header, answer 200
		unsatisfied bool  // 416
		off, n      int64 // when satisfiable
	}{
		{"absent", "", false, false, 0, 0},
		{"first-last", "bytes=0-9", true, false, 0, 10},
		{"middle", "bytes=10-19", true, false, 10, 10},
		{"one byte", "bytes=99-99", true, false, 99, 1},
		{"last clamped", "bytes=90-1000", true, false, 90, 10},
		{"open", "bytes=95-", true, false, 95, 5},
		{"suffix", "bytes=-10", true, false, 90, 10},
		{"suffix larger than object", "bytes=-1000", true, false, 0, 100},
		{"spaces", " bytes= 1 - 2 ", true, false, 1, 2},
		{"upper-case unit", "BYTES=0-0", true, false, 0, 1},
		{"start past end", "bytes=100-", true, true, 0, 0},
		{"start past end closed", "bytes=100-200", true, true, 0, 0},
		{"suffix zero", "bytes=-0", true, true, 0, 0},
		{"huge start", "bytes=99999999999999999999999-", true, true, 0, 0},
		{"huge end clamps", "bytes=5-99999999999999999999999", true, false, 5, 95},
		{"multi range ignored", "bytes=0-1,5-6", false, false, 0, 0},
		{"reversed ignored", "bytes=9-5", false, false, 0, 0},
		{"other unit ignored", "items=0-5", false, false, 0, 0},
		{"no dash ignored", "bytes=5", false, false, 0, 0},
		{"garbage ignored", "bytes=a-b", false, false, 0, 0},
		{"negative ignored", "bytes=--5", false, false, 0, 0},
		{"plus sign ignored", "bytes=+1-2", false, false, 0, 0},
		{"empty spec ignored", "bytes=-", false, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := parseRange(tt.header)
			if ok != tt.present {
				t.Fatalf("parseRange(%q) ok = %v, want %v", tt.header, ok, tt.present)
			}
			if !ok {
				return
			}
			off, n, err := r.resolve(size)
			if tt.unsatisfied {
				var re *rangeError
				if !errors.As(err, &re) || re.size != size {
					t.Fatalf("resolve(%q) err = %v, want rangeError for size %d", tt.header, err, size)
				}
				return
			}
			if err != nil || off != tt.off || n != tt.n {
				t.Fatalf("resolve(%q) = %d, %d, %v; want %d, %d", tt.header, off, n, err, tt.off, tt.n)
			}
		})
	}
	t.Run("empty object", func(t *testing.T) {
		for _, h := range []string{"bytes=0-", "bytes=0-0", "bytes=-1"} {
			r, ok := parseRange(h)
			if !ok {
				t.Fatalf("parseRange(%q) not ok", h)
			}
			if _, _, err := r.resolve(0); !errors.Is(err, errInvalidRange) {
				t.Fatalf("resolve(%q, 0) err = %v, want InvalidRange", h, err)
			}
		}
	})
}

func TestConditionsRead(t *testing.T) {
	mod := time.Date(2024, 5, 1, 12, 0, 0, 500e6, time.UTC) // sub-second part is ignored
	const etag = "abc123"
	before := mod.Add(-time.Hour).Format(http.TimeFormat)
	same := mod.Format(http.TimeFormat)
	after := mod.Add(time.Hour).Format(http.TimeFormat)
	tests := []struct {
		name string
		hdr  map[string]string
		want string // "", "412" or "304"
	}{
		{"none", nil, ""},
		{"if-match ok", map[string]string{"If-Match": `"abc123"`}, ""},
		{"if-match unquoted", map[string]string{"If-Match": `abc123`}, ""},
		{"if-match list", map[string]string{"If-Match": `"x", "abc123"`}, ""},
		{"if-match star", map[string]string{"If-Match": `*`}, ""},
		{"if-match fails", map[string]string{"If-Match": `"zzz"`}, "412"},
		{"if-none-match matches", map[string]string{"If-None-Match": `"abc123"`}, "304"},
		{"if-none-match weak matches", map[string]string{"If-None-Match": `W/"abc123"`}, "304"},
		{"if-none-match differs", map[string]string{"If-None-Match": `"zzz"`}, ""},
		// RFC 9110: If-Match compares strongly, so a weak tag never
		// matches; If-None-Match compares weakly.
		{"if-match weak never matches", map[string]string{"If-Match": `W/"abc123"`}, "412"},
		{"if-match weak beside the strong tag", map[string]string{"If-Match": `W/"abc123", "abc123"`}, ""},
		{"if-none-match weak in a list", map[string]string{"If-None-Match": `"zzz", W/"abc123"`}, "304"},
		{"if-none-match weak differs", map[string]string{"If-None-Match": `W/"zzz"`}, ""},
		{"if-none-match weak, not modified since", map[string]string{"If-None-Match": `W/"abc123"`, "If-Modified-Since": before}, "304"},
		{"if-modified-since older", map[string]string{"If-Modified-Since": before}, ""},
		{"if-modified-since same second", map[string]string{"If-Modified-Since": same}, "304"},
		{"if-modified-since newer", map[string]string{"If-Modified-Since": after}, "304"},
		{"if-unmodified-since older", map[string]string{"If-Unmodified-Since": before}, "412"},
		{"if-unmodified-since same", map[string]string{"If-Unmodified-Since": same}, ""},
		{"if-unmodified-since invalid date ignored", map[string]string{"If-Unmodified-Since": "yesterday"}, ""},
		// AWS: If-Match true wins over If-Unmodified-Since false.
		{"match beats unmodified-since", map[string]string{"If-Match": `"abc123"`, "If-Unmodified-Since": before}, ""},
		{"match fails with unmodified-since ok", map[string]string{"If-Match": `"zzz"`, "If-Unmodified-Since": after}, "412"},
		// AWS: If-None-Match false with If-Modified-Since true is 304.
		{"none-match false modified-since true", map[string]string{"If-None-Match": `"abc123"`, "If-Modified-Since": before}, "304"},
		{"none-match true beats modified-since false", map[string]string{"If-None-Match": `"zzz"`, "If-Modified-Since": after}, ""},
		{"412 before 304", map[string]string{"If-Match": `"zzz"`, "If-None-Match": `"abc123"`}, "412"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.hdr {
				h.Set(k, v)
			}
			err := readConditions(h, "").evalRead(etag, mod)
			got := ""
			switch {
			case err == nil:
			case errors.Is(err, storage.ErrPreconditionFailed):
				got = "412"
			case errors.Is(err, errNotModified):
				got = "304"
			default:
				t.Fatalf("unexpected error %v", err)
			}
			if got != tt.want {
				t.Fatalf("evalRead = %q (%v), want %q", got, err, tt.want)
			}
			// Copy-source conditions: same outcome, but 304 becomes 412.
			ch := http.Header{}
			for k, v := range tt.hdr {
				ch.Set("x-amz-copy-source-"+k, v)
			}
			cerr := readConditions(ch, "x-amz-copy-source-").evalCopySource(etag, mod)
			if (tt.want == "") != (cerr == nil) || (cerr != nil && !errors.Is(cerr, storage.ErrPreconditionFailed)) {
				t.Fatalf("evalCopySource = %v, want failure %v as 412", cerr, tt.want != "")
			}
		})
	}
}

func TestWriteConditions(t *testing.T) {
	cur := &storage.ObjectInfo{ETag: "e1"}
	tests := []struct {
		name    string
		hdr     map[string]string
		current *storage.ObjectInfo
		want    error
		parse   error
	}{
		{"none", nil, cur, nil, nil},
		{"if-none-match absent object", map[string]string{"If-None-Match": "*"}, nil, nil, nil},
		{"if-none-match existing", map[string]string{"If-None-Match": "*"}, cur, storage.ErrPreconditionFailed, nil},
		{"if-none-match etag unsupported", map[string]string{"If-None-Match": `"e1"`}, cur, nil, errNotImplemented},
		{"if-match ok", map[string]string{"If-Match": `"e1"`}, cur, nil, nil},
		{"if-match differs", map[string]string{"If-Match": `"e2"`}, cur, storage.ErrPreconditionFailed, nil},
		{"if-match absent object", map[string]string{"If-Match": `"e1"`}, nil, storage.ErrObjectNotFound, nil},
		{"if-match weak never matches", map[string]string{"If-Match": `W/"e1"`}, cur, storage.ErrPreconditionFailed, nil},
		{"if-match star", map[string]string{"If-Match": `*`}, cur, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.hdr {
				h.Set(k, v)
			}
			wc, err := readWriteConditions(h)
			if tt.parse != nil {
				if !errors.Is(err, tt.parse) {
					t.Fatalf("readWriteConditions err = %v, want %v", err, tt.parse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := wc.check(tt.current); !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
				t.Fatalf("check = %v, want %v", got, tt.want)
			}
			if (wc.precondition() == nil) != (len(tt.hdr) == 0) {
				t.Fatalf("precondition() nil = %v with headers %v", wc.precondition() == nil, tt.hdr)
			}
		})
	}
}

func TestSelectOp(t *testing.T) {
	q := func(s string) url.Values { v, _ := url.ParseQuery(s); return v }
	cp := http.Header{"X-Amz-Copy-Source": {"/b/k"}}
	tests := []struct {
		method, bucket, key, query string
		hdr                        http.Header
		want                       string
		err                        error
	}{
		{"GET", "", "", "", nil, "ListBuckets", nil},
		{"PUT", "", "", "", nil, "", errMethodNotAllowed},
		{"GET", "b", "", "", nil, "ListObjects", nil},
		{"GET", "b", "", "list-type=2", nil, "ListObjectsV2", nil},
		{"GET", "b", "", "location", nil, "GetBucketLocation", nil},
		{"GET", "b", "", "versioning", nil, "GetBucketVersioning", nil},
		{"GET", "b", "", "uploads", nil, "ListMultipartUploads", nil},
		{"GET", "b", "", "versions", nil, "ListObjectVersions", nil},
		{"GET", "b", "", "acl", nil, "", errNotImplemented},
		{"GET", "b", "", "policy", nil, "GetBucketPolicy", nil},
		{"GET", "b", "", "policyStatus", nil, "GetBucketPolicyStatus", nil},
		{"GET", "b", "k", "policy", nil, "", errNotImplemented},
		{"DELETE", "b", "", "policy", nil, "DeleteBucketPolicy", nil},
		{"POST", "b", "", "policy", nil, "", errMethodNotAllowed},
		{"GET", "b", "", "x-id=ListObjects", nil, "ListObjects", nil},
		{"PUT", "b", "", "", nil, "CreateBucket", nil},
		{"PUT", "b", "", "versioning", nil, "", errNotImplemented},
		{"PUT", "b", "", "policy", nil, "PutBucketPolicy", nil},
		{"HEAD", "b", "", "", nil, "HeadBucket", nil},
		{"DELETE", "b", "", "", nil, "DeleteBucket", nil},
		{"DELETE", "b", "", "cors", nil, "", errNotImplemented},
		{"POST", "b", "", "delete", nil, "DeleteObjects", nil},
		{"POST", "b", "", "", nil, "PostObject", nil},
		{"PATCH", "b", "", "", nil, "", errMethodNotAllowed},
		{"GET", "b", "k", "", nil, "GetObject", nil},
		{"GET", "b", "k", "partNumber=1", nil, "GetObject", nil},
		{"GET", "b", "k", "uploadId=u", nil, "ListParts", nil},
		{"GET", "b", "k", "acl", nil, "", errNotImplemented},
		{"GET", "b", "k", "tagging", nil, "", errNotImplemented},
		{"GET", "b", "k", "attributes", nil, "GetObjectAttributes", nil},
		{"HEAD", "b", "k", "attributes", nil, "", errNotImplemented},
		{"PUT", "b", "k", "attributes", nil, "", errNotImplemented},
		{"GET", "b", "", "attributes", nil, "", errNotImplemented},
		{"HEAD", "b", "k", "", nil, "HeadObject", nil},
		{"PUT", "b", "k", "", nil, "PutObject", nil},
		{"PUT", "b", "k", "", cp, "CopyObject", nil},
		{"PUT", "b", "k", "partNumber=1&uploadId=u", nil, "UploadPart", nil},
		{"PUT", "b", "k", "partNumber=1&uploadId=u", cp, "UploadPartCopy", nil},
		{"PUT", "b", "k", "acl", nil, "", errNotImplemented},
		{"PUT", "b", "k", "tagging", nil, "", errNotImplemented},
		{"POST", "b", "k", "uploads", nil, "CreateMultipartUpload", nil},
		{"POST", "b", "k", "uploadId=u", nil, "CompleteMultipartUpload", nil},
		{"POST", "b", "k", "select&select-type=2", nil, "", errNotImplemented},
		{"POST", "b", "k", "restore", nil, "", errNotImplemented},
		{"POST", "b", "k", "", nil, "", errMethodNotAllowed},
		{"DELETE", "b", "k", "", nil, "DeleteObject", nil},
		{"DELETE", "b", "k", "uploadId=u", nil, "AbortMultipartUpload", nil},
		{"DELETE", "b", "k", "tagging", nil, "", errNotImplemented},
		{"OPTIONS", "b", "k", "", nil, "", errMethodNotAllowed},
		// Sub-resources routeOp does not know are never served as the
		// plain operation it falls back to.
		{"DELETE", "b", "", "metadataConfiguration", nil, "", errNotImplemented},
		{"GET", "b", "", "metadataConfiguration", nil, "", errNotImplemented},
		{"PUT", "b", "", "metadataJournalTable", nil, "", errNotImplemented},
		{"PUT", "b", "k", "newThing", nil, "", errNotImplemented},
		{"PUT", "b", "k", "newThing=1", nil, "", errNotImplemented},
		{"POST", "b", "", "newThing", nil, "", errNotImplemented},
		{"DELETE", "b", "k", "newThing=x", nil, "", errNotImplemented},
		{"DELETE", "b", "", "uploads", nil, "", errMethodNotAllowed},
		{"DELETE", "b", "", "versioning", nil, "", errMethodNotAllowed},
		{"DELETE", "b", "", "location", nil, "", errMethodNotAllowed},
		{"DELETE", "b", "", "versions", nil, "", errMethodNotAllowed},
		{"PUT", "b", "", "uploads", nil, "", errMethodNotAllowed},
		{"DELETE", "b", "k", "uploads", nil, "", errMethodNotAllowed},
		{"GET", "b", "k", "uploads", nil, "", errMethodNotAllowed},
		{"GET", "b", "", "delete", nil, "", errMethodNotAllowed},
		{"DELETE", "b", "", "zzz&uploads", nil, "", errMethodNotAllowed}, // names checked in order
		// What requests carry beside their operation's parameters.
		{"GET", "b", "", "unsorted=true&prefix=p", nil, "ListObjects", nil},
		{"GET", "b", "", "list-type=2&metadata=true&fetch-owner=true&start-after=a&encoding-type=url", nil, "ListObjectsV2", nil},
		{"GET", "b", "", "versions&key-marker=a&version-id-marker=null&max-keys=2", nil, "ListObjectVersions", nil},
		{"GET", "b", "", "uploads&upload-id-marker=u&max-uploads=3&key-marker=k", nil, "ListMultipartUploads", nil},
		{"GET", "b", "k", "versionId=null&response-content-type=a%2Fb&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00", nil, "GetObject", nil},
		{"GET", "b", "k", "AWSAccessKeyId=a&Expires=1&Signature=s", nil, "GetObject", nil},
		{"PUT", "b", "k", "x-id=PutObject&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD", nil, "PutObject", nil},
		{"DELETE", "b", "", "x-id=DeleteBucket", nil, "DeleteBucket", nil},
		{"DELETE", "b", "k", "versionId=null", nil, "DeleteObject", nil},
		{"POST", "b", "", "delete&x-id=DeleteObjects", nil, "DeleteObjects", nil},
		{"GET", "b", "k", "uploadId=u&max-parts=2&part-number-marker=1", nil, "ListParts", nil},
		{"GET", "", "", "max-buckets=1&continuation-token=t&prefix=p&bucket-region=eu", nil, "ListBuckets", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.bucket+"/"+tt.key+"?"+tt.query, func(t *testing.T) {
			got, err := selectOp(tt.method, tt.bucket, tt.key, q(tt.query), tt.hdr)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("selectOp = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseResource(t *testing.T) {
	tests := []struct {
		name, domain, host, path string
		bucket, key              string
		err                      error
	}{
		{"root", "", "localhost:9000", "/", "", "", nil},
		{"bucket", "", "h", "/bucket", "bucket", "", nil},
		{"bucket slash", "", "h", "/bucket/", "bucket", "", nil},
		{"key", "", "h", "/bucket/a/b", "bucket", "a/b", nil},
		{"dot segments kept", "", "h", "/bucket/a/../b", "bucket", "a/../b", nil},
		{"double slash kept", "", "h", "/bucket/a//b", "bucket", "a//b", nil},
		{"trailing slash key", "", "h", "/bucket/dir/", "bucket", "dir/", nil},
		{"virtual host", "s3.example.com", "bucket.s3.example.com:9000", "/a/b", "bucket", "a/b", nil},
		{"virtual host root", "s3.example.com", "bucket.s3.example.com", "/", "bucket", "", nil},
		{"virtual host case", "s3.example.com", "Bucket.S3.Example.com", "/k", "bucket", "k", nil},
		{"domain itself is path style", "s3.example.com", "s3.example.com", "/bucket/k", "bucket", "k", nil},
		{"other host is path style", "s3.example.com", "127.0.0.1:9000", "/bucket/k", "bucket", "k", nil},
		{"dotted virtual bucket", "s3.example.com", "my.bucket.s3.example.com", "/k", "my.bucket", "k", nil},
		{"empty bucket with key", "", "h", "//key", "", "", errInvalidBucketName},
		{"bad bucket", "", "h", "/Bad_Bucket/k", "", "", errInvalidBucketName},
		{"bad virtual bucket", "s3.example.com", "a_b.s3.example.com", "/k", "", "", errInvalidBucketName},
		{"long key", "", "h", "/bucket/" + strings.Repeat("k", 1025), "", "", errKeyTooLong},
		{"max key", "", "h", "/bucket/" + strings.Repeat("k", 1024), "bucket", strings.Repeat("k", 1024), nil},
		{"invalid utf8", "", "h", "/bucket/\xff", "", "", errInvalidURI},
		{"no leading slash", "", "h", "*", "", "", errInvalidURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, k, err := parseResource(tt.domain, tt.host, tt.path)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || b != tt.bucket || k != tt.key {
				t.Fatalf("parseResource = %q, %q, %v; want %q, %q", b, k, err, tt.bucket, tt.key)
			}
		})
	}
}

func TestObjectMetadata(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Encoding", "aws-chunked, gzip")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Amz-Meta-Color", "blue")
	h.Add("X-Amz-Meta-Multi", "a")
	h.Add("X-Amz-Meta-Multi", "b")
	h.Set("X-Amz-Date", "ignored")
	md, err := objectMetadata(h)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"content-type":     "text/plain",
		"content-encoding": "gzip",
		"cache-control":    "no-cache",
		"x-amz-meta-color": "blue",
		"x-amz-meta-multi": "a,b",
	}
	if len(md) != len(want) {
		t.Fatalf("metadata = %v, want %v", md, want)
	}
	for k, v := range want {
		if md[k] != v {
			t.Fatalf("metadata[%q] = %q, want %q", k, md[k], v)
		}
	}

	t.Run("default content type and chunked only", func(t *testing.T) {
		h := http.Header{"Content-Encoding": {"aws-chunked"}}
		md, err := objectMetadata(h)
		if err != nil {
			t.Fatal(err)
		}
		if md["content-type"] != defaultContentType || md["content-encoding"] != "" {
			t.Fatalf("metadata = %v", md)
		}
	})
	t.Run("user metadata limit", func(t *testing.T) {
		h := http.Header{}
		h.Set("X-Amz-Meta-A", strings.Repeat("v", 2047)) // key "a" + 2047 = 2048: allowed
		if _, err := objectMetadata(h); err != nil {
			t.Fatalf("2 KiB of metadata refused: %v", err)
		}
		h.Set("X-Amz-Meta-A", strings.Repeat("v", 2048))
		if _, err := objectMetadata(h); !errors.Is(err, errMetadataTooLarge) {
			t.Fatalf("err = %v, want MetadataTooLarge", err)
		}
	})
}

func TestS3URLEncode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain/key.txt", "plain/key.txt"},
		{"sp ace", "sp%20ace"},
		{"+plus", "%2Bplus"},
		{"unicodé", "unicod%C3%A9"},
		{"a&b<c>", "a%26b%3Cc%3E"},
		{"ctl\x01", "ctl%01"},
		{"~_-.", "~_-."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := s3URLEncode(tt.in)
			if got != tt.want {
				t.Fatalf("s3URLEncode(%q) = %q, want %q", tt.in, got, tt.want)
			}
			back, err := url.QueryUnescape(got) // how minio-go decodes
			if err != nil || back != tt.in {
				t.Fatalf("QueryUnescape(%q) = %q, %v", got, back, err)
			}
		})
	}
}

func TestParseCopySource(t *testing.T) {
	tests := []struct {
		in                     string
		bucket, key, versionID string
		err                    error
	}{
		{"/bucket/key", "bucket", "key", "", nil},
		{"bucket/a/b", "bucket", "a/b", "", nil},
		{"/bucket/sp%20ace", "bucket", "sp ace", "", nil},
		{"/bucket/q%3Fmark", "bucket", "q?mark", "", nil},
		{"/bucket/key?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH", "bucket", "key", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH", nil},
		{"/bucket/key?versionId=v1", "", "", "", errInvalidVersionID},
		{"/bucket/%2Bplus", "bucket", "+plus", "", nil},
		{"/bucket/a+b", "bucket", "a+b", "", nil},
		{"/bucket", "", "", "", errInvalidCopySource},
		{"/bucket/", "", "", "", errInvalidCopySource},
		{"", "", "", "", errInvalidCopySource},
		{"/BAD/key", "", "", "", errInvalidBucketName},
		{"/bucket/%zz", "", "", "", errInvalidCopySource},
		{"/bucket/%ff", "", "", "", errInvalidURI},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			src, err := parseCopySource(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || src.bucket != tt.bucket || src.key != tt.key || src.versionID != tt.versionID {
				t.Fatalf("parseCopySource = %+v, %v", src, err)
			}
		})
	}
}

func TestErrorTable(t *testing.T) {
	tests := []struct {
		err    error
		code   string
		status int
	}{
		{storage.ErrBucketNotFound, "NoSuchBucket", 404},
		{errors.Join(errors.New("ctx"), storage.ErrObjectNotFound), "NoSuchKey", 404},
		{withMessage(errInvalidArgument, "custom"), "InvalidArgument", 400},
		{&rangeError{size: 5}, "InvalidRange", 416},
		{&notModifiedError{}, "NotModified", 304},
		{storage.ErrPreconditionFailed, "PreconditionFailed", 412},
		{storage.ErrWriteQuorum, "ServiceUnavailable", 503},
		{fmt.Errorf("%w: %w", storage.ErrStorageFull, storage.ErrWriteQuorum), "InsufficientStorage", 507},
		{errMissingContentLength, "MissingContentLength", 411},
		{errSlowDown, "SlowDown", 503},
		// Retried by aws cli, boto3 and minio-go, which abort the upload
		// on a 409 OperationAborted.
		{fmt.Errorf("s3api: complete: %w", storage.ErrConflict), "ServiceUnavailable", 503},
		// A key the KMS will not use is no passing trouble; one it
		// cannot reach is.
		{fmt.Errorf("%w: %w", kms.ErrKeyDisabled, errors.New("kmip: Encrypt failed: Permission Denied")), "KMS.DisabledException", 400},
		{fmt.Errorf("%w: %w", kms.ErrBackend, errors.New("dial tcp: connection refused")), "ServiceUnavailable", 503},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			ae, ok := apiErrorFor(tt.err)
			if !ok || ae.Code != tt.code || ae.Status != tt.status {
				t.Fatalf("apiErrorFor(%v) = %+v, %v", tt.err, ae, ok)
			}
		})
	}
	if ae, _ := apiErrorFor(withMessage(errInvalidArgument, "custom")); ae.Message != "custom" {
		t.Fatalf("message = %q, want the detail", ae.Message)
	}
	if _, ok := apiErrorFor(errors.New("boom")); ok {
		t.Fatal("unknown error mapped")
	}
	if _, ok := apiErrorFor(storage.ErrDataCorrupt); ok {
		t.Fatal("data corruption must be an internal error")
	}
}

func TestIfRangeHolds(t *testing.T) {
	mod := time.Date(2026, 11, 26, 10, 0, 0, 500_000_000, time.UTC)
	date := mod.Format(http.TimeFormat)
	tests := []struct {
		v    string
		want bool
	}{
		{"", true},
		{`"abc"`, true},
		{` "abc" `, true},
		{`"abd"`, false},
		{`W/"abc"`, false},
		{`"`, false},
		{`"abc`, false},
		{date, true}, // the second of Last-Modified, as sent
		{mod.Add(time.Second).Format(http.TimeFormat), false},
		{mod.Add(-time.Second).Format(http.TimeFormat), false},
		{"yesterday", false},
	}
	for _, tt := range tests {
		if got := ifRangeHolds(tt.v, "abc", mod, mod.Add(time.Minute)); got != tt.want {
			t.Errorf("ifRangeHolds(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
	// Within the second of Last-Modified, the date is a weak validator.
	if ifRangeHolds(date, "abc", mod, mod.Add(500*time.Millisecond)) {
		t.Error("a date within a second of now held")
	}
}
