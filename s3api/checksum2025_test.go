package s3api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/s3api/checksum"
)

// The checksum algorithms AWS added in 2025, through minio-go: its own
// hashers (ChecksumType.Hasher) compute the values the server must agree
// with, so a wrong library, seed or byte order on either side shows up.
var newAlgorithms = []struct {
	alg checksum.Algorithm
	cs  minio.ChecksumType
}{
	{checksum.MD5, minio.ChecksumMD5},
	{checksum.SHA512, minio.ChecksumSHA512},
	{checksum.XXHASH64, minio.ChecksumXXHash64},
	{checksum.XXHASH3, minio.ChecksumXXHash3},
	{checksum.XXHASH128, minio.ChecksumXXHash128},
}

// pickChecksum returns the value for cs among the new algorithms' fields
// of a minio-go result.
func pickChecksum(cs minio.ChecksumType, md5, sha512, xx64, xx3, xx128 string) string {
	switch cs {
	case minio.ChecksumMD5:
		return md5
	case minio.ChecksumSHA512:
		return sha512
	case minio.ChecksumXXHash64:
		return xx64
	case minio.ChecksumXXHash3:
		return xx3
	case minio.ChecksumXXHash128:
		return xx128
	}
	return ""
}

func uploadChecksum(cs minio.ChecksumType, i minio.UploadInfo) string {
	return pickChecksum(cs, i.ChecksumMD5, i.ChecksumSHA512, i.ChecksumXXHash64, i.ChecksumXXHash3, i.ChecksumXXHash128)
}

func objectChecksumOf(cs minio.ChecksumType, i minio.ObjectInfo) string {
	return pickChecksum(cs, i.ChecksumMD5, i.ChecksumSHA512, i.ChecksumXXHash64, i.ChecksumXXHash3, i.ChecksumXXHash128)
}

// compositeOf is AWS's COMPOSITE value: the hash of the parts' raw
// digests, base64, "-N".
func compositeOf(cs minio.ChecksumType, parts ...[]byte) string {
	var raw []byte
	for _, p := range parts {
		h := cs.Hasher()
		h.Write(p)
		raw = h.Sum(raw)
	}
	return cs.EncodeToString(raw) + fmt.Sprintf("-%d", len(parts))
}

func TestNewChecksumAlgorithmsPut(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("ck25")
	data := randomBytes(t, 25, 10<<10+7)

	for _, tt := range newAlgorithms {
		want := tt.cs.EncodeToString(data)
		t.Run(tt.alg.String()+"/header", func(t *testing.T) {
			key := "hdr-" + tt.alg.String()
			info, err := e.client.PutObject(ctx, "ck25", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
				DisableMultipart: true, DisableContentSha256: true,
				UserMetadata: map[string]string{"x-amz-checksum-algorithm": tt.cs.String(), tt.cs.Key(): want},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := uploadChecksum(tt.cs, info); got != want || info.ChecksumMode != "FULL_OBJECT" {
				t.Fatalf("PUT answered %q %q, want %q FULL_OBJECT", got, info.ChecksumMode, want)
			}
			md := e.store.buckets["ck25"].objects[key].info.Metadata
			if md[tt.alg.Header()] != want || md["x-amz-checksum-type"] != "FULL_OBJECT" {
				t.Fatalf("stored %q type %q", md[tt.alg.Header()], md["x-amz-checksum-type"])
			}
			st, err := e.client.StatObject(ctx, "ck25", key, minio.StatObjectOptions{Checksum: true})
			if err != nil || objectChecksumOf(tt.cs, st) != want || st.ChecksumMode != "FULL_OBJECT" {
				t.Fatalf("HEAD checksum %q mode %q, %v", objectChecksumOf(tt.cs, st), st.ChecksumMode, err)
			}
			// minio-go checks the body against the returned checksum as
			// it reads it.
			obj, err := e.client.GetObject(ctx, "ck25", key, minio.GetObjectOptions{Checksum: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(obj)
			obj.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("GET %d bytes, %v", len(got), err)
			}
			// Not asked for: not returned.
			resp, _ := e.do(rawRequest{method: "HEAD", path: "/ck25/" + key})
			if resp.Header.Get(tt.alg.Header()) != "" {
				t.Fatal("checksum returned without x-amz-checksum-mode")
			}
			// A range gets no whole-object checksum.
			resp, _ = e.do(rawRequest{method: "GET", path: "/ck25/" + key, header: map[string]string{
				"x-amz-checksum-mode": "ENABLED", "Range": "bytes=100-1000"}})
			if resp.StatusCode != 206 || resp.Header.Get(tt.alg.Header()) != "" {
				t.Fatalf("range GET: %d, checksum %q", resp.StatusCode, resp.Header.Get(tt.alg.Header()))
			}
		})
		t.Run(tt.alg.String()+"/trailer", func(t *testing.T) {
			key := "trl-" + tt.alg.String()
			for _, unsigned := range []bool{false, true} {
				_, err := e.client.PutObject(ctx, "ck25", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
					DisableMultipart: true, DisableContentSha256: unsigned, Checksum: tt.cs,
				})
				if err != nil {
					t.Fatalf("unsigned %v: %v", unsigned, err)
				}
				o := e.store.buckets["ck25"].objects[key]
				if !bytes.Equal(o.data, data) || o.info.Metadata[tt.alg.Header()] != want {
					t.Fatalf("unsigned %v: stored %d bytes, checksum %q, want %q", unsigned, len(o.data), o.info.Metadata[tt.alg.Header()], want)
				}
			}
		})
		t.Run(tt.alg.String()+"/mismatch", func(t *testing.T) {
			key := "bad-" + tt.alg.String()
			// The checksum of no data, as minio-go's functional test sends.
			empty := tt.cs.EncodeToString(nil)
			_, err := e.client.PutObject(ctx, "ck25", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
				DisableMultipart: true, UserMetadata: map[string]string{tt.cs.Key(): empty},
			})
			if minio.ToErrorResponse(err).Code != "BadDigest" {
				t.Fatalf("err = %v, want BadDigest", err)
			}
			resp, body := e.do(rawRequest{method: "PUT", path: "/ck25/" + key, body: data, header: map[string]string{tt.alg.Header(): empty}})
			wantError(t, resp, body, 400, "BadDigest")
			if _, ok := e.store.buckets["ck25"].objects[key]; ok {
				t.Fatal("object stored despite BadDigest")
			}
			// Base64 of the wrong length: malformed, not a mismatch.
			resp, body = e.do(rawRequest{method: "PUT", path: "/ck25/" + key, body: data, header: map[string]string{tt.alg.Header(): "AAAAAA=="}})
			wantError(t, resp, body, 400, "InvalidRequest")
		})
	}
}

func TestNewChecksumAlgorithmsMultipart(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("ck25mp")
	data := randomBytes(t, 26, 11<<20)
	parts := [][]byte{data[:5<<20], data[5<<20 : 10<<20], data[10<<20:]}

	for _, tt := range newAlgorithms {
		t.Run(tt.alg.String(), func(t *testing.T) {
			key := "mp-" + tt.alg.String()
			want := compositeOf(tt.cs, parts...)
			info, err := e.client.PutObject(ctx, "ck25mp", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
				PartSize: 5 << 20, Checksum: tt.cs, DisableContentSha256: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := uploadChecksum(tt.cs, info); got != want {
				t.Fatalf("CompleteMultipartUpload answered %q, want %q", got, want)
			}
			md := e.store.buckets["ck25mp"].objects[key].info.Metadata
			if md[tt.alg.Header()] != want || md["x-amz-checksum-type"] != "COMPOSITE" {
				t.Fatalf("stored %q type %q, want %q COMPOSITE", md[tt.alg.Header()], md["x-amz-checksum-type"], want)
			}
			st, err := e.client.StatObject(ctx, "ck25mp", key, minio.StatObjectOptions{Checksum: true})
			if err != nil || objectChecksumOf(tt.cs, st) != want || st.ChecksumMode != "COMPOSITE" {
				t.Fatalf("HEAD checksum %q mode %q, %v", objectChecksumOf(tt.cs, st), st.ChecksumMode, err)
			}
			// A copy is one piece: AWS gives it the whole object's value.
			if _, err := e.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: "ck25mp", Object: key + "-copy"},
				minio.CopySrcOptions{Bucket: "ck25mp", Object: key}); err != nil {
				t.Fatal(err)
			}
			st, err = e.client.StatObject(ctx, "ck25mp", key+"-copy", minio.StatObjectOptions{Checksum: true})
			if whole := tt.cs.EncodeToString(data); err != nil || objectChecksumOf(tt.cs, st) != whole || st.ChecksumMode != "FULL_OBJECT" {
				t.Fatalf("copy's checksum %q mode %q, want %q FULL_OBJECT; %v", objectChecksumOf(tt.cs, st), st.ChecksumMode, whole, err)
			}
		})
	}

	t.Run("ListParts and the upload's algorithm", func(t *testing.T) {
		id, err := e.core.NewMultipartUpload(ctx, "ck25mp", "lp", minio.PutObjectOptions{
			UserMetadata: map[string]string{"x-amz-checksum-algorithm": "XXHASH128"}})
		if err != nil {
			t.Fatal(err)
		}
		p := []byte("one part")
		sum := minio.ChecksumXXHash128.EncodeToString(p)
		resp, out := e.do(rawRequest{method: "PUT", path: "/ck25mp/lp?uploadId=" + id + "&partNumber=1", body: p,
			header: map[string]string{"x-amz-checksum-xxhash128": sum}})
		if resp.StatusCode != 200 || resp.Header.Get("x-amz-checksum-xxhash128") != sum {
			t.Fatalf("part: %d %s %v", resp.StatusCode, out, resp.Header)
		}
		lp, err := e.core.ListObjectParts(ctx, "ck25mp", "lp", id, 0, 10)
		if err != nil || len(lp.ObjectParts) != 1 || lp.ObjectParts[0].ChecksumXXHash128 != sum ||
			lp.ChecksumAlgorithm != "XXHASH128" || lp.ChecksumType != "COMPOSITE" {
			t.Fatalf("ListParts = %+v, %v", lp, err)
		}
		// The part's checksum listed at completion must be the stored one.
		body := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag><ChecksumXXHASH128>%s</ChecksumXXHASH128></Part></CompleteMultipartUpload>`,
			md5hex(p), minio.ChecksumXXHash128.EncodeToString([]byte("other")))
		resp, out = e.do(rawRequest{method: "POST", path: "/ck25mp/lp?uploadId=" + id, body: []byte(body)})
		wantError(t, resp, out, 400, "InvalidPart")
		// A wrong whole-object value: BadDigest, nothing stored.
		body = fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag><ChecksumXXHASH128>%s</ChecksumXXHASH128></Part></CompleteMultipartUpload>`, md5hex(p), sum)
		resp, out = e.do(rawRequest{method: "POST", path: "/ck25mp/lp?uploadId=" + id, body: []byte(body),
			header: map[string]string{"x-amz-checksum-xxhash128": compositeOf(minio.ChecksumXXHash128, []byte("x"))}})
		wantError(t, resp, out, 400, "BadDigest")
		if _, ok := e.store.buckets["ck25mp"].objects["lp"]; ok {
			t.Fatal("object stored despite BadDigest")
		}
		resp, out = e.do(rawRequest{method: "POST", path: "/ck25mp/lp?uploadId=" + id, body: []byte(body)})
		var res completeMultipartUploadResult
		if err := xml.Unmarshal(out, &res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("complete: %d %s %v", resp.StatusCode, out, err)
		}
		if want := compositeOf(minio.ChecksumXXHash128, p); res.ChecksumXXHASH128 != want || res.ChecksumType != "COMPOSITE" {
			t.Fatalf("complete result %q %q, want %q COMPOSITE", res.ChecksumXXHASH128, res.ChecksumType, want)
		}
	})

	t.Run("FULL_OBJECT refused for the hashes", func(t *testing.T) {
		for _, tt := range newAlgorithms {
			resp, out := e.do(rawRequest{method: "POST", path: "/ck25mp/fo?uploads", header: map[string]string{
				"x-amz-checksum-algorithm": tt.alg.String(), "x-amz-checksum-type": "FULL_OBJECT"}})
			wantError(t, resp, out, 400, "InvalidRequest")
			if want := "The FULL_OBJECT checksum type cannot be used with the " + strings.ToLower(tt.alg.String()) + " checksum algorithm."; !strings.Contains(string(out), want) {
				t.Fatalf("%s: message %s", tt.alg, out)
			}
		}
	})
}

// TestNewChecksumAlgorithmsXML: the result documents name the new
// elements as AWS does (ChecksumXXHASH64, not ChecksumXXHash64).
func TestNewChecksumAlgorithmsXML(t *testing.T) {
	md := map[string]string{}
	for _, tt := range newAlgorithms {
		md[tt.alg.Header()] = base64.StdEncoding.EncodeToString(make([]byte, tt.alg.Size()))
	}
	out, err := xml.Marshal(copyObjectResult{checksums: checksumsOf(md)})
	if err != nil {
		t.Fatal(err)
	}
	for _, el := range []string{"ChecksumMD5", "ChecksumSHA512", "ChecksumXXHASH64", "ChecksumXXHASH3", "ChecksumXXHASH128"} {
		if !strings.Contains(string(out), "<"+el+">") {
			t.Errorf("no <%s> in %s", el, out)
		}
	}
	for _, a := range checksum.Algorithms() {
		var c checksums
		c.set(a, "v")
		if c.get(a) != "v" {
			t.Errorf("%s: set/get lose the value", a)
		}
	}
}
