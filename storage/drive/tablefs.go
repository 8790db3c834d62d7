package drive

import (
	"errors"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// tableWriteBuffer is how many bytes of a new metadata table are gathered
// before one write(2).
//
// pebble writes a table through a 4 KiB bufio.Writer, so each 16 KiB
// block became two system calls (the buffer's 4 KiB, then the rest
// directly): under 32 clients of 4 KiB PUTs, flushes and compactions
// made two thirds of the server's writes, ~7 per PUT. Gathering 256 KiB
// first makes them one per 16 blocks. Table files are written once, in
// order, and synced before pebble uses them, so holding their bytes a
// little longer changes nothing about what is durable when.
const tableWriteBuffer = 256 << 10

var tableBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, tableWriteBuffer)
	return &b
}}

// tableFS is the file system under pebble: vfs.Default, except that
// tables (*.sst) are created behind a tableFile's write buffer. The WAL,
// the manifest and everything opened (not created) pass through as they
// are.
type tableFS struct{ vfs.FS }

// Create creates name; a table gets a write buffer.
func (fs tableFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if err != nil || !strings.HasSuffix(name, ".sst") {
		return f, err
	}
	return &tableFile{File: f, buf: tableBuffers.Get().(*[]byte)}, nil
}

// tableFile buffers Write. Every other call that could observe or depend
// on the bytes written (reads, WriteAt, syncs, Stat, Close) writes the
// buffer out first. A failed write-out closes the file and is returned
// then and by every later call. Like the files pebble writes through, it is for one writer
// at a time.
type tableFile struct {
	vfs.File
	buf *[]byte // nil once closed
	err error   // the first failed write-out
}

var errTableFileClosed = errors.New("drive: table file closed")

// flush writes the buffered bytes to the file.
func (f *tableFile) flush() error {
	if f.err != nil {
		return f.err
	}
	if f.buf == nil {
		return errTableFileClosed
	}
	b := *f.buf
	if len(b) == 0 {
		return nil
	}
	// vfs.File.Write, like io.Writer, returns an error for a short write.
	if _, err := f.File.Write(b); err != nil {
		return f.fail(err)
	}
	*f.buf = b[:0]
	return nil
}

// Write appends p to the buffer, writing the buffer out when p does not
// fit; p as large as the buffer goes out directly after it.
func (f *tableFile) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.buf == nil {
		return 0, errTableFileClosed
	}
	if len(*f.buf)+len(p) > cap(*f.buf) {
		if err := f.flush(); err != nil {
			return 0, err
		}
	}
	if len(p) >= cap(*f.buf) {
		n, err := f.File.Write(p)
		if err != nil {
			return n, f.fail(err)
		}
		return n, nil
	}
	*f.buf = append(*f.buf, p...)
	return len(p), nil
}

// Preallocate and Prefetch act on the file's descriptor, which fail has
// closed and the process may have reused.
func (f *tableFile) Preallocate(off, length int64) error {
	if f.err != nil {
		return f.err
	}
	return f.File.Preallocate(off, length)
}

func (f *tableFile) Prefetch(off, length int64) error {
	if f.err != nil {
		return f.err
	}
	return f.File.Prefetch(off, length)
}

func (f *tableFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *tableFile) Read(p []byte) (int, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.File.Read(p)
}

func (f *tableFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *tableFile) Stat() (vfs.FileInfo, error) {
	if err := f.flush(); err != nil {
		return nil, err
	}
	return f.File.Stat()
}

func (f *tableFile) Sync() error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *tableFile) SyncData() error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.File.SyncData()
}

func (f *tableFile) SyncTo(length int64) (bool, error) {
	if err := f.flush(); err != nil {
		return false, err
	}
	return f.File.SyncTo(length)
}

// fail records the first failed write-out and closes the file at once.
// pebble's syncingFile.Close returns at its failed Sync without closing
// the file under it, and pebble then unlinks the table: an open
// descriptor would hold the file's space (often what the write failed
// for) until a finalizer ran.
func (f *tableFile) fail(err error) error {
	f.err = err
	if f.buf != nil {
		*f.buf = (*f.buf)[:0]
		tableBuffers.Put(f.buf)
		f.buf = nil
		_ = f.File.Close()
	}
	return err
}

// Close writes the buffer out, closes the file and gives the buffer back
// to the pool. The file is closed even if the write-out failed (by fail).
func (f *tableFile) Close() error {
	if f.err != nil {
		return f.err // fail closed the file
	}
	if f.buf == nil {
		return errTableFileClosed
	}
	if err := f.flush(); err != nil {
		return err // fail closed the file
	}
	*f.buf = (*f.buf)[:0]
	tableBuffers.Put(f.buf)
	f.buf = nil
	return f.File.Close()
}
