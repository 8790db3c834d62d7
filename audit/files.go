package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// logFile is one file of the log, named by the sequence number of its
// first record: audit-<seq, 20 digits>.jsonl. When a crash left a file
// whose only line is partial, the file that replaces it holds the same
// first sequence number and takes a generation suffix:
// audit-<seq>.<gen>.jsonl. Files are in chain order sorted by (seq, gen).
type logFile struct {
	name string
	seq  uint64
	gen  int
}

func fileName(seq uint64, gen int) string {
	if gen == 0 {
		return fmt.Sprintf("audit-%020d.jsonl", seq)
	}
	return fmt.Sprintf("audit-%020d.%d.jsonl", seq, gen)
}

// parseFileName is fileName's inverse; ok is false for other names.
func parseFileName(name string) (logFile, bool) {
	rest, ok := strings.CutPrefix(name, "audit-")
	if !ok {
		return logFile{}, false
	}
	rest, ok = strings.CutSuffix(rest, ".jsonl")
	if !ok || len(rest) < 20 {
		return logFile{}, false
	}
	seq, err := strconv.ParseUint(rest[:20], 10, 64)
	if err != nil || strings.Trim(rest[:20], "0123456789") != "" {
		return logFile{}, false
	}
	f := logFile{name: name, seq: seq}
	if g := rest[20:]; g != "" {
		gen, err := strconv.Atoi(strings.TrimPrefix(g, "."))
		if err != nil || !strings.HasPrefix(g, ".") || gen <= 0 || fileName(seq, gen) != name {
			return logFile{}, false
		}
		f.gen = gen
	}
	return f, true
}

// listFiles returns the log's files in chain order and the names of other
// entries in dir.
func listFiles(dir string) (files []logFile, others []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: list %s: %w", dir, err)
	}
	for _, e := range entries {
		if f, ok := parseFileName(e.Name()); ok && e.Type().IsRegular() {
			files = append(files, f)
		} else if e.Name() != lockName && !isAnchorName(e.Name()) {
			others = append(others, e.Name())
		}
	}
	slices.SortFunc(files, func(a, b logFile) int {
		if a.seq != b.seq {
			if a.seq < b.seq {
				return -1
			}
			return 1
		}
		return a.gen - b.gen
	})
	return files, others, nil
}

// tail describes the end of a file: its last complete line and whether
// bytes follow it without a newline (a partial line).
type tail struct {
	size     int64
	lastLine []byte // nil when the file holds no complete line
	partial  bool   // the file does not end with '\n'
}

// readTail reads the end of path without reading the whole file.
func readTail(path string) (tail, error) {
	f, err := os.Open(path)
	if err != nil {
		return tail{}, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return tail{}, fmt.Errorf("audit: %w", err)
	}
	t := tail{size: info.Size()}
	if t.size == 0 {
		return t, nil
	}
	// A complete line is at most MaxLineSize bytes plus its newline; the
	// partial tail may be as long again.
	n := min(t.size, 2*(MaxLineSize+1))
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, t.size-n); err != nil && !errors.Is(err, io.EOF) {
		return tail{}, fmt.Errorf("audit: read %s: %w", path, err)
	}
	end := bytes.LastIndexByte(buf, '\n')
	t.partial = end != len(buf)-1
	if end < 0 {
		if n < t.size {
			return t, fmt.Errorf("%w: %s ends with more than %d bytes without a newline", ErrCorrupt, path, n)
		}
		return t, nil
	}
	start := bytes.LastIndexByte(buf[:end], '\n') + 1
	if start == 0 && n < t.size {
		return t, fmt.Errorf("%w: %s: last line longer than %d bytes", ErrCorrupt, path, MaxLineSize)
	}
	t.lastLine = buf[start:end]
	return t, nil
}

// syncDir fsyncs a directory, making created and renamed entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: sync %s: %w", dir, err)
	}
	return nil
}

func filePath(dir string, f logFile) string { return filepath.Join(dir, f.name) }
