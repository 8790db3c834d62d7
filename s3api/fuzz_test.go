package s3api

import (
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"bytes=0-99", "bytes=500-", "bytes=-10", "bytes=0-1,3-4", "bytes=5-1", "bytes=-0",
		"bytes=99999999999999999999-", "BYTES = 1 - 2", "items=0-1", "bytes=", "bytes=--", "",
	} {
		f.Add(s, uint32(1000))
		f.Add(s, uint32(0))
	}
	f.Fuzz(func(t *testing.T, header string, size32 uint32) {
		size := int64(size32)
		r, ok := parseRange(header)
		if !ok {
			return
		}
		off, n, err := r.resolve(size)
		if err != nil {
			return
		}
		if off < 0 || n < 1 || off > math.MaxInt64-n || off+n > size {
			t.Fatalf("parseRange(%q).resolve(%d) = %d, %d: outside the object", header, size, off, n)
		}
	})
}

func FuzzCompleteMultipartXML(f *testing.F) {
	f.Add([]byte(`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag><ChecksumCRC32>yZRlqg==</ChecksumCRC32></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber> 3 </PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>99999999999999999999</PartNumber></Part>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><CompleteMultipartUpload><Part><ETag>&a;</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseCompleteRequest(body)
		if err != nil {
			return
		}
		if len(req.Parts) == 0 || len(req.Parts) > 10000 {
			t.Fatalf("accepted %d parts", len(req.Parts))
		}
		for _, p := range req.Parts {
			if p.PartNumber < 1 || p.PartNumber > 10000 {
				t.Fatalf("accepted part number %d", p.PartNumber)
			}
		}
	})
}

func FuzzDeleteObjectsXML(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>a/b</Key></Object><Object><Key>c</Key><VersionId>null</VersionId></Object></Delete>`))
	f.Add([]byte(`<Delete><Object><Key></Key></Object></Delete>`))
	f.Add([]byte(`<Delete><Quiet>maybe</Quiet><Object><Key>x</Key></Object></Delete>`))
	f.Add([]byte(`<Delete><Object><Key>&#x0;</Key></Object></Delete>`))
	f.Add([]byte(`<Delete/>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseDeleteRequest(body)
		if err != nil {
			return
		}
		if len(req.Objects) == 0 || len(req.Objects) > 1000 {
			t.Fatalf("accepted %d objects", len(req.Objects))
		}
		res := deleteResult{}
		for _, o := range req.Objects {
			if o.Key == "" {
				t.Fatal("accepted an empty key")
			}
			res.Deleted = append(res.Deleted, deletedItem{Key: o.Key, VersionID: o.VersionID})
		}
		// Whatever was accepted can be answered.
		if _, err := marshalXML(res); err != nil {
			t.Fatalf("cannot render the result: %v", err)
		}
	})
}

func FuzzObjectKeyFromPath(f *testing.F) {
	for _, s := range []struct{ host, path string }{
		{"127.0.0.1:9000", "/bucket/a/../b"},
		{"localhost", "/bucket/a//b"},
		{"bucket.s3.example.com", "/sp ace"},
		{"BUCKET.S3.EXAMPLE.COM.", "/unicodé"},
		{"s3.example.com", "/bucket/+plus"},
		{"x", "//"},
		{"x", "/bucket/\xff"},
		{"[::1]:9000", "/" + strings.Repeat("b", 64) + "/k"},
		{"a.s3.example.com", "*"},
	} {
		f.Add(s.host, s.path)
	}
	f.Fuzz(func(t *testing.T, host, path string) {
		bucket, key, err := parseResource("s3.example.com", host, path)
		if err != nil {
			return
		}
		if bucket == "" && key != "" {
			t.Fatalf("key %q without a bucket", key)
		}
		if bucket != "" && !validBucketName(bucket) {
			t.Fatalf("invalid bucket %q accepted", bucket)
		}
		if key != "" && (len(key) > 1024 || !utf8.ValidString(key)) {
			t.Fatalf("invalid key %q accepted", key)
		}
		// Routing what was parsed never fails unexpectedly.
		for _, m := range []string{"GET", "PUT", "POST", "DELETE", "HEAD"} {
			q, _ := url.ParseQuery(path)
			_, _ = selectOp(m, bucket, key, q, http.Header{})
		}
	})
}

func FuzzParseCopySource(f *testing.F) {
	for _, s := range []string{"/bucket/key", "bucket/a%20b?versionId=x", "/b/%ff", "/bucket/%zz", "?", "/bucket/k?%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		src, err := parseCopySource(v)
		if err != nil {
			return
		}
		if !validBucketName(src.bucket) || checkObjectKey(src.key) != nil {
			t.Fatalf("parseCopySource(%q) accepted %+v", v, src)
		}
	})
}
