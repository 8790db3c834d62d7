package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/storage"
)

// multipartETag is the S3 ETag of a multipart object.
func multipartETag(parts ...[]byte) string {
	var sums []byte
	for _, p := range parts {
		s := md5.Sum(p)
		sums = append(sums, s[:]...)
	}
	s := md5.Sum(sums)
	return fmt.Sprintf("%s-%d", hex.EncodeToString(s[:]), len(parts))
}

func TestMultipart(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("mpart")
	part1 := randomBytes(t, 10, 5<<20) // the minimum size of a non-last part
	part2 := randomBytes(t, 11, 1234)

	upload := func(key string) string {
		t.Helper()
		id, err := e.core.NewMultipartUpload(ctx, "mpart", key, minio.PutObjectOptions{
			ContentType: "video/test", UserMetadata: map[string]string{"kind": "multi"}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	putPart := func(key, id string, n int, data []byte) minio.ObjectPart {
		t.Helper()
		p, err := e.core.PutObjectPart(ctx, "mpart", key, id, n, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.ETag != md5hex(data) {
			t.Fatalf("part %d ETag %q", n, p.ETag)
		}
		return p
	}

	id := upload("big/object")
	p1 := putPart("big/object", id, 1, part1)
	p2 := putPart("big/object", id, 2, part2)

	t.Run("list parts", func(t *testing.T) {
		res, err := e.core.ListObjectParts(ctx, "mpart", "big/object", id, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.ObjectParts) != 1 || !res.IsTruncated || res.NextPartNumberMarker != 1 || res.ObjectParts[0].Size != int64(len(part1)) {
			t.Fatalf("page 1: %+v", res)
		}
		res, err = e.core.ListObjectParts(ctx, "mpart", "big/object", id, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.ObjectParts) != 1 || res.IsTruncated || res.ObjectParts[0].PartNumber != 2 {
			t.Fatalf("page 2: %+v", res)
		}
		_, err = e.core.ListObjectParts(ctx, "mpart", "big/object", "no-such-upload", 0, 10)
		wantCode(t, err, "NoSuchUpload")
	})
	t.Run("list uploads", func(t *testing.T) {
		other := upload("big/other")
		defer e.core.AbortMultipartUpload(ctx, "mpart", "big/other", other)
		res, err := e.core.ListMultipartUploads(ctx, "mpart", "big/", "", "", "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Uploads) != 1 || !res.IsTruncated || res.Uploads[0].Key != "big/object" {
			t.Fatalf("page 1: %+v", res)
		}
		res, err = e.core.ListMultipartUploads(ctx, "mpart", "big/", res.NextKeyMarker, res.NextUploadIDMarker, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Uploads) != 1 || res.Uploads[0].Key != "big/other" {
			t.Fatalf("page 2: %+v", res)
		}
		res, err = e.core.ListMultipartUploads(ctx, "mpart", "", "", "", "/", 10)
		if err != nil || len(res.CommonPrefixes) != 1 || res.CommonPrefixes[0].Prefix != "big/" {
			t.Fatalf("delimiter: %+v, %v", res, err)
		}
	})
	t.Run("bad part numbers", func(t *testing.T) {
		for _, n := range []string{"0", "10001", "x"} {
			resp, body := e.do(rawRequest{method: "PUT", path: "/mpart/big/object?uploadId=" + id + "&partNumber=" + n, body: []byte("x")})
			wantError(t, resp, body, 400, "InvalidArgument")
		}
		resp, body := e.do(rawRequest{method: "PUT", path: "/mpart/big/object?uploadId=nope&partNumber=1", body: []byte("x")})
		wantError(t, resp, body, 404, "NoSuchUpload")
	})
	t.Run("complete errors", func(t *testing.T) {
		_, err := e.core.CompleteMultipartUpload(ctx, "mpart", "big/object", id,
			[]minio.CompletePart{{PartNumber: 2, ETag: p2.ETag}, {PartNumber: 1, ETag: p1.ETag}}, minio.PutObjectOptions{})
		wantCode(t, err, "InvalidPartOrder")
		_, err = e.core.CompleteMultipartUpload(ctx, "mpart", "big/object", id,
			[]minio.CompletePart{{PartNumber: 1, ETag: p1.ETag}, {PartNumber: 2, ETag: md5hex([]byte("other"))}}, minio.PutObjectOptions{})
		wantCode(t, err, "InvalidPart")
		_, err = e.core.CompleteMultipartUpload(ctx, "mpart", "big/object", id,
			[]minio.CompletePart{{PartNumber: 1, ETag: p1.ETag}, {PartNumber: 3, ETag: p2.ETag}}, minio.PutObjectOptions{})
		wantCode(t, err, "InvalidPart")
		for _, body := range []string{"", "<CompleteMultipartUpload>", "<CompleteMultipartUpload></CompleteMultipartUpload>"} {
			resp, out := e.do(rawRequest{method: "POST", path: "/mpart/big/object?uploadId=" + id, body: []byte(body)})
			wantError(t, resp, out, 400, "MalformedXML")
		}
		resp, out := e.do(rawRequest{method: "POST", path: "/mpart/big/object?uploadId=nope",
			body: []byte("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>")})
		wantError(t, resp, out, 404, "NoSuchUpload")
	})
	t.Run("too small part", func(t *testing.T) {
		sid := upload("small")
		s1 := putPart("small", sid, 1, []byte("tiny"))
		s2 := putPart("small", sid, 2, []byte("tiny too"))
		_, err := e.core.CompleteMultipartUpload(ctx, "mpart", "small", sid,
			[]minio.CompletePart{{PartNumber: 1, ETag: s1.ETag}, {PartNumber: 2, ETag: s2.ETag}}, minio.PutObjectOptions{})
		wantCode(t, err, "EntityTooSmall")
		if err := e.core.AbortMultipartUpload(ctx, "mpart", "small", sid); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.core.AbortMultipartUpload(ctx, "mpart", "small", sid), "NoSuchUpload")
	})
	t.Run("complete", func(t *testing.T) {
		// A lenient body: no namespace, quoted and unquoted ETags,
		// whitespace around the numbers.
		body := fmt.Sprintf(`<CompleteMultipartUpload>
			<Part><PartNumber> 1 </PartNumber><ETag>"%s"</ETag></Part>
			<Part><ETag>%s</ETag><PartNumber>2</PartNumber></Part>
		</CompleteMultipartUpload>`, p1.ETag, p2.ETag)
		resp, out := e.do(rawRequest{method: "POST", path: "/mpart/big/object?uploadId=" + id, body: []byte(body)})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, out)
		}
		first := out
		var res completeMultipartUploadResult
		if err := xml.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		want := multipartETag(part1, part2)
		if res.ETag != `"`+want+`"` || res.Key != "big/object" || res.Bucket != "mpart" || !strings.HasSuffix(res.Location, "/mpart/big/object") {
			t.Fatalf("result %+v", res)
		}
		obj, err := e.client.GetObject(ctx, "mpart", "big/object", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, append(bytes.Clone(part1), part2...)) {
			t.Fatalf("read back %d bytes, %v", len(got), err)
		}
		st, err := e.client.StatObject(ctx, "mpart", "big/object", minio.StatObjectOptions{})
		if err != nil || st.ETag != want || st.ContentType != "video/test" || st.UserMetadata["Kind"] != "multi" {
			t.Fatalf("stat %+v, %v", st, err)
		}
		resp, out = e.do(rawRequest{method: "GET", path: "/mpart/big/object?partNumber=2"})
		if resp.StatusCode != 206 || !bytes.Equal(out, part2) || resp.Header.Get("x-amz-mp-parts-count") != "2" {
			t.Fatalf("partNumber=2: %d, %d bytes, count %q", resp.StatusCode, len(out), resp.Header.Get("x-amz-mp-parts-count"))
		}
		if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes %d-%d/%d", len(part1), len(part1)+len(part2)-1, len(part1)+len(part2)) {
			t.Fatalf("Content-Range %q", cr)
		}
		// The upload is gone.
		_, err = e.core.ListObjectParts(ctx, "mpart", "big/object", id, 0, 10)
		wantCode(t, err, "NoSuchUpload")
		// A retry of the same completion (its client timed out waiting)
		// gets the same answer, as from AWS; other parts do not.
		resp, again := e.do(rawRequest{method: "POST", path: "/mpart/big/object?uploadId=" + id, body: []byte(body)})
		if resp.StatusCode != 200 || !bytes.Equal(again, first) {
			t.Fatalf("retried completion: %d %s, want %s", resp.StatusCode, again, first)
		}
		_, err = e.core.CompleteMultipartUpload(ctx, "mpart", "big/object", id, []minio.CompletePart{{PartNumber: 1, ETag: p1.ETag}}, minio.PutObjectOptions{})
		wantCode(t, err, "NoSuchUpload")
		_, err = e.core.CompleteMultipartUpload(ctx, "mpart", "other", id, []minio.CompletePart{{PartNumber: 1, ETag: p1.ETag}, {PartNumber: 2, ETag: p2.ETag}}, minio.PutObjectOptions{})
		wantCode(t, err, "NoSuchUpload")
	})
	t.Run("complete with if-none-match", func(t *testing.T) {
		cid := upload("big/object")
		c1 := putPart("big/object", cid, 1, []byte("again"))
		opts := minio.PutObjectOptions{}
		opts.SetMatchETagExcept("*")
		_, err := e.core.CompleteMultipartUpload(ctx, "mpart", "big/object", cid, []minio.CompletePart{{PartNumber: 1, ETag: c1.ETag}}, opts)
		wantCode(t, err, "PreconditionFailed")
		opts = minio.PutObjectOptions{}
		opts.SetMatchETag(multipartETag(part1, part2))
		if _, err := e.core.CompleteMultipartUpload(ctx, "mpart", "big/object", cid, []minio.CompletePart{{PartNumber: 1, ETag: c1.ETag}}, opts); err != nil {
			t.Fatalf("complete with matching If-Match: %v", err)
		}
		// Its retry is not held to the condition again (the object it was
		// about is gone by its own doing); the first upload's, whose
		// object was replaced since, is no more.
		if _, err := e.core.CompleteMultipartUpload(ctx, "mpart", "big/object", cid, []minio.CompletePart{{PartNumber: 1, ETag: c1.ETag}}, opts); err != nil {
			t.Fatalf("retried conditional completion: %v", err)
		}
		_, err = e.core.CompleteMultipartUpload(ctx, "mpart", "big/object", id, []minio.CompletePart{{PartNumber: 1, ETag: p1.ETag}, {PartNumber: 2, ETag: p2.ETag}}, minio.PutObjectOptions{})
		wantCode(t, err, "NoSuchUpload")
	})
	t.Run("upload part copy", func(t *testing.T) {
		e.mustPut("mpart", "source", part1, minio.PutObjectOptions{})
		cid := upload("copied")
		cp1, err := e.core.CopyObjectPart(ctx, "mpart", "source", "mpart", "copied", cid, 1, 0, int64(len(part1)), nil)
		if err != nil {
			t.Fatal(err)
		}
		cp2, err := e.core.CopyObjectPart(ctx, "mpart", "source", "mpart", "copied", cid, 2, 100, 50, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.core.CompleteMultipartUpload(ctx, "mpart", "copied", cid, []minio.CompletePart{cp1, cp2}, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		want := append(bytes.Clone(part1), part1[100:150]...)
		if got := e.store.buckets["mpart"].objects["copied"].data; !bytes.Equal(got, want) {
			t.Fatalf("copied object: %d bytes", len(got))
		}
		did := upload("copied2")
		defer e.core.AbortMultipartUpload(ctx, "mpart", "copied2", did)
		_, err = e.core.CopyObjectPart(ctx, "mpart", "source", "mpart", "copied2", did, 1, int64(len(part1))-10, 20, nil)
		wantCode(t, err, "InvalidArgument")
		resp, out := e.do(rawRequest{method: "PUT", path: "/mpart/copied2?uploadId=" + did + "&partNumber=1",
			header: map[string]string{"x-amz-copy-source": "/mpart/source", "x-amz-copy-source-range": "bytes=5"}})
		wantError(t, resp, out, 400, "InvalidArgument")
		// A missing source is named as the source, as AWS does.
		resp, out = e.do(rawRequest{method: "PUT", path: "/mpart/copied2?uploadId=" + did + "&partNumber=1",
			header: map[string]string{"x-amz-copy-source": "/mpart/absent"}})
		wantError(t, resp, out, 404, "NoSuchKey")
		if !bytes.Contains(out, []byte("<Key>absent</Key>")) {
			t.Fatalf("UploadPartCopy of a missing source: %s", out)
		}
	})
}

func crc32cRaw(b []byte) []byte {
	return binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

func TestMultipartChecksums(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("mpc")
	data := randomBytes(t, 20, 11<<20)

	t.Run("minio-go multipart with CRC32C", func(t *testing.T) {
		info, err := e.client.PutObject(ctx, "mpc", "auto", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20})
		if err != nil {
			t.Fatal(err)
		}
		parts := [][]byte{data[:5<<20], data[5<<20 : 10<<20], data[10<<20:]}
		if info.ETag != multipartETag(parts...) {
			t.Fatalf("ETag %q", info.ETag)
		}
		var raw []byte
		for _, p := range parts {
			raw = append(raw, crc32cRaw(p)...)
		}
		want := base64.StdEncoding.EncodeToString(crc32cRaw(raw)) + "-3"
		md := e.store.buckets["mpc"].objects["auto"].info.Metadata
		if md["x-amz-checksum-crc32c"] != want || md["x-amz-checksum-type"] != "COMPOSITE" {
			t.Fatalf("stored checksum %q type %q, want %q COMPOSITE", md["x-amz-checksum-crc32c"], md["x-amz-checksum-type"], want)
		}
		st, err := e.client.StatObject(ctx, "mpc", "auto", minio.StatObjectOptions{Checksum: true})
		if err != nil || st.ChecksumCRC32C != want {
			t.Fatalf("StatObject checksum %q, %v", st.ChecksumCRC32C, err)
		}
	})
	t.Run("minio-go multipart with full-object CRC32C", func(t *testing.T) {
		_, err := e.client.PutObject(ctx, "mpc", "full", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
			PartSize: 5 << 20, AutoChecksum: minio.ChecksumFullObjectCRC32C})
		if err != nil {
			t.Fatal(err)
		}
		want := base64.StdEncoding.EncodeToString(crc32cRaw(data))
		md := e.store.buckets["mpc"].objects["full"].info.Metadata
		if md["x-amz-checksum-crc32c"] != want || md["x-amz-checksum-type"] != "FULL_OBJECT" {
			t.Fatalf("stored checksum %q type %q, want %q FULL_OBJECT", md["x-amz-checksum-crc32c"], md["x-amz-checksum-type"], want)
		}
		// minio-go verifies a full-object checksum while reading.
		obj, err := e.client.GetObject(ctx, "mpc", "full", minio.GetObjectOptions{Checksum: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back %d bytes, %v", len(got), err)
		}
	})
	t.Run("wrong whole-object checksum at complete", func(t *testing.T) {
		resp, out := e.do(rawRequest{method: "POST", path: "/mpc/z?uploads", header: map[string]string{"x-amz-checksum-algorithm": "crc32c"}})
		var ini initiateMultipartUploadResult
		if err := xml.Unmarshal(out, &ini); err != nil || resp.StatusCode != 200 || resp.Header.Get("x-amz-checksum-algorithm") != "CRC32C" {
			t.Fatalf("create: %d %s %v", resp.StatusCode, out, err)
		}
		id := ini.UploadID
		resp, out = e.do(rawRequest{method: "PUT", path: "/mpc/z?uploadId=" + id + "&partNumber=1", body: []byte("abc"),
			header: map[string]string{"x-amz-checksum-crc32c": crc32cB64([]byte("abc"))}})
		if resp.StatusCode != 200 {
			t.Fatalf("part: %d %s", resp.StatusCode, out)
		}
		// The part's checksum is listed: AWS requires it for a COMPOSITE upload.
		body := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag><ChecksumCRC32C>%s</ChecksumCRC32C></Part></CompleteMultipartUpload>`,
			md5hex([]byte("abc")), crc32cB64([]byte("abc")))
		resp, out = e.do(rawRequest{method: "POST", path: "/mpc/z?uploadId=" + id, body: []byte(body),
			header: map[string]string{"x-amz-checksum-crc32c": crc32cB64([]byte("xyz")) + "-1"}})
		wantError(t, resp, out, 400, "BadDigest")
		resp, out = e.do(rawRequest{method: "POST", path: "/mpc/z?uploadId=" + id, body: []byte(body)})
		if resp.StatusCode != 200 {
			t.Fatalf("complete: %d %s", resp.StatusCode, out)
		}
		want := base64.StdEncoding.EncodeToString(crc32cRaw(crc32cRaw([]byte("abc")))) + "-1"
		if !strings.Contains(string(out), "<ChecksumCRC32C>"+want+"</ChecksumCRC32C>") {
			t.Fatalf("complete result lacks the composite checksum %s: %s", want, out)
		}
	})
	t.Run("part checksum mismatch at complete", func(t *testing.T) {
		id, err := e.core.NewMultipartUpload(ctx, "mpc", "x", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		resp, out := e.do(rawRequest{method: "PUT", path: "/mpc/x?uploadId=" + id + "&partNumber=1", body: []byte("abc"),
			header: map[string]string{"x-amz-checksum-crc32c": crc32cB64([]byte("abc"))}})
		if resp.StatusCode != 200 || resp.Header.Get("x-amz-checksum-crc32c") != crc32cB64([]byte("abc")) {
			t.Fatalf("part: %d %s %v", resp.StatusCode, out, resp.Header)
		}
		body := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag><ChecksumCRC32C>%s</ChecksumCRC32C></Part></CompleteMultipartUpload>`,
			md5hex([]byte("abc")), crc32cB64([]byte("abd")))
		resp, out = e.do(rawRequest{method: "POST", path: "/mpc/x?uploadId=" + id, body: []byte(body)})
		wantError(t, resp, out, 400, "InvalidPart")
	})
	t.Run("part checksum mismatch at upload", func(t *testing.T) {
		id, err := e.core.NewMultipartUpload(ctx, "mpc", "y", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		resp, out := e.do(rawRequest{method: "PUT", path: "/mpc/y?uploadId=" + id + "&partNumber=1", body: []byte("abc"),
			header: map[string]string{"x-amz-checksum-crc32c": crc32cB64([]byte("abd"))}})
		wantError(t, resp, out, 400, "BadDigest")
	})
}

// TestMultipartChecksumRules: the checksum rules AWS applies across a
// multipart upload: the algorithm and type CreateMultipartUpload accepts,
// the parts UploadPart accepts for them, and the part checksums
// CompleteMultipartUpload requires.
func TestMultipartChecksumRules(t *testing.T) {
	e := newTestEnv(t)
	e.mustMakeBucket("mprule")
	p1 := randomBytes(t, 30, 5<<20)
	p2 := []byte("the last part")

	// create starts an upload with the checksum headers h and returns its
	// id, failing the test unless it is accepted.
	create := func(t *testing.T, key string, h map[string]string) string {
		t.Helper()
		resp, out := e.do(rawRequest{method: "POST", path: "/mprule/" + key + "?uploads", header: h})
		var ini initiateMultipartUploadResult
		if err := xml.Unmarshal(out, &ini); err != nil || resp.StatusCode != 200 {
			t.Fatalf("create: %d %s %v", resp.StatusCode, out, err)
		}
		return ini.UploadID
	}
	part := func(t *testing.T, key, id string, n int, data []byte, h map[string]string) (*http.Response, []byte) {
		t.Helper()
		return e.do(rawRequest{method: "PUT", path: fmt.Sprintf("/mprule/%s?uploadId=%s&partNumber=%d", key, id, n), body: data, header: h})
	}

	t.Run("create", func(t *testing.T) {
		tests := []struct {
			alg, ctype string
			want       string // the type answered, or the error message
			ok         bool
		}{
			{"CRC64NVME", "", "FULL_OBJECT", true},
			{"CRC64NVME", "FULL_OBJECT", "FULL_OBJECT", true},
			{"CRC64NVME", "COMPOSITE", "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.", false},
			{"crc64nvme", "composite", "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.", false},
			{"CRC32", "", "COMPOSITE", true},
			{"CRC32", "COMPOSITE", "COMPOSITE", true},
			{"CRC32C", "FULL_OBJECT", "FULL_OBJECT", true},
			{"SHA256", "FULL_OBJECT", "The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm.", false},
			{"SHA1", "FULL_OBJECT", "The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm.", false},
			{"SHA1", "", "COMPOSITE", true},
		}
		for _, tt := range tests {
			t.Run(tt.alg+"/"+tt.ctype, func(t *testing.T) {
				h := map[string]string{"x-amz-checksum-algorithm": tt.alg}
				if tt.ctype != "" {
					h["x-amz-checksum-type"] = tt.ctype
				}
				resp, out := e.do(rawRequest{method: "POST", path: "/mprule/create?uploads", header: h})
				if !tt.ok {
					wantErrorMessage(t, resp, out, 400, "InvalidRequest", tt.want)
					return
				}
				if resp.StatusCode != 200 || resp.Header.Get("x-amz-checksum-type") != tt.want {
					t.Fatalf("%d, type %q, want %q: %s", resp.StatusCode, resp.Header.Get("x-amz-checksum-type"), tt.want, out)
				}
			})
		}
	})

	t.Run("upload part", func(t *testing.T) {
		crc32ID := create(t, "crc32", map[string]string{"x-amz-checksum-algorithm": "CRC32"})
		plainID := create(t, "plain", nil)
		tests := []struct {
			name    string
			key, id string
			h       map[string]string
			msg     string // "": accepted
		}{
			{"the upload's algorithm", "crc32", crc32ID, map[string]string{"x-amz-checksum-crc32": minio.ChecksumCRC32.EncodeToString(p2)}, ""},
			{"no checksum: computed", "crc32", crc32ID, nil, ""},
			{"another algorithm's header", "crc32", crc32ID, map[string]string{"x-amz-checksum-crc32c": crc32cB64(p2)},
				"Checksum Type mismatch occurred, expected checksum Type: crc32, actual checksum Type: crc32c"},
			{"another algorithm's trailer", "crc32", crc32ID, map[string]string{"x-amz-trailer": "x-amz-checksum-sha256"},
				"Checksum Type mismatch occurred, expected checksum Type: crc32, actual checksum Type: sha256"},
			{"sdk algorithm alone", "crc32", crc32ID, map[string]string{"x-amz-sdk-checksum-algorithm": "CRC32"},
				"x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found."},
			{"any algorithm on an upload without one", "plain", plainID, map[string]string{"x-amz-checksum-crc32c": crc32cB64(p2)}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, out := part(t, tt.key, tt.id, 1, p2, tt.h)
				if tt.msg != "" {
					wantErrorMessage(t, resp, out, 400, "InvalidRequest", tt.msg)
					return
				}
				if resp.StatusCode != 200 {
					t.Fatalf("%d: %s", resp.StatusCode, out)
				}
				if tt.id == crc32ID && resp.Header.Get("x-amz-checksum-crc32") != minio.ChecksumCRC32.EncodeToString(p2) {
					t.Fatalf("part's CRC32 %q", resp.Header.Get("x-amz-checksum-crc32"))
				}
			})
		}
	})

	t.Run("complete", func(t *testing.T) {
		// upload creates an upload with the headers h and uploads two
		// parts with their checksum of alg (none for ""), returning the
		// id and the parts' ETags and checksums for the Complete body.
		upload := func(t *testing.T, key string, h map[string]string, cs minio.ChecksumType) (string, []minio.CompletePart) {
			t.Helper()
			id := create(t, key, h)
			var cps []minio.CompletePart
			for i, p := range [][]byte{p1, p2} {
				var ph map[string]string
				if cs.IsSet() {
					ph = map[string]string{cs.Key(): cs.EncodeToString(p)}
				}
				resp, out := part(t, key, id, i+1, p, ph)
				if resp.StatusCode != 200 {
					t.Fatalf("part %d: %d %s", i+1, resp.StatusCode, out)
				}
				cp := minio.CompletePart{PartNumber: i + 1, ETag: md5hex(p)}
				switch cs {
				case minio.ChecksumCRC32:
					cp.ChecksumCRC32 = cs.EncodeToString(p)
				case minio.ChecksumSHA1:
					cp.ChecksumSHA1 = cs.EncodeToString(p)
				}
				cps = append(cps, cp)
			}
			return id, cps
		}
		// body is the Complete document listing cps, with the checksums
		// of the parts in withSums only.
		body := func(cps []minio.CompletePart, withSums ...int) []byte {
			var b strings.Builder
			b.WriteString("<CompleteMultipartUpload>")
			for _, p := range cps {
				fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>", p.PartNumber, p.ETag)
				for _, n := range withSums {
					if n == p.PartNumber && p.ChecksumCRC32 != "" {
						fmt.Fprintf(&b, "<ChecksumCRC32>%s</ChecksumCRC32>", p.ChecksumCRC32)
					}
					if n == p.PartNumber && p.ChecksumSHA1 != "" {
						fmt.Fprintf(&b, "<ChecksumSHA1>%s</ChecksumSHA1>", p.ChecksumSHA1)
					}
				}
				b.WriteString("</Part>")
			}
			b.WriteString("</CompleteMultipartUpload>")
			return []byte(b.String())
		}
		tests := []struct {
			name     string
			h        map[string]string
			cs       minio.ChecksumType
			withSums []int
			msg      string // "": completes
		}{
			{"COMPOSITE CRC32, a part's checksum missing", map[string]string{"x-amz-checksum-algorithm": "CRC32"}, minio.ChecksumCRC32, []int{1},
				"The upload was created using a crc32 checksum. The complete request must include the checksum for each part. It was missing for part 2 in the request."},
			{"COMPOSITE SHA1, no part checksums", map[string]string{"x-amz-checksum-algorithm": "SHA1"}, minio.ChecksumSHA1, nil,
				"The upload was created using a sha1 checksum. The complete request must include the checksum for each part. It was missing for part 1 in the request."},
			{"COMPOSITE CRC32, every part's checksum", map[string]string{"x-amz-checksum-algorithm": "CRC32"}, minio.ChecksumCRC32, []int{1, 2}, ""},
			// A FULL_OBJECT checksum is the object's CRC, checked whole:
			// AWS does not ask for the parts'.
			{"FULL_OBJECT CRC32, no part checksums", map[string]string{"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "FULL_OBJECT"},
				minio.ChecksumCRC32, nil, ""},
			{"CRC64NVME, no part checksums", map[string]string{"x-amz-checksum-algorithm": "CRC64NVME"}, minio.ChecksumNone, nil, ""},
			// Without an algorithm each part got the default CRC64NVME,
			// which the client never saw: nothing is required.
			{"no algorithm, no part checksums", nil, minio.ChecksumNone, nil, ""},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key := fmt.Sprintf("complete-%d", i)
				id, cps := upload(t, key, tt.h, tt.cs)
				resp, out := e.do(rawRequest{method: "POST", path: "/mprule/" + key + "?uploadId=" + id, body: body(cps, tt.withSums...)})
				if tt.msg != "" {
					wantErrorMessage(t, resp, out, 400, "InvalidRequest", tt.msg)
					if _, ok := e.store.buckets["mprule"].objects[key]; ok {
						t.Fatal("object stored despite the error")
					}
					return
				}
				if resp.StatusCode != 200 {
					t.Fatalf("complete: %d %s", resp.StatusCode, out)
				}
			})
		}
	})

	t.Run("wrong whole-object checksum names the algorithm", func(t *testing.T) {
		id := create(t, "whole", map[string]string{"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "FULL_OBJECT"})
		if resp, out := part(t, "whole", id, 1, p2, nil); resp.StatusCode != 200 {
			t.Fatalf("part: %d %s", resp.StatusCode, out)
		}
		b := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>`, md5hex(p2))
		resp, out := e.do(rawRequest{method: "POST", path: "/mprule/whole?uploadId=" + id, body: []byte(b),
			header: map[string]string{"x-amz-checksum-crc32": minio.ChecksumCRC32.EncodeToString([]byte("other"))}})
		wantErrorMessage(t, resp, out, 400, "BadDigest", "The CRC32 you specified did not match the calculated checksum.")
	})
}

// TestCheckObjectSize: a completion is refused, as AWS refuses it, when its
// parts add up to more than 5 TiB of the client's bytes; before, 10,000
// parts of 5 GiB made a 48 TiB object.
func TestCheckObjectSize(t *testing.T) {
	parts := func(sizes ...int64) []storage.PartInfo {
		var ps []storage.PartInfo
		for i, s := range sizes {
			ps = append(ps, storage.PartInfo{Number: i + 1, Size: s})
		}
		return ps
	}
	for _, tt := range []struct {
		name  string
		parts []storage.PartInfo
		ok    bool
	}{
		{"one part", parts(5 << 20), true},
		{"exactly 5 TiB", parts(5<<40-5<<30, 5<<30), true},
		{"one byte more", parts(5<<40-5<<30, 5<<30+1), false},
		{"two parts of 3 TiB", parts(3<<40, 3<<40), false},
	} {
		err := checkObjectSize(tt.parts)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, errEntityTooLarge)) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
