package s3api

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/s3api/checksum"
)

// The default checksum: every object written without a checksum gets a
// FULL_OBJECT CRC64NVME, as AWS S3 does since 2025. The expected values
// come from minio-go's own CRC64NVME hasher, so a wrong polynomial, byte
// order or combination on the server shows up.

// plainClient is a minio-go client that sends no checksum of its own:
// without trailing-header support it adds no CRC32C to uploads.
func (e *testEnv) plainClient() *minio.Client {
	e.t.Helper()
	c, err := minio.New(e.srv.Listener.Addr().String(), &minio.Options{
		Creds:      credentials.NewStaticV4(testAccessKey, testSecretKey, ""),
		Region:     testRegion,
		MaxRetries: 1,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func crc64Of(b []byte) string { return minio.ChecksumCRC64NVME.EncodeToString(b) }

// storedChecksums returns the checksum headers an object's metadata holds,
// and its x-amz-checksum-type.
func storedChecksums(md map[string]string) (map[string]string, string) {
	got := map[string]string{}
	for _, a := range checksum.Algorithms() {
		if v := md[a.Header()]; v != "" {
			got[a.Header()] = v
		}
	}
	return got, md[mdChecksumType]
}

// wantOnly fails unless md stores exactly one checksum, header = value,
// of type ctype.
func wantOnly(t *testing.T, md map[string]string, header, value, ctype string) {
	t.Helper()
	got, typ := storedChecksums(md)
	if len(got) != 1 || got[header] != value || typ != ctype {
		t.Fatalf("stored %v type %q, want only %s=%s %s", got, typ, header, value, ctype)
	}
}

// readChecked GETs an object with checksum mode, which makes minio-go
// verify the body against the checksum the server returns.
func readChecked(t *testing.T, c *minio.Client, bucket, key string) ([]byte, minio.ObjectInfo, error) {
	t.Helper()
	obj, err := c.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{Checksum: true})
	if err != nil {
		return nil, minio.ObjectInfo{}, err
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		return b, minio.ObjectInfo{}, err
	}
	st, err := obj.Stat()
	return b, st, err
}

func TestDefaultChecksumPut(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("dflt")
	c := e.plainClient()

	tests := []struct {
		name string
		size int
		opts minio.PutObjectOptions
	}{
		{"empty", 0, minio.PutObjectOptions{}},
		{"small/signed", 10<<10 + 7, minio.PutObjectOptions{}},
		{"small/unsigned", 10<<10 + 7, minio.PutObjectOptions{DisableContentSha256: true}},
		{"small/content-md5", 10<<10 + 7, minio.PutObjectOptions{SendContentMd5: true}},
		// From parallelHashMin up the body is hashed by a ParallelReader.
		{"large/signed", 3<<20 + 5, minio.PutObjectOptions{}},
		{"large/unsigned", 3<<20 + 5, minio.PutObjectOptions{DisableContentSha256: true}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "put-" + strings.ReplaceAll(tt.name, "/", "-")
			data := randomBytes(t, int64(100+i), tt.size)
			want := crc64Of(data)
			opts := tt.opts
			opts.DisableMultipart = true
			info, err := c.PutObject(ctx, "dflt", key, bytes.NewReader(data), int64(len(data)), opts)
			if err != nil {
				t.Fatal(err)
			}
			if info.ChecksumCRC64NVME != want || info.ChecksumMode != "FULL_OBJECT" {
				t.Fatalf("PUT answered %q %q, want %q FULL_OBJECT", info.ChecksumCRC64NVME, info.ChecksumMode, want)
			}
			wantOnly(t, e.store.buckets["dflt"].objects[key].info.Metadata, "x-amz-checksum-crc64nvme", want, "FULL_OBJECT")

			st, err := c.StatObject(ctx, "dflt", key, minio.StatObjectOptions{Checksum: true})
			if err != nil || st.ChecksumCRC64NVME != want || st.ChecksumMode != "FULL_OBJECT" {
				t.Fatalf("HEAD: %q %q, %v", st.ChecksumCRC64NVME, st.ChecksumMode, err)
			}
			got, st, err := readChecked(t, c, "dflt", key)
			if err != nil || !bytes.Equal(got, data) || st.ChecksumCRC64NVME != want {
				t.Fatalf("GET %d bytes, checksum %q: %v", len(got), st.ChecksumCRC64NVME, err)
			}
			// Without checksum mode, and for a range, none is returned.
			resp, _ := e.do(rawRequest{method: "HEAD", path: "/dflt/" + key})
			if v := resp.Header.Get("x-amz-checksum-crc64nvme"); v != "" {
				t.Fatalf("checksum %q returned without x-amz-checksum-mode", v)
			}
			if tt.size > 0 {
				resp, _ = e.do(rawRequest{method: "GET", path: "/dflt/" + key, header: map[string]string{
					"x-amz-checksum-mode": "ENABLED", "Range": "bytes=0-0"}})
				if resp.StatusCode != 206 || resp.Header.Get("x-amz-checksum-crc64nvme") != "" {
					t.Fatalf("range GET: %d, checksum %q", resp.StatusCode, resp.Header.Get("x-amz-checksum-crc64nvme"))
				}
			}
		})
	}

	t.Run("raw request without any checksum header", func(t *testing.T) {
		data := []byte("hello world")
		resp, out := e.do(rawRequest{method: "PUT", path: "/dflt/raw", body: data})
		if resp.StatusCode != 200 || resp.Header.Get("x-amz-checksum-crc64nvme") != crc64Of(data) ||
			resp.Header.Get("x-amz-checksum-type") != "FULL_OBJECT" {
			t.Fatalf("PUT: %d %s %v", resp.StatusCode, out, resp.Header)
		}
	})

	t.Run("GET with checksum mode catches corrupt data", func(t *testing.T) {
		data := randomBytes(t, 7, 64<<10)
		if _, err := c.PutObject(ctx, "dflt", "rot", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := readChecked(t, c, "dflt", "rot"); err != nil {
			t.Fatalf("intact object: %v", err)
		}
		// What a bitrot the server missed would look like to a client.
		e.store.mu.Lock()
		e.store.buckets["dflt"].objects["rot"].data[1000] ^= 1
		e.store.mu.Unlock()
		if _, _, err := readChecked(t, c, "dflt", "rot"); err == nil {
			t.Fatal("minio-go read a corrupted body without an error: no checksum to check it against")
		}
	})

	t.Run("POST form upload", func(t *testing.T) {
		// Browser uploads (post.go) go through the same ingest.
		in, err := newIngest(map[string][]string{}, bytes.NewReader([]byte("form")), nil, checksum.None)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, in.hr); err != nil {
			t.Fatal(err)
		}
		_, stored, err := in.finish()
		if err != nil {
			t.Fatal(err)
		}
		wantOnly(t, stored, "x-amz-checksum-crc64nvme", crc64Of([]byte("form")), "FULL_OBJECT")
	})
}

// TestDefaultChecksumClientAlgorithm: a client that declares its own
// checksum gets exactly that one, and no CRC64NVME beside it.
func TestDefaultChecksumClientAlgorithm(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("own")
	data := randomBytes(t, 3, 3<<20+1)

	tests := []struct {
		name   string
		client *minio.Client // nil: a raw request with header
		opts   minio.PutObjectOptions
		header map[string]string // the raw request's checksum headers
		cs     minio.ChecksumType
	}{
		// With trailing headers minio-go adds a CRC32C trailer by itself.
		{"minio-go automatic CRC32C trailer", e.client, minio.PutObjectOptions{}, nil, minio.ChecksumCRC32C},
		{"SHA256 trailer", e.client, minio.PutObjectOptions{Checksum: minio.ChecksumSHA256, DisableContentSha256: true}, nil, minio.ChecksumSHA256},
		{"CRC64NVME chosen", e.client, minio.PutObjectOptions{Checksum: minio.ChecksumCRC64NVME}, nil, minio.ChecksumCRC64NVME},
		{"CRC32 header", nil, minio.PutObjectOptions{}, map[string]string{
			"x-amz-checksum-crc32": minio.ChecksumCRC32.EncodeToString(data)}, minio.ChecksumCRC32},
		{"XXHASH3 asked for without a value", nil, minio.PutObjectOptions{}, map[string]string{
			"x-amz-checksum-algorithm": "XXHASH3"}, minio.ChecksumXXHash3},
		{"SHA1 announced and sent, Content-MD5 sent", nil, minio.PutObjectOptions{}, map[string]string{
			"x-amz-sdk-checksum-algorithm": "SHA1", "x-amz-checksum-sha1": minio.ChecksumSHA1.EncodeToString(data),
			"Content-MD5": md5b64(data)}, minio.ChecksumSHA1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("own-%d", i)
			if tt.client == nil {
				resp, out := e.do(rawRequest{method: "PUT", path: "/own/" + key, body: data, header: tt.header})
				if resp.StatusCode != 200 {
					t.Fatalf("PUT: %d %s", resp.StatusCode, out)
				}
			} else {
				opts := tt.opts
				opts.DisableMultipart = true
				if _, err := tt.client.PutObject(ctx, "own", key, bytes.NewReader(data), int64(len(data)), opts); err != nil {
					t.Fatal(err)
				}
			}
			want := tt.cs.EncodeToString(data)
			wantOnly(t, e.store.buckets["own"].objects[key].info.Metadata, "x-amz-checksum-"+strings.ToLower(tt.cs.String()), want, "FULL_OBJECT")
		})
	}
}

// TestDefaultChecksumMultipart: an upload created without an algorithm
// gets a CRC64NVME per part and the FULL_OBJECT combination at the end.
func TestDefaultChecksumMultipart(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("mpd")
	c := e.plainClient()
	core := &minio.Core{Client: c}

	t.Run("minio-go PutObject in three parts", func(t *testing.T) {
		data := randomBytes(t, 11, 11<<20+3)
		want := crc64Of(data)
		info, err := c.PutObject(ctx, "mpd", "big", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if info.ChecksumCRC64NVME != want || info.ChecksumMode != "FULL_OBJECT" {
			t.Fatalf("Complete answered %q %q, want %q FULL_OBJECT", info.ChecksumCRC64NVME, info.ChecksumMode, want)
		}
		o := e.store.buckets["mpd"].objects["big"]
		if len(o.info.Parts) != 3 {
			t.Fatalf("%d parts, want 3", len(o.info.Parts))
		}
		wantOnly(t, o.info.Metadata, "x-amz-checksum-crc64nvme", want, "FULL_OBJECT")
		st, err := c.StatObject(ctx, "mpd", "big", minio.StatObjectOptions{Checksum: true})
		if err != nil || st.ChecksumCRC64NVME != want || st.ChecksumMode != "FULL_OBJECT" {
			t.Fatalf("HEAD: %q %q, %v", st.ChecksumCRC64NVME, st.ChecksumMode, err)
		}
		got, _, err := readChecked(t, c, "mpd", "big")
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GET %d bytes: %v", len(got), err)
		}
		// A part is not the object: AWS returns no CRC64NVME for a part of
		// a FULL_OBJECT upload (minio-go allows the part's own value, as
		// AWS "may in the future"); the object's value would be wrong.
		resp, body := e.do(rawRequest{method: "GET", path: "/mpd/big?partNumber=2", header: map[string]string{"x-amz-checksum-mode": "ENABLED"}})
		if v := resp.Header.Get("x-amz-checksum-crc64nvme"); resp.StatusCode != 206 || len(body) != 5<<20 || (v != "" && v != crc64Of(data[5<<20:10<<20])) {
			t.Fatalf("GET part 2: %d, %d bytes, checksum %q", resp.StatusCode, len(body), v)
		}
	})

	e.store.minPartSize = 1 << 10 // small parts keep the next cases quick
	p1, p2 := randomBytes(t, 12, 3<<20), randomBytes(t, 13, 4<<10+1)

	t.Run("parts, ListParts and Complete", func(t *testing.T) {
		id, err := core.NewMultipartUpload(ctx, "mpd", "parts", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var cps []minio.CompletePart
		for i, p := range [][]byte{p1, p2} {
			op, err := core.PutObjectPart(ctx, "mpd", "parts", id, i+1, bytes.NewReader(p), int64(len(p)), minio.PutObjectPartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if op.ChecksumCRC64NVME != crc64Of(p) {
				t.Fatalf("part %d answered CRC64NVME %q, want %q", i+1, op.ChecksumCRC64NVME, crc64Of(p))
			}
			cps = append(cps, minio.CompletePart{PartNumber: i + 1, ETag: op.ETag, ChecksumCRC64NVME: op.ChecksumCRC64NVME})
		}
		lp, err := core.ListObjectParts(ctx, "mpd", "parts", id, 0, 10)
		if err != nil || len(lp.ObjectParts) != 2 || lp.ObjectParts[0].ChecksumCRC64NVME != crc64Of(p1) ||
			lp.ObjectParts[1].ChecksumCRC64NVME != crc64Of(p2) {
			t.Fatalf("ListParts = %+v, %v", lp, err)
		}
		// The upload itself declared no algorithm, and ListParts says so.
		if lp.ChecksumAlgorithm != "" || lp.ChecksumType != "" {
			t.Fatalf("ListParts algorithm %q type %q, want none", lp.ChecksumAlgorithm, lp.ChecksumType)
		}

		// A wrong whole-object value the client sends is refused.
		body := completeBody(cps)
		resp, out := e.do(rawRequest{method: "POST", path: "/mpd/parts?uploadId=" + id, body: body,
			header: map[string]string{"x-amz-checksum-crc64nvme": crc64Of([]byte("other"))}})
		wantError(t, resp, out, 400, "BadDigest")

		whole := append(append([]byte{}, p1...), p2...)
		resp, out = e.do(rawRequest{method: "POST", path: "/mpd/parts?uploadId=" + id, body: body,
			header: map[string]string{"x-amz-checksum-crc64nvme": crc64Of(whole)}})
		var res completeMultipartUploadResult
		if err := xml.Unmarshal(out, &res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("complete: %d %s %v", resp.StatusCode, out, err)
		}
		if res.ChecksumCRC64NVME != crc64Of(whole) || res.ChecksumType != "FULL_OBJECT" {
			t.Fatalf("complete result %q %q, want %q FULL_OBJECT", res.ChecksumCRC64NVME, res.ChecksumType, crc64Of(whole))
		}
		wantOnly(t, e.store.buckets["mpd"].objects["parts"].info.Metadata, "x-amz-checksum-crc64nvme", crc64Of(whole), "FULL_OBJECT")
	})

	t.Run("upload with an algorithm keeps it", func(t *testing.T) {
		id, err := core.NewMultipartUpload(ctx, "mpd", "crc32", minio.PutObjectOptions{
			UserMetadata: map[string]string{"x-amz-checksum-algorithm": "CRC32"}})
		if err != nil {
			t.Fatal(err)
		}
		// The part comes without a checksum: it gets the upload's CRC32,
		// not the default.
		op, err := core.PutObjectPart(ctx, "mpd", "crc32", id, 1, bytes.NewReader(p2), int64(len(p2)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if op.ChecksumCRC64NVME != "" || op.ChecksumCRC32 != minio.ChecksumCRC32.EncodeToString(p2) {
			t.Fatalf("part checksums CRC64NVME %q CRC32 %q", op.ChecksumCRC64NVME, op.ChecksumCRC32)
		}
		if _, err := core.CompleteMultipartUpload(ctx, "mpd", "crc32", id, []minio.CompletePart{
			{PartNumber: 1, ETag: op.ETag, ChecksumCRC32: op.ChecksumCRC32}}, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		want := compositeOf(minio.ChecksumCRC32, p2)
		wantOnly(t, e.store.buckets["mpd"].objects["crc32"].info.Metadata, "x-amz-checksum-crc32", want, "COMPOSITE")
	})

	t.Run("upload with parts from before the default", func(t *testing.T) {
		id, err := core.NewMultipartUpload(ctx, "mpd", "legacy", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var cps []minio.CompletePart
		for i, p := range [][]byte{p1, p2} {
			op, err := core.PutObjectPart(ctx, "mpd", "legacy", id, i+1, bytes.NewReader(p), int64(len(p)), minio.PutObjectPartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cps = append(cps, minio.CompletePart{PartNumber: i + 1, ETag: op.ETag})
		}
		// Part 1 as an older objstore stored it: no checksum at all.
		e.store.mu.Lock()
		delete(e.store.uploads[id].parts[1].info.Metadata, "x-amz-checksum-crc64nvme")
		e.store.mu.Unlock()
		if _, err := core.CompleteMultipartUpload(ctx, "mpd", "legacy", id, cps, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("an upload begun before the default must still complete: %v", err)
		}
		if got, typ := storedChecksums(e.store.buckets["mpd"].objects["legacy"].info.Metadata); len(got) != 0 || typ != "" {
			t.Fatalf("stored %v %q for an object whose parts are not all covered", got, typ)
		}
		st, err := c.StatObject(ctx, "mpd", "legacy", minio.StatObjectOptions{Checksum: true})
		if err != nil || st.ChecksumCRC64NVME != "" || st.ChecksumMode != "" {
			t.Fatalf("HEAD: %q %q, %v", st.ChecksumCRC64NVME, st.ChecksumMode, err)
		}
		if got, _, err := readChecked(t, c, "mpd", "legacy"); err != nil || len(got) != len(p1)+len(p2) {
			t.Fatalf("GET %d bytes: %v", len(got), err)
		}
	})

	t.Run("UploadPartCopy", func(t *testing.T) {
		src := randomBytes(t, 14, 8<<10)
		if _, err := c.PutObject(ctx, "mpd", "cpsrc", bytes.NewReader(src), int64(len(src)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			t.Fatal(err)
		}
		id, err := core.NewMultipartUpload(ctx, "mpd", "cpdst", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		resp, out := e.do(rawRequest{method: "PUT", path: "/mpd/cpdst?partNumber=1&uploadId=" + id,
			header: map[string]string{"x-amz-copy-source": "/mpd/cpsrc", "x-amz-copy-source-range": "bytes=0-4095"}})
		var cr copyPartResult
		if err := xml.Unmarshal(out, &cr); err != nil || resp.StatusCode != 200 {
			t.Fatalf("copy part: %d %s %v", resp.StatusCode, out, err)
		}
		if cr.ChecksumCRC64NVME != crc64Of(src[:4096]) {
			t.Fatalf("copied part CRC64NVME %q, want %q", cr.ChecksumCRC64NVME, crc64Of(src[:4096]))
		}
		op, err := core.PutObjectPart(ctx, "mpd", "cpdst", id, 2, bytes.NewReader(p2), int64(len(p2)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		info, err := core.CompleteMultipartUpload(ctx, "mpd", "cpdst", id, []minio.CompletePart{
			{PartNumber: 1, ETag: cr.ETag}, {PartNumber: 2, ETag: op.ETag}}, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		whole := append(append([]byte{}, src[:4096]...), p2...)
		if info.ChecksumCRC64NVME != crc64Of(whole) {
			t.Fatalf("object CRC64NVME %q, want %q", info.ChecksumCRC64NVME, crc64Of(whole))
		}
	})
}

// completeBody is a CompleteMultipartUpload document for parts.
func completeBody(parts []minio.CompletePart) []byte {
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for _, p := range parts {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>", p.PartNumber, p.ETag)
		if p.ChecksumCRC64NVME != "" {
			fmt.Fprintf(&b, "<ChecksumCRC64NVME>%s</ChecksumCRC64NVME>", p.ChecksumCRC64NVME)
		}
		b.WriteString("</Part>")
	}
	b.WriteString("</CompleteMultipartUpload>")
	return []byte(b.String())
}

// TestDefaultChecksumCopy: what a copy stores, as minio-go's functional
// tests (testCopyObjectWithChecksums, testReplaceObjectWithChecksums)
// and AWS expect it.
func TestDefaultChecksumCopy(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.mustMakeBucket("cpy")
	c := e.plainClient()
	data := randomBytes(t, 21, 33<<10)
	crc := crc64Of(data)

	// put writes a fresh source; legacy strips its checksum, as if an
	// older objstore had written it.
	put := func(t *testing.T, key string, legacy bool) {
		t.Helper()
		if _, err := c.PutObject(ctx, "cpy", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			t.Fatal(err)
		}
		if legacy {
			e.store.mu.Lock()
			md := e.store.buckets["cpy"].objects[key].info.Metadata
			delete(md, "x-amz-checksum-crc64nvme")
			delete(md, mdChecksumType)
			e.store.mu.Unlock()
		}
	}

	tests := []struct {
		name      string
		legacy    bool // the source has no checksum
		self      bool // CopyObject onto itself, REPLACE
		requested minio.ChecksumType
		header    string // the one checksum the copy must store
		value     string
	}{
		{"default source, no algorithm", false, false, minio.ChecksumNone, "x-amz-checksum-crc64nvme", crc},
		{"legacy source, no algorithm", true, false, minio.ChecksumNone, "x-amz-checksum-crc64nvme", crc},
		{"default source, CRC32C asked", false, false, minio.ChecksumCRC32C, "x-amz-checksum-crc32c", minio.ChecksumCRC32C.EncodeToString(data)},
		{"default source, SHA1 asked", false, false, minio.ChecksumSHA1, "x-amz-checksum-sha1", minio.ChecksumSHA1.EncodeToString(data)},
		{"default source, CRC64NVME asked", false, false, minio.ChecksumCRC64NVME, "x-amz-checksum-crc64nvme", crc},
		{"self, default source, no algorithm", false, true, minio.ChecksumNone, "x-amz-checksum-crc64nvme", crc},
		{"self, legacy source, no algorithm", true, true, minio.ChecksumNone, "x-amz-checksum-crc64nvme", crc},
		{"self, default source, CRC32 asked", false, true, minio.ChecksumCRC32, "x-amz-checksum-crc32", minio.ChecksumCRC32.EncodeToString(data)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("src-%d", i)
			put(t, src, tt.legacy)
			dst := src + "-copy"
			if tt.self {
				dst = src
			}
			_, err := c.CopyObject(ctx, minio.CopyDestOptions{
				Bucket: "cpy", Object: dst, ReplaceMetadata: true, ChecksumType: tt.requested,
				UserMetadata: map[string]string{"Test": "x"},
			}, minio.CopySrcOptions{Bucket: "cpy", Object: src})
			if err != nil {
				t.Fatal(err)
			}
			o := e.store.buckets["cpy"].objects[dst]
			wantOnly(t, o.info.Metadata, tt.header, tt.value, "FULL_OBJECT")
			if o.info.Metadata["x-amz-meta-test"] != "x" {
				t.Fatalf("metadata not replaced: %v", o.info.Metadata)
			}
			st, err := c.StatObject(ctx, "cpy", dst, minio.StatObjectOptions{Checksum: true})
			if err != nil || st.ChecksumMode != "FULL_OBJECT" {
				t.Fatalf("HEAD mode %q, %v", st.ChecksumMode, err)
			}
			if got, _, err := readChecked(t, c, "cpy", dst); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("GET %d bytes: %v", len(got), err)
			}
		})
	}

	t.Run("source checksum still verified when another is asked for", func(t *testing.T) {
		put(t, "bad", false)
		e.store.mu.Lock()
		e.store.buckets["cpy"].objects["bad"].data[5] ^= 0x80
		e.store.mu.Unlock()
		_, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: "cpy", Object: "bad-copy", ChecksumType: minio.ChecksumCRC32C},
			minio.CopySrcOptions{Bucket: "cpy", Object: "bad"})
		if err == nil {
			t.Fatal("a corrupt source was copied: its CRC64NVME was not checked")
		}
		if _, ok := e.store.buckets["cpy"].objects["bad-copy"]; ok {
			t.Fatal("the corrupt copy was stored")
		}
	})
}

// TestEncryptedWithComputes checks what an ingest computes and stores
// once encryptedWith has seen the object's encryption: under SSE-KMS and
// SSE-C the default CRC64NVME, which nobody asked for and nothing checks,
// is not even computed; a copy source's checksum is still verified but
// not stored; one the client asked for is kept.
func TestEncryptedWithComputes(t *testing.T) {
	body := []byte("what the encrypted object holds")
	tests := []struct {
		name       string
		in         func() *ingest
		enc        *objectEncryption
		wantAlgs   []checksum.Algorithm
		wantStored []string
		wantErr    bool
	}{
		{"plain keeps the default", defaultIngest, nil,
			[]checksum.Algorithm{checksum.Default}, []string{checksum.Default.Header()}, false},
		{"SSE-S3 keeps the default", defaultIngest, &objectEncryption{mode: modeS3},
			[]checksum.Algorithm{checksum.Default}, []string{checksum.Default.Header()}, false},
		{"SSE-KMS does not compute the default", defaultIngest, &objectEncryption{mode: modeKMS},
			nil, nil, false},
		{"SSE-C does not compute the default", defaultIngest, &objectEncryption{mode: modeC},
			nil, nil, false},
		{"SSE-KMS keeps an asked-for checksum", func() *ingest {
			in, err := declaredIngest(map[string][]string{"X-Amz-Checksum-Crc32c": {checksumOf(checksum.CRC32C, body)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return in
		}, &objectEncryption{mode: modeKMS},
			[]checksum.Algorithm{checksum.CRC32C}, []string{checksum.CRC32C.Header()}, false},
		{"SSE-C verifies a copy source's checksum without storing it", func() *ingest {
			return copyIngest(bytes.NewReader(body), map[string]string{checksum.SHA256.Header(): checksumOf(checksum.SHA256, body)}, false, checksum.None, true)
		}, &objectEncryption{mode: modeC},
			[]checksum.Algorithm{checksum.SHA256}, nil, false},
		{"SSE-C still refuses a copy source that does not match", func() *ingest {
			return copyIngest(bytes.NewReader(body), map[string]string{checksum.SHA256.Header(): checksumOf(checksum.SHA256, []byte("other"))}, false, checksum.None, true)
		}, &objectEncryption{mode: modeC},
			[]checksum.Algorithm{checksum.SHA256}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in()
			in.encryptedWith(tt.enc)
			if in.hr == nil {
				in.hashBody(bytes.NewReader(body), int64(len(body)), nil)
			}
			if !slices.Equal(in.algs, tt.wantAlgs) {
				t.Errorf("computes %v, want %v", in.algs, tt.wantAlgs)
			}
			if _, err := io.Copy(io.Discard, in.hr); err != nil {
				t.Fatal(err)
			}
			_, stored, err := in.finish()
			if tt.wantErr {
				if err == nil {
					t.Fatal("finish accepted a body that does not match the source's checksum")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := storedChecksums(stored)
			if len(got) != len(tt.wantStored) {
				t.Errorf("stores %v, want %v", got, tt.wantStored)
			}
			for _, h := range tt.wantStored {
				if got[h] == "" {
					t.Errorf("stores %v, want %s among them", got, h)
				}
			}
		})
	}
}

// defaultIngest is the ingest of a PUT that declares no checksum.
func defaultIngest() *ingest {
	in, err := declaredIngest(map[string][]string{}, nil)
	if err != nil {
		panic(err)
	}
	return in
}

// checksumOf is a's base64 value of b, as a client would send it.
func checksumOf(a checksum.Algorithm, b []byte) string {
	r := checksum.NewReader(bytes.NewReader(b), a)
	if _, err := io.Copy(io.Discard, r); err != nil {
		panic(err)
	}
	return r.Sum(a)
}
