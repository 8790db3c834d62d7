package storage

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
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

	all := func(opts ListOptions) (objs, prefixes []string) { return listAll(t, s, "b", opts) }
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
	// The upload-only entry describes the upload (s3api keeps who
	// started it there) and does not pass to the object.
	up, err := s.NewMultipartUpload(ctx, "b", "big", map[string]string{"content-type": "video/mp4", UploadMetadataPrefix + "initiator": "alice"})
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
	if err != nil || len(lp.Parts) != 2 || !lp.IsTruncated || lp.Parts[1].Size != int64(len(p2)) || lp.Parts[0].Metadata["sum"] != "x" ||
		lp.Upload.Metadata[UploadMetadataPrefix+"initiator"] != "alice" {
		t.Fatalf("list parts: %+v %v", lp, err)
	}
	lp, _ = s.ListParts(ctx, "b", "big", up, lp.NextPartNumberMarker, 10)
	if len(lp.Parts) != 2 || lp.Parts[0].Number != 3 || lp.IsTruncated {
		t.Fatalf("list parts page 2: %+v", lp)
	}
	ups, err := s.ListMultipartUploads(ctx, "b", ListUploadsOptions{})
	if err != nil || len(ups.Uploads) != 1 || ups.Uploads[0].UploadID != up || ups.Uploads[0].Key != "big" ||
		ups.Uploads[0].Metadata[UploadMetadataPrefix+"initiator"] != "alice" {
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
		// p3 is small: out of order wins over too small, as AWS reports it.
		{"order before size", []CompletePart{{3, md5hex(p3)}, {1, md5hex(p1)}}, ErrInvalidPartOrder},
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
	if info.Metadata["content-type"] != "video/mp4" || info.Metadata["x-amz-checksum-crc32"] != "abc-3" ||
		info.Metadata[UploadMetadataPrefix+"initiator"] != "" || oi.Metadata[UploadMetadataPrefix+"initiator"] != "" {
		t.Fatalf("metadata: %+v", info.Metadata)
	}
	// Each part keeps what its own Finish returned (its checksums), for
	// GetObject?partNumber.
	for _, p := range info.Parts {
		if p.Metadata["sum"] != "x" {
			t.Errorf("part %d metadata %v, want its upload's", p.Number, p.Metadata)
		}
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
	var seen, seenIDs []string
	opts := ListUploadsOptions{MaxUploads: 1}
	for {
		res, err := s.ListMultipartUploads(ctx, "b", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range res.Uploads {
			seen = append(seen, u.Key)
			seenIDs = append(seenIDs, u.UploadID)
		}
		if !res.IsTruncated {
			break
		}
		opts.KeyMarker, opts.UploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	if !slices.Equal(seen, []string{"x/1", "x/2", "y", "y"}) {
		t.Fatalf("paged uploads: %q", seen)
	}
	// Every upload once, the two of "y" each under its own id.
	slices.Sort(ids)
	slices.Sort(seenIDs)
	if !slices.Equal(seenIDs, ids) {
		t.Fatalf("paged upload ids %q, created %q", seenIDs, ids)
	}
	res, _ = s.ListMultipartUploads(ctx, "b", ListUploadsOptions{KeyMarker: "x/2"})
	if len(res.Uploads) != 2 || res.Uploads[0].Key != "y" {
		t.Fatalf("key marker: %+v", res)
	}
	// Paged with a delimiter, one entry a page: a common prefix handed
	// back as the key marker must not come again (it did, for ever).
	seen = nil
	opts = ListUploadsOptions{Delimiter: "/", MaxUploads: 1}
	for page := 0; ; page++ {
		if page == 10 {
			t.Fatalf("paging with a delimiter does not end: %q", seen)
		}
		res, err := s.ListMultipartUploads(ctx, "b", opts)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, res.Prefixes...)
		for _, u := range res.Uploads {
			seen = append(seen, u.Key)
		}
		if !res.IsTruncated {
			break
		}
		opts.KeyMarker, opts.UploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	if !slices.Equal(seen, []string{"x/", "y", "y"}) {
		t.Fatalf("paged with a delimiter: %q", seen)
	}
	// The uploads of one key list in the order they were started.
	var started []string
	for range 5 {
		id, err := s.NewMultipartUpload(ctx, "b", "z", nil)
		if err != nil {
			t.Fatal(err)
		}
		started = append(started, id)
	}
	res, err = s.ListMultipartUploads(ctx, "b", ListUploadsOptions{Prefix: "z"})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, u := range res.Uploads {
		listed = append(listed, u.UploadID)
	}
	if !slices.Equal(listed, started) {
		t.Fatalf("uploads of one key listed %q, started %q", listed, started)
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

// TestListQuorumSubsets checks the listing, which iterates only a read
// quorum of each set's drives and reads the others for keys those do
// not settle, against what a read of every drive resolves (the rules
// GET applies), on random placements of a key's record over the
// drives: missing, the version, the same version with other metadata
// (a partial UpdateMetadata), an overwrite that replaced it (a partial
// PUT), an empty record. Pages of random sizes start the listing at
// different keys and so iterate different subsets of drives; rounds
// take up to two drives offline, and three must fail the listing.
func TestListQuorumSubsets(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := mrand.New(mrand.NewPCG(seed, 3))
	s, fds, _ := faultStore(t, nil)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	part := func(size int64, etag string) []partEntry {
		return []partEntry{{Number: 1, Size: size, ETag: etag, File: partFile(1)}}
	}
	a := versionRecord{VersionID: "", DataID: "aaaa", ModTime: 100, Size: 10, ETag: "ea", DataShards: 4, ParityShards: 2,
		BlockSize: 1 << 20, Inline: true, Parts: part(10, "ea")}
	a2 := a
	a2.ModTime, a2.Metadata = 150, map[string]string{"content-type": "text/x"}
	bv := versionRecord{VersionID: "", DataID: "bbbb", ModTime: 200, Size: 20, ETag: "eb-2", DataShards: 4, ParityShards: 2,
		BlockSize: 1 << 20, Replaces: "aaaa", Parts: []partEntry{{Number: 1, Size: 5 << 20, ETag: "p1", File: "part.1", DataID: "p1"},
			{Number: 2, Size: 7, ETag: "p2", File: "part.2", DataID: "p2"}}}
	pool := [][]byte{nil, nil, nil, nil, nil, // weight towards a key missing on a drive
		(&objectRecord{Versions: []versionRecord{a}}).encode(),
		(&objectRecord{Versions: []versionRecord{a}}).encode(),
		(&objectRecord{Versions: []versionRecord{a}}).encode(),
		(&objectRecord{Versions: []versionRecord{a2}}).encode(),
		(&objectRecord{Versions: []versionRecord{bv}}).encode(),
		(&objectRecord{}).encode(),
	}
	const keys = 400
	ds := s.sets[0].drives()
	ops := make([][]drive.Op, len(ds))
	for i := range keys {
		k := objectKey("b", fmt.Sprintf("k%04d", i))
		same := pool[5+r.IntN(len(pool)-5)]
		for p := range ds {
			v := pool[r.IntN(len(pool))]
			if r.IntN(3) > 0 {
				v = same // most keys mostly agree
			}
			if v != nil {
				ops[p] = append(ops[p], drive.Op{Key: k, Value: v})
			}
		}
	}
	for p, d := range ds {
		if err := d.Apply(ctx, ops[p]); err != nil {
			t.Fatal(err)
		}
	}
	// want is what a read of every drive resolves, key by key.
	want := func() []ObjectInfo {
		var out []ObjectInfo
		for i := range keys {
			key := fmt.Sprintf("k%04d", i)
			raw, errs := s.sets[0].readAll(ctx, objectKey("b", key))
			rec, err := s.resolve(raw, errs)
			if errors.Is(err, ErrObjectNotFound) || errors.Is(err, ErrReadQuorum) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := rec.latest(); ok {
				oi := v.info("b", key)
				oi.Metadata = nil // a listing shows none
				out = append(out, withoutPartMetadata(oi))
			}
		}
		return out
	}
	list := func() ([]ObjectInfo, error) {
		var out []ObjectInfo
		opts := ListOptions{}
		for {
			opts.MaxKeys = 1 + r.IntN(60)
			res, err := s.ListObjects(ctx, "b", opts)
			if err != nil {
				return nil, err
			}
			for _, o := range res.Objects {
				o.Metadata = nil
				out = append(out, o)
			}
			if !res.IsTruncated {
				return out, nil
			}
			opts.After = res.NextAfter
		}
	}
	for round := range 12 {
		offline := r.IntN(3)
		if round == 11 {
			offline = 3
		}
		down := r.Perm(len(fds))[:offline]
		for _, p := range down {
			fds[p].set(func(f *faultDrive) { f.offline = true })
		}
		t.Run(fmt.Sprintf("round %d offline %v", round, down), func(t *testing.T) {
			got, err := list()
			if offline > 2 {
				if !errors.Is(err, ErrReadQuorum) {
					t.Fatalf("listing with %d drives offline: %v, want ErrReadQuorum", offline, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			exp := want()
			if len(exp) == 0 || len(exp) == keys {
				t.Fatalf("%d of %d keys visible: the placements test nothing", len(exp), keys)
			}
			if !reflect.DeepEqual(got, exp) {
				for i := range min(len(got), len(exp)) {
					if !reflect.DeepEqual(got[i], exp[i]) {
						t.Fatalf("listed %d keys, resolved %d; first difference at %d:\n got %+v\nwant %+v", len(got), len(exp), i, got[i], exp[i])
					}
				}
				t.Fatalf("listed %d keys, resolved %d", len(got), len(exp))
			}
		})
		for _, f := range fds {
			f.clear()
		}
	}
}

// TestDecodeLatest checks the listing's decoder against decodeObject on
// records of random shape, and on every truncation of them.
func TestDecodeLatest(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := mrand.New(mrand.NewPCG(seed, 5))
	if listedPartFile != partFile(1) {
		t.Fatalf("listedPartFile %q, partFile(1) %q", listedPartFile, partFile(1))
	}
	for i := range 500 {
		rec := randObjectRecord(r)
		b := rec.encode()
		checkDecodeLatest(t, fmt.Sprintf("record %d", i), b)
		for cut := range len(b) {
			checkDecodeLatest(t, fmt.Sprintf("record %d cut at %d", i, cut), b[:cut])
		}
	}
}

// checkDecodeLatest fails unless decodeLatest(b) fails when decodeObject
// does and otherwise yields the same listed object.
// withoutPartMetadata is oi as a listing shows it: decodeLatest skips the
// parts' metadata (their checksums), which only GetObject?partNumber uses.
func withoutPartMetadata(oi ObjectInfo) ObjectInfo {
	oi.Parts = slices.Clone(oi.Parts)
	for i := range oi.Parts {
		oi.Parts[i].Metadata = nil
	}
	return oi
}

func checkDecodeLatest(t *testing.T, name string, b []byte) {
	t.Helper()
	rec, werr := decodeObject(b, false)
	v, found, err := decodeLatest(b)
	if (err != nil) != (werr != nil) {
		t.Fatalf("%s: decodeLatest error %v, decodeObject error %v", name, err, werr)
	}
	if err != nil {
		return
	}
	wv, wfound := rec.latest()
	if found != wfound {
		t.Fatalf("%s: found %v, want %v", name, found, wfound)
	}
	if got, want := v.info("b", "k"), withoutPartMetadata(wv.info("b", "k")); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", name, got, want)
	}
}

func randObjectRecord(r *mrand.Rand) objectRecord {
	str := func() string {
		return []string{"", "x", "null", "part.1", "part.2", "0123456789abcdef0123456789abcdef", "é\x00\xff"}[r.IntN(7)]
	}
	md := func() map[string]string {
		if r.IntN(2) == 0 {
			return nil
		}
		return map[string]string{str(): str(), "content-type": str()}
	}
	var rec objectRecord
	for range r.IntN(4) {
		v := versionRecord{VersionID: str(), DataID: str(), ModTime: r.Int64N(1 << 62), Size: r.Int64N(1 << 40),
			ETag: str(), Metadata: md(), DataShards: r.IntN(17), ParityShards: r.IntN(17), BlockSize: r.IntN(1 << 22),
			Rotation: r.IntN(16), Inline: r.IntN(2) == 0, Replaces: str()}
		for n := range r.IntN(4) {
			v.Parts = append(v.Parts, partEntry{Number: n + 1, Size: r.Int64N(1 << 33), ETag: str(), File: str(),
				Metadata: md(), ModTime: r.Int64N(1 << 62), DataID: str()})
		}
		rec.Versions = append(rec.Versions, v)
	}
	return rec
}

// FuzzDecodeLatest holds decodeLatest to decodeObject on arbitrary
// bytes: the records come from the drives, which may be damaged.
func FuzzDecodeLatest(f *testing.F) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for range 20 {
		rec := randObjectRecord(r)
		f.Add(rec.encode())
	}
	f.Add([]byte{})
	f.Add([]byte{recordVersion})
	f.Add([]byte{2, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) { checkDecodeLatest(t, "fuzz", b) })
}

// TestListStaleDrive: a drive that missed writes (offline while they
// happened, not healed yet) must not make a listing read the other
// drives key by key: the listing widens to every drive at the first key
// the stale one lacks and lists every object without a point read. The
// records go straight to the drives, so no heal mends the stale one
// meanwhile.
func TestListStaleDrive(t *testing.T) {
	s, fds, _ := faultStore(t, nil)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	v := versionRecord{DataID: "dddd", ModTime: 1, Size: 3, ETag: "e", DataShards: 4, ParityShards: 2, BlockSize: 1 << 20,
		Inline: true, Parts: []partEntry{{Number: 1, Size: 3, ETag: "e", File: partFile(1)}}}
	rec := (&objectRecord{Versions: []versionRecord{v}}).encode()
	for stale := range fds {
		t.Run(fmt.Sprintf("drive %d", stale), func(t *testing.T) {
			prefix := fmt.Sprintf("s%d/", stale)
			var want []string
			var ops []drive.Op
			for i := range 60 {
				k := fmt.Sprintf("%sk%02d", prefix, i)
				want = append(want, k)
				ops = append(ops, drive.Op{Key: objectKey("b", k), Value: rec})
			}
			for p, d := range s.sets[0].drives() {
				if p == stale {
					continue
				}
				if err := d.Apply(ctx, ops); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range fds {
				f.set(func(f *faultDrive) { f.calls = map[string]int{} })
			}
			got, _ := listAll(t, s, "b", ListOptions{Prefix: prefix, MaxKeys: 7})
			if !slices.Equal(got, want) {
				t.Fatalf("listed %q, want %q", got, want)
			}
			for p, f := range fds {
				f.mu.Lock()
				gets := f.calls["get"]
				f.mu.Unlock()
				if gets != 0 {
					t.Errorf("drive %d: %d point reads during the listing", p, gets)
				}
			}
		})
	}
}

// TestListTwoSets lists a store of two erasure sets: each key lives on
// one set, each set is iterated on its own quorum of drives, and a
// drive gone from one set changes nothing.
func TestListTwoSets(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	var drives []DriveConfig
	for i := range 12 {
		dir := filepath.Join(root, fmt.Sprintf("drive%d", i))
		dirs = append(dirs, dir)
		drives = append(drives, DriveConfig{Path: dir, Zone: fmt.Sprintf("zone-%c", 'a'+i%3)})
	}
	ctx := context.Background()
	s, err := Open(ctx, Config{Drives: drives, DataShards: 4, ParityShards: 2, ScanInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if len(s.sets) != 2 {
		t.Fatalf("%d sets, want 2", len(s.sets))
	}
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 50 {
		k := fmt.Sprintf("k%02d", i)
		put(t, s, "b", k, []byte(k))
		want = append(want, k)
	}
	walk := func() []string {
		got, _ := listAll(t, s, "b", ListOptions{MaxKeys: 7})
		return got
	}
	if got := walk(); !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
	os.RemoveAll(dirs[7])
	if got := walk(); !slices.Equal(got, want) {
		t.Fatalf("with a drive gone, listed %q, want %q", got, want)
	}
}

// listAll pages through ListObjects from opts to the end and returns the
// keys and common prefixes listed.
func listAll(t testing.TB, s *Store, bucket string, opts ListOptions) (keys, prefixes []string) {
	t.Helper()
	for {
		res, err := s.ListObjects(context.Background(), bucket, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		prefixes = append(prefixes, res.Prefixes...)
		if !res.IsTruncated {
			return keys, prefixes
		}
		opts.After = res.NextAfter
	}
}
