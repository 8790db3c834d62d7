package audit

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

const lockName = "LOCK"

// Sentinel errors; match them with errors.Is.
var (
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("audit: log closed")
	// ErrLocked: another process has the log open.
	ErrLocked = errors.New("audit: log is locked by another process")
	// ErrCorrupt: Open found the end of the log unreadable; run Verify.
	ErrCorrupt = errors.New("audit: log is corrupt")
	// ErrInvalidEntry: an entry with an identity that is not one of the
	// identity forms.
	ErrInvalidEntry = errors.New("audit: invalid entry")
	// ErrWrite: writing or syncing the log failed; the log refuses
	// appends until it resumes (records after a failed write would have
	// a hole before them), and then reports the stop in a gap record.
	ErrWrite = errors.New("audit: write failed")
)

// Options configures a Log. Zero values mean the defaults.
type Options struct {
	// MaxFileSize rotates to a new file before a file would grow past it;
	// default 64 MiB.
	MaxFileSize int64
	// FlushInterval is the longest an appended record waits before it is
	// written and fsynced: the records at risk on power loss. Default
	// 20 ms.
	FlushInterval time.Duration
	// MaxPending bounds the bytes appended but not yet written; Append
	// blocks beyond it. Default 4 MiB.
	MaxPending int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives warnings (a crash-truncated tail found by Open);
	// nil discards them.
	Logger *slog.Logger
	// AnchorKeys, when set, anchors the chain's head (see Anchor): Open
	// takes a data key from it, checks the anchor a previous run left,
	// and anchors the head every AnchorInterval and at Close.
	AnchorKeys KeySource
	// AnchorInterval is how often a changed head is anchored; default
	// DefaultAnchorInterval.
	AnchorInterval time.Duration
	// RetryInterval is the longest wait between two attempts to resume
	// a log that a failed write stopped (see Resuming in the package
	// documentation): attempts start FlushInterval apart and double up
	// to it. It bounds how long the log stays stopped after the disk
	// recovers. Default DefaultRetryInterval.
	RetryInterval time.Duration
	// WrapFile, when set, wraps every file the log opens to write or
	// sync (log files, kept evidence; not the anchor's) and the directory
	// when it fsyncs it after creating one: fault injection (a disk that
	// fills up and is freed again). nil uses the files as they are.
	WrapFile func(*os.File) File
}

// DefaultRetryInterval is the default Options.RetryInterval.
const DefaultRetryInterval = 10 * time.Second

// File is a log file as the log writes it; *os.File implements it. The
// flusher alone calls it, never concurrently.
type File interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

func (o *Options) ensureDefaults() {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = 64 << 20
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 20 * time.Millisecond
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 4 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.AnchorInterval <= 0 {
		o.AnchorInterval = DefaultAnchorInterval
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultRetryInterval
	}
}

// flushThreshold wakes the flusher early once this much is pending.
const flushThreshold = 256 << 10

// Log is an open audit log: one appender (this process) per directory.
// Append, Sync, Head, Query and Export are safe for concurrent use.
type Log struct {
	dir  string
	opts Options
	lock *os.File

	mu        sync.Mutex
	seq       uint64   // last appended
	hash      [32]byte // of the last appended line
	last      time.Time
	curName   string // file the next line goes to
	curSize   int64  // its size once everything pending is written
	pending   []segment
	pendBytes int
	durSeq    uint64 // last record written and fsynced
	durHash   [32]byte
	unsynced  []link        // records durSeq+1 … seq, for resume to check the disk against (resume.go)
	era       *era          // of the records appended now (resume.go)
	flushed   chan struct{} // closed and replaced after each flush
	space     chan struct{} // closed and replaced when pending shrinks
	err       error         // the write error that stopped the log, until it resumes
	out       *outage       // the stop, until a durable gap record reports it (resume.go)
	closed    bool
	spare     []byte // a written segment's buffer, for reuse

	kick chan struct{} // wakes the flusher
	done chan struct{} // closed when the flusher has exited
	file File          // the flusher's open file
	name string        // its name

	// Anchoring (anchor.go), with Options.AnchorKeys only.
	anchorKey    []byte // plaintext data key the anchors are MACed with
	anchorSealed []byte // its sealed form, stored in each anchor
	anchorMu     sync.Mutex
	anchored     SignedAnchor // the last anchor written, under anchorMu
	anchorClosed bool         // Close wrote the last anchor, under anchorMu
	anchorStop   chan struct{}
	anchorDone   chan struct{}
	anchorKick   chan struct{} // anchors now (after a resume)
}

// segment is pending bytes for one file.
type segment struct {
	name     string
	data     []byte
	lastSeq  uint64
	lastHash [32]byte
}

// Open opens the log in dir (created with mode 0700 if needed), finds the
// head of the chain, and starts the background flusher. A partial last
// line left by a crash is kept as evidence and reported (Logger, and
// Verify's TruncatedTail); appending continues in a new file chained to
// the last complete record. Open fails with ErrCorrupt when the last
// complete line is not a valid record: the chain's head is then unknown,
// and continuing would hide the damage.
func Open(dir string, opts Options) (*Log, error) {
	opts.ensureDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, opts: opts, lock: lock, era: &era{}, flushed: make(chan struct{}), space: make(chan struct{}),
		kick: make(chan struct{}, 1), done: make(chan struct{}), anchorKick: make(chan struct{}, 1)}
	h, err := l.readHead("a write cut short by a crash")
	if err == nil {
		err = l.openHead(h)
	}
	if err != nil {
		lock.Close()
		return nil, err
	}
	l.seq, l.hash, l.last = h.seq, h.hash, h.time
	l.durSeq, l.durHash = h.seq, h.hash
	l.curName, l.curSize = h.name, h.size
	if opts.AnchorKeys != nil {
		if err := l.startAnchoring(context.Background()); err != nil {
			l.file.Close()
			lock.Close()
			return nil, err
		}
		l.anchorStop, l.anchorDone = make(chan struct{}), make(chan struct{})
		go l.anchorer()
	}
	go l.flusher()
	return l, nil
}

// head is the chain's head as the files on disk show it, and where the
// next record goes.
type head struct {
	seq      uint64
	hash     [32]byte
	time     time.Time
	headFile string // the file holding record seq ("" for an empty log)
	name     string // the file to append to
	size     int64  // its size
	reuse    bool   // name exists (false: create it)
}

// readHead finds the chain's head: the last complete line of the last
// file that has one. A partial last line (why: what cut it short; ""
// does not log it) is kept as evidence and logged; appending then
// continues in a new file, with a generation suffix if one is named for
// the same record. It fails with ErrCorrupt when the last complete line
// is not a valid record: the head is then unknown, and continuing would
// hide the damage. Open calls it, and resume, which must find the same
// head a restart would.
func (l *Log) readHead(why string) (head, error) {
	files, _, err := listFiles(l.dir)
	if err != nil {
		return head{}, err
	}
	var h head
	var lastTail tail
	for i := len(files) - 1; i >= 0 && h.headFile == ""; i-- {
		t, err := readTail(filePath(l.dir, files[i]))
		if err != nil {
			return head{}, err
		}
		if i == len(files)-1 {
			lastTail = t
			if t.partial && why != "" {
				l.opts.Logger.Warn("audit: partial last line; continuing in a new file",
					slog.String("cause", why), slog.String("file", files[i].name), slog.Int64("size", t.size))
			}
		}
		if t.lastLine == nil {
			continue
		}
		r, err := parseLine(t.lastLine, true)
		if err != nil {
			return head{}, fmt.Errorf("%w: last record of %s: %v", ErrCorrupt, files[i].name, err)
		}
		h.seq, h.hash, h.time, h.headFile = r.Seq, r.Hash, r.Time, files[i].name
	}
	if len(files) > 0 && !lastTail.partial && (lastTail.size > 0 || files[len(files)-1].seq == h.seq+1) {
		h.name, h.size, h.reuse = files[len(files)-1].name, lastTail.size, true
		return h, nil
	}
	for gen := 0; ; gen++ {
		name := fileName(h.seq+1, gen)
		if _, err := os.Lstat(filepath.Join(l.dir, name)); err == nil {
			continue
		}
		h.name = name
		return h, nil
	}
}

// openHead makes the head durable and opens the file the next record
// goes to. The head's line may have been written and never synced (by
// the write that failed before a resume, or the process before a
// crash): it is fsynced before anything is chained to it, so that a
// power loss cannot take a record the next one points to. So is the
// directory when the file is reused: an empty file is left by a
// createFile that failed at its directory fsync, and its entry may not
// be durable.
func (l *Log) openHead(h head) error {
	if h.headFile != "" && h.headFile != h.name {
		f, err := os.Open(filepath.Join(l.dir, h.headFile))
		if err != nil {
			return fmt.Errorf("audit: open %s: %w", h.headFile, err)
		}
		err = l.wrap(f).Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("audit: sync %s: %w", h.headFile, err)
		}
	}
	if !h.reuse {
		return l.createFile(h.name)
	}
	f, err := os.OpenFile(filepath.Join(l.dir, h.name), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: open %s: %w", h.name, err)
	}
	file := l.wrap(f)
	if err := file.Sync(); err != nil {
		file.Close()
		return fmt.Errorf("audit: sync %s: %w", h.name, err)
	}
	if err := l.syncDir(); err != nil {
		file.Close()
		return err
	}
	l.file, l.name = file, h.name
	return nil
}

// wrap applies Options.WrapFile.
func (l *Log) wrap(f *os.File) File {
	if l.opts.WrapFile != nil {
		return l.opts.WrapFile(f)
	}
	return f
}

// createFile creates and opens the next file, durably (directory fsync).
// Open and then only the flusher call it.
func (l *Log) createFile(name string) error {
	f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("audit: create %s: %w", name, err)
	}
	if err := l.syncDir(); err != nil {
		f.Close()
		return err
	}
	l.file, l.name = l.wrap(f), name
	return nil
}

// syncDir fsyncs the log's directory, making a created log file's entry
// durable. It goes through Options.WrapFile like the files, so that a
// test can fail it.
func (l *Log) syncDir() error {
	d, err := os.Open(l.dir)
	if err != nil {
		return fmt.Errorf("audit: sync directory: %w", err)
	}
	dir := l.wrap(d)
	err = dir.Sync()
	dir.Close()
	if err != nil {
		return fmt.Errorf("audit: sync directory: %w", err)
	}
	return nil
}

// Append adds a record for e to the chain and returns it. It returns once
// the record is in the chain in memory: it is written and fsynced within
// FlushInterval, or at Sync or Close, whichever comes first. Append blocks
// (until ctx is done) only when MaxPending bytes wait for the disk.
//
// While a failed write has the log stopped, Append refuses e with
// ErrWrite and counts it. A record whose write failed is lost (Sync,
// given the record, reports it); both are counted in the gap record the
// log writes when it resumes, which takes the lost record's sequence
// number.
func (l *Log) Append(ctx context.Context, e Entry) (Record, error) {
	if !validIdentity(e.Identity) {
		return Record{}, fmt.Errorf("%w: identity %q is not root, anonymous, user:<name> or admin-token:<id>", ErrInvalidEntry, limit(e.Identity, 64))
	}
	e.sanitize()
	l.mu.Lock()
	for l.pendBytes >= l.opts.MaxPending && l.err == nil && !l.closed {
		ch := l.space
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Record{}, fmt.Errorf("audit: append: %w", ctx.Err())
		}
		l.mu.Lock()
	}
	defer l.mu.Unlock()
	if l.closed {
		return Record{}, ErrClosed
	}
	if l.err != nil {
		l.out.refused++ // reported by the gap record when the log resumes
		return Record{}, l.err
	}
	return l.appendLocked(e, l.nextTimeLocked()), nil
}

// appendLocked chains a record for e (valid and sanitized) at time t
// (from nextTimeLocked) in memory, with l.mu held.
func (l *Log) appendLocked(e Entry, t time.Time) Record {
	r := Record{Entry: e, Seq: l.seq + 1, Time: t, Prev: l.hash, era: l.era}
	n := len(l.pending)
	if n == 0 || l.pending[n-1].name != l.curName {
		buf := l.spare
		if buf == nil {
			buf = make([]byte, 0, 64<<10)
		}
		l.pending = append(l.pending, segment{name: l.curName, data: buf})
		l.spare = nil
		n++
	}
	seg := &l.pending[n-1]
	start := len(seg.data)
	seg.data = appendLine(seg.data, &r)
	size := int64(len(seg.data) - start + 1)
	if l.curSize > 0 && l.curSize+size > l.opts.MaxFileSize {
		// Rotate: the line moves to a new file named by its sequence number.
		line := append([]byte(nil), seg.data[start:]...)
		seg.data = seg.data[:start]
		l.curName, l.curSize = fileName(r.Seq, 0), 0
		l.pending = append(l.pending, segment{name: l.curName, data: line})
		seg = &l.pending[len(l.pending)-1]
		start = 0
	}
	r.Hash = sha256.Sum256(seg.data[start:])
	seg.data = append(seg.data, '\n')
	seg.lastSeq, seg.lastHash = r.Seq, r.Hash
	l.seq, l.hash, l.last = r.Seq, r.Hash, r.Time
	l.unsynced = append(l.unsynced, link{seq: r.Seq, hash: r.Hash})
	l.curSize += size
	l.pendBytes += int(size)
	if l.pendBytes >= flushThreshold {
		l.wake()
	}
	return r
}

// nextTimeLocked is the time of the next record: now, or the last
// record's time if the clock stepped back (time must not reorder).
func (l *Log) nextTimeLocked() time.Time {
	t := l.opts.Now().UTC()
	if t.Before(l.last) {
		t = l.last
	}
	return t
}

func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Sync returns once the records appended before the call are written
// and fsynced. Given records Append returned, it waits for those alone;
// either way it fails with ErrWrite if a failed write lost one of them,
// or if the log is stopped before they are on disk. A caller that must
// know its record is on disk passes it: a record lost before the call
// cannot be told otherwise, since the log reuses the sequence numbers
// of lost records once it resumes. Records read from files (Query) are
// ignored.
func (l *Log) Sync(ctx context.Context, appended ...Record) error {
	l.mu.Lock()
	e, target := l.era, l.seq
	for {
		done, err := true, error(nil)
		if len(appended) == 0 {
			done, err = l.fateLocked(e, target)
		}
		for _, r := range appended {
			if r.era == nil || err != nil {
				continue
			}
			var d bool
			d, err = l.fateLocked(r.era, r.Seq)
			done = done && d
		}
		if done || err != nil {
			l.mu.Unlock()
			return err
		}
		ch := l.flushed
		l.mu.Unlock()
		l.wake()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("audit: sync: %w", ctx.Err())
		}
		l.mu.Lock()
	}
}

// fateLocked says whether record seq, appended in era e, is on disk
// (durable), lost (an error), or neither yet (l.mu held).
func (l *Log) fateLocked(e *era, seq uint64) (durable bool, err error) {
	switch {
	case e != l.era && seq <= e.kept, e == l.era && seq <= l.durSeq:
		return true, nil
	case e != l.era:
		return false, fmt.Errorf("%w: record %d was lost with a failed write; the log has resumed since, and a gap record counts it", ErrWrite, seq)
	}
	return false, l.err
}

// Err returns the write error that stopped the log, nil while it works.
// A stopped log takes no records (a hole in the chain would not verify),
// so the server reports itself not ready. Err stays set after the log
// resumes until the gap record reporting the stop is on disk: only then
// is the stop accounted for.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil && l.out != nil {
		return l.out.err
	}
	return l.err
}

// Head returns the sequence number and hash of the last durable record
// (0 and the zero hash for an empty log). This is what the KMS anchors:
// a record that could still be lost to a crash is never anchored, so a
// lost unsynced tail is never mistaken for tampering.
func (l *Log) Head() (seq uint64, hash [32]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.durSeq, l.durHash
}

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.dir }

// Close writes and fsyncs everything appended, stops the flusher,
// anchors the final head (with Options.AnchorKeys) and releases the
// directory. Appends after Close fail with ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.wake()
	<-l.done
	l.mu.Lock()
	err := l.err
	l.mu.Unlock()
	if cerr := l.file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("audit: close: %w", cerr)
	}
	if l.anchorStop != nil {
		close(l.anchorStop)
		<-l.anchorDone
		// The last anchor covers everything the flusher wrote above.
		if _, aerr := l.writeAnchor(); err == nil && aerr != nil {
			err = aerr
		}
		l.anchorMu.Lock()
		l.anchorClosed = true // a RekeyAnchor racing Close writes nothing more
		clear(l.anchorKey)
		l.anchorMu.Unlock()
	}
	l.lock.Close()
	return err
}

// flusher writes pending segments every FlushInterval, when woken, and a
// last time at Close. After a failed write it drops what is pending (the
// log has stopped) and tries to resume, with backoff, and once more at
// Close (resume.go).
func (l *Log) flusher() {
	defer close(l.done)
	ticker := time.NewTicker(l.opts.FlushInterval)
	defer ticker.Stop()
	var backoff time.Duration // between attempts to resume
	var retryAt time.Time
	var retryErr string // the last attempt's error, logged when it changes
	for {
		select {
		case <-ticker.C:
		case <-l.kick:
		}
		l.mu.Lock()
		closing := l.closed
		if l.err != nil {
			// Chained before the stop was seen: lost, and counted when
			// the log resumes (by sequence number).
			l.releaseLocked(l.pending)
			l.pending = nil
			l.mu.Unlock()
			if !closing && time.Now().Before(retryAt) {
				continue
			}
			if err := l.resume(); err != nil {
				backoff = min(2*backoff, l.opts.RetryInterval)
				retryAt = time.Now().Add(backoff)
				// A full disk fails the same way each time: once is
				// news, the rest is noise. Something else (a log Open
				// would refuse) must show.
				level := slog.LevelDebug
				if msg := l.describe(err); msg != retryErr {
					level, retryErr = slog.LevelWarn, msg
				}
				l.opts.Logger.Log(context.Background(), level, "audit: the log is still stopped", "err", retryErr, "next_attempt_in", backoff)
				if closing {
					l.closeStopped(err)
					return
				}
				continue
			}
			l.mu.Lock() // resumed: the gap record is pending
		}
		batch := l.pending
		l.pending = nil
		l.mu.Unlock()
		if len(batch) > 0 {
			err := l.write(batch)
			l.mu.Lock()
			if err != nil {
				if l.out == nil { // a new stop; else the gap record failed: keep backing off
					backoff = l.opts.FlushInterval
				} else {
					backoff = min(2*backoff, l.opts.RetryInterval)
				}
				retryAt = time.Now().Add(backoff)
				l.stopLocked(err)
			} else {
				last := batch[len(batch)-1]
				l.syncedLocked(last.lastSeq, last.lastHash)
				l.resumedLocked()
			}
			l.releaseLocked(batch)
			l.mu.Unlock()
			if err != nil && closing {
				l.closeStopped(err)
			}
		}
		if closing {
			return
		}
	}
}

// syncedLocked moves the durable head to record seq, just written and
// fsynced (l.mu held).
func (l *Log) syncedLocked(seq uint64, hash [32]byte) {
	n := copy(l.unsynced, l.unsynced[seq-l.durSeq:])
	l.unsynced = l.unsynced[:n]
	l.durSeq, l.durHash = seq, hash
}

// releaseLocked accounts for a batch that left pending (written or
// dropped): it frees its space and wakes Sync and Append waiters.
func (l *Log) releaseLocked(batch []segment) {
	if len(batch) == 0 {
		return
	}
	for _, s := range batch {
		l.pendBytes -= len(s.data)
	}
	if buf := batch[len(batch)-1].data; cap(buf) <= 2*l.opts.MaxPending {
		l.spare = buf[:0]
	}
	close(l.flushed)
	l.flushed = make(chan struct{})
	close(l.space)
	l.space = make(chan struct{})
}

// write appends the batch to its files, rotating as the segments say,
// and fsyncs. Called by the flusher only, never on a stopped log.
func (l *Log) write(batch []segment) error {
	for _, s := range batch {
		if s.name != l.name {
			if err := l.file.Sync(); err != nil {
				return fmt.Errorf("sync %s: %w", l.name, err)
			}
			if err := l.file.Close(); err != nil {
				return fmt.Errorf("close %s: %w", l.name, err)
			}
			if err := l.createFile(s.name); err != nil {
				return err
			}
		}
		if _, err := l.file.Write(s.data); err != nil {
			return fmt.Errorf("write %s: %w", l.name, err)
		}
	}
	if err := l.file.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", l.name, err)
	}
	return nil
}
