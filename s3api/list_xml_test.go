package s3api

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// pageStore answers every ListObjects with one fixed page, so that a
// test pins the handler's rendering of exactly that page and a benchmark
// measures the handler alone.
type pageStore struct {
	*fakeStore
	page storage.ListResult
}

func (s *pageStore) ListObjects(context.Context, string, storage.ListOptions) (storage.ListResult, error) {
	res := s.page
	res.Objects = append([]storage.ObjectInfo(nil), s.page.Objects...)
	return res, nil
}

// trickyKeys are object keys whose XML rendering needs care: the five
// escaped characters, whitespace controls, other control characters
// (encoding/xml writes U+FFFD for them), a literal U+FFFD, multi-byte
// UTF-8 and characters encoding-type=url must escape.
var trickyKeys = []string{
	"+plus", "a%2Fencoded", "amp&er", "apos'key", "cr\rkey", "ctrl\x01\x1fkey", "del\x7fkey",
	"emoji😀/x", "lt<gt>", "nl\nkey", "quote\"key", "replacement\uFFFDkey", "sp ace", "tab\tkey",
	"unicodé", "~tilde", "日本語/キー",
}

func trickyPage() storage.ListResult {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC)
	var res storage.ListResult
	for i, k := range trickyKeys {
		o := storage.ObjectInfo{Bucket: "list", Key: k, Size: int64(i * 1000), ETag: "9b2cf535f27731c974343645a3985328",
			ModTime: t0.Add(time.Duration(i) * 1001 * time.Millisecond)}
		switch i % 4 {
		case 1:
			o.ETag = "3858f62230ac3c915f300c664312c11f-2"
			o.Parts = []storage.ObjectPart{{Number: 1, Size: 5 << 20, ETag: "a"}, {Number: 2, Size: 7, ETag: "b"}}
		case 2:
			o.Metadata = map[string]string{"x-amz-checksum-crc32c": "yZRlqg==", "x-amz-checksum-type": "FULL_OBJECT",
				"x-amz-meta-color": "blue & <green>"}
		case 3:
			o.ETag = `"already-quoted"`
		}
		res.Objects = append(res.Objects, o)
	}
	res.Prefixes = []string{"dir&/", "pre<fix>/", "ünï/"}
	res.IsTruncated = true
	res.NextAfter = "ünï/"
	return res
}

func listHandler(t testing.TB, page storage.ListResult) *Handler {
	t.Helper()
	fs := newFakeStore()
	if err := fs.MakeBucket(context.Background(), "list", ""); err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Store: &pageStore{fakeStore: fs, page: page},
		Credentials: func(string) (string, bool) { return testSecretKey, true }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// listRequest signs a GET of target (path and raw query).
func listRequest(t testing.TB, target string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", "http://bench.local"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, testRegion, time.Now(), sha256Empty); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestListXMLGolden pins the listing documents byte for byte as the
// handler renders them, for keys and parameters that need escaping.
// The files were written by the encoding/xml rendering before the
// listing got its own encoder; run with -update only for an intended
// change of the wire format.
func TestListXMLGolden(t *testing.T) {
	h := listHandler(t, trickyPage())
	cases := []struct{ file, target string }{
		{"list_v2_tricky.xml", "/list?list-type=2"},
		{"list_v2_tricky_params.xml", "/list?list-type=2&prefix=%26%3C%22%27%09%0A%01%FF&delimiter=%3E&start-after=s%C3%A9%26&continuation-token=w7xuw68v&fetch-owner=true&max-keys=17"},
		{"list_v2_tricky_url.xml", "/list?list-type=2&encoding-type=url&prefix=a%20b%2B&delimiter=%2F&start-after=%E6%97%A5"},
		{"list_v2_tricky_metadata.xml", "/list?list-type=2&metadata=true"},
		{"list_v1_tricky.xml", "/list?prefix=%26&delimiter=%2F&marker=m%3C"},
		{"list_v1_tricky_url.xml", "/list?encoding-type=url&delimiter=%20&marker=%E2%82%AC"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			w := &recordingWriter{h: http.Header{}}
			h.ServeHTTP(w, listRequest(t, tc.target))
			if w.code != http.StatusOK {
				t.Fatalf("status %d: %s", w.code, w.body.Bytes())
			}
			got := w.body.Bytes()
			if cl := w.h.Get("Content-Length"); cl != strconv.Itoa(len(got)) {
				t.Fatalf("Content-Length %s for a body of %d bytes", cl, len(got))
			}
			if ct := w.h.Get("Content-Type"); ct != "application/xml" {
				t.Fatalf("Content-Type %q", ct)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestListXMLGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from the golden file:\n got: %q\nwant: %q", tc.file, got, want)
			}
		})
	}
}

// recordingWriter is a ResponseWriter that keeps the body.
type recordingWriter struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (w *recordingWriter) Header() http.Header         { return w.h }
func (w *recordingWriter) WriteHeader(c int)           { w.code = c }
func (w *recordingWriter) Write(p []byte) (int, error) { return w.body.Write(p) }

// benchPage is a page as the issue 5 listing benchmark sees it: 1,000
// plain keys under one prefix, simple PUTs of 1 KiB.
func benchPage() storage.ListResult {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var res storage.ListResult
	for i := range 1000 {
		res.Objects = append(res.Objects, storage.ObjectInfo{Bucket: "list", Key: fmt.Sprintf("bench/0f3a9c2e/obj/%08d", i),
			Size: 1024, ETag: fmt.Sprintf("%032x", i*7919), ModTime: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	res.IsTruncated = true
	res.NextAfter = res.Objects[999].Key
	return res
}

// BenchmarkListObjectsV2 measures the handler's share of a listing: the
// signature check, the page's conversion and the XML, for one page of
// 1,000 keys from a store that costs nothing.
func BenchmarkListObjectsV2(b *testing.B) {
	for _, tc := range []struct{ name, query string }{
		{"page-1000", "list-type=2&prefix=bench%2F0f3a9c2e%2Fobj%2F&continuation-token=YmVuY2gvMGYzYTljMmUvb2JqLzAwMDAwOTk5"},
		{"page-1000/url", "list-type=2&prefix=bench%2F0f3a9c2e%2Fobj%2F&encoding-type=url"},
		{"page-1000/fetch-owner", "list-type=2&prefix=bench%2F0f3a9c2e%2Fobj%2F&fetch-owner=true"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := listHandler(b, benchPage())
			tmpl := listRequest(b, "/list?"+tc.query)
			w := &recordingWriter{h: http.Header{}}
			h.ServeHTTP(w, tmpl.Clone(context.Background()))
			if w.code != http.StatusOK {
				b.Fatalf("status %d: %s", w.code, w.body.Bytes())
			}
			b.SetBytes(int64(w.body.Len()))
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, tmpl.Clone(context.Background()))
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
			b.ReportMetric(float64(1000*b.N)/time.Since(start).Seconds(), "objects/s")
		})
	}
}

// xmlPieces are the fragments random strings are built from: the
// characters encoding/xml escapes or replaces, the edges of XML's
// character ranges, invalid UTF-8 and ordinary text.
var xmlPieces = []string{
	"a", "Z", "0", "/", " ", "%", "+", "~", "\"", "'", "&", "<", ">", "\t", "\n", "\r", "\x00", "\x01", "\x1f", "\x7f",
	"é", "日本", "😀", "\uFFFD", "\uD7FF", "\uE000", "\uFFFC", "\U0010FFFF", "\xef\xbf\xbe", "\xef\xbf\xbf",
	"\xed\xa0\x80", "\xff", "\xc3", "\xe6\x97", "\xf4\x90\x80\x80", "&amp;", "]]>",
}

func randXMLString(r *rand.Rand) string {
	var sb strings.Builder
	for range r.IntN(8) {
		sb.WriteString(xmlPieces[r.IntN(len(xmlPieces))])
	}
	return sb.String()
}

func randListDocs(r *rand.Rand) (listBucketResultV1, listBucketResultV2) {
	s := func() string { return randXMLString(r) }
	var items []objectItem
	for range r.IntN(5) {
		it := objectItem{Key: s(), ETag: s(), Size: r.Int64() - r.Int64(), StorageClass: s(), ChecksumType: s(),
			LastModified: s3Time(time.Unix(r.Int64N(1<<35)-1<<34, r.Int64N(1e9)).In(time.FixedZone("x", 3600*r.IntN(12))))}
		for range r.IntN(3) {
			it.ChecksumAlgorithm = append(it.ChecksumAlgorithm, s())
		}
		if r.IntN(2) == 0 {
			it.Owner = &owner{ID: s(), DisplayName: s()}
		}
		if r.IntN(3) == 0 {
			it.UserMetadata = listMetadata{}
			for range r.IntN(4) {
				names := []string{"x-amz-meta-a", "x-amz-meta-b.c_d", "x-amz-meta-bad name", "x-amz-meta-ü", "X-AMZ-META-UP", ""}
				it.UserMetadata[names[r.IntN(len(names))]] = s()
			}
		}
		items = append(items, it)
	}
	var prefixes []commonPrefix
	for range r.IntN(3) {
		prefixes = append(prefixes, commonPrefix{Prefix: s()})
	}
	v1 := listBucketResultV1{Name: s(), Prefix: s(), Marker: s(), NextMarker: s(), MaxKeys: r.IntN(2000) - 1000,
		Delimiter: s(), IsTruncated: r.IntN(2) == 0, EncodingType: s(), Contents: items, CommonPrefixes: prefixes}
	v2 := listBucketResultV2{Name: s(), Prefix: s(), StartAfter: s(), ContinuationToken: s(), NextContinuationToken: s(),
		KeyCount: r.IntN(2000), MaxKeys: r.IntN(2000), Delimiter: s(), IsTruncated: r.IntN(2) == 0, EncodingType: s(),
		Contents: items, CommonPrefixes: prefixes}
	return v1, v2
}

// checkListEncoders fails unless the listing encoder writes what
// encoding/xml writes for both documents.
func checkListEncoders(t *testing.T, v1 listBucketResultV1, v2 listBucketResultV2) {
	t.Helper()
	want1, err := marshalXML(v1)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendListV1(nil, &v1); !bytes.Equal(got, want1) {
		t.Fatalf("v1 differs from encoding/xml:\n got: %q\nwant: %q", got, want1)
	}
	want2, err := marshalXML(v2)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendListV2([]byte(nil), &v2); !bytes.Equal(got, want2) {
		t.Fatalf("v2 differs from encoding/xml:\n got: %q\nwant: %q", got, want2)
	}
}

// TestListEncoderMatchesEncodingXML is the property behind the listing
// encoder: for any document, the same bytes as encoding/xml.
func TestListEncoderMatchesEncodingXML(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 11))
	t.Run("empty", func(t *testing.T) { checkListEncoders(t, listBucketResultV1{}, listBucketResultV2{}) })
	t.Run("tricky keys", func(t *testing.T) {
		var v1 listBucketResultV1
		var v2 listBucketResultV2
		for _, k := range append(trickyKeys, xmlPieces...) {
			it := objectItem{Key: k, ETag: quoteETag(k), StorageClass: "STANDARD"}
			v1.Contents = append(v1.Contents, it)
			v2.Contents = append(v2.Contents, it)
			v2.CommonPrefixes = append(v2.CommonPrefixes, commonPrefix{Prefix: k})
		}
		checkListEncoders(t, v1, v2)
	})
	t.Run("random", func(t *testing.T) {
		for range 3000 {
			v1, v2 := randListDocs(r)
			checkListEncoders(t, v1, v2)
		}
	})
}

// FuzzListEncoder compares the listing encoder with encoding/xml on
// arbitrary strings in every escaped position.
func FuzzListEncoder(f *testing.F) {
	for _, k := range trickyKeys {
		f.Add(k, "p/", "/", `"etag"`, "")
	}
	f.Add("\xff\xfe", "\xed\xa0\x80", "\x00", "\uFFFD", "\xef\xbf\xbf")
	f.Fuzz(func(t *testing.T, key, prefix, delim, etag, meta string) {
		own := &owner{ID: etag, DisplayName: key}
		it := objectItem{Key: key, ETag: etag, Owner: own, StorageClass: "STANDARD", ChecksumAlgorithm: []string{meta},
			ChecksumType: meta, UserMetadata: listMetadata{"x-amz-meta-k": meta}}
		v1 := listBucketResultV1{Name: "b", Prefix: prefix, Marker: key, NextMarker: prefix, Delimiter: delim,
			EncodingType: meta, Contents: []objectItem{it}, CommonPrefixes: []commonPrefix{{Prefix: prefix + delim}}}
		v2 := listBucketResultV2{Name: "b", Prefix: prefix, StartAfter: key, ContinuationToken: etag, Delimiter: delim,
			EncodingType: meta, Contents: []objectItem{it}, CommonPrefixes: []commonPrefix{{Prefix: prefix + delim}}}
		checkListEncoders(t, v1, v2)
	})
}

// BenchmarkListObjectsV2Client measures the other end: minio-go's
// Core.ListObjectsV2 (what `objstore bench s3 --workload list` calls)
// against a server that answers every request with one pre-rendered
// 1,000-key page. Its objects/s is the most one such client can list
// on this machine however fast the server is.
func BenchmarkListObjectsV2Client(b *testing.B) {
	h := listHandler(b, benchPage())
	w := &recordingWriter{h: http.Header{}}
	h.ServeHTTP(w, listRequest(b, "/list?list-type=2&encoding-type=url&prefix=bench%2F0f3a9c2e%2Fobj%2F"))
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
	page := w.body.Bytes()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		_, _ = w.Write(page)
	}))
	defer srv.Close()
	c, err := minio.NewCore(srv.Listener.Addr().String(), &minio.Options{
		Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""), Region: testRegion})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		res, err := c.ListObjectsV2("list", "bench/0f3a9c2e/obj/", "", "", "", 1000)
		if err != nil || len(res.Contents) != 1000 {
			b.Fatalf("%d objects, %v", len(res.Contents), err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/time.Since(start).Seconds(), "objects/s")
}
