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
	// ErrWrite: writing or syncing the log failed; the log refuses all
	// further appends (records after a failed write would have a hole
	// before them).
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
	flushed   chan struct{} // closed and replaced after each flush
	space     chan struct{} // closed and replaced when pending shrinks
	err       error         // sticky write error
	closed    bool
	spare     []byte // a written segment's buffer, for reuse

	kick chan struct{} // wakes the flusher
	done chan struct{} // closed when the flusher has exited
	file *os.File      // the flusher's open file
	name string        // its name

	// Anchoring (anchor.go), with Options.AnchorKeys only.
	anchorKey    []byte // plaintext data key the anchors are MACed with
	anchorSealed []byte // its sealed form, stored in each anchor
	anchorMu     sync.Mutex
	anchored     SignedAnchor // the last anchor written, under anchorMu
	anchorClosed bool         // Close wrote the last anchor, under anchorMu
	anchorStop   chan struct{}
	anchorDone   chan struct{}
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
	l := &Log{dir: dir, opts: opts, lock: lock, flushed: make(chan struct{}), space: make(chan struct{}),
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	if err := l.recover(); err != nil {
		lock.Close()
		return nil, err
	}
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

// recover finds the chain's head and opens the file to append to.
func (l *Log) recover() error {
	files, _, err := listFiles(l.dir)
	if err != nil {
		return err
	}
	var lastTail tail
	headFound := false
	for i := len(files) - 1; i >= 0 && !headFound; i-- {
		t, err := readTail(filePath(l.dir, files[i]))
		if err != nil {
			return err
		}
		if i == len(files)-1 {
			lastTail = t
			if t.partial {
				l.opts.Logger.Warn("audit: partial last line after a crash; continuing in a new file",
					slog.String("file", files[i].name), slog.Int64("size", t.size))
			}
		}
		if t.lastLine == nil {
			continue
		}
		r, err := parseLine(t.lastLine, true)
		if err != nil {
			return fmt.Errorf("%w: last record of %s: %v", ErrCorrupt, files[i].name, err)
		}
		l.seq, l.hash, l.last, headFound = r.Seq, r.Hash, r.Time, true
	}
	l.durSeq, l.durHash = l.seq, l.hash

	reuse := len(files) > 0 && !lastTail.partial &&
		(lastTail.size > 0 || files[len(files)-1].seq == l.seq+1)
	if reuse {
		f := files[len(files)-1]
		l.curName, l.curSize = f.name, lastTail.size
		l.file, err = os.OpenFile(filePath(l.dir, f), os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("audit: open %s: %w", f.name, err)
		}
		l.name = f.name
		return nil
	}
	for gen := 0; ; gen++ {
		name := fileName(l.seq+1, gen)
		if _, err := os.Lstat(filepath.Join(l.dir, name)); err == nil {
			continue
		}
		l.curName, l.curSize = name, 0
		return l.createFile(name)
	}
}

// createFile creates and opens the next file, durably (directory fsync).
// Open and then only the flusher call it.
func (l *Log) createFile(name string) error {
	f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("audit: create %s: %w", name, err)
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	l.file, l.name = f, name
	return nil
}

// Append adds a record for e to the chain and returns it. It returns once
// the record is in the chain in memory: it is written and fsynced within
// FlushInterval, or at Sync or Close, whichever comes first. Append blocks
// (until ctx is done) only when MaxPending bytes wait for the disk.
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
	if l.err != nil {
		return Record{}, l.err
	}
	if l.closed {
		return Record{}, ErrClosed
	}
	r := Record{Entry: e, Seq: l.seq + 1, Time: l.opts.Now().UTC(), Prev: l.hash}
	if r.Time.Before(l.last) {
		r.Time = l.last // a clock step back must not reorder time
	}
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
	l.curSize += size
	l.pendBytes += int(size)
	if l.pendBytes >= flushThreshold {
		l.wake()
	}
	return r, nil
}

func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Sync returns once every record appended before the call is written and
// fsynced.
func (l *Log) Sync(ctx context.Context) error {
	l.mu.Lock()
	target := l.seq
	for l.durSeq < target && l.err == nil {
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
	defer l.mu.Unlock()
	return l.err
}

// Err returns the write error that stopped the log, nil while it works.
// A log that failed a write takes no more records (a hole in the chain
// would not verify), so the server reports itself not ready.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
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
// last time at Close.
func (l *Log) flusher() {
	defer close(l.done)
	ticker := time.NewTicker(l.opts.FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
		case <-l.kick:
		}
		l.mu.Lock()
		batch, closing := l.pending, l.closed
		l.pending = nil
		l.mu.Unlock()
		if len(batch) > 0 {
			err := l.write(batch)
			l.mu.Lock()
			if err != nil && l.err == nil {
				l.err = fmt.Errorf("%w: %v", ErrWrite, err)
			}
			if err == nil {
				last := batch[len(batch)-1]
				l.durSeq, l.durHash = last.lastSeq, last.lastHash
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
			l.mu.Unlock()
		}
		if closing {
			return
		}
	}
}

// write appends the batch to its files, rotating as the segments say,
// and fsyncs. Called by the flusher only.
func (l *Log) write(batch []segment) error {
	l.mu.Lock()
	failed := l.err != nil
	l.mu.Unlock()
	if failed {
		return nil // a hole after a failed write would break the chain
	}
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
