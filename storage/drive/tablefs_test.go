package drive

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// countingFile counts the writes that reach the file and can be made to
// fail them.
type countingFile struct {
	vfs.File
	writes int
	fail   error
}

func (f *countingFile) Write(p []byte) (int, error) {
	if f.fail != nil {
		return 0, f.fail
	}
	f.writes++
	return f.File.Write(p)
}

type countingFS struct {
	vfs.FS
	last *countingFile
}

func (fs *countingFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if err != nil {
		return nil, err
	}
	fs.last = &countingFile{File: f}
	return fs.last, nil
}

// TestTableFileContents writes tables in pebble's pattern (blocks of
// varied sizes, trailers of 5 bytes, now and then one larger than the
// buffer) with syncs and reads in between, and checks the file holds
// exactly what was written, in fewer writes.
func TestTableFileContents(t *testing.T) {
	dir := t.TempDir()
	cfs := &countingFS{FS: vfs.Default}
	fs := tableFS{cfs}
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"000001.sst", "000002.sst"} {
		path := filepath.Join(dir, name)
		f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		calls := 0
		for i := range 400 {
			n := 1 + r.IntN(20<<10)
			if i%97 == 0 {
				n = tableWriteBuffer + r.IntN(1000)
			}
			for _, part := range [][]byte{randBytesN(r, n), randBytesN(r, 5)} {
				if k, err := f.Write(part); err != nil || k != len(part) {
					t.Fatalf("write %d bytes: %d, %v", len(part), k, err)
				}
				want.Write(part)
				calls++
			}
			switch i % 50 {
			case 10:
				if _, err := f.SyncTo(int64(want.Len() / 2)); err != nil {
					t.Fatal(err)
				}
			case 20:
				if err := f.SyncData(); err != nil {
					t.Fatal(err)
				}
			case 30:
				fi, err := f.Stat()
				if err != nil || fi.Size() != int64(want.Len()) {
					t.Fatalf("Stat: size %d, %v; want %d", fi.Size(), err, want.Len())
				}
			case 40:
				got := make([]byte, 100)
				off := int64(want.Len() - 100)
				if _, err := f.ReadAt(got, off); err != nil || !bytes.Equal(got, want.Bytes()[off:]) {
					t.Fatalf("ReadAt the last bytes written: %v", err)
				}
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%s: %d bytes on disk differ from the %d written", name, len(got), want.Len())
		}
		if w := cfs.last.writes; w*10 > calls {
			t.Errorf("%s: %d writes reached the file for %d calls", name, w, calls)
		}
		if _, err := f.Write([]byte("x")); err == nil {
			t.Error("Write after Close succeeded")
		}
		if err := f.Close(); err == nil {
			t.Error("a second Close succeeded")
		}
	}
}

// TestTableFileWriteError checks that a failed write-out is reported by
// the call that made it and every later one, Close included.
func TestTableFileWriteError(t *testing.T) {
	cfs := &countingFS{FS: vfs.Default}
	f, err := tableFS{cfs}.Create(filepath.Join(t.TempDir(), "000001.sst"), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("buffered")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk gone")
	cfs.last.fail = boom
	if err := f.Sync(); !errors.Is(err, boom) {
		t.Fatalf("Sync: %v, want the write-out's error", err)
	}
	cfs.last.fail = nil // the sticky error stays even if the disk recovers
	if _, err := f.Write([]byte("more")); !errors.Is(err, boom) {
		t.Fatalf("Write after a failed write-out: %v", err)
	}
	if err := f.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close after a failed write-out: %v", err)
	}
}

// TestTableFSPassesOthers checks that only tables are buffered.
func TestTableFSPassesOthers(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"000002.log", "MANIFEST-000001", "OPTIONS-000003"} {
		f, err := tableFS{vfs.Default}.Create(filepath.Join(dir, name), vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.(*tableFile); ok {
			t.Errorf("%s is buffered", name)
		}
		f.Close()
	}
}

func randBytesN(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
