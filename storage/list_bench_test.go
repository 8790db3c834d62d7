package storage

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// benchListKeys is the flat prefix issue 5 sets the listing target on.
const benchListKeys = 100_000

// benchListKey names the i-th key the way `objstore bench s3 --workload
// list` does: a run prefix and a zero-padded counter.
func benchListKey(i int) string { return fmt.Sprintf("bench/0f3a9c2e/obj/%08d", i) }

// populateList writes n object records straight into every drive of the
// store's set, as n PUTs would have left them, without paying for n
// synced PUTs (100,000 of them take minutes here). The record is a real
// PUT's, of a 1 KiB body with the metadata an encrypting server stores,
// re-encoded per key with its own data id and time.
func populateList(b *testing.B, s *Store, bucket string, n int) {
	b.Helper()
	ctx := context.Background()
	if err := s.MakeBucket(ctx, bucket, ""); err != nil {
		b.Fatal(err)
	}
	body := randBytes(5, 1024)
	rnd := rand.New(rand.NewPCG(1, 2))
	b64 := func(n int) string {
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(rnd.Uint32())
		}
		return base64.StdEncoding.EncodeToString(raw)
	}
	// Sizes as s3api stores them for SSE-S3: a sealed 32-byte key with
	// salt and tag, the sealed client metadata, a CRC32C.
	md := map[string]string{
		"content-type":              "application/octet-stream",
		"x-amz-checksum-crc32c":     b64(4),
		"x-objstore-sse":            "S3",
		"x-objstore-sse-master":     "objstore-default",
		"x-objstore-sse-bucket-key": "bk-5d41402abc4b2a76b9719d911017c592",
		"x-objstore-sse-key":        b64(82),
		"x-objstore-sse-meta":       b64(100),
	}
	tmpl := benchListKey(0)
	if _, err := s.PutObject(ctx, bucket, tmpl, bytes.NewReader(body), PutOptions{
		Size:     int64(len(body)),
		Finish:   func() (string, map[string]string, error) { return md5hex(body), md, nil },
		Metadata: map[string]string{"content-type": md["content-type"]},
	}); err != nil {
		b.Fatal(err)
	}
	if len(s.sets) != 1 {
		b.Fatalf("populateList assumes one erasure set, have %d", len(s.sets))
	}
	ds := s.sets[0].drives()
	raw, err := ds[0].Get(ctx, objectKey(bucket, tmpl))
	if err != nil {
		b.Fatal(err)
	}
	rec, err := decodeObject(raw, true)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("one record: %d bytes, %d metadata entries", len(raw), len(rec.Versions[0].Metadata))
	base := rec.Versions[0].ModTime
	const batch = 5000
	for lo := 1; lo < n; lo += batch {
		var ops []drive.Op
		for i := lo; i < min(lo+batch, n); i++ {
			v := rec.Versions[0]
			v.DataID = drive.NewDataID()
			v.ETag = hex.EncodeToString([]byte(b64(12))[:16])
			v.Metadata = maps.Clone(v.Metadata)
			v.Metadata["x-amz-checksum-crc32c"] = b64(4)
			v.Metadata["x-objstore-sse-key"] = b64(82)
			v.Metadata["x-objstore-sse-meta"] = b64(100)
			v.Parts = []partEntry{v.Parts[0]}
			v.Parts[0].ETag = v.ETag
			v.ModTime = base + int64(i)*int64(time.Microsecond)
			r := objectRecord{Versions: []versionRecord{v}}
			ops = append(ops, drive.Op{Key: objectKey(bucket, benchListKey(i)), Value: r.encode()})
		}
		for _, d := range ds {
			if err := d.Apply(ctx, ops); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkListObjects walks a flat prefix of 100,000 keys in pages of
// 1,000, the shape of the issue 5 target (100,000 objects/s through
// HTTP). One iteration is one page; the walk starts over at the end.
// The bytes per op are the records' bytes on one drive.
func BenchmarkListObjects(b *testing.B) {
	s, _ := testStoreDefault(b)
	populateList(b, s, "bench", benchListKeys)
	ctx := context.Background()
	prefix := "bench/0f3a9c2e/obj/"
	// Populating leaves pebble compacting in the background for a few
	// seconds; walk until a walk is no faster than the one before, so
	// that the figure is the steady state a server reaches (its records
	// were written long before they are listed).
	fullWalk := func() time.Duration {
		t0 := time.Now()
		var after string
		for {
			res, err := s.ListObjects(ctx, "bench", ListOptions{Prefix: prefix, After: after, MaxKeys: 1000})
			if err != nil {
				b.Fatal(err)
			}
			after = res.NextAfter
			if !res.IsTruncated {
				return time.Since(t0)
			}
		}
	}
	prev := fullWalk()
	for range 10 {
		d := fullWalk()
		b.Logf("warm-up walk: %v", d)
		if d > prev*9/10 {
			break
		}
		prev = d
	}
	walk := func(b *testing.B, s *Store) {
		var after string
		var objects, walked int
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			res, err := s.ListObjects(ctx, "bench", ListOptions{Prefix: prefix, After: after, MaxKeys: 1000})
			if err != nil {
				b.Fatal(err)
			}
			objects += len(res.Objects)
			walked += len(res.Objects)
			after = res.NextAfter
			if !res.IsTruncated {
				if walked != benchListKeys {
					b.Fatalf("a full walk listed %d keys, want %d", walked, benchListKeys)
				}
				walked, after = 0, ""
			}
		}
		b.ReportMetric(float64(objects)/time.Since(start).Seconds(), "objects/s")
	}
	b.Run("4+2/100k-keys/page-1000", func(b *testing.B) { walk(b, s) })
}
