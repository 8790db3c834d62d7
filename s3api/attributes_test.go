package s3api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

func TestGetObjectAttributes(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("attr")

	small := []byte("attributes of a simple object")
	put := e.mustPut("attr", "simple", small, minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C})

	data := randomBytes(t, 31, 11<<20)
	mp, err := e.client.PutObject(ctx, "attr", "multi", bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{PartSize: 5 << 20, Checksum: minio.ChecksumCRC32C})
	if err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{data[:5<<20], data[5<<20 : 10<<20], data[10<<20:]}
	var raw []byte
	for _, p := range parts {
		raw = append(raw, crc32cRaw(p)...)
	}
	composite := base64.StdEncoding.EncodeToString(crc32cRaw(raw))

	t.Run("simple object through minio-go", func(t *testing.T) {
		a, err := e.client.GetObjectAttributes(ctx, "attr", "simple", minio.ObjectAttributesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if a.ETag != put.ETag || a.ObjectSize != len(small) || a.StorageClass != "STANDARD" {
			t.Fatalf("ETag %q size %d class %q, want %q %d STANDARD", a.ETag, a.ObjectSize, a.StorageClass, put.ETag, len(small))
		}
		if a.Checksum.ChecksumCRC32C != crc32cB64(small) || a.Checksum.ChecksumType != "FULL_OBJECT" {
			t.Fatalf("checksum %+v, want CRC32C %s FULL_OBJECT", a.Checksum, crc32cB64(small))
		}
		if a.ObjectParts.PartsCount != 0 || len(a.ObjectParts.Parts) != 0 {
			t.Fatalf("a simple PUT has no parts: %+v", a.ObjectParts)
		}
		if a.LastModified.IsZero() {
			t.Fatal("no Last-Modified")
		}
	})

	t.Run("multipart object pages its parts", func(t *testing.T) {
		a, err := e.client.GetObjectAttributes(ctx, "attr", "multi", minio.ObjectAttributesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if a.ETag != mp.ETag || a.ObjectSize != len(data) {
			t.Fatalf("ETag %q size %d, want %q %d", a.ETag, a.ObjectSize, mp.ETag, len(data))
		}
		// COMPOSITE without the "-3" HeadObject shows, as AWS.
		if a.Checksum.ChecksumCRC32C != composite || a.Checksum.ChecksumType != "COMPOSITE" {
			t.Fatalf("checksum %+v, want %s COMPOSITE", a.Checksum, composite)
		}
		op := a.ObjectParts
		if op.PartsCount != 3 || len(op.Parts) != 3 || op.IsTruncated || op.NextPartNumberMarker != 3 {
			t.Fatalf("parts %+v", op)
		}
		for i, p := range op.Parts {
			if p.PartNumber != i+1 || p.Size != len(parts[i]) || p.ChecksumCRC32C != crc32cB64(parts[i]) {
				t.Fatalf("part %d: %+v", i+1, *p)
			}
		}
		a, err = e.client.GetObjectAttributes(ctx, "attr", "multi", minio.ObjectAttributesOptions{PartNumberMarker: 1, MaxParts: 1})
		if err != nil {
			t.Fatal(err)
		}
		op = a.ObjectParts
		if op.PartsCount != 3 || len(op.Parts) != 1 || op.Parts[0].PartNumber != 2 || !op.IsTruncated ||
			op.NextPartNumberMarker != 2 || op.PartNumberMarker != 1 || op.MaxParts != 1 {
			t.Fatalf("page after part 1: %+v", op)
		}
	})

	t.Run("max-parts bounds", func(t *testing.T) {
		for _, tc := range []struct{ maxParts, want string }{
			{"5000", "<MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated><Part>"},
			{"0", "<NextPartNumberMarker>0</NextPartNumberMarker><MaxParts>0</MaxParts><IsTruncated>false</IsTruncated></ObjectParts>"},
		} {
			resp, out := e.do(rawRequest{method: "GET", path: "/attr/multi?attributes",
				header: map[string]string{"x-amz-object-attributes": "ObjectParts", "x-amz-max-parts": tc.maxParts}})
			if resp.StatusCode != 200 || !strings.Contains(string(out), tc.want) {
				t.Fatalf("max-parts %s: %d %s", tc.maxParts, resp.StatusCode, out)
			}
		}
	})
	t.Run("upload without a checksum algorithm lists only the part count", func(t *testing.T) {
		id, err := e.core.NewMultipartUpload(ctx, "attr", "plain", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		body := "<CompleteMultipartUpload>"
		for i, p := range parts[:2] {
			resp, out := e.do(rawRequest{method: "PUT", path: fmt.Sprintf("/attr/plain?partNumber=%d&uploadId=%s", i+1, id), body: p})
			if resp.StatusCode != 200 {
				t.Fatalf("part %d: %d %s", i+1, resp.StatusCode, out)
			}
			body += fmt.Sprintf("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, md5hex(p))
		}
		resp, out := e.do(rawRequest{method: "POST", path: "/attr/plain?uploadId=" + id, body: []byte(body + "</CompleteMultipartUpload>")})
		if resp.StatusCode != 200 {
			t.Fatalf("complete: %d %s", resp.StatusCode, out)
		}
		resp, out = e.do(rawRequest{method: "GET", path: "/attr/plain?attributes",
			header: map[string]string{"x-amz-object-attributes": "ObjectParts"}})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
		if !strings.Contains(string(out), "<ObjectParts><PartsCount>2</PartsCount></ObjectParts>") {
			t.Fatalf("want only the part count: %s", out)
		}
	})

	t.Run("only the attributes asked for", func(t *testing.T) {
		resp, out := e.do(rawRequest{method: "GET", path: "/attr/multi?attributes",
			header: map[string]string{"x-amz-object-attributes": " ObjectSize , StorageClass"}})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
		var got getObjectAttributesResult
		if err := xml.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if got.ObjectSize == nil || *got.ObjectSize != int64(len(data)) || got.StorageClass != "STANDARD" ||
			got.ETag != "" || got.Checksum != nil || got.ObjectParts != nil {
			t.Fatalf("body %s", out)
		}
		// minio-go takes an ETag header for a server that served the
		// object instead of its attributes.
		if resp.Header.Get("ETag") != "" || resp.Header.Get("Last-Modified") == "" {
			t.Fatalf("headers %v", resp.Header)
		}
	})

	errs := []struct {
		name   string
		path   string
		header map[string]string
		status int
		code   string
	}{
		{"no attributes header", "/attr/simple?attributes", nil, 400, "InvalidArgument"},
		{"empty attributes header", "/attr/simple?attributes", map[string]string{"x-amz-object-attributes": " , "}, 400, "InvalidArgument"},
		{"unknown attribute", "/attr/simple?attributes", map[string]string{"x-amz-object-attributes": "ETag,Colour"}, 400, "InvalidArgument"},
		{"attribute names are case-sensitive", "/attr/simple?attributes", map[string]string{"x-amz-object-attributes": "etag"}, 400, "InvalidArgument"},
		{"bad max-parts", "/attr/multi?attributes", map[string]string{"x-amz-object-attributes": "ObjectParts", "x-amz-max-parts": "-1"}, 400, "InvalidArgument"},
		{"bad part-number-marker", "/attr/multi?attributes", map[string]string{"x-amz-object-attributes": "ObjectParts", "x-amz-part-number-marker": "x"}, 400, "InvalidArgument"},
		{"missing key", "/attr/nothing?attributes", map[string]string{"x-amz-object-attributes": "ETag"}, 404, "NoSuchKey"},
		{"missing bucket", "/nobucket/k?attributes", map[string]string{"x-amz-object-attributes": "ETag"}, 404, "NoSuchBucket"},
		{"other version", "/attr/simple?attributes&versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH", map[string]string{"x-amz-object-attributes": "ETag"}, 404, "NoSuchVersion"},
		{"malformed version", "/attr/simple?attributes&versionId=v1", map[string]string{"x-amz-object-attributes": "ETag"}, 400, "InvalidArgument"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			resp, out := e.do(rawRequest{method: "GET", path: tt.path, header: tt.header})
			wantError(t, resp, out, tt.status, tt.code)
		})
	}
	t.Run("anonymous is denied", func(t *testing.T) {
		resp, out := e.do(rawRequest{method: "GET", path: "/attr/simple?attributes", anonymous: true,
			header: map[string]string{"x-amz-object-attributes": "ETag"}})
		wantError(t, resp, out, 403, "AccessDenied")
	})
}
