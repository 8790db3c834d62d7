package storage

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Fatalf("%s differs from golden file:\n got %s\nwant %s", name, got, want)
	}
}

// hexDump renders bytes 32 to a line, so a format change shows as a
// readable diff.
func hexDump(b []byte) []byte {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(32, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]))
		sb.WriteByte('\n')
		b = b[n:]
	}
	return []byte(sb.String())
}

func sampleVersion() versionRecord {
	return versionRecord{
		VersionID: NullVersionID, DataID: "0123456789abcdef0123456789abcdef", ModTime: 1764000000123456789,
		Size: 5<<20 + 1, ETag: "9e107d9d372bb6826bd81d3542a419d6-2",
		Metadata:   map[string]string{"content-type": "text/plain", "x-amz-meta-a": "b"},
		DataShards: 4, ParityShards: 2, BlockSize: 1 << 20, Rotation: 3,
		Parts: []partEntry{
			{Number: 1, Size: 5 << 20, ETag: "aa", File: "part.1", DataID: "11111111111111111111111111111111"},
			{Number: 2, Size: 1, ETag: "bb", File: "part.1", DataID: "22222222222222222222222222222222"},
		},
	}
}

func TestRecordGolden(t *testing.T) {
	obj := objectRecord{Versions: []versionRecord{sampleVersion(), {VersionID: "v0", DataID: "ffffffffffffffffffffffffffffffff", Inline: true, Size: 3, DataShards: 4, ParityShards: 2, BlockSize: 1 << 20, Parts: []partEntry{{Number: 1, Size: 3, File: "part.1"}}}}}
	bucket := bucketRecord{Name: "photos", Created: 1764000000000000000, Location: "eu-central-1"}
	upload := uploadRecord{Key: "a/b", UploadID: "0123456789abcdef0123456789abcdef", Initiated: 1764000000000000000, Metadata: map[string]string{"content-type": "x"}}
	part := sampleVersion().Parts[0]
	part.Metadata = map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}
	tests := []struct {
		name string
		enc  []byte
		dec  func([]byte) (any, error)
		want any
	}{
		{"object.golden", obj.encode(), func(b []byte) (any, error) { return decodeObject(b, true) }, obj},
		{"bucket.golden", bucket.encode(), func(b []byte) (any, error) { return decodeBucket(b) }, bucket},
		{"upload.golden", upload.encode(), func(b []byte) (any, error) { return decodeUpload(b) }, upload},
		{"part.golden", encodePart(&part), func(b []byte) (any, error) { return decodePart(b) }, part},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, hexDump(tc.enc))
			got, err := tc.dec(tc.enc)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, tc.want)
			}
		})
	}
}

func TestRecordUnknownFieldsSkipped(t *testing.T) {
	v := sampleVersion()
	rec := objectRecord{Versions: []versionRecord{v}}
	b := rec.encode()
	// A newer writer appends a field this version does not know.
	e := recordEncoder{b: b}
	e.str(99, "future")
	got, err := decodeObject(e.b, true)
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Fatalf("unknown field: %v", err)
	}
	b[0] = 2
	if _, err := decodeObject(b, true); err == nil {
		t.Fatal("unknown record version accepted")
	}
}

func FuzzDecodeObject(f *testing.F) {
	seed := objectRecord{Versions: []versionRecord{sampleVersion()}}
	f.Add(seed.encode())
	f.Add([]byte{1, 1, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeObject(b, true)
		if err != nil {
			return
		}
		again, err := decodeObject(rec.encode(), true)
		if err != nil || len(again.Versions) != len(rec.Versions) {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}
