package s3api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func TestCopyObject(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("src")
	e.mustMakeBucket("dst")
	data := randomBytes(t, 5, 300<<10)
	src := e.mustPut("src", "a b/+obj", data, minio.PutObjectOptions{
		ContentType: "text/plain", UserMetadata: map[string]string{"origin": "here"}})

	t.Run("copy keeps metadata", func(t *testing.T) {
		info, err := e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "copy1"},
			minio.CopySrcOptions{Bucket: "src", Object: "a b/+obj"})
		if err != nil {
			t.Fatal(err)
		}
		if info.ETag != md5hex(data) {
			t.Fatalf("copy ETag %q", info.ETag)
		}
		o := e.store.buckets["dst"].objects["copy1"]
		if !bytes.Equal(o.data, data) || o.info.Metadata["x-amz-meta-origin"] != "here" || o.info.Metadata["content-type"] != "text/plain" {
			t.Fatalf("copy stored %d bytes, metadata %v", len(o.data), o.info.Metadata)
		}
	})
	t.Run("replace metadata", func(t *testing.T) {
		_, err := e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "copy2", ReplaceMetadata: true,
			UserMetadata: map[string]string{"fresh": "yes"}, ContentType: "application/json"},
			minio.CopySrcOptions{Bucket: "src", Object: "a b/+obj"})
		if err != nil {
			t.Fatal(err)
		}
		md := e.store.buckets["dst"].objects["copy2"].info.Metadata
		if md["x-amz-meta-fresh"] != "yes" || md["x-amz-meta-origin"] != "" || md["content-type"] != "application/json" {
			t.Fatalf("metadata %v", md)
		}
	})
	t.Run("self copy without replace", func(t *testing.T) {
		_, err := e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "src", Object: "a b/+obj"},
			minio.CopySrcOptions{Bucket: "src", Object: "a b/+obj"})
		wantCode(t, err, "InvalidRequest")
	})
	t.Run("self copy with replace updates metadata only", func(t *testing.T) {
		before := e.store.buckets["src"].objects["a b/+obj"]
		_, err := e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "src", Object: "a b/+obj", ReplaceMetadata: true,
			UserMetadata: map[string]string{"origin": "updated"}},
			minio.CopySrcOptions{Bucket: "src", Object: "a b/+obj"})
		if err != nil {
			t.Fatal(err)
		}
		after := e.store.buckets["src"].objects["a b/+obj"]
		if after != before || after.info.Metadata["x-amz-meta-origin"] != "updated" || after.info.ETag != src.ETag {
			t.Fatalf("self copy: same object %v, metadata %v", after == before, after.info.Metadata)
		}
	})
	t.Run("source conditions", func(t *testing.T) {
		_, err := e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "c"},
			minio.CopySrcOptions{Bucket: "src", Object: "a b/+obj", MatchETag: "nope"})
		wantCode(t, err, "PreconditionFailed")
		_, err = e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "c"},
			minio.CopySrcOptions{Bucket: "src", Object: "a b/+obj", NoMatchETag: src.ETag})
		wantCode(t, err, "PreconditionFailed")
		_, err = e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "c"},
			minio.CopySrcOptions{Bucket: "src", Object: "a b/+obj", MatchModifiedSince: time.Now().Add(time.Hour)})
		wantCode(t, err, "PreconditionFailed")
		_, err = e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "c"},
			minio.CopySrcOptions{Bucket: "src", Object: "a b/+obj", MatchUnmodifiedSince: time.Now().Add(-time.Hour)})
		wantCode(t, err, "PreconditionFailed")
		_, err = e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "c"},
			minio.CopySrcOptions{Bucket: "src", Object: "a b/+obj", MatchETag: src.ETag, MatchUnmodifiedSince: time.Now().Add(-time.Hour)})
		if err != nil {
			t.Fatalf("If-Match true must win over If-Unmodified-Since false: %v", err)
		}
	})
	t.Run("missing source", func(t *testing.T) {
		_, err := e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "c"},
			minio.CopySrcOptions{Bucket: "src", Object: "absent"})
		wantCode(t, err, "NoSuchKey")
		// The error names the source, as AWS's does, not the destination.
		if er := minio.ToErrorResponse(err); er.Key != "absent" {
			t.Fatalf("NoSuchKey names key %q, want the source's", er.Key)
		}
		_, err = e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "c"},
			minio.CopySrcOptions{Bucket: "nobucket", Object: "x"})
		wantCode(t, err, "NoSuchBucket")
		if er := minio.ToErrorResponse(err); er.BucketName != "nobucket" {
			t.Fatalf("NoSuchBucket names bucket %q, want the source's", er.BucketName)
		}
	})
	t.Run("raw copy result and directive", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/dst/raw", header: map[string]string{
			"x-amz-copy-source": "/src/a%20b/%2Bobj?versionId=null"}})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var res struct {
			XMLName      xml.Name `xml:"CopyObjectResult"`
			ETag         string
			LastModified string
		}
		if err := xml.Unmarshal(body, &res); err != nil || res.ETag != `"`+md5hex(data)+`"` {
			t.Fatalf("CopyObjectResult %s: %v", body, err)
		}
		if _, err := time.Parse(s3TimeFormat, res.LastModified); err != nil {
			t.Fatalf("LastModified %q: %v", res.LastModified, err)
		}
		resp, body = e.do(rawRequest{method: "PUT", path: "/dst/raw", header: map[string]string{
			"x-amz-copy-source": "/src/a%20b/%2Bobj", "x-amz-metadata-directive": "MOVE"}})
		wantError(t, resp, body, 400, "InvalidArgument")
		resp, body = e.do(rawRequest{method: "PUT", path: "/dst/raw", header: map[string]string{"x-amz-copy-source": "/src"}})
		wantError(t, resp, body, 400, "InvalidArgument")
	})
	t.Run("copy adds a requested checksum", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/dst/sha", header: map[string]string{
			"x-amz-copy-source": "/src/a%20b/%2Bobj", "x-amz-checksum-algorithm": "SHA256"}})
		sum := sha256.Sum256(data)
		want := base64.StdEncoding.EncodeToString(sum[:])
		if resp.StatusCode != 200 || !strings.Contains(string(body), "<ChecksumSHA256>"+want+"</ChecksumSHA256><ChecksumType>FULL_OBJECT</ChecksumType>") {
			t.Fatalf("copy with SHA256: %d %s", resp.StatusCode, body)
		}
		if got := e.store.buckets["dst"].objects["sha"].info.Metadata["x-amz-checksum-sha256"]; got != want {
			t.Fatalf("stored sha256 %q", got)
		}
	})
	t.Run("destination conditions", func(t *testing.T) {
		resp, body := e.do(rawRequest{method: "PUT", path: "/dst/raw", header: map[string]string{
			"x-amz-copy-source": "/src/a%20b/%2Bobj", "If-None-Match": "*"}})
		wantError(t, resp, body, 412, "PreconditionFailed")
	})
	t.Run("copy verifies stored checksum", func(t *testing.T) {
		resp, _ := e.do(rawRequest{method: "PUT", path: "/src/crc", body: []byte("checked"),
			header: map[string]string{"x-amz-checksum-crc32c": crc32cB64([]byte("checked"))}})
		if resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
		resp, body := e.do(rawRequest{method: "PUT", path: "/dst/crc", header: map[string]string{"x-amz-copy-source": "/src/crc"}})
		if resp.StatusCode != 200 || !strings.Contains(string(body), crc32cB64([]byte("checked"))) {
			t.Fatalf("copy of checksummed object: %d %s", resp.StatusCode, body)
		}
		// Corrupt the source behind the handler's back: the copy must fail
		// as a server error and store nothing.
		e.store.buckets["src"].objects["crc"].data = []byte("chocked")
		resp, body = e.do(rawRequest{method: "PUT", path: "/dst/crc2", header: map[string]string{"x-amz-copy-source": "/src/crc"}})
		wantError(t, resp, body, 500, "InternalError")
		if _, ok := e.store.buckets["dst"].objects["crc2"]; ok {
			t.Fatal("corrupt copy stored")
		}
	})
}

func TestDeleteObjects(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("del")
	for i := 0; i < 30; i++ {
		e.mustPut("del", fmt.Sprintf("k%02d", i), []byte("x"), minio.PutObjectOptions{})
	}

	t.Run("minio-go RemoveObjects", func(t *testing.T) {
		ch := make(chan minio.ObjectInfo, 11)
		for i := 0; i < 10; i++ {
			ch <- minio.ObjectInfo{Key: fmt.Sprintf("k%02d", i)}
		}
		ch <- minio.ObjectInfo{Key: "never-existed"}
		close(ch)
		for err := range e.client.RemoveObjects(ctx, "del", ch, minio.RemoveObjectsOptions{}) {
			t.Fatalf("RemoveObjects: %v", err.Err)
		}
		if n := len(e.store.buckets["del"].objects); n != 20 {
			t.Fatalf("%d objects left, want 20", n)
		}
	})
	body := func(quiet bool, keys ...string) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>%v</Quiet>`, quiet)
		for _, k := range keys {
			fmt.Fprintf(&b, "<Object><Key>%s</Key></Object>", k)
		}
		b.WriteString("</Delete>")
		return []byte(b.String())
	}
	t.Run("verbose", func(t *testing.T) {
		b := body(false, "k10", "k11", "gone")
		resp, out := e.do(rawRequest{method: "POST", path: "/del?delete", body: b, header: map[string]string{"Content-MD5": md5b64(b)}})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, out)
		}
		var res deleteResult
		if err := xml.Unmarshal(out, &res); err != nil || len(res.Deleted) != 3 || len(res.Errors) != 0 {
			t.Fatalf("result %s: %v", out, err)
		}
	})
	t.Run("quiet", func(t *testing.T) {
		b := body(true, "k12", "k13")
		resp, out := e.do(rawRequest{method: "POST", path: "/del?delete", body: b, header: map[string]string{"Content-MD5": md5b64(b)}})
		if resp.StatusCode != 200 || strings.Contains(string(out), "<Deleted>") {
			t.Fatalf("quiet result %d: %s", resp.StatusCode, out)
		}
		if _, ok := e.store.buckets["del"].objects["k12"]; ok {
			t.Fatal("k12 not deleted")
		}
	})
	t.Run("checksum instead of md5", func(t *testing.T) {
		b := body(true, "k14")
		resp, out := e.do(rawRequest{method: "POST", path: "/del?delete", body: b, header: map[string]string{"x-amz-checksum-crc32c": crc32cB64(b)}})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, out)
		}
	})
	t.Run("per-key errors", func(t *testing.T) {
		long := strings.Repeat("k", 1025)
		b := body(true, "k15", long)
		resp, out := e.do(rawRequest{method: "POST", path: "/del?delete", body: b, header: map[string]string{"Content-MD5": md5b64(b)}})
		var res deleteResult
		if err := xml.Unmarshal(out, &res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("result %d %s: %v", resp.StatusCode, out, err)
		}
		if len(res.Errors) != 1 || res.Errors[0].Code != "KeyTooLongError" || len(res.Deleted) != 0 {
			t.Fatalf("errors %+v deleted %+v", res.Errors, res.Deleted)
		}
	})
	errs := []struct {
		name   string
		body   []byte
		header map[string]string
		status int
		code   string
	}{
		{"no digest", body(false, "k16"), nil, 400, "InvalidRequest"},
		{"bad digest", body(false, "k16"), map[string]string{"Content-MD5": md5b64([]byte("x"))}, 400, "BadDigest"},
		{"bad checksum", body(false, "k16"), map[string]string{"x-amz-checksum-crc32c": crc32cB64([]byte("x"))}, 400, "BadDigest"},
		{"malformed", []byte("<Delete><Object>"), nil, 400, "MalformedXML"},
		{"empty list", body(false), nil, 400, "MalformedXML"},
		{"empty key", body(false, ""), nil, 400, "UserKeyMustBeSpecified"},
		{"too many", body(false, strings.Split(strings.Repeat("k,", 1001), ",")[:1001]...), nil, 400, "MalformedXML"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil && tt.code != "InvalidRequest" {
				h = map[string]string{"Content-MD5": md5b64(tt.body)}
			}
			resp, out := e.do(rawRequest{method: "POST", path: "/del?delete", body: tt.body, header: h})
			wantError(t, resp, out, tt.status, tt.code)
		})
	}
	t.Run("missing bucket", func(t *testing.T) {
		b := body(false, "k")
		resp, out := e.do(rawRequest{method: "POST", path: "/nobucket?delete", body: b, header: map[string]string{"Content-MD5": md5b64(b)}})
		wantError(t, resp, out, 404, "NoSuchBucket")
	})
}
