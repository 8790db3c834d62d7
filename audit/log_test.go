package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // every record a distinct time
	return c.t
}

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func openLog(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	if opts.Now == nil {
		opts.Now = (&clock{t: t0}).Now
	}
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func entry(i int) Entry {
	ids := []string{Root, User("alice"), User("bob"), AdminToken("0123456789abcdef"), Anonymous}
	actions := []string{"PutObject", "DeleteObject", "GetObject", "admin:CreateUser", "CreateBucket"}
	return Entry{Identity: ids[i%len(ids)], Action: actions[i%len(actions)], Bucket: fmt.Sprintf("b%d", i%3),
		Key: fmt.Sprintf("key-%d", i), Source: "192.0.2.1:4000", Status: 200, RequestID: fmt.Sprintf("R%d", i), BytesIn: int64(i)}
}

func appendN(t testing.TB, l *Log, from, n int) []Record {
	t.Helper()
	var out []Record
	for i := from; i < from+n; i++ {
		r, err := l.Append(context.Background(), entry(i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func mustVerify(t *testing.T, dir string, opts VerifyOptions) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestAppendReopenContinuesChain(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	l := openLog(t, dir, Options{Now: c.Now})
	recs := appendN(t, l, 0, 10)
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		if i > 0 && r.Prev != recs[i-1].Hash {
			t.Fatalf("record %d is not chained", i)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), entry(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	l2 := openLog(t, dir, Options{Now: c.Now})
	if seq, hash := l2.Head(); seq != 10 || hash != recs[9].Hash {
		t.Fatalf("head after reopen: %d", seq)
	}
	more := appendN(t, l2, 10, 5)
	if more[0].Seq != 11 || more[0].Prev != recs[9].Hash {
		t.Fatalf("chain does not continue: %+v", more[0])
	}
	if err := l2.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, dir, VerifyOptions{Anchors: []Anchor{{10, recs[9].Hash}, {15, more[4].Hash}}})
	if !rep.OK() || rep.Records != 15 || rep.First != 1 || rep.Last != 15 || rep.Head != more[4].Hash || rep.Files != 1 {
		t.Fatalf("report %+v", rep)
	}
	info, _ := os.Stat(filepath.Join(dir, fileName(1, 0)))
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v", info.Mode().Perm())
	}
}

func TestHeadIsDurable(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{FlushInterval: time.Hour})
	recs := appendN(t, l, 0, 3)
	if seq, _ := l.Head(); seq != 0 {
		t.Fatalf("head %d before any flush", seq)
	}
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if seq, hash := l.Head(); seq != 3 || hash != recs[2].Hash {
		t.Fatalf("head %d after Sync", seq)
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxFileSize: 2048})
	appendN(t, l, 0, 100)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, _, _ := listFiles(dir)
	if len(files) < 10 {
		t.Fatalf("%d files", len(files))
	}
	for _, f := range files {
		info, _ := os.Stat(filePath(dir, f))
		if info.Size() > 2048 {
			t.Fatalf("%s is %d bytes", f.name, info.Size())
		}
	}
	rep := mustVerify(t, dir, VerifyOptions{})
	if !rep.OK() || rep.Records != 100 || rep.Files != len(files) {
		t.Fatalf("report %+v", rep)
	}
	// Reopening appends to the last file, and rotation goes on.
	l2 := openLog(t, dir, Options{MaxFileSize: 2048})
	appendN(t, l2, 100, 30)
	l2.Close()
	if rep := mustVerify(t, dir, VerifyOptions{}); !rep.OK() || rep.Records != 130 {
		t.Fatalf("after reopen %+v", rep)
	}
}

func TestConcurrentAppenders(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxFileSize: 64 << 10})
	const writers, each = 8, 300
	var wg sync.WaitGroup
	seqs := make([][]uint64, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r, err := l.Append(context.Background(), entry(w*each+i))
				if err != nil {
					t.Error(err)
					return
				}
				seqs[w] = append(seqs[w], r.Seq)
				if i%50 == 0 {
					if err := l.Sync(context.Background()); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for _, list := range seqs {
		for i, s := range list {
			if seen[s] || (i > 0 && s <= list[i-1]) {
				t.Fatalf("sequence %d repeated or not increasing for one writer", s)
			}
			seen[s] = true
		}
	}
	rep := mustVerify(t, dir, VerifyOptions{})
	if !rep.OK() || rep.Records != writers*each || rep.Last != writers*each {
		t.Fatalf("report %+v", rep)
	}
}

func TestAppendErrors(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	for _, id := range []string{"", "alice", "user:", "admin-token:", "ROOT"} {
		if _, err := l.Append(context.Background(), Entry{Identity: id}); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("identity %q: %v", id, err)
		}
	}
}

func TestAppendBackpressure(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{MaxPending: 1, FlushInterval: time.Hour})
	if _, err := l.Append(context.Background(), entry(0)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Append(ctx, entry(1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append over MaxPending: %v", err)
	}
	// Sync drains, and appending works again.
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), entry(2)); err != nil {
		t.Fatal(err)
	}
}

func TestClockStepBack(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	l := openLog(t, dir, Options{Now: c.Now})
	a := appendN(t, l, 0, 1)[0]
	c.Set(t0.Add(-time.Hour))
	b := appendN(t, l, 1, 1)[0]
	if b.Time.Before(a.Time) {
		t.Fatalf("time went back: %v then %v", a.Time, b.Time)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	openLog(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v", err)
	}
}

// TestCrashTruncatedTail: a write cut short leaves a partial line; Open
// keeps it, continues in a new file, and Verify calls it a truncated
// tail, not tampering.
func TestCrashTruncatedTail(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	recs := appendN(t, l, 0, 5)
	l.Close()
	// Simulate the crash: half of a sixth line.
	partial := appendLine(nil, &Record{Seq: 6, Time: t0, Entry: entry(5), Prev: recs[4].Hash})
	f, _ := os.OpenFile(filepath.Join(dir, fileName(1, 0)), os.O_WRONLY|os.O_APPEND, 0)
	f.Write(partial[:len(partial)/2])
	f.Close()

	rep := mustVerify(t, dir, VerifyOptions{})
	if !rep.OK() || len(rep.Issues) != 1 || rep.Issues[0].Kind != IssueTruncatedTail || rep.Issues[0].Line != 6 {
		t.Fatalf("report %+v", rep)
	}
	var logged bytes.Buffer
	l2 := openLog(t, dir, Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if !strings.Contains(logged.String(), "partial last line") {
		t.Fatalf("no warning logged: %q", logged.String())
	}
	more := appendN(t, l2, 5, 3)
	if more[0].Seq != 6 || more[0].Prev != recs[4].Hash {
		t.Fatalf("chain after crash: %+v", more[0])
	}
	l2.Close()
	if _, err := os.Stat(filepath.Join(dir, fileName(6, 0))); err != nil {
		t.Fatalf("no new file: %v", err)
	}
	rep = mustVerify(t, dir, VerifyOptions{})
	if !rep.OK() || rep.Records != 8 || len(rep.Issues) != 1 || rep.Issues[0].Kind != IssueTruncatedTail {
		t.Fatalf("report after recovery %+v", rep)
	}
}

// TestCrashPartialOnlyFile: a crash right after rotation leaves a file
// whose only line is partial; the next file takes a generation suffix.
func TestCrashPartialOnlyFile(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	recs := appendN(t, l, 0, 3)
	l.Close()
	partial := appendLine(nil, &Record{Seq: 4, Time: t0, Entry: entry(3), Prev: recs[2].Hash})
	os.WriteFile(filepath.Join(dir, fileName(4, 0)), partial[:10], 0o600)

	l2 := openLog(t, dir, Options{})
	appendN(t, l2, 3, 2)
	l2.Close()
	if _, err := os.Stat(filepath.Join(dir, fileName(4, 1))); err != nil {
		t.Fatalf("no generation file: %v", err)
	}
	rep := mustVerify(t, dir, VerifyOptions{})
	if !rep.OK() || rep.Records != 5 || rep.Files != 3 {
		t.Fatalf("report %+v", rep)
	}
}

func TestOpenCorruptHead(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 3)
	l.Close()
	path := filepath.Join(dir, fileName(1, 0))
	b, _ := os.ReadFile(path)
	b = bytes.Replace(b, []byte(`"key":"key-2"`), []byte(`"key":"key-X"`), 1)
	b = bytes.Replace(b, []byte(`"v":1,"seq":3`), []byte(`"v":1,"seq":3,`), 1)
	os.WriteFile(path, b, 0o600)
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a log with a broken last record: %v", err)
	}
}

func TestEmptyLog(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	l.Close()
	rep := mustVerify(t, dir, VerifyOptions{})
	if !rep.OK() || rep.Records != 0 {
		t.Fatalf("report %+v", rep)
	}
	// The empty file is reused, not left behind.
	l2 := openLog(t, dir, Options{})
	appendN(t, l2, 0, 1)
	l2.Close()
	if files, _, _ := listFiles(dir); len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
}

// TestErrAfterFailedWrite: a write that fails (here the file is closed
// under the log) stops the log and Err says so (the server then reports
// itself not ready); the next attempt to resume opens the file again.
func TestErrAfterFailedWrite(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	ctx := context.Background()
	if _, err := l.Append(ctx, entry(1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx); err != nil || l.Err() != nil {
		t.Fatalf("Sync = %v, Err = %v", err, l.Err())
	}
	l.file.Close() // the disk fails under the log
	if _, err := l.Append(ctx, entry(2)); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx); !errors.Is(err, ErrWrite) {
		t.Fatalf("Sync after a failed write = %v, want ErrWrite", err)
	}
	waitFor(t, "the log resumes", func() bool { return l.Err() == nil })
	l.Close()
	rep := mustVerify(t, dir, VerifyOptions{})
	if g := onlyGap(t, rep); g.Unwritten != 1 || !strings.Contains(g.Cause, "file already closed") {
		t.Fatalf("gap %+v", g)
	}
}
