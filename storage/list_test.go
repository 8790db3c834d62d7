package storage

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestListObjects(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	s.MakeBucket(ctx, "other", "")
	keys := []string{"a", "a/../b", "a//b", "a/b", "a/b/c", "a/c", "b", "sp ace", "unicodé/x", "+plus", "z/1", "z/2", "z/3/4"}
	for _, k := range keys {
		put(t, s, "b", k, []byte(k))
	}
	put(t, s, "other", "a", []byte("x"))
	sorted := slices.Clone(keys)
	sort.Strings(sorted)

	all := func(opts ListOptions) (objs, prefixes []string) {
		for {
			res, err := s.ListObjects(ctx, "b", opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Objects {
				objs = append(objs, o.Key)
			}
			prefixes = append(prefixes, res.Prefixes...)
			if !res.IsTruncated {
				return
			}
			opts.After = res.NextAfter
		}
	}
	tests := []struct {
		name     string
		opts     ListOptions
		objs     []string
		prefixes []string
	}{
		{"all", ListOptions{}, sorted, nil},
		{"paged by 2", ListOptions{MaxKeys: 2}, sorted, nil},
		{"prefix", ListOptions{Prefix: "a/"}, []string{"a/../b", "a//b", "a/b", "a/b/c", "a/c"}, nil},
		{"delimiter", ListOptions{Delimiter: "/"}, []string{"+plus", "a", "b", "sp ace"}, []string{"a/", "unicodé/", "z/"}},
		{"delimiter paged", ListOptions{Delimiter: "/", MaxKeys: 1}, []string{"+plus", "a", "b", "sp ace"}, []string{"a/", "unicodé/", "z/"}},
		{"prefix delimiter", ListOptions{Prefix: "a/", Delimiter: "/"}, []string{"a/b", "a/c"}, []string{"a/../", "a//", "a/b/"}},
		{"after", ListOptions{After: "b"}, []string{"sp ace", "unicodé/x", "z/1", "z/2", "z/3/4"}, nil},
		{"after inside prefix", ListOptions{Delimiter: "/", After: "a/b"}, []string{"b", "sp ace"}, []string{"unicodé/", "z/"}},
		{"no match", ListOptions{Prefix: "q"}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, prefixes := all(tc.opts)
			if !slices.Equal(objs, tc.objs) || !slices.Equal(prefixes, tc.prefixes) {
				t.Fatalf("got %q %q, want %q %q", objs, prefixes, tc.objs, tc.prefixes)
			}
		})
	}
	res, _ := s.ListObjects(ctx, "b", ListOptions{Prefix: "a/b"})
	if len(res.Objects) != 2 || res.Objects[0].Size != 3 || res.Objects[0].ETag != md5hex([]byte("a/b")) {
		t.Fatalf("object info in listing: %+v", res.Objects)
	}
}

func partBody(n, size int) []byte { return randBytes(uint64(100+n), size) }

func putPart(t *testing.T, s *Store, key, upload string, n int, body []byte) PartInfo {
	t.Helper()
	pi, err := s.PutObjectPart(context.Background(), "b", key, upload, n, bytes.NewReader(body), PutOptions{
		Size:   int64(len(body)),
		Finish: func() (string, map[string]string, error) { return md5hex(body), map[string]string{"sum": "x"}, nil },
	})
	if err != nil {
		t.Fatalf("part %d: %v", n, err)
	}
	return pi
}

func TestMultipart(t *testing.T) {
	s, dirs := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	up, err := s.NewMultipartUpload(ctx, "b", "big", map[string]string{"content-type": "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	p1, p2, p3 := partBody(1, MinPartSize), partBody(2, MinPartSize+1), partBody(3, 1000)
	putPart(t, s, "big", up, 2, partBody(9, 10)) // replaced below
	putPart(t, s, "big", up, 1, p1)
	putPart(t, s, "big", up, 2, p2)
	putPart(t, s, "big", up, 3, p3)
	putPart(t, s, "big", up, 4, p3) // uploaded, never completed

	lp, err := s.ListParts(ctx, "b", "big", up, 0, 2)
	if err != nil || len(lp.Parts) != 2 || !lp.IsTruncated || lp.Parts[1].Size != int64(len(p2)) || lp.Parts[0].Metadata["sum"] != "x" {
		t.Fatalf("list parts: %+v %v", lp, err)
	}
	lp, _ = s.ListParts(ctx, "b", "big", up, lp.NextPartNumberMarker, 10)
	if len(lp.Parts) != 2 || lp.Parts[0].Number != 3 || lp.IsTruncated {
		t.Fatalf("list parts page 2: %+v", lp)
	}
	ups, err := s.ListMultipartUploads(ctx, "b", ListUploadsOptions{})
	if err != nil || len(ups.Uploads) != 1 || ups.Uploads[0].UploadID != up || ups.Uploads[0].Key != "big" {
		t.Fatalf("list uploads: %+v %v", ups, err)
	}

	cases := []struct {
		name  string
		parts []CompletePart
		want  error
	}{
		{"order", []CompletePart{{2, md5hex(p2)}, {1, md5hex(p1)}}, ErrInvalidPartOrder},
		{"etag", []CompletePart{{1, md5hex(p2)}}, ErrInvalidPart},
		{"missing", []CompletePart{{7, md5hex(p1)}}, ErrInvalidPart},
		{"small", []CompletePart{{3, md5hex(p3)}, {4, md5hex(p3)}}, ErrPartTooSmall},
	}
	for _, tc := range cases {
		if _, err := s.CompleteMultipartUpload(ctx, "b", "big", up, tc.parts, CompleteOptions{}); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	var gotParts []PartInfo
	oi, err := s.CompleteMultipartUpload(ctx, "b", "big", up,
		[]CompletePart{{1, md5hex(p1)}, {2, `"` + md5hex(p2) + `"`}, {3, md5hex(p3)}},
		CompleteOptions{Finish: func(ps []PartInfo) (map[string]string, error) {
			gotParts = ps
			return map[string]string{"x-amz-checksum-crc32": "abc-3"}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	for _, p := range [][]byte{p1, p2, p3} {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	wantETag := hex.EncodeToString(h.Sum(nil)) + "-3"
	if oi.ETag != wantETag || oi.Size != int64(len(p1)+len(p2)+len(p3)) || len(oi.Parts) != 3 || len(gotParts) != 3 {
		t.Fatalf("complete: %+v", oi)
	}
	whole := slices.Concat(p1, p2, p3)
	got, err := get(t, s, "b", "big", 0, -1)
	if err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("read back: %v", err)
	}
	// A range across both part boundaries.
	off := int64(len(p1) - 10)
	got, err = get(t, s, "b", "big", off, int64(len(p2)+20))
	if err != nil || !bytes.Equal(got, whole[off:off+int64(len(p2))+20]) {
		t.Fatalf("range across parts: %v", err)
	}
	info, _ := s.ObjectInfo(ctx, "b", "big", GetOptions{})
	if info.Metadata["content-type"] != "video/mp4" || info.Metadata["x-amz-checksum-crc32"] != "abc-3" {
		t.Fatalf("metadata: %+v", info.Metadata)
	}
	if _, err := s.ListParts(ctx, "b", "big", up, 0, 0); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("upload after complete: %v", err)
	}
	if _, err := s.CompleteMultipartUpload(ctx, "b", "big", up, []CompletePart{{1, md5hex(p1)}}, CompleteOptions{}); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("second complete: %v", err)
	}
	// Three parts' directories remain (part 4 and the replaced part 2 went).
	for _, d := range dirs {
		if n := countDataDirs(t, d); n != 3 {
			t.Fatalf("%s: %d data dirs, want 3", d, n)
		}
	}

	up2, _ := s.NewMultipartUpload(ctx, "b", "gone", nil)
	putPart(t, s, "gone", up2, 1, p3)
	if err := s.AbortMultipartUpload(ctx, "b", "gone", up2); err != nil {
		t.Fatal(err)
	}
	if err := s.AbortMultipartUpload(ctx, "b", "gone", up2); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("second abort: %v", err)
	}
	if _, err := s.PutObjectPart(ctx, "b", "gone", up2, 1, bytes.NewReader(p3), PutOptions{Size: int64(len(p3))}); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("part after abort: %v", err)
	}
	for _, d := range dirs {
		if n := countDataDirs(t, d); n != 3 {
			t.Fatalf("%s: %d data dirs after abort, want 3", d, n)
		}
	}
}

func TestListMultipartUploads(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	var ids []string
	for _, k := range []string{"x/1", "x/2", "y", "y"} {
		id, err := s.NewMultipartUpload(ctx, "b", k, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	res, err := s.ListMultipartUploads(ctx, "b", ListUploadsOptions{Delimiter: "/"})
	if err != nil || len(res.Prefixes) != 1 || res.Prefixes[0] != "x/" || len(res.Uploads) != 2 {
		t.Fatalf("delimiter: %+v %v", res, err)
	}
	var seen []string
	opts := ListUploadsOptions{MaxUploads: 1}
	for {
		res, err := s.ListMultipartUploads(ctx, "b", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range res.Uploads {
			seen = append(seen, u.Key)
		}
		if !res.IsTruncated {
			break
		}
		opts.KeyMarker, opts.UploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	if !slices.Equal(seen, []string{"x/1", "x/2", "y", "y"}) {
		t.Fatalf("paged uploads: %q", seen)
	}
	res, _ = s.ListMultipartUploads(ctx, "b", ListUploadsOptions{KeyMarker: "x/2"})
	if len(res.Uploads) != 2 || res.Uploads[0].Key != "y" {
		t.Fatalf("key marker: %+v", res)
	}
}

// TestDegraded removes drive folders while the store runs: with m gone
// every object reads back and writes succeed; with m+1 gone writes fail
// and leave nothing visible.
func TestDegraded(t *testing.T) {
	s, dirs := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	bodies := map[string][]byte{"small": []byte("tiny"), "mid": randBytes(1, 20<<10), "big": randBytes(2, 700<<10)}
	for k, b := range bodies {
		put(t, s, "b", k, b)
	}
	os.RemoveAll(dirs[1])
	os.RemoveAll(dirs[4])
	for k, b := range bodies {
		if got, err := get(t, s, "b", k, 0, -1); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("degraded read %s: %v", k, err)
		}
	}
	for k, b := range bodies {
		put(t, s, "b", k+"2", b)
		if got, err := get(t, s, "b", k+"2", 0, -1); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("degraded write then read %s: %v", k, err)
		}
	}
	res, err := s.ListObjects(ctx, "b", ListOptions{})
	if err != nil || len(res.Objects) != 6 {
		t.Fatalf("degraded list: %d %v", len(res.Objects), err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("ready with two drives gone: %v", err)
	}
	os.RemoveAll(dirs[2])
	if err := s.Ready(ctx); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("ready with three gone: %v", err)
	}
	for k, b := range bodies {
		_, err := s.PutObject(ctx, "b", k+"3", bytes.NewReader(b), PutOptions{Size: int64(len(b))})
		if !errors.Is(err, ErrWriteQuorum) {
			t.Fatalf("write with three gone %s: %v", k, err)
		}
		if _, err := s.ObjectInfo(ctx, "b", k+"3", GetOptions{}); err == nil {
			t.Fatalf("failed write %s is visible", k)
		}
	}
}

// TestCorruptShard flips bytes in a shard file: reads stay correct.
func TestCorruptShard(t *testing.T) {
	s, dirs := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	body := randBytes(9, 500<<10)
	put(t, s, "b", "k", body)
	var files []string
	for _, d := range dirs[:2] {
		filepath.WalkDir(filepath.Join(d, "data"), func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) != 2 {
		t.Fatalf("found %d shard files", len(files))
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for i := 100; i < len(b); i += 5000 {
			b[i] ^= 0x55
		}
		os.WriteFile(f, b, 0o644)
	}
	got, err := get(t, s, "b", "k", 0, -1)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read with two corrupt shards: %v", err)
	}
}

func TestInvalidKeys(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	for _, k := range []string{"", strings.Repeat("k", 1025), "bad\x00nul", "\xff\xfe"} {
		if _, err := s.PutObject(ctx, "b", k, strings.NewReader("x"), PutOptions{Size: 1}); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("key %q: %v", k, err)
		}
	}
	for _, k := range []string{"../../etc/passwd", "/abs", "a/./b", strings.Repeat("k", 1024)} {
		put(t, s, "b", k, []byte(k))
		if got, err := get(t, s, "b", k, 0, -1); err != nil || string(got) != k {
			t.Fatalf("key %q: %v", k, err)
		}
	}
}
