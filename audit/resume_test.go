package audit

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fullDisk stands in for the disk under a log's files (Options.WrapFile).
// Once filled, a write stores only the room left, possibly part of a
// line, and fails with ENOSPC, as write(2) does on a full file system;
// free makes room again, as an operator deleting files does.
type fullDisk struct {
	mu   sync.Mutex
	room int64 // bytes a write may still store; < 0: no limit
	// stall, when set, holds the next write until it is closed, after
	// the write says so on stalled.
	stall, stalled chan struct{}
	// failSync fails that many fsyncs of files written since their
	// last fsync, with EIO, the written bytes staying readable.
	failSync int
}

func newDisk() *fullDisk { return &fullDisk{room: -1} }

// fill leaves room bytes free.
func (d *fullDisk) fill(room int64) { d.mu.Lock(); d.room = room; d.mu.Unlock() }

func (d *fullDisk) free() { d.fill(-1) }

func (d *fullDisk) wrap(f *os.File) File { return &diskFile{File: f, disk: d} }

type diskFile struct {
	*os.File
	disk  *fullDisk
	wrote bool // since the last Sync
}

func (f *diskFile) Sync() error {
	d := f.disk
	d.mu.Lock()
	defer d.mu.Unlock()
	wrote := f.wrote
	f.wrote = false
	if wrote && d.failSync > 0 {
		d.failSync--
		return &fs.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
	}
	return f.File.Sync()
}

func (f *diskFile) Write(p []byte) (int, error) {
	d := f.disk
	d.mu.Lock()
	if stall := d.stall; stall != nil {
		d.stall = nil
		d.mu.Unlock()
		d.stalled <- struct{}{}
		<-stall
		d.mu.Lock()
	}
	defer d.mu.Unlock()
	if d.room < 0 {
		f.wrote = true
		return f.File.Write(p)
	}
	n, err := f.File.Write(p[:min(int64(len(p)), d.room)])
	d.room -= int64(n)
	f.wrote = f.wrote || n > 0
	if err == nil && n < len(p) {
		err = &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop makes the next flush fail on a disk with room bytes left: it
// appends n records (accepted, never written) and Syncs, which fails.
func stop(t *testing.T, l *Log, disk *fullDisk, room int64, from, n int) {
	t.Helper()
	disk.fill(room)
	appendN(t, l, from, n)
	if err := l.Sync(context.Background()); !errors.Is(err, ErrWrite) {
		t.Fatalf("Sync on a full disk = %v, want ErrWrite", err)
	}
	if err := l.Err(); !errors.Is(err, ErrWrite) {
		t.Fatalf("Err on a full disk = %v, want ErrWrite", err)
	}
}

// refuse appends n records to a stopped log, each refused.
func refuse(t *testing.T, l *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := l.Append(context.Background(), entry(i)); !errors.Is(err, ErrWrite) {
			t.Fatalf("Append to a stopped log = %v, want ErrWrite", err)
		}
	}
}

// onlyGap returns the one gap a verification found, after checking the
// chain passed.
func onlyGap(t *testing.T, rep *Report) Gap {
	t.Helper()
	if !rep.OK() || len(rep.Gaps) != 1 {
		t.Fatalf("report: OK %v, gaps %+v, issues %v", rep.OK(), rep.Gaps, rep.Issues)
	}
	return rep.Gaps[0]
}

// TestResumeAfterFullDisk: a full disk stops the log; appends are
// refused and counted; once space is freed the log resumes by itself
// with a chained gap record saying when, why and how many events went
// unrecorded, and Verify passes and reports the gap.
func TestResumeAfterFullDisk(t *testing.T) {
	dir := t.TempDir()
	disk := newDisk()
	l := openLog(t, dir, Options{WrapFile: disk.wrap, RetryInterval: 20 * time.Millisecond})
	ctx := context.Background()
	before := appendN(t, l, 0, 3)
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	stop(t, l, disk, 0, 3, 2) // 2 appended, never written
	refuse(t, l, 5, 4)        // 4 refused
	// Attempts to resume fail while the disk stays full (each writes
	// the gap record and fails again): the log stays stopped and keeps
	// counting.
	time.Sleep(150 * time.Millisecond)
	if l.Err() == nil {
		t.Fatal("the log resumed on a full disk")
	}
	refuse(t, l, 9, 1)

	disk.free()
	waitFor(t, "the log resumes", func() bool { return l.Err() == nil })
	after := appendN(t, l, 10, 2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	rep := mustVerify(t, dir, VerifyOptions{})
	g := onlyGap(t, rep)
	if g.Seq != 4 || g.Unwritten != 2 || g.Refused != 5 || g.Unrecorded != 7 {
		t.Fatalf("gap %+v, want record 4 with 2 unwritten and 5 refused", g)
	}
	if !strings.Contains(g.Cause, "no space left on device") || strings.Contains(g.Cause, dir) {
		t.Fatalf("gap cause %q: want the system error, without the log's directory", g.Cause)
	}
	if !g.Since.After(before[2].Time) || !g.Until.After(g.Since) {
		t.Fatalf("gap from %v to %v, last record before it at %v", g.Since, g.Until, before[2].Time)
	}
	if rep.Records != 6 || rep.Last != 6 || rep.Unrecorded != 7 {
		t.Fatalf("report %+v", rep)
	}
	if len(rep.Issues) != 1 || rep.Issues[0].Kind != IssueGap || rep.Issues[0].Seq != 4 ||
		!strings.Contains(rep.Issues[0].String(), "7 events were not recorded") {
		t.Fatalf("issues %v", rep.Issues)
	}
	// The gap record is chained between the last record written before
	// the stop and the first after it.
	var recs []Record
	if err := Query(ctx, dir, Filter{}, func(r Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	gap := recs[3]
	if !IsGap(gap) || gap.Identity != System || gap.Prev != before[2].Hash || gap.Time != g.Until ||
		recs[4].Prev != gap.Hash || recs[4].RequestID != after[0].RequestID {
		t.Fatalf("records around the gap: %+v", recs[2:5])
	}
}

// TestResumeTornTail: the disk fills in the middle of a line. The line
// is kept as evidence, the lines written whole before it stay in the
// chain, and the log resumes in a new file chained to the last whole
// line, as Open does after a crash; a restart later continues the chain.
func TestResumeTornTail(t *testing.T) {
	dir := t.TempDir()
	disk := newDisk()
	l := openLog(t, dir, Options{WrapFile: disk.wrap, RetryInterval: 20 * time.Millisecond})
	ctx := context.Background()
	appendN(t, l, 0, 3)
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	line := int64(len(appendLine(nil, &Record{Seq: 4, Time: t0, Entry: entry(3)})) + 1)
	stop(t, l, disk, line+line/2, 3, 3) // record 4 whole, record 5 cut in half, 6 not written

	disk.free()
	waitFor(t, "the log resumes", func() bool { return l.Err() == nil })
	appendN(t, l, 6, 2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, fileName(5, 0))); err != nil {
		t.Fatalf("no new file after the torn line: %v", err)
	}

	rep := mustVerify(t, dir, VerifyOptions{})
	if len(rep.Issues) != 2 || rep.Issues[0].Kind != IssueTruncatedTail || rep.Issues[0].File != fileName(1, 0) ||
		rep.Issues[0].Line != 5 || rep.Issues[1].Kind != IssueGap {
		t.Fatalf("issues %v", rep.Issues)
	}
	if g := onlyGap(t, rep); g.Seq != 5 || g.Unwritten != 2 || g.Refused != 0 {
		t.Fatalf("gap %+v, want record 5 with records 5 and 6 unwritten", g)
	}
	if rep.Records != 7 || rep.Last != 7 {
		t.Fatalf("report %+v", rep)
	}

	// A restart finds the same head and continues.
	l2 := openLog(t, dir, Options{})
	if more := appendN(t, l2, 8, 1); more[0].Seq != 8 || more[0].Prev != rep.Head {
		t.Fatalf("chain after restart: %+v", more[0])
	}
	l2.Close()
	if rep := mustVerify(t, dir, VerifyOptions{}); !rep.OK() || rep.Records != 8 || len(rep.Gaps) != 1 {
		t.Fatalf("report after restart %+v", rep)
	}
}

// TestResumeTornFirstLine: the disk fills at a rotation, in the first
// line of a new file; the log resumes in a file with a generation
// suffix.
func TestResumeTornFirstLine(t *testing.T) {
	dir := t.TempDir()
	disk := newDisk()
	// The size of three records, from a scratch log.
	scratch := t.TempDir()
	l := openLog(t, scratch, Options{})
	appendN(t, l, 0, 3)
	l.Close()
	info, err := os.Stat(filepath.Join(scratch, fileName(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, Options{WrapFile: disk.wrap, RetryInterval: 20 * time.Millisecond, MaxFileSize: info.Size()})
	appendN(t, l, 0, 3) // fills the first file
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop(t, l, disk, 10, 3, 1) // record 4 starts a file and is cut
	disk.free()
	waitFor(t, "the log resumes", func() bool { return l.Err() == nil })
	l.Close()
	if _, err := os.Stat(filepath.Join(dir, fileName(4, 1))); err != nil {
		t.Fatalf("no generation file: %v", err)
	}
	rep := mustVerify(t, dir, VerifyOptions{})
	if g := onlyGap(t, rep); g.Seq != 4 || g.Unwritten != 1 || rep.Records != 4 {
		t.Fatalf("gap %+v, report %+v", g, rep)
	}
}

// TestResumeKeepsAnchor: the head anchored before the stop stays in the
// log, the gap record is anchored as soon as it is durable, and a
// restart finds the anchor matching.
func TestResumeKeepsAnchor(t *testing.T) {
	dir := t.TempDir()
	k := newFakeKMS(t)
	disk := newDisk()
	l := openLog(t, dir, Options{AnchorKeys: k, AnchorInterval: time.Hour, WrapFile: disk.wrap, RetryInterval: 20 * time.Millisecond})
	ctx := context.Background()
	appendN(t, l, 0, 3)
	if sa, err := l.Anchor(ctx); err != nil || sa.Seq != 3 {
		t.Fatalf("anchor %+v, %v", sa, err)
	}
	stop(t, l, disk, 0, 3, 2)
	if _, err := l.Anchor(ctx); !errors.Is(err, ErrWrite) {
		t.Fatalf("Anchor of a stopped log = %v", err)
	}
	disk.free()
	waitFor(t, "the gap record is anchored", func() bool { sa, _ := l.LastAnchor(); return sa.Seq == 4 })
	rep, err := l.Verify(ctx, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g := onlyGap(t, rep); g.Seq != 4 || rep.Anchor == nil || rep.Anchor.Seq != 4 {
		t.Fatalf("gap %+v, anchor %+v", g, rep.Anchor)
	}
	appendN(t, l, 5, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	var logged bytes.Buffer
	l2 := openLog(t, dir, Options{AnchorKeys: k, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	l2.Close()
	if strings.Contains(logged.String(), "DOES NOT MATCH") {
		t.Fatalf("restart found the anchor mismatching: %s", logged.String())
	}
	rep = mustVerify(t, dir, VerifyOptions{AnchorKeys: k})
	if g := onlyGap(t, rep); g.Seq != 4 || rep.Anchor == nil || rep.Anchor.Seq != 5 {
		t.Fatalf("after restart: gap %+v, anchor %+v", g, rep.Anchor)
	}
}

// TestCloseWhileStopped: Close makes one last attempt to resume, so a
// disk freed just before shutdown still gets its gap record; on a disk
// still full, Close fails and logs what went unrecorded.
func TestCloseWhileStopped(t *testing.T) {
	t.Run("freed", func(t *testing.T) {
		dir := t.TempDir()
		disk := newDisk()
		l := openLog(t, dir, Options{WrapFile: disk.wrap, RetryInterval: time.Hour})
		appendN(t, l, 0, 1)
		if err := l.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		stop(t, l, disk, 0, 1, 1)
		refuse(t, l, 2, 1)
		disk.free()
		if err := l.Close(); err != nil {
			t.Fatalf("Close = %v", err)
		}
		if g := onlyGap(t, mustVerify(t, dir, VerifyOptions{})); g.Unrecorded != 2 {
			t.Fatalf("gap %+v", g)
		}
	})
	t.Run("full", func(t *testing.T) {
		dir := t.TempDir()
		disk := newDisk()
		var logged bytes.Buffer
		l := openLog(t, dir, Options{WrapFile: disk.wrap, RetryInterval: time.Hour,
			Logger: slog.New(slog.NewTextHandler(&logged, nil))})
		appendN(t, l, 0, 1)
		if err := l.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		stop(t, l, disk, 0, 1, 1)
		refuse(t, l, 2, 3)
		if err := l.Close(); !errors.Is(err, ErrWrite) {
			t.Fatalf("Close on a full disk = %v, want ErrWrite", err)
		}
		if out := logged.String(); !strings.Contains(out, "no gap record reports") || !strings.Contains(out, "refused=3") {
			t.Fatalf("log: %s", out)
		}
		if rep := mustVerify(t, dir, VerifyOptions{}); !rep.OK() || len(rep.Gaps) != 0 || rep.Records != 1 {
			t.Fatalf("report %+v", rep)
		}
	})
}

// TestStoppedHeadStaysOnDisk: records appended while the write that
// fails is under way are lost with it; the head (what the anchor names)
// must not move to them, or the anchor would name records that are not
// in the log and Verify would call the log cut.
func TestStoppedHeadStaysOnDisk(t *testing.T) {
	dir := t.TempDir()
	disk := newDisk()
	// Flushes only when kicked, and no attempt to resume (which would
	// set the head from the disk again) while the test looks.
	l := openLog(t, dir, Options{WrapFile: disk.wrap, FlushInterval: time.Hour, RetryInterval: time.Hour})
	ctx := context.Background()
	appendN(t, l, 0, 1)
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	disk.fill(0)
	stall, stalled := make(chan struct{}), make(chan struct{})
	disk.mu.Lock()
	disk.stall, disk.stalled = stall, stalled
	disk.mu.Unlock()
	appendN(t, l, 1, 1)
	synced := make(chan error, 1)
	go func() { synced <- l.Sync(ctx) }()
	<-stalled           // the flusher is writing record 2
	appendN(t, l, 2, 2) // records 3 and 4 wait for the next flush
	close(stall)
	if err := <-synced; !errors.Is(err, ErrWrite) {
		t.Fatalf("Sync = %v, want ErrWrite", err)
	}
	l.wake() // a flush of records 3 and 4, which must not write them
	waitFor(t, "the flusher takes records 3 and 4", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.pendBytes == 0
	})
	if seq, _ := l.Head(); seq != 1 {
		t.Fatalf("head %d on a stopped log whose disk holds record 1", seq)
	}
}

// TestResumeCountsRecordsAcceptedBeforeGapFails: the log resumes, takes
// records behind its gap record, and the gap record's write is cut
// short; the next gap record counts both stops, the records accepted in
// between among the unwritten.
func TestResumeCountsRecordsAcceptedBeforeGapFails(t *testing.T) {
	dir := t.TempDir()
	disk := newDisk()
	l := openLog(t, dir, Options{WrapFile: disk.wrap, RetryInterval: time.Hour, FlushInterval: 5 * time.Millisecond})
	appendN(t, l, 0, 3)
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop(t, l, disk, 0, 3, 2)
	refuse(t, l, 5, 1)
	stall, stalled := make(chan struct{}), make(chan struct{})
	disk.mu.Lock()
	disk.stall, disk.stalled = stall, stalled
	disk.room = 30
	disk.mu.Unlock()
	<-stalled           // the first attempt writes the gap record
	appendN(t, l, 6, 3) // accepted after the resume, pending behind the gap record
	close(stall)
	waitFor(t, "stopped again", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.err != nil })
	refuse(t, l, 9, 2)
	disk.free()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	g := onlyGap(t, mustVerify(t, dir, VerifyOptions{}))
	if g.Unwritten != 5 || g.Refused != 3 {
		t.Fatalf("gap %+v, want 5 unwritten (2 before the first resume, 3 after) and 3 refused", g)
	}
}

// TestGapClockStepBackWhileStopped: the clock steps back (NTP) while the
// log is stopped. The gap record must still have until >= since, or
// ParseGap refuses the log's own record and Verify reports it as
// malformed forever.
func TestGapClockStepBackWhileStopped(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	disk := newDisk()
	l := openLog(t, dir, Options{Now: c.Now, WrapFile: disk.wrap, RetryInterval: 20 * time.Millisecond})
	appendN(t, l, 0, 2)
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Set(t0.Add(time.Hour))
	stop(t, l, disk, 0, 2, 1)
	c.Set(t0) // stepped back by an hour while stopped
	disk.free()
	waitFor(t, "the log resumes", func() bool { return l.Err() == nil })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, dir, VerifyOptions{})
	if !rep.OK() || len(rep.Gaps) != 1 {
		t.Fatalf("the log's own gap record after a clock step: OK %v, gaps %+v, issues %v", rep.OK(), rep.Gaps, rep.Issues)
	}
	if g := rep.Gaps[0]; g.Since.Before(t0.Add(time.Hour)) || !g.Until.Equal(g.Since) {
		t.Fatalf("gap from %v to %v: want both at the stop, an hour after t0", g.Since, g.Until)
	}
}

// TestSyncReportsRecordLostToStop: once a stopped log resumes, the gap
// record and the records after it take the sequence numbers of the
// records the failed write lost. A caller that appended one of those
// and Syncs it afterwards must get ErrWrite, not nil because its
// sequence number is on disk again; a record the failed write did get
// on disk, and one appended after the resume, sync as usual.
func TestSyncReportsRecordLostToStop(t *testing.T) {
	dir := t.TempDir()
	disk := newDisk()
	l := openLog(t, dir, Options{WrapFile: disk.wrap, RetryInterval: 20 * time.Millisecond})
	ctx := context.Background()
	appendN(t, l, 0, 3)
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	line := int64(len(appendLine(nil, &Record{Seq: 4, Time: t0, Entry: entry(3)})) + 1)
	disk.fill(line + line/2)
	recs := appendN(t, l, 3, 3) // record 4 reaches the disk, 5 is cut, 6 is lost
	kept, lost := recs[0], recs[1:]
	l.wake()
	waitFor(t, "the log stops", func() bool { return l.Err() != nil })
	disk.free()
	waitFor(t, "the log resumes", func() bool { return l.Err() == nil })
	after := appendN(t, l, 6, 2) // records 6 and 7, after the gap record 5
	if after[0].Seq != lost[1].Seq {
		t.Fatalf("record %d after the resume, want %d, a lost record's", after[0].Seq, lost[1].Seq)
	}
	if err := l.Sync(ctx, kept, after[0], after[1]); err != nil {
		t.Fatalf("Sync of records on disk = %v", err)
	}
	for _, r := range lost {
		if err := l.Sync(ctx, r); !errors.Is(err, ErrWrite) {
			t.Fatalf("Sync of lost record %d = %v, want ErrWrite", r.Seq, err)
		}
		if err := l.Sync(ctx, kept, r, after[1]); !errors.Is(err, ErrWrite) {
			t.Fatalf("Sync of records with lost record %d among them = %v, want ErrWrite", r.Seq, err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if g := onlyGap(t, mustVerify(t, dir, VerifyOptions{})); g.Seq != 5 || g.Unwritten != 2 {
		t.Fatalf("gap %+v, want record 5 counting records 5 and 6", g)
	}
}

// dirSyncs wraps a log's files (Options.WrapFile) to count the fsyncs of
// its directory and fail the next fail of them.
type dirSyncs struct {
	dir     string
	mu      sync.Mutex
	fail, n int
}

func (d *dirSyncs) wrap(f *os.File) File {
	if f.Name() == d.dir {
		return &dirFile{File: f, syncs: d}
	}
	return f
}

func (d *dirSyncs) count() int { d.mu.Lock(); defer d.mu.Unlock(); return d.n }

type dirFile struct {
	*os.File
	syncs *dirSyncs
}

func (f *dirFile) Sync() error {
	d := f.syncs
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail > 0 {
		d.fail--
		return &fs.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
	}
	d.n++
	return f.File.Sync()
}

// TestResumeReusedFileSyncsDir: a rotation creates the next file and
// fails to fsync the directory, which stops the log and leaves the file
// empty, its entry perhaps not durable. The resume appends to that file
// (as Open would) and must fsync the directory before the gap record
// goes in, or a power loss could take the file with the records after
// the gap.
func TestResumeReusedFileSyncsDir(t *testing.T) {
	dir := t.TempDir()
	scratch := t.TempDir() // the size of three records
	l := openLog(t, scratch, Options{})
	appendN(t, l, 0, 3)
	l.Close()
	info, err := os.Stat(filepath.Join(scratch, fileName(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	syncs := &dirSyncs{dir: dir}
	l = openLog(t, dir, Options{WrapFile: syncs.wrap, FlushInterval: time.Hour, RetryInterval: time.Hour, MaxFileSize: info.Size()})
	ctx := context.Background()
	appendN(t, l, 0, 3)
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	syncs.mu.Lock()
	syncs.fail = 1
	syncs.mu.Unlock()
	appendN(t, l, 3, 1) // record 4 opens a new file
	if err := l.Sync(ctx); !errors.Is(err, ErrWrite) {
		t.Fatalf("Sync = %v, want ErrWrite", err)
	}
	if size, err := osStat(filepath.Join(dir, fileName(4, 0))); err != nil || size != 0 {
		t.Fatalf("file 4 after the failed directory fsync: size %d, %v", size, err)
	}
	before := syncs.count()
	if err := l.Close(); err != nil { // resumes, and writes the gap record
		t.Fatal(err)
	}
	if syncs.count() == before {
		t.Fatal("the resume reused file 4 without fsyncing the directory")
	}
	if g := onlyGap(t, mustVerify(t, dir, VerifyOptions{})); g.Seq != 4 {
		t.Fatalf("gap %+v", g)
	}
	if _, err := os.Stat(filepath.Join(dir, fileName(4, 1))); err == nil {
		t.Fatal("the resume began a new file instead of reusing file 4")
	}
}

// TestCloseStoppedAfterGapWritten: at Close the log resumes and writes
// its gap record, whose fsync fails. The record is in the file, so the
// next start finds it: the error logged at Close must account for the
// new stop only, not count the first one again as reported by no gap
// record.
func TestCloseStoppedAfterGapWritten(t *testing.T) {
	dir := t.TempDir()
	disk := newDisk()
	var logged logBuffer
	l := openLog(t, dir, Options{WrapFile: disk.wrap, FlushInterval: time.Hour, RetryInterval: time.Hour,
		Logger: logged.logger()})
	appendN(t, l, 0, 1)
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop(t, l, disk, 0, 1, 2) // records 2 and 3 lost
	refuse(t, l, 3, 2)
	disk.free()
	disk.mu.Lock()
	disk.failSync = 1 // the gap record's
	disk.mu.Unlock()
	if err := l.Close(); !errors.Is(err, ErrWrite) {
		t.Fatalf("Close = %v, want ErrWrite", err)
	}
	g := onlyGap(t, mustVerify(t, dir, VerifyOptions{}))
	if g.Seq != 2 || g.Unwritten != 2 || g.Refused != 2 {
		t.Fatalf("gap %+v, want record 2 with 2 unwritten and 2 refused", g)
	}
	var line string
	for l := range strings.Lines(logged.String()) {
		if strings.Contains(l, "closing a stopped log") {
			line = l
		}
	}
	if !strings.Contains(line, "input/output error") || strings.Contains(line, "no space left") ||
		!strings.Contains(line, "refused=0 unwritten=0") || !strings.Contains(line, "earlier_stop_gap_record=2") {
		t.Fatalf("Close logged %q: want the failed fsync alone, the first stop left to gap record 2", line)
	}
}
