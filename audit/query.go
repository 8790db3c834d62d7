package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Filter selects records. Zero fields match everything.
type Filter struct {
	// From (inclusive) and To (exclusive) bound the record time.
	From, To time.Time
	// Identity matches exactly: "root", "user:alice", "admin-token:<id>",
	// "anonymous".
	Identity string
	// Bucket and Action match exactly.
	Bucket string
	Action string
	// AfterSeq skips records up to and including this sequence number:
	// pass the last Seq of one page to get the next.
	AfterSeq uint64
	// Limit stops after this many matches (0: no limit).
	Limit int
}

func (f *Filter) match(r *Record) bool {
	return r.Seq > f.AfterSeq &&
		(f.From.IsZero() || !r.Time.Before(f.From)) &&
		(f.To.IsZero() || r.Time.Before(f.To)) &&
		(f.Identity == "" || r.Identity == f.Identity) &&
		(f.Bucket == "" || r.Bucket == f.Bucket) &&
		(f.Action == "" || r.Action == f.Action)
}

// errStop ends a scan early without an error.
var errStop = errors.New("stop")

// Query calls fn with each record in dir that matches f, oldest first,
// reading one line at a time. It skips files that lie wholly before From
// or AfterSeq and stops at To, relying on the order the writer keeps;
// lines that do not decode are skipped (Verify reports them). fn's error
// stops the query and is returned.
func Query(ctx context.Context, dir string, f Filter, fn func(Record) error) error {
	return scan(ctx, dir, f, func(r *Record, _ []byte) error { return fn(*r) })
}

// Export writes the records in dir that match f to w as JSON lines,
// exactly as stored (with their prev hashes), streaming.
func Export(ctx context.Context, dir string, f Filter, w io.Writer) error {
	bw := bufio.NewWriter(w)
	err := scan(ctx, dir, f, func(_ *Record, line []byte) error {
		bw.Write(line)
		return bw.WriteByte('\n')
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}

// Query is the package-level Query on this log, after a Sync so that
// every record appended before the call is included.
func (l *Log) Query(ctx context.Context, f Filter, fn func(Record) error) error {
	if err := l.Sync(ctx); err != nil {
		return err
	}
	return Query(ctx, l.dir, f, fn)
}

// Export is the package-level Export on this log, after a Sync.
func (l *Log) Export(ctx context.Context, f Filter, w io.Writer) error {
	if err := l.Sync(ctx); err != nil {
		return err
	}
	return Export(ctx, l.dir, f, w)
}

func scan(ctx context.Context, dir string, f Filter, fn func(r *Record, line []byte) error) error {
	files, _, err := listFiles(dir)
	if err != nil {
		return err
	}
	matched := 0
	for i, file := range files {
		if i+1 < len(files) && files[i+1].seq <= f.AfterSeq+1 {
			continue // the next file starts at or before the first wanted record
		}
		if i+1 < len(files) && !f.From.IsZero() {
			if t, ok := firstTime(filePath(dir, files[i+1])); ok && t.Before(f.From) {
				continue // every record here is older than the next file's first
			}
		}
		err := scanFile(ctx, filePath(dir, file), func(r *Record, line []byte) error {
			if !f.To.IsZero() && !r.Time.Before(f.To) {
				return errStop
			}
			if !f.match(r) {
				return nil
			}
			if err := fn(r, line); err != nil {
				return err
			}
			matched++
			if f.Limit > 0 && matched >= f.Limit {
				return errStop
			}
			return nil
		})
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// scanFile calls fn with each decodable record of one file.
func scanFile(ctx context.Context, path string, fn func(r *Record, line []byte) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("audit: query: %w", err)
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, MaxLineSize+1)
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return fmt.Errorf("audit: query: %w", ctx.Err())
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			continue // an overlong line is damage; Verify reports it
		}
		if errors.Is(err, io.EOF) {
			return nil // a partial last line is not a record
		}
		if err != nil {
			return fmt.Errorf("audit: query %s: %w", path, err)
		}
		line = line[:len(line)-1]
		r, err := parseLine(line, false)
		if err != nil {
			continue
		}
		if err := fn(&r, line); err != nil {
			return err
		}
	}
}

// firstTime returns the time of a file's first record.
func firstTime(path string) (time.Time, bool) {
	var t time.Time
	found := false
	scanFile(context.Background(), path, func(r *Record, _ []byte) error {
		t, found = r.Time, true
		return errStop
	})
	return t, found
}
