package drive

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestOpenFormats(t *testing.T) {
	base := t.TempDir()
	tests := []struct {
		name  string
		setup func(dir string) // prepares dir before Open
	}{
		{"missing folder", func(string) {}},
		{"missing parents", func(string) {}},
		{"empty folder", func(dir string) { mustMkdir(t, dir) }},
		{"lost+found only", func(dir string) { mustMkdir(t, filepath.Join(dir, "lost+found")) }},
		{"interrupted format", func(dir string) {
			mustMkdir(t, filepath.Join(dir, "tmp"))
			mustMkdir(t, filepath.Join(dir, "data"))
			mustWrite(t, filepath.Join(dir, "tmp", "format-x.json"), "{")
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.Repeat("p/", i), "drive")
			tt.setup(dir)
			want := testFormat()
			d, err := Open(dir, want, Options{Logger: testLogger(t)})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer d.Close()
			got := d.Info()
			if got.Path != filepath.Clean(dir) {
				t.Errorf("Path = %q, want %q", got.Path, dir)
			}
			if got.Format.Version != FormatVersion || got.Format.ClusterID != want.ClusterID ||
				got.Format.Set != want.Set || got.Format.Position != want.Position || got.Format.Zone != want.Zone {
				t.Errorf("Format = %+v, want %+v with version 1", got.Format, want)
			}
			uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
			if !uuid.MatchString(got.Format.DriveID) {
				t.Errorf("generated DriveID %q is not a v4 UUID", got.Format.DriveID)
			}
			disk, err := ReadFormat(dir)
			if err != nil {
				t.Fatalf("ReadFormat: %v", err)
			}
			if disk != got.Format {
				t.Errorf("format on disk %+v, Info says %+v", disk, got.Format)
			}
			for _, sub := range []string{"meta", "tmp", "data", "format.json"} {
				if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
					t.Errorf("layout: %v", err)
				}
			}
			if es := entries(t, filepath.Join(dir, "tmp")); len(es) != 0 {
				t.Errorf("tmp/ not empty after Open: %v", es)
			}
		})
	}
}

func TestOpenReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	want := testFormat()
	want.DriveID = "given-drive-id"
	d, err := Open(dir, want, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := d.Info().Format
	if first.DriveID != "given-drive-id" {
		t.Errorf("DriveID = %q, want the given one", first.DriveID)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		change  func(*Format)
		wantErr error
		msg     []string // substrings the error must contain
	}{
		{"same", func(*Format) {}, nil, nil},
		{"other zone is kept from disk", func(f *Format) { f.Zone = "z9" }, nil, nil},
		{"empty drive id", func(f *Format) { f.DriveID = "" }, nil, nil},
		{"foreign cluster", func(f *Format) { f.ClusterID = "other-cluster" },
			ErrForeignDrive, []string{`"other-cluster"`, `"` + want.ClusterID + `"`}},
		{"other set", func(f *Format) { f.Set = 7 },
			ErrWrongPosition, []string{"set 1 position 2", "set 7 position 2"}},
		{"other position", func(f *Format) { f.Position = 0 },
			ErrWrongPosition, []string{"set 1 position 2", "set 1 position 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := want
			tt.change(&w)
			d, err := Open(dir, w, Options{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Open = %v, want %v", err, tt.wantErr)
				}
				for _, s := range tt.msg {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %s", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer d.Close()
			if got := d.Info().Format; got != first {
				t.Errorf("reopened format %+v, want the one on disk %+v", got, first)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(dir string)
		want    func(*Format)
		wantErr error
	}{
		{"foreign files", func(dir string) { mustWrite(t, filepath.Join(dir, "notes.txt"), "x") }, nil, ErrUnformatted},
		{"meta without format", func(dir string) { mustMkdir(t, filepath.Join(dir, "meta")) }, nil, ErrUnformatted},
		{"data not empty", func(dir string) { mustMkdir(t, filepath.Join(dir, "data", "ab")) }, nil, ErrUnformatted},
		{"corrupt format", func(dir string) { mustWrite(t, filepath.Join(dir, "format.json"), "{\"version\":") }, nil, ErrBadFormat},
		{"future version", func(dir string) {
			mustWrite(t, filepath.Join(dir, "format.json"), `{"version":2,"cluster_id":"c","drive_id":"d"}`)
		}, nil, ErrBadFormat},
		{"empty cluster id wanted", func(string) {}, func(f *Format) { f.ClusterID = "" }, ErrBadFormat},
		{"negative position wanted", func(string) {}, func(f *Format) { f.Position = -1 }, ErrBadFormat},
		{"version 2 wanted", func(string) {}, func(f *Format) { f.Version = 2 }, ErrBadFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			mustMkdir(t, dir)
			tt.setup(dir)
			before := entries(t, dir)
			w := testFormat()
			if tt.want != nil {
				tt.want(&w)
			}
			d, err := Open(dir, w, Options{})
			if err == nil {
				d.Close()
				t.Fatalf("Open succeeded, want %v", tt.wantErr)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Open = %v, want %v", err, tt.wantErr)
			}
			if after := entries(t, dir); strings.Join(after, ",") != strings.Join(before, ",") && tt.wantErr == ErrUnformatted {
				t.Errorf("a refused folder was changed: %v -> %v", before, after)
			}
		})
	}
}

func TestReadFormat(t *testing.T) {
	golden := Format{
		Version:   1,
		ClusterID: "6f1c2a9e-0d3b-4f57-9a51-2c8e7b4d1f30",
		DriveID:   "b4e0f3a2-7c19-4d8e-8f26-91a5c3e7d0b8",
		Set:       2,
		Position:  5,
		Zone:      "eu-1a",
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T) string
		want    Format
		wantErr error
	}{
		{"missing folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, Format{}, ErrUnformatted},
		{"empty folder", func(t *testing.T) string { return t.TempDir() }, Format{}, ErrUnformatted},
		{"golden v1", func(t *testing.T) string {
			dir := t.TempDir()
			b, err := os.ReadFile("testdata/format-v1.json")
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(dir, "format.json"), string(b))
			return dir
		}, golden, nil},
		{"too large", func(t *testing.T) string {
			dir := t.TempDir()
			mustWrite(t, filepath.Join(dir, "format.json"), `{"version":1,"zone":"`+strings.Repeat("x", maxFormatSize)+`"}`)
			return dir
		}, Format{}, ErrBadFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFormat(tt.setup(t))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("ReadFormat = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ReadFormat = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestFormatGolden pins the bytes Open writes: a change to the file format
// must be deliberate (new version, migration), not a side effect.
func TestFormatGolden(t *testing.T) {
	f := Format{Version: 1, ClusterID: "6f1c2a9e-0d3b-4f57-9a51-2c8e7b4d1f30",
		DriveID: "b4e0f3a2-7c19-4d8e-8f26-91a5c3e7d0b8", Set: 2, Position: 5, Zone: "eu-1a"}
	got, err := marshalFormat(f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/format-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("format.json bytes changed:\n%s\nwant:\n%s", got, want)
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"minimal", `{"version":1,"cluster_id":"c","drive_id":"d"}`, true},
		{"unknown field ignored", `{"version":1,"cluster_id":"c","drive_id":"d","future":true}`, true},
		{"no version", `{"cluster_id":"c","drive_id":"d"}`, false},
		{"no cluster", `{"version":1,"drive_id":"d"}`, false},
		{"no drive id", `{"version":1,"cluster_id":"c"}`, false},
		{"negative set", `{"version":1,"cluster_id":"c","drive_id":"d","set":-1}`, false},
		{"trailing object", `{"version":1,"cluster_id":"c","drive_id":"d"}{}`, false},
		{"array", `[1]`, false},
		{"empty", ``, false},
		{"wrong type", `{"version":"1","cluster_id":"c","drive_id":"d"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFormat([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("parseFormat(%s) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrBadFormat) {
				t.Errorf("error %v is not ErrBadFormat", err)
			}
		})
	}
}

// FuzzParseFormat: format.json is bytes from disk that anything may have
// written. Property: no panic; an accepted format is valid and survives a
// marshal/parse round trip unchanged.
func FuzzParseFormat(f *testing.F) {
	if b, err := os.ReadFile("testdata/format-v1.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"cluster_id":"c","drive_id":"d","set":3,"position":1,"zone":"z"}`))
	f.Add([]byte(`{"version":1e400}`))
	f.Add([]byte(`{"version":1,"cluster_id":"\u0000","drive_id":"d"} `))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fm, err := parseFormat(b)
		if err != nil {
			if !errors.Is(err, ErrBadFormat) {
				t.Fatalf("error %v is not ErrBadFormat", err)
			}
			return
		}
		if verr := fm.validate(); verr != nil {
			t.Fatalf("accepted an invalid format: %v", verr)
		}
		out, err := marshalFormat(fm)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseFormat(out)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if back != fm {
			t.Fatalf("round trip changed %+v to %+v", fm, back)
		}
		if !json.Valid(out) {
			t.Fatal("marshalled format is not JSON")
		}
	})
}

func mustMkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t testing.TB, path, s string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
